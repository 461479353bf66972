// mapElems: the contents of any map through the bpf_map_elem iterator, one
// bpf_seq_write of the key and one of the value per element. Per-CPU maps
// give every CPU's value, each rounded up to 8 bytes, as MAP_LOOKUP_ELEM does:
// which maps those are and the size of their values is @ts-ebpf/syscall's
// (mapValueSlotSize), the one owner of that list.

import { loadKernelBtf } from "@ts-ebpf/btf";
import { call, exit, type Item, jeq, label, ldx, mov } from "@ts-ebpf/dsl";
import {
  type Decoder,
  decoderAt,
  type FieldType,
  scalarReadName,
  scalarReadSource,
  u32,
} from "@ts-ebpf/spec";
import { iterContextStruct } from "@ts-ebpf/spec/constants";
import { mapValueSlotSize, type Program } from "@ts-ebpf/syscall";
import { isDefaultMapCodec } from "@ts-ebpf/syscall/internal";
import { IteratorError } from "../errors.js";
import { createIterator, loadIteratorProgram } from "../link.js";
import { consumeOwnReader } from "../owned-fd.js";
import {
  type IteratorReader,
  type ReadAllOptions,
  type ReaderOptions,
  RecordSplitter,
} from "../reader.js";
import { mapBtfCodecs } from "./map-btf.js";
import { iteratorSpec } from "./record.js";

export { type MapBtfCodecs, mapBtfCodecs, perCpu } from "./map-btf.js";

/** What mapElems needs of a map; a `Map` from @ts-ebpf/syscall has all of it. */
export interface IterableMap<K = Uint8Array, V = Uint8Array> {
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  /**
   * Bytes of one value as user space sees it (per-CPU: rounded to 8 × possible
   * CPUs). Optional: it follows from type and valueSize (syscall's
   * mapValueSlotSize); a value that disagrees is a TypeError.
   */
  readonly valueSlotSize?: number;
  /** When known, sizes mapElemsRaw's buffer in one go. */
  readonly maxEntries?: number;
  /**
   * Codecs (the reading half is enough) of keySize and value-slot bytes. They
   * must not keep the bytes they are given: mapElems reuses its read buffers.
   */
  readonly keyCodec?: Decoder<K>;
  readonly valueCodec?: Decoder<V>;
}

const programs = new Map<string, Program>();

export function closeMapElemPrograms(): void {
  for (const p of programs.values()) p.close();
  programs.clear();
}

function checkMap(map: IterableMap<unknown, unknown>): { keySize: number; valueSize: number } {
  if (typeof map !== "object" || map === null || typeof map.fd !== "number") {
    throw new TypeError(
      "map must be a Map handle from @ts-ebpf/syscall (fd, type, keySize, valueSize)",
    );
  }
  const { keySize, valueSize } = map;
  if (!Number.isInteger(keySize) || keySize < 1 || !Number.isInteger(valueSize) || valueSize < 1) {
    throw new TypeError(`map has no usable key/value sizes (key ${keySize}, value ${valueSize})`);
  }
  const type = map.type;
  if (!Number.isInteger(type) || type < 0) {
    throw new TypeError(`map has no usable type (a BPF_MAP_TYPE_* number), got ${String(type)}`);
  }
  const slot = mapValueSlotSize(type, valueSize);
  if (map.valueSlotSize !== undefined && map.valueSlotSize !== slot) {
    throw new TypeError(
      `map.valueSlotSize is ${String(map.valueSlotSize)}, but a map of type ${type} with ${valueSize}-byte values has ${slot}-byte value slots`,
    );
  }
  return { keySize, valueSize: slot };
}

/** The bpf_map_elem program for one key/value shape (loaded once per shape). */
export function mapElemProgram(keySize: number, valueSize: number): Program {
  const key = `${keySize}/${valueSize}`;
  let prog = programs.get(key);
  if (!prog) {
    const btf = loadKernelBtf();
    const seq = btf.memberOffset("bpf_iter_meta", "seq").offset;
    const ctx = (m: string) => btf.memberOffset(iterContextStruct("bpf_map_elem"), m).offset;
    const body: Item[] = [
      ldx("u64", "r6", "r1", ctx("meta")),
      ldx("u64", "r6", "r6", seq),
      ldx("u64", "r7", "r1", ctx("key")),
      ldx("u64", "r8", "r1", ctx("value")),
      jeq("r7", 0, "out"),
      jeq("r8", 0, "out"),
      mov("r1", "r6"),
      mov("r2", "r7"),
      mov("r3", keySize),
      call("seq_write"),
      mov("r1", "r6"),
      mov("r2", "r8"),
      mov("r3", valueSize),
      call("seq_write"),
      label("out"),
      mov("r0", 0),
      exit(),
    ];
    const spec = iteratorSpec(btf, "bpf_map_elem", body, "iter_map_elem");
    prog = loadIteratorProgram(spec, "bpf_map_elem", btf);
    programs.set(key, prog);
  }
  return prog;
}

