// The BTF parser and the queries on it. Parsing is one pass that checks the
// header and records where each type starts; types, names and the name index
// are decoded on first use, so a cold vmlinux parse stays cheap.
import { type FormatCOptions, formatC, typeName } from "./cprint.js";
import { BtfError } from "./errors.js";
import { layoutFromBtf, type RecordLayout } from "./layout.js";
import {
  BTF_KIND,
  type BtfKind,
  type BtfType,
  type CompositeType,
  type EnumValue,
  KIND_NAMES,
  type Linkage,
  type Member,
  type TypeOfKind,
} from "./types.js";

const BTF_MAGIC = 0xeb9f;
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HEADER_LEN = 24;
/** libbpf's MAX_RESOLVE_DEPTH: longer reference chains are treated as loops. */
export const MAX_RESOLVE_DEPTH = 32;
const MAX_STR_OFFSET = 0x7fffffff;
/** Bound on members visited by one walk through anonymous members (hostile fan-out). */
const MAX_WALK_STEPS = 1 << 16;
/** Bound on the C text `iteratorTargets()` renders for member types, all targets together. */
const MAX_TARGET_TYPE_TEXT = 4 << 20;
/** Entries of the by-name lookup cache; callers choose the names, so it is bounded. */
const MAX_LOOKUP_CACHE = 1 << 14;

/**
 * A limit hit because of where a walk started (nesting depth), not a property
 * of the type itself: not remembered as the type's failure.
 */
class DepthError extends BtfError {}

/**
 * The type a typedef or a modifier (const, volatile, restrict, type tag)
 * stands for, as an id; undefined for any other kind.
 */
function qualifiedType(t: BtfType): number | undefined {
  switch (t.kind) {
    case "typedef":
    case "const":
    case "volatile":
    case "restrict":
    case "type_tag":
      return t.type;
    default:
      return undefined;
  }
}

/** Where a member sits, from `Btf.memberOffset`. */
export interface MemberLocation {
  /** Byte offset from the start of the object the last pointer hop lands on (or of the struct). */
  readonly offset: number;
  /** Same position in bits (differs from offset * 8 for bitfields). */
  readonly bitOffset: number;
  /** Bitfield width in bits, 0 for an ordinary member. */
  readonly bitSize: number;
  /** Member type id. */
  readonly type: number;
  /** Byte size of the member type (of the storage type for a bitfield; 0 if it has none). */
  readonly size: number;
  /**
   * Byte offsets of the pointers the path goes through, in order. Empty when the
   * whole path is inside the struct; for "mm.exe_file" on task_struct it holds the
   * offset of `mm`, and `offset` is then relative to the mm_struct.
   */
  readonly hops: readonly number[];
}

export interface IteratorTargetMember {
  readonly name: string;
  /** Byte offset in the context struct. */
  readonly offset: number;
  readonly type: number;
  /** C spelling of the member type, e.g. "struct task_struct *". */
  readonly typeName: string;
}

export interface IteratorTarget {
  /** Target name as used by the kernel: "task", "bpf_map_elem", ... */
  readonly name: string;
  /** Id of FUNC `bpf_iter_<name>` (the program's attach_btf_id). */
  readonly funcId: number;
  /** Id of STRUCT `bpf_iter__<name>`, the program's context. */
  readonly contextId: number;
  readonly contextSize: number;
  readonly members: readonly IteratorTargetMember[];
}

/** A type given by id, by object, or by name ("task_struct", "struct task_struct", "u32"). */
export type TypeRef = number | string | BtfType;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });
/** Single-byte decoding keeps string offsets equal to byte offsets (ASCII names). */
const singleByteDecoder = new TextDecoder("latin1");

function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case BTF_KIND.INT:
    case BTF_KIND.VAR:
    case BTF_KIND.DECL_TAG:
      return 4;
    case BTF_KIND.ARRAY:
      return 12;
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
    case BTF_KIND.DATASEC:
    case BTF_KIND.ENUM64:
      return 12 * vlen;
    case BTF_KIND.ENUM:
    case BTF_KIND.FUNC_PROTO:
      return 8 * vlen;
    case BTF_KIND.PTR:
    case BTF_KIND.FWD:
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
    case BTF_KIND.FUNC:
    case BTF_KIND.FLOAT:
    case BTF_KIND.TYPE_TAG:
      return 0;
    default:
      return -1;
  }
}

const ENUM_SIZES = [1, 2, 4, 8] as const;
const FLOAT_SIZES = [2, 4, 8, 12, 16] as const;

const LINKAGE: readonly Linkage[] = ["static", "global", "extern"];

