// Record layouts: the byte shape of a C struct, declared in TypeScript
// (`struct({ pid: u32, comm: char(16) })`) or taken from a BTF struct. A
// layout is the codec of its record (@ts-ebpf/spec's `Codec`, the shape map
// handles and iterator readers take), and a field type itself: records nest.
// The scalar field types (u8..u64, f32, f64, ptr, char, bytes) are spec's.
import * as spec from "@ts-ebpf/spec";
import { defineField, type FieldType } from "@ts-ebpf/spec";
import type { Btf } from "./btf.js";
import { BtfError } from "./errors.js";
import type { BtfType, CompositeType, Enum64Type, EnumType } from "./types.js";

/** Data is read and written in host byte order, as BPF programs produce it. */
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAX_NESTING = 32;
/** Anonymous members opened up can multiply fields; real structs have hundreds. */
const MAX_FIELDS = 1 << 16;

export interface LayoutField {
  readonly name: string;
  /** Byte offset from the start of the record. */
  readonly offset: number;
  readonly size: number;
  readonly type: FieldType<unknown>;
}

export interface DecodeAllOptions {
  /** Accept and ignore bytes after the last whole record (default: RangeError). */
  allowTrailing?: boolean;
}

/**
 * A record's codec: `decode(bytes, offset?)`, `decodeAt(view, offset)` (in
 * place, no copy), `encode(value)` (a new buffer; missing fields are zero),
 * `encode(value, bytes, offset?)`, `encodeAt(value, view, offset)`.
 */
export interface RecordLayout<T> extends FieldType<T> {
  readonly fields: readonly LayoutField[];
  /** Byte offset of a field (top level, or dotted through nested records). */
  offsetOf(path: string): number;
  /** Decodes back-to-back records filling `bytes`. */
  decodeAll(bytes: Uint8Array, options?: DecodeAllOptions): T[];
  /** Writes `value` into `bytes` at `offset`, as `encode(value, bytes, offset)` does. */
  encodeInto(value: T, bytes: Uint8Array, offset?: number): void;
}

export type Infer<L> = L extends FieldType<infer T> ? T : never;

/** A 64-bit bitfield's value: a bigint or an integer number; anything else is a TypeError. */
function toBig(x: bigint | number): bigint {
  if (typeof x === "bigint") return x;
  if (typeof x === "number" && Number.isInteger(x)) return BigInt(x);
  const what = typeof x === "number" ? String(x) : typeof x;
  throw new TypeError(`a bitfield takes a bigint or an integer number, got ${what}`);
}

function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new RangeError(`${what}: length must be an integer in 0..2^31-1, got ${n}`);
  }
}

/** A TypeError unless `type` is a field type (a codec with alignment that reads and writes in place). */
function checkFieldType(what: string, type: unknown): FieldType<unknown> {
  const t = type as Partial<FieldType<unknown>> | null;
  if (
    typeof t !== "object" ||
    t === null ||
    typeof t.decodeAt !== "function" ||
    typeof t.encodeAt !== "function" ||
    typeof t.size !== "number" ||
    typeof t.align !== "number"
  ) {
    throw new TypeError(`${what} is not a field type`);
  }
  return t as FieldType<unknown>;
}

/** `n` elements of `type`, decoded to an array. */
export function array<T>(type: FieldType<T>, n: number): FieldType<T[]> {
  checkFieldType("array(): the element type", type);
  checkCount(n, "array()");
  const es = type.size;
  const { decodeAt, encodeAt } = type;
  return defineField({
    describe: `${type.describe}[${n}]`,
    size: es * n,
    align: type.align,
    decodeAt(v: DataView, o: number): T[] {
      const out = new Array<T>(n);
      for (let i = 0; i < n; i++) out[i] = decodeAt(v, o + i * es);
      return out;
    },
    encodeAt(x: readonly T[], v: DataView, o: number): void {
      for (let i = 0; i < n; i++) {
        const e = x?.[i];
        if (e === undefined) new Uint8Array(v.buffer, v.byteOffset + o + i * es, es).fill(0);
        else encodeAt(e, v, o + i * es);
      }
    },
  });
}

