// Codecs: how a value of a fixed size is read from bytes and written back.
// This is the one codec shape of ts-ebpf: map handles take it for keys and
// values, a record layout (declared, or made from BTF) is the codec of its
// record, and iterator readers decode records with it. The scalar codecs
// (u8..u64, i8..i64, f32, f64, ptr, bytes, char) are defined here, once.
//
// Reading in place is the fast path: `decodeAt(view, offset)` reads a value
// out of a DataView over a whole buffer of values (a batch, an iterator
// chunk) with no per-value subarray or DataView; `encodeAt` writes likewise.
// Codecs written by hand may leave both out (`{ size, encode, decode }`):
// `completeCodec` and `decoderAt` give generic code the in-place form of any
// codec.

/** Data is read and written in host byte order, as BPF programs and the kernel produce it. */
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface Codec<T> {
  /** Bytes one value occupies (a map's key or value size, a record's size). */
  readonly size: number;
  /**
   * Reads the value at `offset` (default 0) of `bytes`. Generic code calls a
   * caller's codec with an exact `size`-byte slice and no offset. The bytes
   * are reused afterwards: copy what you keep.
   */
  decode(bytes: Uint8Array, offset?: number): T;
  /**
   * Writes `value` into `target` at `offset` (default 0), every one of its
   * `size` bytes. A codec may instead return `size` bytes of its own, which
   * generic code then copies into the target (`completeCodec`). Field types
   * (the scalars here, record layouts) return `target`, and without one
   * encode into a new `size`-byte array they return.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a codec that writes into the target returns nothing
  encode(value: T, target: Uint8Array, offset?: number): Uint8Array | void;
  /** Fast path: reads the value at `offset` of `view`, as `decode` would. */
  decodeAt?(view: DataView, offset: number): T;
  /** Fast path: writes `value` at `offset` of `view`, as `encode` would. */
  encodeAt?(value: T, view: DataView, offset: number): void;
}

/** The reading half of a codec: what record readers need. */
export type Decoder<T> = Pick<Codec<T>, "size" | "decode" | "decodeAt">;

/**
 * A codec that can be a member of a C struct: it knows its alignment, and
 * reads and writes in place. The scalars here, `char(n)`, `bytes(n)` and
 * @ts-ebpf/btf's records and arrays are field types.
 */
export interface FieldType<T> extends Codec<T> {
  /** Alignment in bytes (C rules). */
  readonly align: number;
  /** Short C-like description, for messages: "u32", "char[16]", "struct { ... }". */
  readonly describe: string;
  decode(bytes: Uint8Array, offset?: number): T;
  encode(value: T, target?: Uint8Array, offset?: number): Uint8Array;
  decodeAt(view: DataView, offset: number): T;
  encodeAt(value: T, view: DataView, offset: number): void;
}

/** What defineField needs: the in-place reader and writer; decode and encode follow from them. */
export interface FieldParts<T> {
  readonly describe: string;
  readonly size: number;
  readonly align: number;
  decodeAt(view: DataView, offset: number): T;
  encodeAt(value: T, view: DataView, offset: number): void;
}

/** Field types made by defineField: frozen, with no getters, safe to use as they are. */
const FIELDS = new WeakSet<object>();