/** Parsed BTF: vmlinux, a module on top of vmlinux, or a program's .BTF section. */
export class Btf {
  /** The BTF this one extends (split BTF), if any. */
  readonly base: Btf | undefined;
  /** First type id defined by this blob (1 for base BTF). */
  readonly firstId: number;
  /** One past the last type id (ids 0 .. typeCount-1 are valid, including the base's). */
  readonly typeCount: number;
  readonly littleEndian: boolean;

  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly words: Uint32Array | undefined;
  private readonly offsets: Uint32Array;
  private readonly strStart: number;
  private readonly strEnd: number;
  /** String offsets below this belong to the base. */
  private readonly strBase: number;
  private readonly cache: (BtfType | undefined)[];
  private strText: string | undefined;
  private strAscii = true;
  private nameIndex: Map<string, number> | undefined;
  private enumeratorIndex: Map<string, { enum: number; value: number | bigint }> | undefined;
  /**
   * Struct/union alignments; 0 while being computed (detects self-containment);
   * the BtfError when it cannot be computed, so hostile BTF is not re-walked.
   */
  private readonly alignCache = new Map<number, number | BtfError>();
  /** Name hash index (findType, findTypeIds): bucket -> first type index, chained by nextSameHash. */
  private hashBuckets: Int32Array | undefined;
  private nextSameHash: Int32Array | undefined;
  /** Why a type id failed to decode: asking again throws the same error, without re-decoding. */
  private readonly decodeErrors = new Map<number, BtfError>();
  /** findType results by kind and name, misses (null) included. */
  private readonly findCache = new Map<string, BtfType | null>();
  /** lookup results by name, misses (the BtfError) included. */
  private readonly lookupCache = new Map<string, BtfType | BtfError>();

  constructor(data: Uint8Array, base?: Btf) {
    let bytes = data;
    if (!(bytes instanceof Uint8Array)) throw new TypeError("parseBtf: bytes must be a Uint8Array");
    // Keep the data 4-byte aligned so type words can be read through a Uint32Array.
    if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
    this.bytes = bytes;
    this.base = base;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const len = bytes.byteLength;
    if (len < HEADER_LEN) {
      throw new BtfError(`truncated header: need ${HEADER_LEN} bytes, have ${len}`, 0);
    }
    const magicLE = this.view.getUint16(0, true);
    if (magicLE === BTF_MAGIC) this.littleEndian = true;
    else if (this.view.getUint16(0, false) === BTF_MAGIC) this.littleEndian = false;
    else throw new BtfError(`bad magic 0x${magicLE.toString(16)} (want 0xeb9f)`, 0);
    if (base && base.littleEndian !== this.littleEndian) {
      throw new BtfError("split BTF and its base differ in byte order", 0);
    }
    const version = bytes[2]!;
    if (version !== 1) throw new BtfError(`unsupported version ${version}`, 2);
    const le = this.littleEndian;
    const hdrLen = this.view.getUint32(4, le);
    const typeOff = this.view.getUint32(8, le);
    const typeLen = this.view.getUint32(12, le);
    const strOff = this.view.getUint32(16, le);
    const strLen = this.view.getUint32(20, le);
    if (hdrLen < HEADER_LEN || hdrLen > len) {
      throw new BtfError(`header length ${hdrLen} outside ${HEADER_LEN}..${len}`, 4);
    }
    const typeStart = hdrLen + typeOff;
    const typeEnd = typeStart + typeLen;
    const strStart = hdrLen + strOff;
    const strEnd = strStart + strLen;
    if (typeOff % 4 !== 0) throw new BtfError(`type section offset ${typeOff} not 4-aligned`, 8);
    if (typeEnd > len) {
      throw new BtfError(`type section ${typeStart}..${typeEnd} past end of data (${len})`, 8);
    }
    if (strEnd > len) {
      throw new BtfError(`string section ${strStart}..${strEnd} past end of data (${len})`, 16);
    }
    if (strLen > MAX_STR_OFFSET) throw new BtfError(`string section too large (${strLen})`, 20);
    if (typeStart < strEnd && strStart < typeEnd) {
      throw new BtfError("type and string sections overlap", 8);
    }
    if (!base && (strLen === 0 || bytes[strStart] !== 0)) {
      throw new BtfError("string section must start with a NUL byte", strStart);
    }
    if (strLen > 0 && bytes[strEnd - 1] !== 0) {
      throw new BtfError("string section does not end with a NUL byte", strEnd - 1);
    }
    this.strStart = strStart;
    this.strEnd = strEnd;
    this.strBase = base ? base.stringsEnd : 0;
    this.firstId = base ? base.typeCount : 1;

    // Types are 4-byte words; when the data is in host order and the section
    // aligned, read them through a Uint32Array (much faster than DataView
    // while the code is still cold).
    this.words =
      le === HOST_LE && typeStart % 4 === 0
        ? new Uint32Array(bytes.buffer, bytes.byteOffset, len >>> 2)
        : undefined;
    const words = this.words;

    // One pass over the type section: kind, size and bounds of every type.
    const offsets = new Uint32Array(Math.floor(typeLen / 12));
    let n = 0;
    let p = typeStart;
    const view = this.view;
    while (p < typeEnd) {
      if (typeEnd - p < 12) {
        throw new BtfError(`truncated type header (${typeEnd - p} bytes left)`, p);
      }
      const info = words ? words[(p + 4) >>> 2]! : view.getUint32(p + 4, le);
      const kind = (info >>> 24) & 0x1f;
      const extra = extraBytes(kind, info & 0xffff);
      if (extra < 0) throw new BtfError(`type id ${this.firstId + n}: unknown kind ${kind}`, p);
      if (typeEnd - p - 12 < extra) {
        throw new BtfError(
          `type id ${this.firstId + n} (${KIND_NAMES[kind]}) needs ${12 + extra} bytes, ${typeEnd - p} left`,
          p,
        );
      }
      offsets[n++] = p;
      p += 12 + extra;
    }
    this.offsets = offsets.subarray(0, n);
    this.typeCount = this.firstId + n;
    this.cache = new Array<BtfType | undefined>(n);
  }

  /** One past the last string offset this BTF (with its base) can resolve. */
  get stringsEnd(): number {
    return this.strBase + (this.strEnd - this.strStart);
  }