/** A reader over the map's elements as back-to-back records: key bytes then value bytes. */
export function openMapElems(
  map: IterableMap<unknown, unknown>,
  options: ReaderOptions = {},
): IteratorReader {
  const { keySize, valueSize } = checkMap(map);
  const prog = mapElemProgram(keySize, valueSize);
  using link = createIterator(prog, "bpf_map_elem", { map });
  // The reader holds the iterator open; the link fd can go.
  return link.open(options);
}

/** All elements as raw records (key || value), in the kernel's iteration order. */
export async function mapElemsRaw(
  map: IterableMap<unknown, unknown>,
  options: MapElemsOptions = {},
): Promise<Buffer> {
  const { into, reader } = splitOptions(options);
  const read = dumpReadOptions(map, into);
  return consumeOwnReader(openMapElems(map, { chunkSize: 1 << 20, ...reader }), (r) =>
    r.readAll(read),
  );
}

export function mapElemsRawSync(
  map: IterableMap<unknown, unknown>,
  options: MapElemsOptions = {},
): Buffer {
  const { into, reader } = splitOptions(options);
  const read = dumpReadOptions(map, into);
  return openMapElems(map, { chunkSize: 1 << 20, ...reader }).readAllSync(read);
}

/** Reader options, and a buffer to reuse across dumps. */
export interface MapElemsOptions extends ReaderOptions {
  /**
   * Read into this buffer (e.g. the `bytes` of an earlier result) instead of
   * a new one: no allocation and no page faults in repeated dumps. Whatever
   * was read into it before, and views of it, are overwritten.
   */
  into?: Uint8Array;
  /**
   * Decode keys and values the caller gave no codec for by the map's BTF
   * (mapBtfCodecs: structs to objects, enums by name, per-CPU values as one
   * value per CPU), as bpftool prints them. Default true; false gives bytes.
   */
  btf?: boolean;
}

function splitOptions(options: MapElemsOptions): { into?: Uint8Array; reader: ReaderOptions } {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  const { into, btf: _btf, ...reader } = options;
  return { ...(into !== undefined ? { into } : {}), reader };
}

/** A codec the caller gave: undefined for none, or for the bytes a Map handle got by default. */
function givenCodec<T>(codec: Decoder<T> | undefined): Decoder<T> | undefined {
  return codec === undefined || isDefaultMapCodec(codec) ? undefined : codec;
}

/**
 * The map with the codecs mapElems decodes with: the caller's, else (with
 * `btf`) the map's BTF types', else none (views of the bytes).
 */
function withCodecs(
  map: IterableMap<unknown, unknown>,
  btf: boolean | undefined,
): IterableMap<unknown, unknown> {
  if (btf !== undefined && typeof btf !== "boolean") {
    throw new TypeError(`options.btf must be a boolean, got ${typeof btf}`);
  }
  let keyCodec = givenCodec(map.keyCodec);
  let valueCodec = givenCodec(map.valueCodec);
  if (btf !== false && (keyCodec === undefined || valueCodec === undefined)) {
    const typed = mapBtfCodecs(map);
    keyCodec ??= typed?.key;
    valueCodec ??= typed?.value;
  }
  return { ...pick(map), keyCodec, valueCodec };
}

function pick(map: IterableMap<unknown, unknown>): IterableMap<unknown, unknown> {
  const { fd, type, keySize, valueSize, valueSlotSize, maxEntries } = map;
  return {
    fd,
    type,
    keySize,
    valueSize,
    ...(valueSlotSize !== undefined ? { valueSlotSize } : {}),
    ...(maxEntries !== undefined ? { maxEntries } : {}),
  };
}

/**
 * What an element of a map without typed codecs decodes to: by its BTF
 * (objects, numbers, strings...) or bytes, known only at run time.
 */
export type MapElement<T> = Uint8Array extends T ? unknown : T;

/**
 * readAll's options for a dump of the map: its records' size (key + value),
 * the largest output it can give (every entry present) and the buffer to reuse.
 */