/** `type` with a larger alignment, like `__attribute__((aligned(n)))`. */
export function aligned<T>(type: FieldType<T>, n: number): FieldType<T> {
  checkFieldType("aligned(): the type", type);
  if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) {
    throw new RangeError(`aligned(): alignment must be a power of two, got ${n}`);
  }
  const align = Math.max(type.align, n);
  const size = Math.ceil(type.size / align) * align;
  const { decodeAt, encodeAt, describe } = type;
  // A record keeps its fields, so offsetOf still reaches through it.
  const { fields, offsetOf } = type as Partial<RecordLayout<T>>;
  const extra = typeof offsetOf === "function" ? { fields, offsetOf } : {};
  return defineField({ describe, size, align, decodeAt, encodeAt }, extra);
}

/** A bitfield read from the bytes at the field's byte offset. */
function bitfield(bitShift: number, bits: number, signed: boolean): FieldType<number | bigint> {
  const span = Math.ceil((bitShift + bits) / 8);
  const big = bits > 32;
  // BTF bit offsets count from the first byte's least significant bit on
  // little-endian targets and from its most significant bit on big-endian ones.
  const shift = LE ? bitShift : span * 8 - bitShift - bits;
  const loadBig = (v: DataView, o: number): bigint => {
    let raw = 0n;
    if (LE) for (let i = span - 1; i >= 0; i--) raw = (raw << 8n) | BigInt(v.getUint8(o + i));
    else for (let i = 0; i < span; i++) raw = (raw << 8n) | BigInt(v.getUint8(o + i));
    return raw;
  };
  const mask = ((1n << BigInt(bits)) - 1n) << BigInt(shift);
  // Fits 32 bits: plain number arithmetic, no BigInt per read.
  const small = span <= 4;
  return defineField({
    describe: `${signed ? "i" : "u"}${bits}:bitfield`,
    size: span,
    align: 1,
    decodeAt(v: DataView, o: number): number | bigint {
      if (small) {
        let raw = 0;
        if (LE) for (let i = span - 1; i >= 0; i--) raw = raw * 256 + v.getUint8(o + i);
        else for (let i = 0; i < span; i++) raw = raw * 256 + v.getUint8(o + i);
        const x = Math.floor(raw / 2 ** shift) % 2 ** bits;
        return signed && x >= 2 ** (bits - 1) ? x - 2 ** bits : x;
      }
      let x = (loadBig(v, o) & mask) >> BigInt(shift);
      if (signed) x = BigInt.asIntN(bits, x);
      return big ? x : Number(x);
    },
    encodeAt(x: number | bigint, v: DataView, o: number): void {
      let raw = loadBig(v, o);
      raw = (raw & ~mask) | ((BigInt.asUintN(bits, toBig(x ?? 0)) << BigInt(shift)) & mask);
      if (LE) {
        for (let i = 0; i < span; i++) {
          v.setUint8(o + i, Number(raw & 0xffn));
          raw >>= 8n;
        }
      } else {
        for (let i = span - 1; i >= 0; i--) {
          v.setUint8(o + i, Number(raw & 0xffn));
          raw >>= 8n;
        }
      }
    },
  });
}

// ---------------------------------------------------------------- records

interface Slot {
  name: string;
  offset: number;
  type: FieldType<unknown>;
}

/**
 * A reader specialised to one layout: an object literal with the fields in
 * order (one hidden class, scalars read inline). Roughly 1.5x faster than the
 * generic loop on many records. Returns undefined where code generation is
 * not allowed (a browser CSP); the generic loop is used then.
 */
function compileReader<T>(
  names: string[],
  offsets: number[],
  slots: Slot[],
): ((v: DataView, o: number) => T) | undefined {
  const parts = names.map((name, i) => {
    const at = `o + ${offsets[i]}`;
    const value = spec.scalarReadSource(slots[i]!.type, "v", at) ?? `r[${i}](v, ${at})`;
    return `${JSON.stringify(name)}: ${value}`;
  });
  try {
    const make = new Function(
      "r",
      `return function read(v, o) { return { ${parts.join(", ")} }; };`,
    );
    return make(slots.map((s) => s.type.decodeAt)) as (v: DataView, o: number) => T;
  } catch {
    return undefined;
  }
}