/** A DataView over all of `bytes`, after checking that `size` bytes at `offset` fit. */
function viewFor(what: string, bytes: unknown, offset: unknown, size: number): DataView {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${what}: bytes must be a Uint8Array`);
  if (typeof offset !== "number" || !Number.isInteger(offset)) {
    throw new TypeError(`${what}: offset must be an integer, got ${describe(offset)}`);
  }
  if (offset < 0 || offset + size > bytes.byteLength) {
    throw new RangeError(
      `${what}: ${size} bytes at offset ${offset} do not fit ${bytes.byteLength} bytes`,
    );
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A field type from its in-place reader and writer, plus `extra` members (a
 * record's fields...). `decode`/`encode` check their arguments, then use
 * `decodeAt`/`encodeAt`, so every path reads and writes the same way.
 */
export function defineField<T, X extends object = object>(
  parts: FieldParts<T>,
  extra?: X,
): FieldType<T> & X {
  const { size, decodeAt, encodeAt } = parts;
  const field = Object.freeze({
    ...extra,
    describe: parts.describe,
    size,
    align: parts.align,
    decodeAt,
    encodeAt,
    decode(bytes: Uint8Array, offset = 0): T {
      return decodeAt(viewFor("decode", bytes, offset, size), offset);
    },
    encode(value: T, target?: Uint8Array, offset = 0): Uint8Array {
      const out = target ?? new Uint8Array(size);
      encodeAt(value, viewFor("encode", out, offset, size), offset);
      return out;
    },
  }) as FieldType<T> & X;
  FIELDS.add(field);
  return field;
}

// ---------------------------------------------------------------- scalars

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "object" || typeof value === "function") return typeof value;
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  return String(value);
}

/** An integer value of `bits` bits, checked: TypeError for a non-integer, RangeError out of range. */
function intIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`a ${name} value must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`a ${name} value must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** A 64-bit value: a bigint or a safe integer number, in range. */
function bigIn(name: string, value: unknown, min: bigint, max: bigint): bigint {
  let big: bigint;
  if (typeof value === "bigint") big = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) big = BigInt(value);
  else {
    throw new TypeError(
      `a ${name} value must be a bigint or a safe integer number, got ${describe(value)}`,
    );
  }
  if (big < min || big > max) {
    throw new RangeError(`a ${name} value must be between ${min} and ${max}, got ${big}`);
  }
  return big;
}

function floatOf(name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`a ${name} value must be a number, got ${describe(value)}`);
  }
  return value;
}

/** An integer field type: `min`..`max` checked on encode (TypeError, RangeError), host byte order. */
function integer(
  describe: string,
  size: number,
  [min, max]: readonly [number, number],
  decodeAt: (v: DataView, o: number) => number,
  set: (v: DataView, o: number, x: number) => void,
): FieldType<number> {
  const encodeAt = (x: number, v: DataView, o: number) => set(v, o, intIn(describe, x, min, max));
  return defineField({ describe, size, align: size, decodeAt, encodeAt });
}

/** A 64-bit integer field type, as bigint (safe integer numbers are taken on encode). */
function integer64(
  describe: string,
  [min, max]: readonly [bigint, bigint],
  decodeAt: (v: DataView, o: number) => bigint,
  set: (v: DataView, o: number, x: bigint) => void,
): FieldType<bigint> {
  const encodeAt = (x: bigint, v: DataView, o: number) => set(v, o, bigIn(describe, x, min, max));
  return defineField({ describe, size: 8, align: 8, decodeAt, encodeAt });
}

function float(
  describe: string,
  size: number,
  decodeAt: (v: DataView, o: number) => number,
  set: (v: DataView, o: number, x: number) => void,
): FieldType<number> {
  const encodeAt = (x: number, v: DataView, o: number) => set(v, o, floatOf(describe, x));
  return defineField({ describe, size, align: size, decodeAt, encodeAt });
}

/**
 * Whether a 64-bit integer whose high word is 0 is made with BigInt() of its
 * low word. V8 before 13 (Node 20 and 22) calls out of optimised code for
 * every DataView getBigUint64/getBigInt64: 1M values below 2^32 took 33-36 ms
 * that way and 12-17 ms through BigInt(); most counters, ids and sizes stay
 * below 2^32 (values above it pay the word test, ~5 ns). V8 13 (Node 24)
 * inlines the getters, which are then faster than the test.
 */
export const BIGINT_FROM_LOW_WORD = (() => {
  const v8 = (globalThis as { process?: { versions?: { v8?: unknown } } }).process?.versions?.v8;
  const major = typeof v8 === "string" ? Number.parseInt(v8, 10) : Number.NaN;
  return Number.isInteger(major) && major < 13;
})();

/** Offsets of the low and the high 32-bit word of a 64-bit integer in host order. */
const [LOW_WORD, HIGH_WORD] = LE ? [0, 4] : [4, 0];

/** `get64` with the low-word path in front where BIGINT_FROM_LOW_WORD says so. */
function fromLowWord(
  get64: (v: DataView, o: number) => bigint,
): (v: DataView, o: number) => bigint {
  if (!BIGINT_FROM_LOW_WORD) return get64;
  return (v, o) =>
    v.getUint32(o + HIGH_WORD, LE) === 0 ? BigInt(v.getUint32(o + LOW_WORD, LE)) : get64(v, o);
}

const U64: readonly [bigint, bigint] = [0n, (1n << 64n) - 1n];
const I64: readonly [bigint, bigint] = [-(1n << 63n), (1n << 63n) - 1n];

// One scalar a line. Each reader and writer is a direct DataView call (the
// hot path of a map lookup and of a million-record decode): a getter looked
// up by name from one shared closure is several times slower.
// biome-ignore format: a table
export const
  u8 = integer("u8", 1, [0, 0xff], (v, o) => v.getUint8(o), (v, o, x) => v.setUint8(o, x)),
  i8 = integer("i8", 1, [-0x80, 0x7f], (v, o) => v.getInt8(o), (v, o, x) => v.setInt8(o, x)),
  u16 = integer("u16", 2, [0, 0xffff], (v, o) => v.getUint16(o, LE), (v, o, x) => v.setUint16(o, x, LE)),
  i16 = integer("i16", 2, [-0x8000, 0x7fff], (v, o) => v.getInt16(o, LE), (v, o, x) => v.setInt16(o, x, LE)),
  u32 = integer("u32", 4, [0, 0xffffffff], (v, o) => v.getUint32(o, LE), (v, o, x) => v.setUint32(o, x, LE)),
  i32 = integer("i32", 4, [-0x80000000, 0x7fffffff], (v, o) => v.getInt32(o, LE), (v, o, x) => v.setInt32(o, x, LE)),
  u64 = integer64("u64", U64, fromLowWord((v, o) => v.getBigUint64(o, LE)), (v, o, x) => v.setBigUint64(o, x, LE)),
  i64 = integer64("i64", I64, fromLowWord((v, o) => v.getBigInt64(o, LE)), (v, o, x) => v.setBigInt64(o, x, LE)),
  /** A pointer-sized value (kernel addresses, above 2^32: the getter alone), as bigint. */
  ptr = integer64("ptr", U64, (v, o) => v.getBigUint64(o, LE), (v, o, x) => v.setBigUint64(o, x, LE)),
  f32 = float("f32", 4, (v, o) => v.getFloat32(o, LE), (v, o, x) => v.setFloat32(o, x, LE)),
  f64 = float("f64", 8, (v, o) => v.getFloat64(o, LE), (v, o, x) => v.setFloat64(o, x, LE));

/**
 * The DataView getter each scalar's decodeAt calls (in host byte order). Its
 * names are written into code compiled with new Function, so the table is
 * private: no one can put code of their own into every later reader.
 */
const scalarReads: ReadonlyMap<FieldType<unknown>, string> = new Map<FieldType<unknown>, string>([
  [u8, "getUint8"],
  [i8, "getInt8"],
  [u16, "getUint16"],
  [i16, "getInt16"],
  [u32, "getUint32"],
  [i32, "getInt32"],
  [u64, "getBigUint64"],
  [i64, "getBigInt64"],
  [f32, "getFloat32"],
  [f64, "getFloat64"],
  [ptr, "getBigUint64"],
] as Array<[FieldType<unknown>, string]>);

/** The DataView getter the scalar `type`'s decodeAt calls, or undefined when it is not one of the scalars. */
export function scalarReadName(type: unknown): string | undefined {
  return scalarReads.get(type as FieldType<unknown>);
}

/**
 * The getters by scalar, for readers that inline them. A copy: changing it
 * changes no reader (scalarReadSource and the compiled readers use their own).
 */
export const SCALAR_READS: ReadonlyMap<FieldType<unknown>, string> = new Map(scalarReads);

/**
 * JavaScript source reading the scalar `type` from the DataView named `view`
 * at the offset expression `at` (host byte order), as its decodeAt does, for
 * readers compiled with new Function (record readers, map element loops);
 * undefined when `type` is not one of the scalars. `view` and `at` are
 * written into the source as given (`at` more than once): plain names and
 * sums only.
 */
export function scalarReadSource(type: unknown, view: string, at: string): string | undefined {
  const getter = scalarReads.get(type as FieldType<unknown>);
  if (getter === undefined) return undefined;
  if (getter.endsWith("8")) return `${view}.${getter}(${at})`;
  const read = `${view}.${getter}(${at}, ${LE})`;
  if (!BIGINT_FROM_LOW_WORD || type === ptr || !/^getBig(Ui|I)nt64$/.test(getter)) return read;
  return `(${view}.getUint32(${at} + ${HIGH_WORD}, ${LE}) === 0 ? BigInt(${view}.getUint32(${at} + ${LOW_WORD}, ${LE})) : ${read})`;
}

function checkLength(what: string, n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new RangeError(`${what}: length must be an integer in 0..2^31-1, got ${describe(n)}`);
  }
  return n;
}

/** `n` raw bytes, decoded as a copy; encoding takes exactly `n` bytes. */
export function bytes(n: number): FieldType<Uint8Array> {
  checkLength("bytes()", n);
  return defineField({
    describe: `u8[${n}]`,
    size: n,
    align: 1,
    decodeAt(v: DataView, o: number): Uint8Array {
      if (!(v instanceof DataView)) throw new TypeError("decodeAt: view must be a DataView");
      if (!(o >= 0) || o + n > v.byteLength) {
        throw new RangeError(`bytes(${n}): decode at ${o} is outside ${v.byteLength} bytes`);
      }
      return new Uint8Array(v.buffer.slice(v.byteOffset + o, v.byteOffset + o + n));
    },
    encodeAt(x: Uint8Array, v: DataView, o: number): void {
      if (!(x instanceof Uint8Array)) {
        throw new TypeError(`a u8[${n}] value must be a Uint8Array, got ${describe(x)}`);
      }
      if (x.byteLength !== n) {
        throw new RangeError(`a u8[${n}] value must be ${n} bytes, got ${x.byteLength}`);
      }
      new Uint8Array(v.buffer, v.byteOffset + o, n).set(x);
    },
  });
}

const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

/**
 * Strings of `char[16]` fields decoded lately, keyed by all 16 bytes: task
 * and thread names repeat (thousands of "sleep", "nginx", "kworker/0:1"),
 * and comparing four words is several times cheaper than building the
 * string again. A direct-mapped table: a miss decodes and replaces the slot.
 */
class Char16Cache {
  readonly #words = new Uint32Array(CHAR16_SLOTS * 4);
  readonly #strings: (string | undefined)[] = new Array(CHAR16_SLOTS).fill(undefined);

  decodeAt(v: DataView, o: number, decode: (v: DataView, o: number) => string): string {
    const a = v.getUint32(o, LE);
    const b = v.getUint32(o + 4, LE);
    const c = v.getUint32(o + 8, LE);
    const d = v.getUint32(o + 12, LE);
    const slot = (a ^ Math.imul(b, 31) ^ Math.imul(c, 17) ^ d ^ (a >>> 16)) & (CHAR16_SLOTS - 1);
    const at = slot * 4;
    const words = this.#words;
    const cached = this.#strings[slot];
    if (
      cached !== undefined &&
      words[at] === a &&
      words[at + 1] === b &&
      words[at + 2] === c &&
      words[at + 3] === d
    ) {
      return cached;
    }
    const s = decode(v, o);
    words[at] = a;
    words[at + 1] = b;
    words[at + 2] = c;
    words[at + 3] = d;
    this.#strings[slot] = s;
    return s;
  }
}
const CHAR16_SLOTS = 256;

/** A `char[n]` field, decoded as the string before the first NUL (UTF-8). */
export function char(n: number): FieldType<string> {
  checkLength("char()", n);
  const parts = charParts(n);
  if (n !== 16) return defineField(parts);
  // TASK_COMM_LEN: every task record has one.
  const cache = new Char16Cache();
  const decode = parts.decodeAt;
  return defineField({ ...parts, decodeAt: (v, o) => cache.decodeAt(v, o, decode) });
}

function charParts(n: number): FieldParts<string> {
  return {
    describe: `char[${n}]`,
    size: n,
    align: 1,
    decodeAt(v: DataView, o: number): string {
      // ASCII (the common case) is built char by char: no allocation
      // besides the string itself.
      const stop = o + n;
      let out = "";
      let i = o;
      for (; i < stop; i++) {
        const c = v.getUint8(i);
        if (c === 0) return out;
        if (c >= 0x80) break;
        out += String.fromCharCode(c);
      }
      if (i === stop) return out;
      let end = i;
      while (end < stop && v.getUint8(end) !== 0) end++;
      return utf8.decode(new Uint8Array(v.buffer, v.byteOffset + o, end - o));
    },
    encodeAt(x: string, v: DataView, o: number): void {
      if (typeof x !== "string") {
        throw new TypeError(`a char[${n}] value must be a string, got ${describe(x)}`);
      }
      const dst = new Uint8Array(v.buffer, v.byteOffset + o, n);
      dst.fill(0);
      // Truncated to n bytes; a string of n bytes has no NUL, as in C.
      utf8Encoder.encodeInto(x, dst);
    },
  };
}

// ---------------------------------------------------------------- any codec, in place

/** Whether `value` has the codec shape `{ size, encode, decode }`. */
export function isCodec(value: unknown): value is Codec<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Codec<unknown>).size === "number" &&
    typeof (value as Codec<unknown>).encode === "function" &&
    typeof (value as Codec<unknown>).decode === "function"
  );
}

/**
 * How generic code reads values of `decoder` in place: its decodeAt, or its
 * decode over an exact `size`-byte slice (made once per view and offset, so
 * reading one slot again and again allocates nothing).
 */
export function decoderAt<T>(decoder: Decoder<T>): (view: DataView, offset: number) => T {
  const { size, decode, decodeAt } = decoder;
  if (typeof decodeAt === "function") return decodeAt.bind(decoder);
  if (typeof decode !== "function") throw new TypeError("decoder must have a decode method");
  const bound = decode.bind(decoder);
  const slice = sliceCache(size);
  return (view, offset) => bound(slice(view, offset));
}

/** `size` bytes at `offset` of a view, as a Uint8Array; the last one is reused. */
function sliceCache(size: number): (view: DataView, offset: number) => Uint8Array {
  let lastView: DataView | undefined;
  let lastOffset = -1;
  let last: Uint8Array = new Uint8Array(0);
  return (view, offset) => {
    if (view !== lastView || offset !== lastOffset || last.byteLength !== size) {
      if (!(offset >= 0) || offset + size > view.byteLength) {
        throw new RangeError(`codec: ${size} bytes at ${offset} are outside ${view.byteLength}`);
      }
      last = new Uint8Array(view.buffer, view.byteOffset + offset, size);
      lastView = view;
      lastOffset = offset;
    }
    return last;
  };
}

/**
 * A caller's codec read once (every property, before anything else runs:
 * a getter answering differently later changes nothing) into a frozen codec
 * with both in-place methods: its own, or ones made from decode/encode.
 * Field types made here (defineField) are returned as they are. `what` names
 * the codec in the TypeError for anything that is not `{size, encode, decode}`.
 */
export function completeCodec<T>(what: string, codec: unknown): Required<Codec<T>> {
  const bad = () => new TypeError(`${what} codec must be {size, encode, decode}`);
  if (typeof codec !== "object" || codec === null) throw bad();
  if (FIELDS.has(codec)) return codec as FieldType<T>;
  const { size, encode, decode, decodeAt, encodeAt } = codec as Codec<T>;
  if (typeof size !== "number" || typeof encode !== "function" || typeof decode !== "function") {
    throw bad();
  }
  // Binding reads the functions' name and length: here, not later.
  const boundEncode = encode.bind(codec);
  const boundDecode = decode.bind(codec);
  let inPlaceEncode: (value: T, view: DataView, offset: number) => void;
  if (typeof encodeAt === "function") inPlaceEncode = encodeAt.bind(codec);
  else {
    const slice = sliceCache(size);
    inPlaceEncode = (value, view, offset) => {
      const slot = slice(view, offset);
      const out: unknown = boundEncode(value, slot);
      // A codec that returns bytes of its own instead of writing the slot.
      if (out instanceof Uint8Array && out !== slot) {
        if (out.byteLength !== size) {
          throw new RangeError(`${what} codec encoded ${out.byteLength} bytes, expected ${size}`);
        }
        slot.set(out);
      }
    };
  }
  return Object.freeze({
    size,
    decode: boundDecode,
    encode: boundEncode,
    decodeAt:
      typeof decodeAt === "function"
        ? decodeAt.bind(codec)
        : decoderAt({ size, decode: boundDecode }),
    encodeAt: inPlaceEncode,
  });
}
