// Key and value codecs for Map handles. A codec writes a value into a
// fixed-size byte slot and reads it back; a struct layout (e.g. from
// @ts-ebpf/btf) plugs in as a user-supplied codec.
import * as v from "./validate.js";

export interface Codec<T> {
  /** Bytes per element; must equal the map's key or value size. */
  readonly size: number;
  /** Writes `value` into `target` (exactly `size` bytes, zeroed beforehand is not guaranteed). */
  encode(value: T, target: Uint8Array): void;
  /** Reads an element; `source` is reused afterwards, so copy what you keep. */
  decode(source: Uint8Array): T;
  /**
   * Optional fast path: reads an element at `offset` of `view` (a DataView
   * over a whole buffer of elements), so readers need no per-element
   * subarray or DataView. Must return what `decode` would.
   */
  decodeAt?(view: DataView, offset: number): T;
  /** Optional fast path: writes `value` at `offset` of `view`, as `encode` would. */
  encodeAt?(value: T, view: DataView, offset: number): void;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export const u32: Codec<number> = {
  size: 4,
  // Byte stores instead of a DataView per call: this is the hot path of Map.get.
  encode(value, target) {
    const n = v.u32("u32 key/value", value);
    target[0] = n;
    target[1] = n >>> 8;
    target[2] = n >>> 16;
    target[3] = n >>> 24;
  },
  decode(source) {
    return (
      ((source[0] ?? 0) |
        ((source[1] ?? 0) << 8) |
        ((source[2] ?? 0) << 16) |
        ((source[3] ?? 0) << 24)) >>>
      0
    );
  },
  decodeAt(view, offset) {
    return view.getUint32(offset, true);
  },
  encodeAt(value, view, offset) {
    view.setUint32(offset, v.u32("u32 key/value", value), true);
  },
};

export const u64: Codec<bigint> = {
  size: 8,
  encode(value, target) {
    view(target).setBigUint64(0, v.u64("u64 key/value", value), true);
  },
  decode(source) {
    return view(source).getBigUint64(0, true);
  },
  decodeAt(view, offset) {
    return view.getBigUint64(offset, true);
  },
  encodeAt(value, view, offset) {
    view.setBigUint64(offset, v.u64("u64 key/value", value), true);
  },
};

/** Raw bytes of a fixed size (copied on decode). */
export function bytes(size: number): Codec<Uint8Array> {
  v.positiveU32("codec size", size);
  return {
    size,
    encode(value, target) {
      target.set(v.bytes("key/value", value, size));
    },
    decode(source) {
      return source.slice(0, size);
    },
    decodeAt(view, offset) {
      const start = view.byteOffset + offset;
      if (offset < 0 || offset + size > view.byteLength) {
        throw new RangeError(
          `bytes(${size}) decode at ${offset} is outside ${view.byteLength} bytes`,
        );
      }
      return new Uint8Array(view.buffer.slice(start, start + size));
    },
  };
}

export function isCodec(value: unknown): value is Codec<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Codec<unknown>).size === "number" &&
    typeof (value as Codec<unknown>).encode === "function" &&
    typeof (value as Codec<unknown>).decode === "function"
  );
}