function makeRecord<T>(
  slots: Slot[],
  size: number,
  align: number,
  describe: string,
): RecordLayout<T> {
  const names = slots.map((s) => s.name);
  const offsets = slots.map((s) => s.offset);
  const readers = slots.map((s) => s.type.decodeAt);
  const writers = slots.map((s) => s.type.encodeAt);
  const n = slots.length;
  const byName = new Map(slots.map((s) => [s.name, s]));
  const fields: LayoutField[] = slots.map((s) =>
    Object.freeze({ name: s.name, offset: s.offset, size: s.type.size, type: s.type }),
  );

  const read =
    compileReader<T>(names, offsets, slots) ??
    ((v: DataView, o: number): T => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) out[names[i]!] = readers[i]!(v, o + offsets[i]!);
      return out as T;
    });
  const checkView = (what: string, view: unknown, offset: unknown): DataView => {
    if (!(view instanceof DataView)) throw new TypeError(`${what}: view must be a DataView`);
    if (!(typeof offset === "number" && offset >= 0) || offset + size > view.byteLength) {
      throw new RangeError(
        `${what}: record of ${size} bytes at offset ${String(offset)} does not fit ${view.byteLength} bytes`,
      );
    }
    return view;
  };

  const layout: RecordLayout<T> = defineField<T, Omit<RecordLayout<T>, keyof FieldType<T>>>(
    {
      describe,
      size,
      align,
      decodeAt: (view: DataView, offset: number): T =>
        read(checkView("decodeAt", view, offset), offset),
      encodeAt(value: T, view: DataView, offset: number): void {
        checkView("encodeAt", view, offset);
        new Uint8Array(view.buffer, view.byteOffset + offset, size).fill(0);
        const obj = (value ?? {}) as Record<string, unknown>;
        for (let i = 0; i < n; i++) {
          const val = obj[names[i]!];
          if (val !== undefined) writers[i]!(val, view, offset + offsets[i]!);
        }
      },
    },
    {
      fields: Object.freeze(fields),
      offsetOf(path: string): number {
        const [head, ...rest] = String(path).split(".");
        const slot = byName.get(head!);
        if (!slot) throw new RangeError(`record ${describe} has no field "${head}"`);
        if (rest.length === 0) return slot.offset;
        const inner = slot.type as Partial<RecordLayout<unknown>>;
        if (typeof inner.offsetOf !== "function") {
          throw new RangeError(`field "${head}" of ${describe} is not a record`);
        }
        return slot.offset + inner.offsetOf(rest.join("."));
      },
      decodeAll(bytes: Uint8Array, options?: DecodeAllOptions): T[] {
        if (!(bytes instanceof Uint8Array)) {
          throw new TypeError("decodeAll: bytes must be a Uint8Array");
        }
        if (size === 0) throw new RangeError("decodeAll: layout has size 0");
        const count = Math.floor(bytes.byteLength / size);
        const rest = bytes.byteLength - count * size;
        if (rest !== 0 && !options?.allowTrailing) {
          throw new RangeError(
            `decodeAll: ${bytes.byteLength} bytes is not a whole number of ${size}-byte records (${rest} left over)`,
          );
        }
        const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const out = new Array<T>(count);
        for (let i = 0, o = 0; i < count; i++, o += size) out[i] = read(v, o);
        return out;
      },
      encodeInto(value: T, bytes: Uint8Array, offset = 0): void {
        layout.encode(value, bytes, offset);
      },
    },
  );
  return layout;
}

export interface StructOptions {
  /** No padding between fields and alignment 1, like `__attribute__((packed))`. */
  packed?: boolean;
  /** Minimum alignment of the whole struct, like `__attribute__((aligned(n)))`. */
  align?: number;
}

type Fields = Record<string, FieldType<unknown>>;
export type RecordOf<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

/**
 * A record laid out as C would lay out the struct with these fields in this
 * order: each field at the next multiple of its alignment, size rounded up to
 * the largest alignment.
 */
