// Map: owns a map fd, with key/value codecs. Element access goes through one
// preallocated attr whose key/value addresses are set once, so a lookup is one
// N-API crossing with no allocation besides what the value codec returns.
import { bytes as bytesCodec, type Codec, completeCodec } from "@ts-ebpf/spec";
import { BpfCmd, BpfUpdateFlag } from "@ts-ebpf/spec/constants";
import { getFdById } from "../commands/id.js";
import { type MapInfo, mapInfo, mapInfoOf } from "../commands/info.js";
import {
  type MapCreateOptions,
  mapCreate,
  mapDeleteBatch,
  mapFreeze,
  mapLookupAndDeleteBatch,
  mapLookupBatch,
  mapUpdateBatch,
  mapValueSlotSize,
} from "../commands/map.js";
import { Errno } from "../errno.js";
import { BpfError } from "../errors.js";
import { expectKind } from "../fds.js";
import { BpfAttrLayout } from "../layout/layouts.gen.js";
import { native } from "../native.js";
import { markUntransferable } from "../untransferable.js";
import * as v from "../validate.js";
import { adopt, adoptDupOf, adoptPinned, FdHandle, ownFd } from "./fd.js";

export interface MapCodecs<K, V> {
  key?: Codec<K>;
  value?: Codec<V>;
}

/** What Map.create takes: the MAP_CREATE fields plus codecs. */
export interface MapOptions<K, V> extends MapCreateOptions, MapCodecs<K, V> {}

/** The map's shape as the kernel reports it. */
export interface MapShape {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

const ELEM = BpfAttrLayout.map_elem.fields;
/** The map_elem attr up to and including flags: known to every kernel. */
const ELEM_ATTR_SIZE = ELEM.flags.offset + ELEM.flags.size;

export class BpfMap<K = Uint8Array, V = Uint8Array> extends FdHandle {
  readonly type: number;
  readonly keySize: number;
  /** value_size as created; per-CPU maps hold one value per possible CPU. */
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  /** The key codec as read when the handle was made, with its in-place methods (completeCodec). */
  readonly keyCodec: Required<Codec<K>>;
  readonly valueCodec: Required<Codec<V>>;
  /** Bytes of one value as user space sees it (per-CPU: rounded to 8 × CPUs). */
  readonly valueSlotSize: number;

  // The attrs and the key/value slots are in two ArrayBuffers (see the constructor).
  readonly #attr: Uint8Array;
  readonly #attrView: DataView;
  /** flags currently in #attr (written only when they change). */
  #flags = 0;
  readonly #key: Uint8Array;
  readonly #value: Uint8Array;
  readonly #nextKey: Uint8Array;
  readonly #nextAttr: Uint8Array;
  /** Views over #key and #value: the codecs read and write them in place. */
  readonly #keyView: DataView;
  readonly #valueView: DataView;