function dumpReadOptions(
  map: IterableMap<unknown, unknown>,
  into: Uint8Array | undefined,
): ReadAllOptions {
  const { keySize, valueSize } = checkMap(map);
  const recordSize = keySize + valueSize;
  const n = map.maxEntries;
  return {
    recordSize,
    ...(Number.isInteger(n) && n! > 0 ? { sizeHint: n! * recordSize } : {}),
    ...(into ? { into } : {}),
  };
}

/**
 * The map's elements over raw records (key || value), decoded lazily: with
 * the map's codecs when it has them, else as views of the records' bytes.
 */
export function decodeMapElems<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  raw: Uint8Array,
): MapElements<K, V> {
  return new MapElements(map, raw);
}

/** Typed-array constructors of the scalar codecs, for columns. */
const COLUMN_TYPES: Record<
  string,
  { new (n: number): ArrayLike<unknown> & { [i: number]: unknown } }
> = {
  getUint8: Uint8Array,
  getInt8: Int8Array,
  getUint16: Uint16Array,
  getInt16: Int16Array,
  getUint32: Uint32Array,
  getInt32: Int32Array,
  getBigUint64: BigUint64Array,
  getBigInt64: BigInt64Array,
  getFloat32: Float32Array,
  getFloat64: Float64Array,
};

/** A column of one field: a typed array for a scalar codec, else an array. */
export type MapColumn<T> = T extends number
  ?
      | Uint8Array
      | Int8Array
      | Uint16Array
      | Int16Array
      | Uint32Array
      | Int32Array
      | Float32Array
      | Float64Array
  : T extends bigint
    ? BigUint64Array | BigInt64Array
    : T[];

/**
 * Every element of a map, held as the iterator's records in one buffer and
 * decoded as they are visited: iterating allocates nothing that outlives the
 * loop body, and no element has its own ArrayBuffer. Without codecs a key or
 * value is a view of the shared buffer (valid as long as this result is).
 *
 * `for (const [k, v] of elements)`, `keys()`, `values()`, `at(i)`,
 * `keyColumn()`/`valueColumn()` (typed arrays for scalar codecs), and
 * `toArray()` for a materialised `[key, value][]`.
 */
export class MapElements<K = Uint8Array, V = Uint8Array> implements Iterable<[K, V]> {
  /** Number of elements. */
  readonly length: number;
  /** The records: keySize bytes of key then valueSlotSize bytes of value, back to back. */
  readonly bytes: Uint8Array;
  readonly keySize: number;
  /** Bytes of one value as read (per-CPU: every CPU's value, each rounded to 8). */
  readonly valueSize: number;
  readonly #view: DataView;
  readonly #readKey: FieldReader<K>;
  readonly #readValue: FieldReader<V>;
  readonly #keyCodec: Decoder<K> | undefined;
  readonly #valueCodec: Decoder<V> | undefined;
  readonly #pairs: PairCode;

  constructor(map: IterableMap<K, V>, raw: Uint8Array) {
    const { keySize, valueSize } = checkMap(map as IterableMap<unknown, unknown>);
    if (!(raw instanceof Uint8Array)) {
      throw new TypeError(`raw must be a Uint8Array of records, got ${typeof raw}`);
    }
    const size = keySize + valueSize;
    if (raw.length % size !== 0) {
      throw new IteratorError(
        `map iterator output of ${raw.length} bytes is not a multiple of ${size}`,
      );
    }
    this.length = raw.length / size;
    this.bytes = raw;
    this.keySize = keySize;
    this.valueSize = valueSize;
    this.#view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const keyCodec = givenCodec(map.keyCodec);
    const valueCodec = givenCodec(map.valueCodec);
    this.#readKey = fieldReader("keyCodec", keyCodec, keySize, true);
    this.#readValue = fieldReader("valueCodec", valueCodec, valueSize, true);
    this.#keyCodec = keyCodec;
    this.#valueCodec = valueCodec;
    this.#pairs = pairCode(keyCodec, keySize, valueCodec, valueSize);
  }