export function struct<F extends Fields>(
  fields: F,
  options: StructOptions = {},
): RecordLayout<RecordOf<F>> {
  if (typeof fields !== "object" || fields === null)
    throw new TypeError("struct(): fields must be an object");
  const slots: Slot[] = [];
  let off = 0;
  let align = options.align ?? 1;
  if (!Number.isInteger(align) || align < 1 || (align & (align - 1)) !== 0) {
    throw new RangeError(`struct(): align must be a power of two, got ${options.align}`);
  }
  for (const [name, type] of Object.entries(fields)) {
    if (name === "__proto__") throw new TypeError('struct(): "__proto__" cannot be a field name');
    checkFieldType(`struct(): field "${name}"`, type);
    const a = options.packed ? 1 : type.align;
    off = Math.ceil(off / a) * a;
    slots.push({ name, offset: off, type });
    off += type.size;
    align = Math.max(align, a);
  }
  const size = Math.ceil(off / align) * align;
  const describe = `struct { ${slots.map((s) => `${s.type.describe} ${s.name};`).join(" ")} }`;
  return makeRecord(slots, size, align, describe);
}

// ---------------------------------------------------------------- from BTF

/** Layouts built during one `layoutFromBtf` call; undefined while in progress. */
type Memo = Map<number, RecordLayout<Record<string, unknown>> | undefined> & {
  steps?: number;
  symbolic?: boolean;
};

/** How codecFromBtf decodes what C gives a meaning beyond its bits. */
export interface BtfCodecOptions {
  /**
   * Decode values the way bpftool prints them: an enum to the name of its
   * enumerator (its number when no enumerator has the value), a `bool` to a
   * boolean, a lone `char` to a one-character string. Default: numbers.
   */
  symbolic?: boolean;
}

/** Zero-size elements would let a tiny struct decode to a huge array. */
const MAX_ZERO_SIZE_ELEMS = 4096;
/**
 * Largest BTF struct or union a layout is made for. encode() allocates the
 * declared size, which hostile BTF sets to anything up to 4 GiB. The largest
 * vmlinux struct (cpu_entry_area) is 236 KiB; a hash map value must stay below
 * KMALLOC_MAX_SIZE (4 MiB on most kernels).
 */
const MAX_LAYOUT_SIZE = 1 << 24;
/**
 * Bytes a struct may extend past its last member: trailing padding comes from
 * alignment, at most a page (64 KiB on arm64 and ppc64). More is a size the
 * type graph cannot justify.
 */
const MAX_TRAILING_PADDING = 1 << 16;
/**
 * JS values one decode() of a BTF layout may create (one per scalar, string,
 * array and record). Union members overlap, so a 1 KiB union of 1 KiB unions
 * of u8[1024] would decode to 10^9 numbers; vmlinux needs under 2^17.
 */
const MAX_LAYOUT_VALUES = 1 << 22;

/** Values decode() creates for BTF-derived field types (absent: 1, a scalar or a string). */
const VALUES = new WeakMap<FieldType<unknown>, number>();
const valuesOf = (type: FieldType<unknown>): number => VALUES.get(type) ?? 1;

/** [unsigned, signed] field types of BTF integers and enums by size (a `char` is a u8 or an i8). */
const INTEGERS: Record<number, readonly [FieldType<unknown>, FieldType<unknown>]> = {
  1: [spec.u8, spec.i8],
  2: [spec.u16, spec.i16],
  4: [spec.u32, spec.i32],
  8: [spec.u64, spec.i64],
};

/** An enum decoded to its enumerator's name, or its number when none has the value. */
function enumField(t: EnumType | Enum64Type): FieldType<unknown> {
  const base = INTEGERS[t.size]![t.signed ? 1 : 0] as FieldType<number | bigint>;
  const names = new Map<number | bigint, string>();
  const values = new Map<string, number | bigint>();
  for (const e of t.values) {
    // The first enumerator of a value names it, as bpftool's scan finds it.
    if (!names.has(e.value)) names.set(e.value, e.name);
    values.set(e.name, e.value);
  }
  const read = base.decodeAt;
  const write = base.encodeAt;
  return defineField({
    describe: `enum ${t.name || `(anon ${t.id})`}`,
    size: base.size,
    align: base.align,
    decodeAt(v: DataView, o: number): unknown {
      const x = read(v, o);
      return names.get(x) ?? x;
    },
    encodeAt(x: unknown, v: DataView, o: number): void {
      if (typeof x === "string") {
        const value = values.get(x);
        if (value === undefined) {
          throw new RangeError(`enum ${t.name || t.id} has no enumerator "${x}"`);
        }
        write(value, v, o);
      } else {
        write(x as number | bigint, v, o);
      }
    },
  });
}