  /**
   * `fd` becomes the private fd the preset attrs name (see FdHandle). `codecs`
   * were read before adopt() (readCodecs): nothing here runs caller code.
   */
  protected constructor(fd: number, shape: MapShape, codecs: ReadCodecs = {}) {
    super(fd, "map", `Map ${shape.name || fd}`);
    this.type = shape.type;
    this.keySize = shape.keySize;
    this.valueSize = shape.valueSize;
    this.maxEntries = shape.maxEntries;
    this.flags = shape.flags;
    this.name = shape.name;
    this.valueSlotSize = mapValueSlotSize(shape.type, shape.valueSize);
    this.keyCodec = pickCodec("key", codecs.key, shape.keySize) as Required<Codec<K>>;
    this.valueCodec = pickCodec("value", codecs.value, this.valueSlotSize) as Required<Codec<V>>;
    // ArrayBuffer memory never moves, so the key/value addresses are written
    // into the attrs once. Two arenas: the attrs (map_fd, key/value pointers)
    // live in one no codec ever sees; the key/value slots the codecs get live
    // in another, so a codec writing through `target.buffer` reaches only key
    // and value bytes. Both are untransferable: a codec cannot detach (and so
    // free) memory whose address the attrs hold.
    const align = (n: number) => Math.ceil(Math.max(1, n) / 8) * 8;
    const keyBytes = align(shape.keySize);
    const attrs = new ArrayBuffer(2 * ELEM_ATTR_SIZE);
    const slots = new ArrayBuffer(2 * keyBytes + align(this.valueSlotSize));
    markUntransferable(attrs);
    markUntransferable(slots);
    this.#attr = new Uint8Array(attrs, 0, ELEM_ATTR_SIZE);
    this.#nextAttr = new Uint8Array(attrs, ELEM_ATTR_SIZE, ELEM_ATTR_SIZE);
    this.#attrView = new DataView(attrs, 0, ELEM_ATTR_SIZE);
    this.#key = new Uint8Array(slots, 0, Math.max(1, shape.keySize));
    this.#nextKey = new Uint8Array(slots, keyBytes, Math.max(1, shape.keySize));
    this.#value = new Uint8Array(slots, 2 * keyBytes, Math.max(1, this.valueSlotSize));
    this.#keyView = new DataView(slots, this.#key.byteOffset, this.#key.byteLength);
    this.#valueView = new DataView(slots, this.#value.byteOffset, this.#value.byteLength);
    const addr = native().address;
    const a = this.#attrView;
    a.setUint32(ELEM.map_fd.offset, fd, true);
    a.setBigUint64(ELEM.key.offset, shape.keySize ? addr(this.#key) : 0n, true);
    a.setBigUint64(ELEM.value.offset, addr(this.#value), true);
    const n = new DataView(attrs, ELEM_ATTR_SIZE, ELEM_ATTR_SIZE);
    n.setUint32(ELEM.map_fd.offset, fd, true);
    n.setBigUint64(ELEM.next_key.offset, addr(this.#nextKey), true);
  }

  /** BPF_MAP_CREATE; the handle owns the new map. */
  static create<K = Uint8Array, V = Uint8Array>(options: MapOptions<K, V>): BpfMap<K, V> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Map.create options must be an object");
    }
    // Codecs are read once, before the map exists (no getter runs in adopt()),
    // and the key codec's size is checked before then too.
    const codecs = readCodecs({ key: options.key, value: options.value });
    pickCodec("key", codecs.key, v.u32("keySize", options.keySize));
    // The shape comes from the kernel, not from a second read of `options`: a
    // getter answering differently then cannot size the handle's buffers.
    return adopt(mapCreate(options), (fd) => new BpfMap<K, V>(fd, mapInfoOf(fd), codecs));
  }

  /**
   * A handle on the map `fd` refers to. The handle works on its own duplicate:
   * `fd` stays the caller's (open, on success and on failure). An
   * ObjectKindError when `fd` is not a map; a RangeError for fds 0-2.
   */
  static fromFd<K = Uint8Array, V = Uint8Array>(
    fd: number,
    codecs?: MapCodecs<K, V>,
  ): BpfMap<K, V> {
    const read = readCodecs(codecs);
    return adoptDupOf(fd, "map", (dup) => new BpfMap<K, V>(dup, mapInfo(dup), read));
  }

  /** Opens a pinned map (BPF_OBJ_GET). `fileFlags`: BpfFileFlag.RDONLY / WRONLY. */
  static fromPinned<K = Uint8Array, V = Uint8Array>(
    path: string,
    codecs?: MapCodecs<K, V>,
    options: { fileFlags?: number } = {},
  ): BpfMap<K, V> {
    const read = readCodecs(codecs);
    const fileFlags = options.fileFlags ?? 0;
    return adoptPinned(path, "map", (fd) => new BpfMap<K, V>(fd, mapInfo(fd), read), fileFlags);
  }

  /** Opens a map by id (MAP_GET_FD_BY_ID). */
  static fromId<K = Uint8Array, V = Uint8Array>(
    id: number,
    codecs?: MapCodecs<K, V>,
  ): BpfMap<K, V> {
    const read = readCodecs(codecs);
    return adopt(getFdById("map", id), (fd) => {
      expectKind(fd, "map", `map id ${id}`);
      return new BpfMap<K, V>(fd, mapInfo(fd), read);
    });
  }

  info(): MapInfo {
    return mapInfo(ownFd(this));
  }

  /** One element command through the preset attr (a TypeError on a closed handle). */
  #call(cmd: number, flags: number): number {
    if (this.closed) throw new TypeError(`Map ${this.name} is closed`);
    if (flags !== this.#flags) {
      this.#attrView.setBigUint64(ELEM.flags.offset, BigInt(flags), true);
      this.#flags = flags;
    }
    return native().bpf(cmd, this.#attr, ELEM_ATTR_SIZE);
  }

  /** Writes `key` into the preset key buffer. */
  #encodeKey(key: K): void {
    this.keyCodec.encodeAt(key, this.#keyView, 0);
  }

  /** The value for `key`, or undefined. */
  get(key: K, flags = 0): V | undefined {
    if (this.closed) throw new TypeError(`Map ${this.name} is closed`);
    const lookupFlags = v.u32("flags", flags);
    this.#encodeKey(key);
    const r = this.#call(BpfCmd.MAP_LOOKUP_ELEM, lookupFlags);
    if (r === -Errno.ENOENT) return undefined;
    if (r < 0) throw new BpfError(BpfCmd.MAP_LOOKUP_ELEM, -r);
    return this.valueCodec.decodeAt(this.#valueView, 0);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** BPF_MAP_UPDATE_ELEM; `flags`: BpfUpdateFlag.ANY (default), NOEXIST, EXIST. */
  set(key: K, value: V, flags: number = BpfUpdateFlag.ANY): this {
    if (this.closed) throw new TypeError(`Map ${this.name} is closed`);
    this.#encodeKey(key);
    this.valueCodec.encodeAt(value, this.#valueView, 0);
    const r = this.#call(BpfCmd.MAP_UPDATE_ELEM, v.u32("flags", flags));
    if (r < 0) throw new BpfError(BpfCmd.MAP_UPDATE_ELEM, -r);
    return this;
  }

  /** BPF_MAP_DELETE_ELEM; false when the key was absent. */
  delete(key: K): boolean {
    if (this.closed) throw new TypeError(`Map ${this.name} is closed`);
    this.#encodeKey(key);
    // Only map_fd and key: DELETE rejects a non-zero value pointer.
    const r = native().bpf(BpfCmd.MAP_DELETE_ELEM, this.#attr, ELEM.key.offset + ELEM.key.size);
    if (r === -Errno.ENOENT) return false;
    if (r < 0) throw new BpfError(BpfCmd.MAP_DELETE_ELEM, -r);
    return true;
  }

  /** Keys through BPF_MAP_GET_NEXT_KEY. */
  *keys(): Generator<K> {
    const attr = this.#nextAttr;
    const view = new DataView(attr.buffer, attr.byteOffset, ELEM_ATTR_SIZE);
    // No key pointer: the first key.
    view.setBigUint64(ELEM.key.offset, 0n, true);
    const prev = new Uint8Array(new ArrayBuffer(Math.max(1, this.keySize)));
    // The codec gets `prev` while the attr keeps its address: it must not be
    // able to detach (and free) it before the next GET_NEXT_KEY reads it.
    markUntransferable(prev.buffer);
    const prevView = new DataView(prev.buffer);
    // ArrayBuffer memory never moves: the address is taken once. It is stored
    // every step so interleaved keys() walks (sharing #nextAttr) stay correct.
    const addon = native();
    const prevAddress = addon.address(prev);
    const codec = this.keyCodec;
    for (;;) {
      if (this.closed) throw new TypeError(`Map ${this.name} is closed`);
      const r = addon.bpf(BpfCmd.MAP_GET_NEXT_KEY, attr, ELEM.next_key.offset + 8);
      if (r === -Errno.ENOENT) return;
      if (r < 0) throw new BpfError(BpfCmd.MAP_GET_NEXT_KEY, -r);
      prev.set(this.#nextKey);
      view.setBigUint64(ELEM.key.offset, prevAddress, true);
      yield codec.decodeAt(prevView, 0);
    }
  }

  /** [key, value] pairs: GET_NEXT_KEY + LOOKUP_ELEM (see entriesBatch for large maps). */
  *entries(): Generator<[K, V]> {
    for (const key of this.keys()) {
      const value = this.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  *values(): Generator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): Generator<[K, V]> {
    return this.entries();
  }

  #batchWalk(cmd: "lookup" | "lookupAndDelete", batchSize: number): Generator<[K, V]> {
    v.positiveU32("batchSize", batchSize);
    const self = this;
    return (function* () {
      let n = batchSize;
      const token = Math.max(8, self.keySize);
      let inBatch: Uint8Array | null = null;
      const outBatch = new Uint8Array(token);
      const { keySize, valueSlotSize: valueSize, keyCodec, valueCodec } = self;
      // Codecs copy what they decode, so one pair of buffers serves every batch.
      let keys = new Uint8Array(0);
      let values = new Uint8Array(0);
      let keyView = new DataView(keys.buffer);
      let valueView = new DataView(values.buffer);
      for (;;) {
        if (keys.length !== keySize * n) {
          keys = new Uint8Array(keySize * n);
          values = new Uint8Array(valueSize * n);
          keyView = new DataView(keys.buffer);
          valueView = new DataView(values.buffer);
        }
        let res: { count: number; done: boolean };
        try {
          const o = { mapFd: ownFd(self), keys, values, count: n, inBatch, outBatch };
          res = cmd === "lookup" ? mapLookupBatch(o) : mapLookupAndDeleteBatch(o);
        } catch (e) {
          // A hash bucket larger than the batch: retry with room for it.
          if (e instanceof BpfError && e.errno === Errno.ENOSPC && n < 1 << 20) {
            n *= 2;
            continue;
          }
          throw e;
        }
        // The buffers are only rewritten by the next batch call, which comes
        // after every element of this one was decoded.
        for (let i = 0; i < res.count; i++) {
          yield [
            keyCodec.decodeAt(keyView, i * keySize),
            valueCodec.decodeAt(valueView, i * valueSize),
          ];
        }
        if (res.done) return;
        inBatch = outBatch.slice();
      }
    })();
  }

  /** [key, value] pairs through BPF_MAP_LOOKUP_BATCH (`batchSize` per syscall). */
  entriesBatch(batchSize = 4096): Generator<[K, V]> {
    return this.#batchWalk("lookup", batchSize);
  }

  /** Empties the map, yielding what it held (BPF_MAP_LOOKUP_AND_DELETE_BATCH). */
  drainBatch(batchSize = 4096): Generator<[K, V]> {
    return this.#batchWalk("lookupAndDelete", batchSize);
  }

  #packKeys(keys: readonly K[]): Uint8Array {
    const size = this.keySize;
    const out = new Uint8Array(size * keys.length);
    const view = new DataView(out.buffer);
    const codec = this.keyCodec;
    for (let i = 0; i < keys.length; i++) codec.encodeAt(keys[i] as K, view, i * size);
    return out;
  }

  /** BPF_MAP_UPDATE_BATCH → elements written. */
  updateBatch(entries: Iterable<readonly [K, V]>, elemFlags: number = BpfUpdateFlag.ANY): number {
    const list = [...entries];
    if (list.length === 0) return 0;
    const keys = this.#packKeys(list.map(([k]) => k));
    const size = this.valueSlotSize;
    const values = new Uint8Array(size * list.length);
    const view = new DataView(values.buffer);
    const codec = this.valueCodec;
    for (let i = 0; i < list.length; i++) codec.encodeAt(list[i]![1], view, i * size);
    return mapUpdateBatch({ mapFd: ownFd(this), keys, values, count: list.length, elemFlags });
  }

  /** BPF_MAP_DELETE_BATCH → elements deleted (ENOENT for a missing key stops the batch). */
  deleteBatch(keys: Iterable<K>): number {
    const list = [...keys];
    if (list.length === 0) return 0;
    return mapDeleteBatch({ mapFd: ownFd(this), keys: this.#packKeys(list), count: list.length });
  }

  /** BPF_MAP_FREEZE: no more writes from user space. */
  freeze(): void {
    mapFreeze(ownFd(this));
  }
}

/** Codecs as a handle's constructor takes them: already read (readCodecs). */
interface ReadCodecs {
  readonly key?: Required<Codec<unknown>>;
  readonly value?: Required<Codec<unknown>>;
}

/**
 * Reads the caller's codecs once, before a handle is adopted (completeCodec
 * reads every property then): no getter of the caller's runs while the
 * handle's constructor holds the fd (it could build a second handle around
 * it), and a getter answering differently later changes nothing.
 */
function readCodecs(codecs: unknown): ReadCodecs {
  if (codecs === undefined) return {};
  if (typeof codecs !== "object" || codecs === null) {
    throw new TypeError("codecs must be an object such as { key, value }");
  }
  const { key, value } = codecs as MapCodecs<unknown, unknown>;
  return {
    key: key === undefined ? undefined : completeCodec("key", key),
    value: value === undefined ? undefined : completeCodec("value", value),
  };
}

/** The bytes codecs a handle gets when its maker gave none (see isDefaultMapCodec). */
const DEFAULT_CODECS = new WeakSet<object>();

/**
 * Whether `codec` is the bytes codec a Map handle got because no codec was
 * given: iter's mapElems then decodes by the map's BTF, or gives views.
 */
export function isDefaultMapCodec(codec: unknown): boolean {
  return typeof codec === "object" && codec !== null && DEFAULT_CODECS.has(codec);
}

function pickCodec(
  which: string,
  codec: Required<Codec<unknown>> | undefined,
  size: number,
): Required<Codec<unknown>> {
  if (codec === undefined) {
    const bytes = bytesCodec(Math.max(1, size));
    DEFAULT_CODECS.add(bytes);
    return bytes;
  }
  if (codec.size !== size) {
    throw new RangeError(`${which} codec is ${codec.size} bytes, the map's ${which} is ${size}`);
  }
  return codec;
}