  #index(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`index must be an integer in 0..${this.length - 1}, got ${String(i)}`);
    }
    return i * (this.keySize + this.valueSize);
  }

  keyAt(i: number): K {
    return this.#readKey(this.#view, this.bytes, this.#index(i));
  }

  valueAt(i: number): V {
    return this.#readValue(this.#view, this.bytes, this.#index(i) + this.keySize);
  }

  /** Element `i` as [key, value]. */
  at(i: number): [K, V] {
    const off = this.#index(i);
    return [
      this.#readKey(this.#view, this.bytes, off),
      this.#readValue(this.#view, this.bytes, off + this.keySize),
    ];
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return new this.#pairs.Iterator(this.#view, this.bytes, this.#readKey, this.#readValue);
  }

  entries(): IterableIterator<[K, V]> {
    return this[Symbol.iterator]();
  }

  keys(): IterableIterator<K> {
    return new FieldIterator(
      this.#view,
      this.bytes,
      this.keySize + this.valueSize,
      0,
      this.#readKey,
    );
  }

  values(): IterableIterator<V> {
    return new FieldIterator(
      this.#view,
      this.bytes,
      this.keySize + this.valueSize,
      this.keySize,
      this.#readValue,
    );
  }

  /** Every element decoded into one array of [key, value] pairs. */
  toArray(): Array<[K, V]> {
    return this.#pairs.toArray(this.#view, this.bytes, this.#readKey, this.#readValue) as Array<
      [K, V]
    >;
  }

  /**
   * `fn(key, value, index)` for every element in order: the fastest visit
   * (no [key, value] array and no iterator result per element). Key and
   * value are the caller's to keep, as in `for...of`.
   */
  forEach(fn: (key: K, value: V, index: number) => void): void {
    if (typeof fn !== "function") throw new TypeError(`fn must be a function, got ${typeof fn}`);
    this.#pairs.forEach(this.#view, this.bytes, this.#readKey, this.#readValue, fn as never);
  }

  /** `fn` of every element, like Array's map. */
  map<U>(fn: (element: [K, V], index: number) => U): U[] {
    if (typeof fn !== "function") throw new TypeError(`fn must be a function, got ${typeof fn}`);
    const out = new Array<U>(this.length);
    let i = 0;
    for (const e of this) {
      out[i] = fn(e, i);
      i++;
    }
    return out;
  }

  /** All keys in one column: a typed array when the key codec is a scalar. */
  keyColumn(): MapColumn<K> {
    return this.#column(this.#keyCodec, 0, this.#readKey) as MapColumn<K>;
  }

  /** All values in one column: a typed array when the value codec is a scalar. */
  valueColumn(): MapColumn<V> {
    return this.#column(this.#valueCodec, this.keySize, this.#readValue) as MapColumn<V>;
  }

  #column<T>(codec: Decoder<T> | undefined, at: number, read: FieldReader<T>): unknown {
    const n = this.length;
    const size = this.keySize + this.valueSize;
    const getter = codec && scalarReadName(codec);
    const view = this.#view;
    const bytes = this.bytes;
    if (getter !== undefined) {
      const column = new COLUMN_TYPES[getter]!(n);
      // One compiled loop per getter: a DataView call by name is slow.
      const fill = columnFiller(codec as unknown as FieldType<unknown>, getter);
      fill(column, view, n, size, at);
      return column;
    }
    const out = new Array<T>(n);
    for (let i = 0, off = at; i < n; i++, off += size) out[i] = read(view, bytes, off);
    return out;
  }
}

type ColumnFiller = (column: unknown, view: DataView, n: number, size: number, at: number) => void;
const fillers = new Map<string, ColumnFiller>();
function columnFiller(type: FieldType<unknown>, getter: string): ColumnFiller {
  let fill = fillers.get(getter);
  if (!fill) {
    // 8-byte scalars copied as two host-order words: no BigInt made per element.
    const body = /64$/.test(getter)
      ? `const words = new Uint32Array(column.buffer, column.byteOffset, 2 * n);
for (let i = 0, off = at; i < 2 * n; i += 2, off += size) {
  words[i] = ${scalarReadSource(u32, "view", "off")};
  words[i + 1] = ${scalarReadSource(u32, "view", "off + 4")};
}`
      : `for (let i = 0, off = at; i < n; i++, off += size) column[i] = ${scalarReadSource(type, "view", "off")};`;
    fill = new Function("column", "view", "n", "size", "at", body) as ColumnFiller;
    fillers.set(getter, fill);
  }
  return fill;
}

/**
 * The element loop compiled for one shape of key and value: a scalar codec's
 * DataView getter, a byte view, or a call to the codec, written inline. Each
 * shape gets its own iterator class, so the loop stays monomorphic however
 * many kinds of map a process reads.
 */