/** A C `bool` of `size` bytes: true when any bit is set. */
function boolField(size: number): FieldType<boolean> {
  return defineField({
    describe: "bool",
    size,
    align: size,
    decodeAt(v: DataView, o: number): boolean {
      for (let i = 0; i < size; i++) if (v.getUint8(o + i) !== 0) return true;
      return false;
    },
    encodeAt(x: boolean, v: DataView, o: number): void {
      for (let i = 0; i < size; i++) v.setUint8(o + i, 0);
      if (x) v.setUint8(o, 1);
    },
  });
}

/** A lone C `char`: a one-character string (code unit 0-255). */
const charField: FieldType<string> = defineField({
  describe: "char",
  size: 1,
  align: 1,
  decodeAt: (v: DataView, o: number): string => String.fromCharCode(v.getUint8(o)),
  encodeAt(x: string, v: DataView, o: number): void {
    if (typeof x !== "string" || x.length !== 1 || x.charCodeAt(0) > 0xff) {
      throw new TypeError("a char value must be a one-character string (code 0-255)");
    }
    v.setUint8(o, x.charCodeAt(0));
  },
});

function fieldFromBtf(btf: Btf, id: number, depth: number, memo: Memo): FieldType<unknown> {
  if (depth > MAX_NESTING)
    throw new BtfError(`type id ${id}: records nest deeper than ${MAX_NESTING}`);
  const t: BtfType = btf.resolve(id);
  if (memo.symbolic) {
    if ((t.kind === "enum" || t.kind === "enum64") && INTEGERS[t.size]) return enumField(t);
    if (t.kind === "int" && t.bool && t.size <= 8) return boolField(t.size);
    if (t.kind === "int" && t.char && t.size === 1) return charField;
  }
  switch (t.kind) {
    case "int":
    case "enum":
    case "enum64": {
      // Integers of other sizes (__int128) decode as their bytes.
      const pair = INTEGERS[t.size];
      return pair ? pair[t.signed ? 1 : 0] : spec.bytes(t.size);
    }
    case "float":
      return t.size === 4 ? spec.f32 : t.size === 8 ? spec.f64 : spec.bytes(t.size);
    case "ptr":
      return spec.ptr;
    case "array": {
      if (t.nelems > 0x7fffffff) throw new BtfError(`array ${t.id}: ${t.nelems} elements`);
      const elem = btf.resolve(t.type);
      if (elem.kind === "int" && elem.size === 1 && (elem.char || elem.name === "char")) {
        return spec.char(t.nelems);
      }
      const et = fieldFromBtf(btf, t.type, depth + 1, memo);
      if (et.size === 0 && t.nelems > MAX_ZERO_SIZE_ELEMS) {
        throw new BtfError(`array ${t.id}: ${t.nelems} elements of size 0`);
      }
      const values = 1 + t.nelems * valuesOf(et);
      if (values > MAX_LAYOUT_VALUES) {
        throw new BtfError(
          `array ${t.id}: ${t.nelems} elements of ${et.describe} decode to more than ${MAX_LAYOUT_VALUES} values`,
        );
      }
      const type = array(et, t.nelems);
      VALUES.set(type, values);
      return type;
    }
    case "struct":
    case "union":
      return compositeLayout(btf, t, depth + 1, memo);
    default:
      throw new BtfError(`type id ${t.id} (${t.kind}) cannot be a record field`);
  }
}

function collectSlots(
  btf: Btf,
  t: CompositeType,
  base: number,
  slots: Slot[],
  depth: number,
  memo: Memo,
): void {
  if (depth > MAX_NESTING)
    throw new BtfError(`type id ${t.id}: records nest deeper than ${MAX_NESTING}`);
  // Anonymous members are opened up, not memoized: bound the walk.
  memo.steps = (memo.steps ?? 0) + t.members.length;
  if (memo.steps > MAX_FIELDS) {
    throw new BtfError(
      `type id ${t.id}: more than ${MAX_FIELDS} members with anonymous members opened up`,
    );
  }
  for (const m of t.members) {
    const bitOff = base + m.bitOffset;
    if (m.bitfieldSize) {
      const signed = (() => {
        const r = btf.resolve(m.type);
        return (r.kind === "int" || r.kind === "enum" || r.kind === "enum64") && r.signed;
      })();
      slots.push({
        name: m.name,
        offset: Math.floor(bitOff / 8),
        type: bitfield(bitOff % 8, m.bitfieldSize, signed),
      });
      continue;
    }
    if (m.name === "") {
      // Anonymous struct/union: its members read as if they were ours, as in C.
      const inner = btf.resolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") {
        collectSlots(btf, inner, bitOff, slots, depth + 1, memo);
      }
      continue;
    }
    if (bitOff % 8 !== 0)
      throw new BtfError(`member "${m.name}" of type id ${t.id} is not byte aligned`);
    slots.push({
      name: m.name,
      offset: bitOff / 8,
      type: fieldFromBtf(btf, m.type, depth + 1, memo),
    });
  }
}

