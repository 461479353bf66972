// Map: owns a map fd, with key/value codecs. Element access goes through one
// preallocated attr whose key/value addresses are set once, so a lookup is one
// N-API crossing with no allocation besides what the value codec returns.
import { markAsUntransferable } from "node:worker_threads";
import { BpfCmd, BpfUpdateFlag } from "@ts-ebpf/spec/constants";
import { bytes as bytesCodec, type Codec, u32 as u32Codec, u64 as u64Codec } from "../codec.js";
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
  readonly keyCodec: Codec<K>;
  readonly valueCodec: Codec<V>;
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
  /** Views over #key and #value for the codecs' encodeAt/decodeAt fast paths. */
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
    this.keyCodec = pickCodec("key", codecs.key, shape.keySize) as Codec<K>;
    this.valueCodec = pickCodec("value", codecs.value, this.valueSlotSize) as Codec<V>;
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
    markAsUntransferable(attrs);
    markAsUntransferable(slots);
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

  /** Writes `key` into the preset key buffer (no allocation when the codec has encodeAt). */
  #encodeKey(key: K): void {
    const codec = this.keyCodec;
    if (codec.encodeAt) codec.encodeAt(key, this.#keyView, 0);
    else codec.encode(key, this.#key);
  }

  /** The value for `key`, or undefined. */
  get(key: K, flags = 0): V | undefined {
    if (this.closed) throw new TypeError(`Map ${this.name} is closed`);
    const lookupFlags = v.u32("flags", flags);
    this.#encodeKey(key);
    const r = this.#call(BpfCmd.MAP_LOOKUP_ELEM, lookupFlags);
    if (r === -Errno.ENOENT) return undefined;
    if (r < 0) throw new BpfError(BpfCmd.MAP_LOOKUP_ELEM, -r);
    const codec = this.valueCodec;
    return codec.decodeAt ? codec.decodeAt(this.#valueView, 0) : codec.decode(this.#value);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** BPF_MAP_UPDATE_ELEM; `flags`: BpfUpdateFlag.ANY (default), NOEXIST, EXIST. */
  set(key: K, value: V, flags: number = BpfUpdateFlag.ANY): this {
    if (this.closed) throw new TypeError(`Map ${this.name} is closed`);
    this.#encodeKey(key);
    const valueCodec = this.valueCodec;
    if (valueCodec.encodeAt) valueCodec.encodeAt(value, this.#valueView, 0);
    else valueCodec.encode(value, this.#value);
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
    markAsUntransferable(prev.buffer);
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
      yield codec.decodeAt ? codec.decodeAt(prevView, 0) : codec.decode(prev);
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
          const k = keyCodec.decodeAt
            ? keyCodec.decodeAt(keyView, i * keySize)
            : keyCodec.decode(keys.subarray(i * keySize, (i + 1) * keySize));
          const val = valueCodec.decodeAt
            ? valueCodec.decodeAt(valueView, i * valueSize)
            : valueCodec.decode(values.subarray(i * valueSize, (i + 1) * valueSize));
          yield [k, val];
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
    keys.forEach((k, i) => {
      if (codec.encodeAt) codec.encodeAt(k, view, i * size);
      else codec.encode(k, out.subarray(i * size, (i + 1) * size));
    });
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
    list.forEach(([, val], i) => {
      if (codec.encodeAt) codec.encodeAt(val, view, i * size);
      else codec.encode(val, values.subarray(i * size, (i + 1) * size));
    });
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

/** A caller's codec, read once into values of ours (readCodec). */
interface ReadCodec {
  readonly size: number;
  readonly codec: Codec<unknown>;
}

/** Codecs as a handle's constructor takes them: already read (readCodecs). */
interface ReadCodecs {
  readonly key?: ReadCodec;
  readonly value?: ReadCodec;
}

/**
 * Reads the caller's codecs once, before a handle is adopted: every property
 * (size, encode, decode, decodeAt) is read here, so no getter of the caller's
 * runs while the handle's constructor holds the fd (it could build a second
 * handle around it), and a getter answering differently later changes nothing.
 */
function readCodecs(codecs: unknown): ReadCodecs {
  if (codecs === undefined) return {};
  if (typeof codecs !== "object" || codecs === null) {
    throw new TypeError("codecs must be an object such as { key, value }");
  }
  const { key, value } = codecs as MapCodecs<unknown, unknown>;
  return { key: readCodec("key", key), value: readCodec("value", value) };
}

function readCodec(which: string, codec: unknown): ReadCodec | undefined {
  if (codec === undefined) return undefined;
  const bad = () => new TypeError(`${which} codec must be {size, encode, decode}`);
  if (typeof codec !== "object" || codec === null) throw bad();
  const { size, encode, decode, decodeAt } = codec as Codec<unknown>;
  if (typeof size !== "number" || typeof encode !== "function" || typeof decode !== "function") {
    throw bad();
  }
  // u32/u64 are ours: keep their encodeAt/decodeAt fast paths as they are.
  if (codec === u32Codec || codec === u64Codec) return { size, codec: codec as Codec<unknown> };
  return { size, codec: acceptReturnedBytes(codec, size, encode, decode, decodeAt) };
}

function pickCodec(which: string, codec: ReadCodec | undefined, size: number): Codec<unknown> {
  if (codec === undefined) return bytesCodec(Math.max(1, size));
  if (codec.size !== size) {
    throw new RangeError(`${which} codec is ${codec.size} bytes, the map's ${which} is ${size}`);
  }
  return codec.codec;
}

/**
 * Codecs whose encode returns fresh bytes instead of writing into the slot
 * (a @ts-ebpf/btf record layout's `encode(value)`) would otherwise store
 * zeros: copy what they return into the slot. Binding reads the functions'
 * name and length: this runs in readCodec, before any adopt().
 */
function acceptReturnedBytes(
  self: object,
  size: number,
  encode: Codec<unknown>["encode"],
  decode: Codec<unknown>["decode"],
  decodeAt: Codec<unknown>["decodeAt"],
): Codec<unknown> {
  const boundEncode = encode.bind(self);
  const codec: Codec<unknown> = {
    size,
    decode: decode.bind(self),
    encode(value, target) {
      const out: unknown = boundEncode(value, target);
      if (out instanceof Uint8Array && out !== target) {
        if (out.byteLength !== target.byteLength) {
          throw new RangeError(
            `codec encoded ${out.byteLength} bytes, expected ${target.byteLength}`,
          );
        }
        target.set(out);
      }
    },
  };
  // Reading has no returned-bytes problem: keep the codec's fast path.
  if (typeof decodeAt === "function") codec.decodeAt = decodeAt.bind(self);
  return codec;
}