interface PairCode {
  Iterator: new (
    view: DataView,
    bytes: Uint8Array,
    readKey: FieldReader<unknown>,
    readValue: FieldReader<unknown>,
  ) => IterableIterator<[never, never]>;
  toArray(
    view: DataView,
    bytes: Uint8Array,
    readKey: FieldReader<unknown>,
    readValue: FieldReader<unknown>,
  ): Array<[unknown, unknown]>;
  forEach(
    view: DataView,
    bytes: Uint8Array,
    readKey: FieldReader<unknown>,
    readValue: FieldReader<unknown>,
    fn: (key: unknown, value: unknown, index: number) => void,
  ): void;
}

const pairCodes = new Map<string, PairCode>();

function pairCode(
  keyCodec: Decoder<unknown> | undefined,
  keySize: number,
  valueCodec: Decoder<unknown> | undefined,
  valueSize: number,
): PairCode {
  // A byte view, a scalar read inline, or a call to the codec's reader.
  const field = (codec: Decoder<unknown> | undefined, at: number, size: number, reader: string) =>
    codec === undefined
      ? `new Uint8Array(buffer, base + o + ${at}, ${size})`
      : (scalarReadSource(codec, "view", `o + ${at}`) ?? `${reader}(view, bytes, o + ${at})`);
  const key = field(keyCodec, 0, keySize, "readKey");
  const value = field(valueCodec, keySize, valueSize, "readValue");
  const pair = `[${key}, ${value}]`;
  const size = keySize + valueSize;
  const id = `${pair}/${size}`;
  let code = pairCodes.get(id);
  if (code) return code;
  code = new Function(
    `"use strict";
class Iterator {
  constructor(view, bytes, readKey, readValue) {
    this.view = view; this.bytes = bytes; this.buffer = bytes.buffer; this.base = bytes.byteOffset;
    this.readKey = readKey; this.readValue = readValue; this.off = 0; this.end = bytes.length;
  }
  next() {
    const o = this.off;
    if (o >= this.end) return { done: true, value: undefined };
    this.off = o + ${size};
    const { view, bytes, buffer, base, readKey, readValue } = this;
    return { done: false, value: ${pair} };
  }
  [Symbol.iterator]() { return this; }
}
function toArray(view, bytes, readKey, readValue) {
  const buffer = bytes.buffer, base = bytes.byteOffset, n = bytes.length / ${size};
  // Sized once: no copies of a growing backing store.
  const out = new Array(n);
  for (let i = 0, o = 0; i < n; i++, o += ${size}) out[i] = ${pair};
  return out;
}
function forEach(view, bytes, readKey, readValue, fn) {
  const buffer = bytes.buffer, base = bytes.byteOffset, end = bytes.length;
  for (let i = 0, o = 0; o < end; i++, o += ${size}) fn(${key}, ${value}, i);
}
return { Iterator, toArray, forEach };`,
  )() as PairCode;
  pairCodes.set(id, code);
  return code;
}

class FieldIterator<T> implements IterableIterator<T> {
  #off: number;
  readonly #end: number;
  constructor(
    readonly view: DataView,
    readonly bytes: Uint8Array,
    readonly size: number,
    at: number,
    readonly read: FieldReader<T>,
  ) {
    this.#off = at;
    this.#end = bytes.length;
  }
  next(): IteratorResult<T> {
    const off = this.#off;
    if (off >= this.#end) return { done: true, value: undefined };
    this.#off = off + this.size;
    return { done: false, value: this.read(this.view, this.bytes, off) };
  }
  [Symbol.iterator](): IterableIterator<T> {
    return this;
  }
}

/**
 * Decodes mapElems records (key bytes then value bytes) as chunks arrive:
 * `push()` each chunk, `end()` for the pairs. A record cut by a chunk
 * boundary (only possible with chunks smaller than the kernel's seq buffer)
 * is carried over to the next chunk.
 */
export class MapElemsDecoder<K = Uint8Array, V = Uint8Array> {
  readonly out: Array<[K, V]> = [];
  readonly #splitter: RecordSplitter;
  readonly #keySize: number;
  readonly #readKey: FieldReader<K>;
  readonly #readValue: FieldReader<V>;
  readonly #decode = (bytes: Uint8Array, from: number, to: number): void => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const { out } = this;
    const size = this.#splitter.size;
    const keySize = this.#keySize;
    const readKey = this.#readKey;
    const readValue = this.#readValue;
    for (let off = from; off < to; off += size) {
      out.push([readKey(view, bytes, off), readValue(view, bytes, off + keySize)]);
    }
  };