function compositeLayout(
  btf: Btf,
  t: CompositeType,
  depth: number,
  memo: Memo,
): RecordLayout<Record<string, unknown>> {
  if (memo.has(t.id)) {
    const done = memo.get(t.id);
    if (!done) throw new BtfError(`type id ${t.id}: ${t.kind} contains itself`);
    return done;
  }
  const what = `${t.kind} ${t.name || `(anon ${t.id})`}`;
  if (t.size > MAX_LAYOUT_SIZE) {
    throw new BtfError(
      `${what}: size ${t.size} is larger than a record layout allows (${MAX_LAYOUT_SIZE} bytes)`,
    );
  }
  memo.set(t.id, undefined);
  const slots: Slot[] = [];
  collectSlots(btf, t, 0, slots, depth, memo);
  const seen = new Set<string>(["__proto__"]);
  for (const slot of slots) {
    if (seen.has(slot.name)) {
      throw new BtfError(
        `${t.kind} ${t.name || `(anon ${t.id})`} has a duplicate or unusable member name "${slot.name}"`,
      );
    }
    seen.add(slot.name);
  }
  if (slots.length > MAX_FIELDS) {
    throw new BtfError(
      `type id ${t.id}: more than ${MAX_FIELDS} fields with anonymous members opened up`,
    );
  }
  let end = 0;
  let values = 1;
  for (const s of slots) {
    if (s.offset + s.type.size > t.size) {
      throw new BtfError(
        `member "${s.name}" (${s.offset}+${s.type.size}) of ${t.kind} ${t.name || t.id} extends past its size ${t.size}`,
      );
    }
    end = Math.max(end, s.offset + s.type.size);
    values += valuesOf(s.type);
  }
  if (t.size - end > MAX_TRAILING_PADDING) {
    throw new BtfError(
      `${what}: size ${t.size}, but its members end at byte ${end} (more than ${MAX_TRAILING_PADDING} bytes of padding)`,
    );
  }
  if (values > MAX_LAYOUT_VALUES) {
    throw new BtfError(`${what}: decodes to more than ${MAX_LAYOUT_VALUES} values`);
  }
  let align = 1;
  try {
    align = btf.alignOf(t.id);
  } catch (e) {
    // Alignment is informative only for BTF layouts; offsets come from BTF.
    if (!(e instanceof BtfError)) throw e;
  }
  const layout = makeRecord<Record<string, unknown>>(slots, t.size, align, what);
  VALUES.set(layout, values);
  memo.set(t.id, layout);
  return layout;
}

/**
 * The codec of any BTF type a map key or value can have: integers, enums,
 * floats, pointers, arrays (char arrays as strings), structs and unions as
 * objects through compiled readers; typedefs and modifiers resolved.
 */
export function codecFromBtf(
  btf: Btf,
  id: number,
  options: BtfCodecOptions = {},
): FieldType<unknown> {
  if (!Number.isInteger(id) || id < 1) {
    throw new RangeError(`codecFromBtf: id must be a type id (an integer above 0), got ${id}`);
  }
  if (typeof options !== "object" || options === null) {
    throw new TypeError("codecFromBtf: options must be an object");
  }
  const memo: Memo = new Map();
  memo.symbolic = options.symbolic === true;
  return fieldFromBtf(btf, id, 0, memo);
}

/** Layout of a BTF struct or union (members at the offsets BTF gives). */
export function layoutFromBtf(btf: Btf, t: CompositeType): RecordLayout<Record<string, unknown>> {
  return compositeLayout(btf, t, 0, new Map());
}