  // ---------------------------------------------------------------- raw access

  private u32(at: number): number {
    const words = this.words;
    // Type section words are aligned whenever `words` exists; strings are never read here.
    if (words && (at & 3) === 0) return words[at >>> 2]!;
    return this.view.getUint32(at, this.littleEndian);
  }

  /** Byte offset of a type's header in this blob; throws for ids outside it. */
  private offsetOf(id: number): number {
    const off = this.offsets[id - this.firstId];
    if (off === undefined) throw new BtfError(`type id ${id} not in this BTF`);
    return off;
  }

  private checkId(id: number, at: number, what: string): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.typeCount) {
      throw new BtfError(`${what} refers to type id ${id}, but only ${this.typeCount} exist`, at);
    }
    return id;
  }

  /** The NUL-terminated string at string offset `off`; `at` names the referencing byte. */
  str(off: number, at = -1): string {
    if (!Number.isSafeInteger(off) || off < 0) {
      throw new RangeError(`str: string offset must be a non-negative integer, got ${off}`);
    }
    if (off < this.strBase) return this.base!.str(off, at);
    const local = off - this.strBase;
    if (local >= this.strEnd - this.strStart) {
      throw new BtfError(
        `string offset ${off} outside string section (${this.stringsEnd} bytes)`,
        at,
      );
    }
    // The whole section decoded once, one char per byte; names are slices of it.
    let text = this.strText;
    if (text === undefined) {
      text = singleByteDecoder.decode(this.bytes.subarray(this.strStart, this.strEnd));
      this.strText = text;
      this.strAscii = !/[\u0080-\uffff]/.test(text);
    }
    // The section ends with NUL (checked in the constructor), so this finds one.
    const end = text.indexOf("\0", local);
    if (end === local) return "";
    const name = text.slice(local, end);
    if (this.strAscii || !/[\u0080-\uffff]/.test(name)) return name;
    return utf8Decoder.decode(this.bytes.subarray(this.strStart + local, this.strStart + end));
  }

  /** Kind of a type without decoding it. */
  kindOf(id: number): BtfKind {
    if (id === 0) return "void";
    if (id < this.firstId) {
      if (this.base) return this.base.kindOf(id);
    }
    const off = this.offsetOf(id);
    return KIND_NAMES[(this.u32(off + 4) >>> 24) & 0x1f]!;
  }

  /** Name of a type without decoding it ("" when anonymous). */
  nameOf(id: number): string {
    if (id === 0) return "";
    if (id < this.firstId && this.base) return this.base.nameOf(id);
    const off = this.offsetOf(id);
    return this.str(this.u32(off), off);
  }

  // ---------------------------------------------------------------- types

  /** The type with this id (0 is void). Throws BtfError for an id that does not exist. */
  type(id: number): BtfType {
    if (id === 0) return VOID;
    if (!Number.isInteger(id) || id < 0 || id >= this.typeCount) {
      throw new BtfError(`no type id ${id} (valid: 0..${this.typeCount - 1})`);
    }
    if (id < this.firstId) return this.base!.type(id);
    const i = id - this.firstId;
    const cached = this.cache[i];
    if (cached) return cached;
    const failed = this.decodeErrors.get(id);
    if (failed) throw failed;
    let t: BtfType;
    try {
      t = this.decode(id, this.offsets[i]!);
    } catch (e) {
      // A struct with 65535 members fails at its last one: remember it.
      if (e instanceof BtfError) this.decodeErrors.set(id, e);
      throw e;
    }
    this.cache[i] = t;
    return t;
  }

  /** Every type, in id order, base types first (without void). */
  *types(): IterableIterator<BtfType> {
    for (let id = 1; id < this.typeCount; id++) yield this.type(id);
  }

  private decode(id: number, off: number): BtfType {
    const le = this.littleEndian;
    const v = this.view;
    const nameOff = this.u32(off);
    const info = this.u32(off + 4);
    const sizeOrType = this.u32(off + 8);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const name = this.str(nameOff, off);
    const ref = (t: number, at: number, what: string) => this.checkId(t, at, what);
    const data = off + 12;
    switch (kind) {
      case BTF_KIND.INT: {
        const enc = this.u32(data);
        const bits = enc & 0xff;
        const bitOffset = (enc >>> 16) & 0xff;
        const encoding = (enc >>> 24) & 0x0f;
        if (bits === 0 || bitOffset + bits > sizeOrType * 8 || sizeOrType > 16) {
          throw new BtfError(
            `INT ${id} "${name}": ${bits} bits at offset ${bitOffset} do not fit ${sizeOrType} bytes`,
            data,
          );
        }
        return {
          id,
          kind: "int",
          name,
          size: sizeOrType,
          signed: (encoding & 1) !== 0,
          char: (encoding & 2) !== 0,
          bool: (encoding & 4) !== 0,
          bitOffset,
          bits,
        };
      }
      case BTF_KIND.PTR:
      case BTF_KIND.TYPEDEF:
      case BTF_KIND.VOLATILE:
      case BTF_KIND.CONST:
      case BTF_KIND.RESTRICT:
        return {
          id,
          kind: KIND_NAMES[kind] as "ptr",
          name,
          type: ref(sizeOrType, off + 8, `${KIND_NAMES[kind]} ${id}`),
        };
      case BTF_KIND.TYPE_TAG:
        return {
          id,
          kind: "type_tag",
          name,
          type: ref(sizeOrType, off + 8, `type_tag ${id}`),
          attribute: kindFlag,
        };
      case BTF_KIND.ARRAY:
        return {
          id,
          kind: "array",
          name,
          type: ref(this.u32(data), data, `array ${id} element`),
          indexType: ref(this.u32(data + 4), data + 4, `array ${id} index`),
          nelems: this.u32(data + 8),
        };
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION: {
        const members: Member[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const m = data + i * 12;
          const mType = ref(this.u32(m + 4), m + 4, `member ${i} of ${KIND_NAMES[kind]} ${id}`);
          const raw = this.u32(m + 8);
          let bitOffset = kindFlag ? raw & 0xffffff : raw;
          let bitfieldSize = kindFlag ? raw >>> 24 : 0;
          if (!kindFlag) {
            // Old encoding: a bitfield is a member whose INT type is narrower than its size.
            const intInfo = this.rawInt(mType);
            if (intInfo && (intInfo.bitOffset !== 0 || intInfo.bits !== intInfo.size * 8)) {
              bitOffset += intInfo.bitOffset;
              bitfieldSize = intInfo.bits;
            }
          }
          members[i] = { name: this.str(this.u32(m), m), type: mType, bitOffset, bitfieldSize };
        }
        return {
          id,
          kind: KIND_NAMES[kind] as "struct",
          name,
          size: sizeOrType,
          members,
          kindFlag,
        };
      }
      case BTF_KIND.ENUM: {
        this.checkSize(id, name, sizeOrType, ENUM_SIZES, off + 8);
        const values: EnumValue<number>[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const e = data + i * 8;
          const value = kindFlag ? v.getInt32(e + 4, le) : v.getUint32(e + 4, le);
          values[i] = { name: this.str(this.u32(e), e), value };
        }
        return { id, kind: "enum", name, size: sizeOrType, signed: kindFlag, values };
      }
      case BTF_KIND.ENUM64: {
        this.checkSize(id, name, sizeOrType, ENUM_SIZES, off + 8);
        const values: EnumValue<bigint>[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const e = data + i * 12;
          const lo = BigInt(this.u32(e + 4));
          const hi = BigInt(this.u32(e + 8));
          let value = (hi << 32n) | lo;
          if (kindFlag) value = BigInt.asIntN(64, value);
          values[i] = { name: this.str(this.u32(e), e), value };
        }
        return { id, kind: "enum64", name, size: sizeOrType, signed: kindFlag, values };
      }
      case BTF_KIND.FWD:
        return { id, kind: "fwd", name, fwdKind: kindFlag ? "union" : "struct" };
      case BTF_KIND.FUNC: {
        const linkage = LINKAGE[vlen];
        if (!linkage) throw new BtfError(`FUNC ${id} "${name}": bad linkage ${vlen}`, off + 4);
        return { id, kind: "func", name, type: ref(sizeOrType, off + 8, `func ${id}`), linkage };
      }
      case BTF_KIND.FUNC_PROTO: {
        const params = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const p = data + i * 8;
          params[i] = {
            name: this.str(this.u32(p), p),
            type: ref(this.u32(p + 4), p + 4, `param ${i} of func_proto ${id}`),
          };
        }
        return {
          id,
          kind: "func_proto",
          name,
          returnType: ref(sizeOrType, off + 8, `func_proto ${id} return`),
          params,
        };
      }
      case BTF_KIND.VAR: {
        const linkage = LINKAGE[this.u32(data)];
        if (!linkage) throw new BtfError(`VAR ${id} "${name}": bad linkage`, data);
        return { id, kind: "var", name, type: ref(sizeOrType, off + 8, `var ${id}`), linkage };
      }
      case BTF_KIND.DATASEC: {
        const vars = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const s = data + i * 12;
          vars[i] = {
            type: ref(this.u32(s), s, `datasec ${id} var ${i}`),
            offset: this.u32(s + 4),
            size: this.u32(s + 8),
          };
        }
        return { id, kind: "datasec", name, size: sizeOrType, vars };
      }
      case BTF_KIND.FLOAT:
        this.checkSize(id, name, sizeOrType, FLOAT_SIZES, off + 8);
        return { id, kind: "float", name, size: sizeOrType };
      case BTF_KIND.DECL_TAG:
        return {
          id,
          kind: "decl_tag",
          name,
          type: ref(sizeOrType, off + 8, `decl_tag ${id}`),
          componentIdx: v.getInt32(data, le),
          attribute: kindFlag,
        };
      default:
        // Unreachable: the constructor rejected unknown kinds.
        throw new BtfError(`type id ${id}: unknown kind ${kind}`, off);
    }
  }

  private checkSize(
    id: number,
    name: string,
    size: number,
    allowed: readonly number[],
    at: number,
  ) {
    if (!allowed.includes(size)) {
      throw new BtfError(
        `type id ${id} "${name}": size ${size} not one of ${allowed.join(", ")}`,
        at,
      );
    }
  }

  /** INT encoding of a type id, read raw (used for pre-kind_flag bitfields). */
  private rawInt(id: number): { size: number; bits: number; bitOffset: number } | undefined {
    if (id === 0) return undefined;
    if (id < this.firstId) return this.base ? this.base.rawInt(id) : undefined;
    const off = this.offsets[id - this.firstId];
    if (off === undefined) return undefined;
    if (((this.u32(off + 4) >>> 24) & 0x1f) !== BTF_KIND.INT) return undefined;
    const enc = this.u32(off + 12);
    return { size: this.u32(off + 8), bits: enc & 0xff, bitOffset: (enc >>> 16) & 0xff };
  }

  // ---------------------------------------------------------------- names

  /**
   * Every distinct name as a string: only allNames() needs them. Lookups by
   * name go through the hash index, which makes no strings.
   */
  private buildNameIndex(): Map<string, number> {
    const index = new Map<string, number>();
    const n = this.offsets.length;
    const offsets = this.offsets;
    const names = this.stringsEnd;
    for (let i = 0; i < n; i++) {
      const off = offsets[i]!;
      const nameOff = this.u32(off);
      if (nameOff === 0 || nameOff >= names) continue;
      const name = this.str(nameOff, off);
      if (!index.has(name)) index.set(name, i);
    }
    this.nameIndex = index;
    return index;
  }

  /** The blob and byte position holding string offset `off` (a split BTF's names may be its base's). */
  private stringAt(off: number): { bytes: Uint8Array; at: number } {
    let btf: Btf = this;
    while (off < btf.strBase) btf = btf.base!;
    return { bytes: btf.bytes, at: btf.strStart + off - btf.strBase };
  }

  /**
   * Built once, on the first lookup by name: a hash of each type's name
   * bytes, read in place (FNV-1a), into open chains of type indexes in
   * ascending id order. No string is made per type: the CLI's start-up
   * finds a few names among ~100,000 types. A type whose name offset is
   * outside the string section has no name to be found by.
   */
  private buildHashIndex(): void {
    const n = this.offsets.length;
    let size = 16;
    while (size < n * 2) size <<= 1;
    const mask = size - 1;
    const buckets = new Int32Array(size).fill(-1);
    const next = new Int32Array(n).fill(-1);
    const offsets = this.offsets;
    const names = this.stringsEnd;
    const local = this.bytes;
    const strBase = this.strBase;
    const strStart = this.strStart;
    // Backwards, so each chain comes out in ascending id order.
    for (let i = n - 1; i >= 0; i--) {
      const nameOff = this.u32(offsets[i]!);
      if (nameOff === 0 || nameOff >= names) continue;
      let bytes = local;
      let p = strStart + nameOff - strBase;
      if (nameOff < strBase) ({ bytes, at: p } = this.stringAt(nameOff));
      let h = 0x811c9dc5;
      for (let c = bytes[p]!; c !== 0; c = bytes[++p]!) h = Math.imul(h ^ c, 0x01000193);
      const b = h & mask;
      next[i] = buckets[b]!;
      buckets[b] = i;
    }
    this.hashBuckets = buckets;
    this.nextSameHash = next;
  }

  /** Indexes (id - firstId) of this BTF's own types named `name`, ascending. */
  private *idsNamed(name: string): IterableIterator<number> {
    if (this.hashBuckets === undefined) this.buildHashIndex();
    const query = utf8Encoder.encode(name);
    if (query.length === 0 || query.includes(0)) return;
    let h = 0x811c9dc5;
    for (let k = 0; k < query.length; k++) h = Math.imul(h ^ query[k]!, 0x01000193);
    const buckets = this.hashBuckets!;
    const next = this.nextSameHash!;
    const offsets = this.offsets;
    for (let i = buckets[h & (buckets.length - 1)]!; i >= 0; i = next[i]!) {
      const { bytes, at } = this.stringAt(this.u32(offsets[i]!));
      let k = 0;
      while (k < query.length && bytes[at + k] === query[k]) k++;
      if (k === query.length && bytes[at + k] === 0) yield i;
    }
  }

  /** Every distinct type name (base first). */
  private *allNames(): IterableIterator<string> {
    if (this.base) yield* this.base.allNames();
    yield* (this.nameIndex ?? this.buildNameIndex()).keys();
  }

  /** Ids of every type with this name (base first), optionally of one kind. */
  findTypeIds(name: string, kind?: BtfKind): number[] {
    const out = this.base ? this.base.findTypeIds(name, kind) : [];
    for (const i of this.idsNamed(name)) {
      const id = this.firstId + i;
      if (kind === undefined || this.kindOf(id) === kind) out.push(id);
    }
    return out;
  }

  /**
   * The first type (lowest id) with this name and, if given, this kind; undefined
   * if there is none.
   */
  findType<K extends BtfKind>(name: string, kind: K): TypeOfKind<K> | undefined;
  findType(name: string): BtfType | undefined;
  findType(name: string, kind?: BtfKind): BtfType | undefined {
    if (kind === "void") return name === "" || name === "void" ? VOID : undefined;
    // Remembered, misses too: a name shared by many types of other kinds
    // would otherwise be walked again on every lookup.
    const key = `${kind ?? ""}\0${name}`;
    const cached = this.findCache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.findTypeUncached(name, kind);
    if (this.findCache.size >= MAX_LOOKUP_CACHE) this.findCache.clear();
    this.findCache.set(key, found ?? null);
    return found;
  }

  private findTypeUncached(name: string, kind: BtfKind | undefined): BtfType | undefined {
    const base = this.base?.findType(name, kind as BtfKind);
    if (base) return base;
    for (const i of this.idsNamed(name)) {
      const id = this.firstId + i;
      if (kind === undefined || this.kindOf(id) === kind) return this.type(id);
    }
    return undefined;
  }

  /** Id of FUNC `name` (e.g. "bpf_iter_task", the attach_btf_id of a task iterator). */
  funcId(name: string): number {
    const t = this.findType(name, "func");
    if (!t) throw new BtfError(`no FUNC "${name}" in this BTF`);
    return t.id;
  }

  /**
   * A type by reference. Names may carry a C tag ("struct foo", "union bar",
   * "enum baz"); a bare name prefers a definition (struct, union, enum, typedef,
   * int, float) over forward declarations, functions and variables.
   */
  lookup(ref: TypeRef): BtfType {
    if (typeof ref === "number") return this.type(ref);
    if (typeof ref === "object" && ref !== null) return ref;
    if (typeof ref !== "string") throw new TypeError("type reference must be an id, name or type");
    // Remembered like findType's: a bare name shared by many forward
    // declarations, functions or variables is otherwise walked on every lookup.
    const cached = this.lookupCache.get(ref);
    if (cached instanceof BtfError) throw cached;
    if (cached) return cached;
    if (this.lookupCache.size >= MAX_LOOKUP_CACHE) this.lookupCache.clear();
    try {
      const found = this.lookupUncached(ref);
      this.lookupCache.set(ref, found);
      return found;
    } catch (e) {
      if (e instanceof BtfError) this.lookupCache.set(ref, e);
      throw e;
    }
  }

  private lookupUncached(ref: string): BtfType {
    const m = /^(struct|union|enum)\s+(\S+)$/.exec(ref.trim());
    if (m) {
      const tag = m[1] as "struct" | "union" | "enum";
      const t =
        this.findType(m[2]!, tag) ?? (tag === "enum" ? this.findType(m[2]!, "enum64") : undefined);
      if (!t) throw new BtfError(`no ${tag} "${m[2]}" in this BTF`);
      return t;
    }
    if (ref === "void") return VOID;
    let fallback: BtfType | undefined;
    for (const id of this.findTypeIds(ref)) {
      const k = this.kindOf(id);
      if (k === "fwd" || k === "func" || k === "var" || k === "decl_tag" || k === "datasec") {
        fallback ??= this.type(id);
        continue;
      }
      return this.type(id);
    }
    if (fallback) return fallback;
    throw new BtfError(`no type "${ref}" in this BTF`);
  }

  /** Follows typedefs and modifiers (const, volatile, restrict, type tags) to the underlying type. */
  resolve(ref: TypeRef): BtfType {
    let t = this.lookup(ref);
    for (let depth = 0, next = qualifiedType(t); next !== undefined; next = qualifiedType(t)) {
      if (depth++ >= MAX_RESOLVE_DEPTH) {
        throw new DepthError(
          `type id ${t.id}: reference chain longer than ${MAX_RESOLVE_DEPTH} (a loop?)`,
        );
      }
      t = this.type(next);
    }
    return t;
  }

  /** Size in bytes, as C `sizeof` would give it. Pointers are 8 bytes. */
  sizeOf(ref: TypeRef): number {
    return this.sizeAt(this.lookup(ref), 0);
  }

  /**
   * The type a typedef, modifier or var stands for (undefined for any other
   * kind), after checking that the walk that reached `t` is not too deep.
   */
  private standsFor(t: BtfType, depth: number): BtfType | undefined {
    if (depth > MAX_RESOLVE_DEPTH) {
      throw new DepthError(`type id ${t.id}: nesting deeper than ${MAX_RESOLVE_DEPTH} (a loop?)`);
    }
    const next = t.kind === "var" ? t.type : qualifiedType(t);
    return next === undefined ? undefined : this.type(next);
  }

  private sizeAt(t: BtfType, depth: number): number {
    const target = this.standsFor(t, depth);
    if (target) return this.sizeAt(target, depth + 1);
    switch (t.kind) {
      case "int":
      case "float":
      case "enum":
      case "enum64":
      case "struct":
      case "union":
      case "datasec":
        return t.size;
      case "ptr":
        return 8;
      case "array": {
        const size = t.nelems * this.sizeAt(this.type(t.type), depth + 1);
        if (size > 0xffffffff) throw new BtfError(`array ${t.id}: size ${size} overflows u32`);
        return size;
      }
      default:
        throw new BtfError(`${t.kind} ${t.id} "${t.name}" has no size`);
    }
  }

  /** Alignment in bytes as the C compiler would use it (1 for packed structs). */
  alignOf(ref: TypeRef): number {
    return this.alignAt(this.lookup(ref), 0);
  }

  private alignAt(t: BtfType, depth: number): number {
    const target = this.standsFor(t, depth);
    if (target) return this.alignAt(target, depth + 1);
    switch (t.kind) {
      case "int":
      case "float":
      case "enum":
      case "enum64":
        return Math.max(1, Math.min(t.size, 8));
      case "ptr":
        return 8;
      case "array":
        return this.alignAt(this.type(t.type), depth + 1);
      case "struct":
      case "union": {
        // Memoized: a struct's members may share types many times over, and
        // hostile BTF could make that exponential.
        const cached = this.alignCache.get(t.id);
        if (cached !== undefined) {
          if (cached === 0) throw new BtfError(`type id ${t.id}: ${t.kind} contains itself`);
          if (cached instanceof BtfError) throw cached;
          return cached;
        }
        this.alignCache.set(t.id, 0);
        let align = 1;
        try {
          for (const m of t.members) {
            const a = this.alignAt(this.type(m.type), depth + 1);
            // A member off its natural alignment means the struct is packed.
            if (m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) {
              align = 0;
              break;
            }
            align = Math.max(align, a);
          }
        } catch (e) {
          // Remembered, or a struct with 65535 members of a bad type would be
          // walked once per member by the C printer (quadratic). A depth limit
          // depends on where the walk began, so that one is not.
          if (e instanceof BtfError && !(e instanceof DepthError)) this.alignCache.set(t.id, e);
          else this.alignCache.delete(t.id);
          throw e;
        }
        // Trailing size not a multiple of the alignment also means packed.
        const result = align === 0 || t.size % align !== 0 ? 1 : align;
        this.alignCache.set(t.id, result);
        return result;
      }
      default:
        throw new BtfError(`${t.kind} ${t.id} "${t.name}" has no alignment`);
    }
  }

  /** The struct or union behind a reference, through typedefs and modifiers. */
  composite(ref: TypeRef): CompositeType {
    const t = this.resolve(ref);
    if (t.kind !== "struct" && t.kind !== "union") {
      const what = typeof ref === "string" ? `"${ref}"` : `type id ${t.id}`;
      throw new BtfError(`${what} is a ${t.kind}, not a struct or union`);
    }
    return t;
  }

  /**
   * Where `path` ("pid", "mm.exe_file", "thread_info.flags", "comm[3]") sits in
   * a struct or union. Members of anonymous structs and unions are found as in
   * C. A path through a pointer member records the pointer's offset in `hops`
   * and continues in the pointed-to struct.
   */
  memberOffset(struct: TypeRef, path: string): MemberLocation {
    if (typeof path !== "string" || path === "") {
      throw new TypeError("memberOffset: path must be a non-empty string");
    }
    let current = this.composite(struct);
    const structName = current.name || `type id ${current.id}`;
    const segments = path.split(".");
    const hops: number[] = [];
    let bitOffset = 0;
    let found: { member: Member; bitOffset: number } | undefined;
    for (let s = 0; s < segments.length; s++) {
      const seg = /^([^.[\]\s]+)((?:\[\d+\])*)$/.exec(segments[s]!);
      if (!seg) throw new BtfError(`memberOffset: bad path segment "${segments[s]}" in "${path}"`);
      found = this.findMember(current, seg[1]!, 0, { steps: 0 });
      if (!found) {
        throw new BtfError(
          `${current.kind} ${current.name || `(anon ${current.id})`} has no member "${seg[1]}" (path "${path}" in ${structName})`,
        );
      }
      bitOffset += found.bitOffset;
      let memberType = found.member.type;
      for (const idx of seg[2]!.match(/\d+/g) ?? []) {
        const arr = this.resolve(memberType);
        if (arr.kind !== "array") {
          throw new BtfError(`"${seg[1]}" in "${path}" is not an array`);
        }
        const i = Number(idx);
        if (i >= arr.nelems && arr.nelems !== 0) {
          throw new BtfError(`index ${i} out of bounds of ${seg[1]}[${arr.nelems}] in "${path}"`);
        }
        bitOffset += i * this.sizeOf(arr.type) * 8;
        // A flexible array takes any index; the offset must still be a u32.
        if (bitOffset / 8 > 0xffffffff) {
          throw new BtfError(`index ${idx} of ${seg[1]} in "${path}" is past 4 GiB`);
        }
        memberType = arr.type;
      }
      if (s === segments.length - 1) {
        const size = this.sizeOrZero(memberType);
        return {
          offset: Math.floor(bitOffset / 8),
          bitOffset,
          bitSize: seg[2] ? 0 : found.member.bitfieldSize,
          type: memberType,
          size,
          hops,
        };
      }
      const next = this.resolve(memberType);
      if (next.kind === "ptr") {
        hops.push(Math.floor(bitOffset / 8));
        bitOffset = 0;
        current = this.composite(next.type);
      } else if (next.kind === "struct" || next.kind === "union") {
        current = next;
      } else {
        throw new BtfError(
          `"${seg[1]}" in "${path}" is a ${next.kind}, not a struct, union or pointer`,
        );
      }
    }
    throw new Error("unreachable");
  }

  private sizeOrZero(id: number): number {
    try {
      return this.sizeOf(id);
    } catch (e) {
      if (e instanceof BtfError) return 0;
      throw e;
    }
  }

  private findMember(
    t: CompositeType,
    name: string,
    depth: number,
    budget: { steps: number },
  ): { member: Member; bitOffset: number } | undefined {
    if (depth > MAX_RESOLVE_DEPTH) {
      throw new BtfError(
        `type id ${t.id}: anonymous members nest deeper than ${MAX_RESOLVE_DEPTH}`,
      );
    }
    budget.steps += t.members.length;
    if (budget.steps > MAX_WALK_STEPS) {
      throw new BtfError(`type id ${t.id}: too many anonymous members to search`);
    }
    for (const m of t.members) {
      if (m.name === name) return { member: m, bitOffset: m.bitOffset };
    }
    for (const m of t.members) {
      if (m.name !== "") continue;
      const inner = this.resolve(m.type);
      if (inner.kind !== "struct" && inner.kind !== "union") continue;
      const hit = this.findMember(inner, name, depth + 1, budget);
      if (hit) return { member: hit.member, bitOffset: m.bitOffset + hit.bitOffset };
    }
    return undefined;
  }

  /** Enumerators of an enum (numbers) or enum64 (bigints), by enum name or type. */
  enumValues(ref: TypeRef): readonly EnumValue<number | bigint>[] {
    const t = this.resolve(
      typeof ref === "string" && !/\s/.test(ref)
        ? (this.findType(ref, "enum") ?? this.findType(ref, "enum64") ?? ref)
        : ref,
    );
    if (t.kind !== "enum" && t.kind !== "enum64") {
      throw new BtfError(
        `${typeof ref === "string" ? `"${ref}"` : `type id ${t.id}`} is a ${t.kind}, not an enum`,
      );
    }
    return t.values;
  }

  /**
   * The enum constant with this name ("BPF_TRACE_ITER") and the id of its enum
   * (lowest id when several define it), or undefined.
   */
  enumerator(name: string): { readonly enum: number; readonly value: number | bigint } | undefined {
    if (!this.enumeratorIndex) {
      const index = new Map<string, { enum: number; value: number | bigint }>();
      for (let id = this.firstId; id < this.typeCount; id++) {
        const k = this.kindOf(id);
        if (k !== "enum" && k !== "enum64") continue;
        let t: TypeOfKind<"enum"> | TypeOfKind<"enum64">;
        try {
          t = this.type(id) as TypeOfKind<"enum"> | TypeOfKind<"enum64">;
        } catch (e) {
          // Built once: a malformed enum (reported by type(id)) is left out
          // rather than making every lookup scan again.
          if (e instanceof BtfError) continue;
          throw e;
        }
        for (const v of t.values) {
          if (!index.has(v.name)) index.set(v.name, { enum: id, value: v.value });
        }
      }
      this.enumeratorIndex = index;
    }
    return this.base?.enumerator(name) ?? this.enumeratorIndex.get(name);
  }

  /**
   * Every BPF iterator target the kernel offers: FUNC `bpf_iter_<name>` with a
   * context STRUCT `bpf_iter__<name>`, sorted by name.
   */
  iteratorTargets(): IteratorTarget[] {
    const out: IteratorTarget[] = [];
    const seen = new Set<string>();
    // One budget for every target: hostile BTF can declare thousands of them.
    const budget = { steps: 0 };
    const names = new Map<number, string>();
    let text = 0;
    const memberTypeName = (id: number): string => {
      let name = names.get(id);
      if (name === undefined) {
        name = typeName(this, id);
        names.set(id, name);
        text += name.length;
        if (text > MAX_TARGET_TYPE_TEXT) {
          throw new BtfError(
            `iterator target member types longer than ${MAX_TARGET_TYPE_TEXT} characters of C`,
          );
        }
      }
      return name;
    };
    for (const fname of this.allNames()) {
      if (!fname.startsWith("bpf_iter_") || fname.startsWith("bpf_iter__")) continue;
      const name = fname.slice("bpf_iter_".length);
      if (seen.has(name)) continue;
      const func = this.findType(fname, "func");
      if (!func) continue;
      const id = func.id;
      const ctx = this.findType(`bpf_iter__${name}`, "struct");
      if (!ctx) continue;
      seen.add(name);
      out.push({
        name,
        funcId: id,
        contextId: ctx.id,
        contextSize: ctx.size,
        members: this.flatMembers(ctx, 0, 0, budget).map((m) => ({
          name: m.name,
          offset: Math.floor(m.bitOffset / 8),
          type: m.type,
          typeName: memberTypeName(m.type),
        })),
      });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Named members with anonymous structs and unions opened up (the kernel wraps
   * context pointers in `union { T *p; }` via __bpf_md_ptr).
   */
  private flatMembers(
    t: CompositeType,
    base: number,
    depth: number,
    budget: { steps: number },
  ): Member[] {
    if (depth > MAX_RESOLVE_DEPTH) {
      throw new BtfError(
        `type id ${t.id}: anonymous members nest deeper than ${MAX_RESOLVE_DEPTH}`,
      );
    }
    budget.steps += t.members.length;
    if (budget.steps > MAX_WALK_STEPS) {
      throw new BtfError(`type id ${t.id}: too many members with anonymous members opened up`);
    }
    const out: Member[] = [];
    for (const m of t.members) {
      const inner = m.name === "" ? this.resolve(m.type) : undefined;
      if (inner && (inner.kind === "struct" || inner.kind === "union")) {
        out.push(...this.flatMembers(inner, base + m.bitOffset, depth + 1, budget));
      } else {
        out.push({ ...m, bitOffset: base + m.bitOffset });
      }
    }
    return out;
  }

  /** C spelling of a type as used in a declaration: "struct task_struct *", "char[16]". */
  typeName(ref: TypeRef): string {
    return typeName(this, this.lookup(ref).id);
  }

  /** The C definition `bpftool btf dump file ... format c` prints for this type. */
  formatC(ref: TypeRef, options?: FormatCOptions): string {
    return formatC(this, this.lookup(ref).id, options);
  }

  /** A record layout (size, offsets, decode, encode) for a BTF struct or union. */
  layout<T = Record<string, unknown>>(ref: TypeRef): RecordLayout<T> {
    return layoutFromBtf(this, this.composite(ref)) as unknown as RecordLayout<T>;
  }
}

const VOID: BtfType = Object.freeze({ id: 0, kind: "void", name: "" });

/** Parses a BTF blob. For split BTF (a kernel module) pass the base (vmlinux). */
export function parseBtf(bytes: Uint8Array, base?: Btf): Btf {
  return new Btf(bytes, base);
}