  constructor(map: IterableMap<K, V>) {
    const { keySize, valueSize } = checkMap(map as IterableMap<unknown, unknown>);
    this.#keySize = keySize;
    this.#splitter = new RecordSplitter(keySize + valueSize);
    this.#readKey = fieldReader("keyCodec", map.keyCodec, keySize);
    this.#readValue = fieldReader("valueCodec", map.valueCodec, valueSize);
  }

  push(chunk: Uint8Array): void {
    this.#splitter.push(chunk, this.#decode);
  }

  end(): Array<[K, V]> {
    const splitter = this.#splitter;
    if (splitter.pending > 0) {
      throw new IteratorError(
        `map iterator output of ${splitter.total} bytes is not a multiple of ${splitter.size}`,
      );
    }
    return this.out;
  }
}

type FieldReader<T> = (view: DataView, bytes: Uint8Array, offset: number) => T;

/**
 * Decoder of one key or value at an offset: the codec read in place
 * (decoderAt), or without a codec a copy of the bytes.
 */
function fieldReader<T>(
  name: string,
  codec: Decoder<T> | undefined,
  size: number,
  view = false,
): FieldReader<T> {
  if (codec === undefined) {
    // A view when the bytes are the result's own (the constructor: twice as fast
    // as subarray); a copy when they are a reused chunk.
    return (
      view
        ? (_v, b, o) => new Uint8Array(b.buffer, b.byteOffset + o, size)
        : (_v, b, o) => b.slice(o, o + size)
    ) as FieldReader<T>;
  }
  if (typeof codec !== "object" || codec === null) {
    throw new TypeError(`map.${name} must be a codec ({size, decode}), got ${typeof codec}`);
  }
  if (codec.size !== size) {
    throw new TypeError(
      `map.${name} is a codec of ${String(codec.size)} bytes, but the map's elements hold ${size}`,
    );
  }
  // Scalars read with their DataView getter inline: the hot loop of a
  // million-element dump, where a call through decodeAt costs more than the read.
  const source = scalarReadSource(codec, "v", "o");
  if (source !== undefined) return scalarReader(source) as FieldReader<T>;
  const read = decoderAt(codec);
  return (v, _b, o) => read(v, o);
}

const scalarReaders = new Map<string, FieldReader<unknown>>();
/** A reader of one scalar from the source spec writes for it (cached by that source). */
function scalarReader(source: string): FieldReader<unknown> {
  let read = scalarReaders.get(source);
  if (!read) {
    read = new Function("v", "b", "o", `return ${source};`) as FieldReader<unknown>;
    scalarReaders.set(source, read);
  }
  return read;
}

/**
 * Every element of the map, read in one buffer and decoded lazily with the
 * map's codecs as it is visited (`for (const [k, v] of await mapElems(map))`);
 * `toArray()` for a materialised `[key, value][]`.
 */
export async function mapElems<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  options: MapElemsOptions & { btf: false },
): Promise<MapElements<K, V>>;
export async function mapElems<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  options?: MapElemsOptions,
): Promise<MapElements<MapElement<K>, MapElement<V>>>;
export async function mapElems(
  map: IterableMap<unknown, unknown>,
  options: MapElemsOptions = {},
): Promise<MapElements<unknown, unknown>> {
  const typed = prepare(map, options);
  return new MapElements(typed, await mapElemsRaw(map, options));
}

export function mapElemsSync<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  options: MapElemsOptions & { btf: false },
): MapElements<K, V>;
export function mapElemsSync<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  options?: MapElemsOptions,
): MapElements<MapElement<K>, MapElement<V>>;
export function mapElemsSync(
  map: IterableMap<unknown, unknown>,
  options: MapElemsOptions = {},
): MapElements<unknown, unknown> {
  const typed = prepare(map, options);
  return new MapElements(typed, mapElemsRawSync(map, options));
}

/** The map with its decoding codecs, checked before anything reaches the kernel. */
function prepare(
  map: IterableMap<unknown, unknown>,
  options: MapElemsOptions,
): IterableMap<unknown, unknown> {
  const { keySize, valueSize } = checkMap(map);
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  // A caller's codec of the wrong size is refused before the map's BTF is read.
  fieldReader("keyCodec", givenCodec(map.keyCodec), keySize);
  fieldReader("valueCodec", givenCodec(map.valueCodec), valueSize);
  return withCodecs(map, options.btf);
}
