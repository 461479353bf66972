// ELF64 little-endian reader: header, section headers, names, symbols and
// REL relocations. Every offset, size and index is checked against the data,
// so malformed input raises ElfError (never a RangeError from a DataView or a
// crash). Only what BPF objects use is decoded.
import { ElfError } from "./errors.js";

export const SHT = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  NOBITS: 8,
  REL: 9,
} as const;

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;

export const STT = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 } as const;
export const STB = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;
export const SHN_UNDEF = 0;
/** Section indexes at or above this are reserved (SHN_LORESERVE: ABS, COMMON, ...). */
export const SHN_LORESERVE = 0xff00;

/** e_machine of BPF objects. */
export const EM_BPF = 247;

export interface Section {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  /** Byte offset of the contents in the file. */
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
  readonly addralign: number;
}

export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly value: number;
  readonly size: number;
  /** STT_* */
  readonly type: number;
  /** STB_* */
  readonly bind: number;
  /** Section index (SHN_UNDEF for externs). */
  readonly section: number;
}

export interface ElfRelocation {
  /** Byte offset in the section the relocation applies to. */
  readonly offset: number;
  /** R_BPF_* */
  readonly type: number;
  readonly symbol: ElfSymbol;
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const MAX_SECTIONS = 65_535;
/** Larger zero-filled sections than this are refused rather than allocated. */
const MAX_NOBITS = 1 << 28;

export class ElfFile {
  readonly bytes: Uint8Array;
  readonly sections: readonly Section[];
  readonly symbols: readonly ElfSymbol[];
  readonly #view: DataView;
  readonly #byName = new Map<string, Section>();

  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("ELF bytes must be a Uint8Array");
    this.bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < EHDR_SIZE)
      throw new ElfError(`truncated header: ${bytes.byteLength} of ${EHDR_SIZE} bytes`, 0);
    if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46)
      throw new ElfError("not an ELF file (bad magic)", 0);
    if (bytes[4] !== 2) throw new ElfError(`not ELF64 (class ${bytes[4]})`, 4);
    if (bytes[5] !== 1)
      throw new ElfError(
        `not little-endian (data encoding ${bytes[5]}); big-endian BPF is not supported`,
        5,
      );
    const machine = this.u16(18);
    if (machine !== EM_BPF && machine !== 0)
      throw new ElfError(`not a BPF object (e_machine ${machine}, want ${EM_BPF})`, 18);
    const shoff = this.u64(40);
    const shentsize = this.u16(58);
    let shnum = this.u16(60);
    let shstrndx = this.u16(62);
    if (shoff === 0) throw new ElfError("no section headers", 40);
    if (shentsize !== SHDR_SIZE)
      throw new ElfError(`section header size ${shentsize}, want ${SHDR_SIZE}`, 58);
    this.range(shoff, SHDR_SIZE, "section header 0");
    // Extended numbering: counts that do not fit live in section 0.
    if (shnum === 0) shnum = this.u64(shoff + 32);
    if (shstrndx === 0xffff) shstrndx = this.u32(shoff + 40);
    if (shnum > MAX_SECTIONS) throw new ElfError(`${shnum} sections is too many`, 60);
    this.range(shoff, shnum * SHDR_SIZE, `${shnum} section headers`);
    const raw: Omit<Section, "name">[] = [];
    const nameOffsets: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * SHDR_SIZE;
      nameOffsets.push(this.u32(at));
      const s = {
        index: i,
        type: this.u32(at + 4),
        flags: this.u64(at + 8),
        offset: this.u64(at + 24),
        size: this.u64(at + 32),
        link: this.u32(at + 40),
        info: this.u32(at + 44),
        addralign: this.u64(at + 48),
        entsize: this.u64(at + 56),
      };
      if (s.type !== SHT.NOBITS && s.type !== SHT.NULL)
        this.range(s.offset, s.size, `section ${i} contents`);
      raw.push(s);
    }
    if (shstrndx >= shnum)
      throw new ElfError(`section name table index ${shstrndx} >= ${shnum}`, 62);
    const shstr = raw[shstrndx]!;
    if (shstr.type !== SHT.STRTAB)
      throw new ElfError(`section name table (section ${shstrndx}) is not a STRTAB`, 62);
    this.sections = raw.map((s, i) => ({ ...s, name: this.#str(shstr, nameOffsets[i]!) }));
    for (const s of this.sections) if (!this.#byName.has(s.name)) this.#byName.set(s.name, s);
    this.symbols = this.readSymbols();
  }

  private range(offset: number, size: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0)
      throw new ElfError(`${what}: bad offset ${offset} or size ${size}`, -1);
    if (offset + size > this.bytes.byteLength)
      throw new ElfError(
        `${what} (${size} bytes at ${offset}) extends past the end of the file (${this.bytes.byteLength} bytes)`,
        offset,
      );
  }

  private u16(at: number): number {
    this.range(at, 2, "field");
    return this.#view.getUint16(at, true);
  }

  private u32(at: number): number {
    this.range(at, 4, "field");
    return this.#view.getUint32(at, true);
  }

  private u64(at: number): number {
    this.range(at, 8, "field");
    const v = this.#view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`value ${v} out of range`, at);
    return Number(v);
  }

  /**
   * The section of this file that `s` describes (same index and fields): only
   * those had their offset and size checked against the data.
   */
  #own(s: unknown, what: string): Section {
    const index = typeof s === "object" && s !== null ? (s as Section).index : undefined;
    const own = typeof index === "number" ? this.sections[index] : undefined;
    const same =
      own !== undefined &&
      (Object.keys(own) as (keyof Section)[]).every((k) => own[k] === (s as Section)[k]);
    if (!same) throw new TypeError(`${what}: not a section of this ELF file`);
    return own;
  }

  /** NUL-terminated string at `off` in string table `table` (one of `sections`). */
  str(table: Section, off: number): string {
    this.#own(table, "str");
    if (!Number.isSafeInteger(off) || off < 0)
      throw new RangeError(`str: offset must be a non-negative integer, got ${off}`);
    return this.#str(table, off);
  }

  #str(table: Omit<Section, "name">, off: number): string {
    if (table.type !== SHT.STRTAB)
      throw new ElfError(`section ${table.index} is not a string table`, table.offset);
    if (off >= table.size)
      throw new ElfError(
        `string offset ${off} outside string table of ${table.size} bytes`,
        table.offset,
      );
    const start = table.offset + off;
    // Searched within the table only: an unterminated table must not make
    // every name a scan of the rest of the file.
    const inTable = this.bytes.subarray(start, table.offset + table.size).indexOf(0);
    if (inTable < 0)
      throw new ElfError(`unterminated string at ${off} in section ${table.index}`, start);
    const end = start + inTable;
    return latin1(this.bytes.subarray(start, end));
  }

  section(name: string): Section | undefined {
    return this.#byName.get(name);
  }

  sectionAt(index: number, what: string): Section {
    const s = this.sections[index];
    if (!s)
      throw new ElfError(
        `${what}: section index ${index} out of range (${this.sections.length} sections)`,
      );
    return s;
  }

  /** Contents of a section (a view; zeros for NOBITS). */
  contents(section: Section): Uint8Array {
    const s = this.#own(section, "contents");
    if (s.type === SHT.NOBITS) {
      if (s.size > MAX_NOBITS)
        throw new ElfError(`section ${s.name}: ${s.size} bytes of .bss-like data is too large`);
      return new Uint8Array(s.size);
    }
    return this.bytes.subarray(s.offset, s.offset + s.size);
  }

  private readSymbols(): ElfSymbol[] {
    const symtab = this.sections.find((s) => s.type === SHT.SYMTAB);
    if (!symtab) return [];
    if (symtab.entsize !== SYM_SIZE)
      throw new ElfError(
        `symbol table entry size ${symtab.entsize}, want ${SYM_SIZE}`,
        symtab.offset,
      );
    if (symtab.size % SYM_SIZE !== 0)
      throw new ElfError(`symbol table size ${symtab.size} is not whole entries`, symtab.offset);
    const strtab = this.sectionAt(symtab.link, "symbol table's string table");
    const out: ElfSymbol[] = [];
    for (let i = 0; i < symtab.size / SYM_SIZE; i++) {
      const at = symtab.offset + i * SYM_SIZE;
      const info = this.bytes[at + 4]!;
      out.push({
        index: i,
        name: this.#str(strtab, this.u32(at)),
        type: info & 0xf,
        bind: info >> 4,
        section: this.u16(at + 6),
        value: this.u64(at + 8),
        size: this.u64(at + 16),
      });
    }
    return out;
  }

  /** REL relocations in `rel` (a SHT_REL section), checked against its target section. */
  relocations(section: Section): ElfRelocation[] {
    const rel = this.#own(section, "relocations");
    if (rel.type !== SHT.REL) throw new ElfError(`section ${rel.name} is not SHT_REL`, rel.offset);
    if (rel.entsize !== REL_SIZE || rel.size % REL_SIZE !== 0)
      throw new ElfError(
        `relocation section ${rel.name}: entry size ${rel.entsize}, size ${rel.size}`,
        rel.offset,
      );
    const target = this.sectionAt(rel.info, `relocation section ${rel.name}`);
    const out: ElfRelocation[] = [];
    for (let at = rel.offset; at < rel.offset + rel.size; at += REL_SIZE) {
      const offset = this.u64(at);
      const info = this.#view.getBigUint64(at + 8, true);
      const symIndex = Number(info >> 32n);
      const type = Number(info & 0xffffffffn);
      const symbol = this.symbols[symIndex];
      if (!symbol)
        throw new ElfError(
          `${rel.name}: relocation refers to symbol ${symIndex} of ${this.symbols.length}`,
          at,
        );
      if (offset >= target.size)
        throw new ElfError(
          `${rel.name}: relocation at ${offset} outside ${target.name} (${target.size} bytes)`,
          at,
        );
      out.push({ offset, type, symbol });
    }
    return out;
  }
}

export function parseElf(bytes: Uint8Array): ElfFile {
  return new ElfFile(bytes);
}

/**
 * Bytes as ISO-8859-1 (one character a byte, as names in ELF and BTF string
 * tables are compared): Node's "latin1" without Buffer, so the reader runs
 * in a browser too (TextDecoder's "latin1" is windows-1252).
 */
export function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let at = 0; at < bytes.length; at += 0x2000)
    out += String.fromCharCode(...bytes.subarray(at, at + 0x2000));
  return out;
}
