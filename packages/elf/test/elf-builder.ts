// Writes minimal BPF ELF objects for tests: code sections of functions (FUNC
// symbols), REL relocations against those symbols, a license, a symbol table.
// Enough for shapes no compiler emits on purpose (thousands of functions, a
// million instructions).

export interface BuiltFunction {
  readonly name: string;
  /** Instructions, 8 bytes each. */
  readonly insns: Uint8Array;
}

export interface BuiltSection {
  /** "iter/task" (a program section), ".text" (subprograms). */
  readonly name: string;
  readonly funcs: readonly BuiltFunction[];
  /** R_BPF_* relocations: byte offset in this section, symbol by function name. */
  readonly relocations?: readonly { offset: number; symbol: string; type: number }[];
}

/** A section without symbols: data, NOBITS, or a second header for another section's bytes. */
export interface ExtraSection {
  readonly name: string;
  /** SHT_*: 1 PROGBITS, 8 NOBITS. */
  readonly type: number;
  /** SHF_*: 0x3 writable data, 0x6 code. */
  readonly flags: number;
  /** Contents (PROGBITS). */
  readonly data?: Uint8Array;
  /** Size a NOBITS section claims. */
  readonly size?: number;
  /** Describe the same file bytes as this code section (overlapping sections). */
  readonly aliasOf?: string;
}

/** R_BPF_64_32: a call to a function symbol. */
export const R_BPF_64_32 = 10;

/** One instruction: opcode, registers byte, offset, immediate. */
export function insn(code: number, regs = 0, off = 0, imm = 0): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = code;
  b[1] = regs;
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return b;
}

/** A pc-relative BPF-to-BPF call to the instruction `delta + 1` slots ahead. */
export const call = (delta: number): Uint8Array => insn(0x85, 1 << 4, 0, delta);
export const exit = (): Uint8Array => insn(0x95);

interface RawSection {
  name: string;
  type: number;
  flags: number;
  data: Uint8Array;
  link: number;
  info: number;
  entsize: number;
  /** NOBITS: the size claimed (no data in the file). */
  size?: number;
  aliasOf?: string;
}

export function buildElf(
  code: readonly BuiltSection[],
  extra: readonly ExtraSection[] = [],
): Uint8Array {
  const names = new Strings();
  const shNames = new Strings();
  // Section indexes: 1..n the code sections, then license, .symtab, .strtab,
  // the REL sections, .shstrtab last.
  const symbols: { name: string; section: number; value: number; size: number }[] = [];
  const sections: RawSection[] = code.map((s, i) => {
    let value = 0;
    for (const f of s.funcs) {
      symbols.push({ name: f.name, section: i + 1, value, size: f.insns.length });
      value += f.insns.length;
    }
    return {
      name: s.name,
      type: 1,
      flags: 0x6,
      data: concat(s.funcs.map((f) => f.insns)),
      link: 0,
      info: 0,
      entsize: 0,
    };
  });
  const symtabIndex = code.length + 2;
  const symIndex = new Map(symbols.map((s, i) => [s.name, i + 1]));
  const symtab = new Uint8Array(24 * (symbols.length + 1));
  const sv = new DataView(symtab.buffer);
  symbols.forEach((s, i) => {
    const at = 24 * (i + 1);
    sv.setUint32(at, names.add(s.name), true);
    symtab[at + 4] = (1 << 4) | 2; // STB_GLOBAL, STT_FUNC
    sv.setUint16(at + 6, s.section, true);
    sv.setBigUint64(at + 8, BigInt(s.value), true);
    sv.setBigUint64(at + 16, BigInt(s.size), true);
  });
  const license = new TextEncoder().encode("GPL\0");
  sections.push(
    { name: "license", type: 1, flags: 0x3, data: license, link: 0, info: 0, entsize: 0 },
    {
      name: ".symtab",
      type: 2,
      flags: 0,
      data: symtab,
      link: symtabIndex + 1,
      info: 1,
      entsize: 24,
    },
    { name: ".strtab", type: 3, flags: 0, data: names.bytes(), link: 0, info: 0, entsize: 0 },
  );
  code.forEach((s, i) => {
    if (!s.relocations?.length) return;
    const rel = new Uint8Array(16 * s.relocations.length);
    const rv = new DataView(rel.buffer);
    s.relocations.forEach((r, j) => {
      rv.setBigUint64(16 * j, BigInt(r.offset), true);
      const sym = symIndex.get(r.symbol)!;
      rv.setBigUint64(16 * j + 8, (BigInt(sym) << 32n) | BigInt(r.type), true);
    });
    sections.push({
      name: `.rel${s.name}`,
      type: 9,
      flags: 0,
      data: rel,
      link: symtabIndex,
      info: i + 1,
      entsize: 16,
    });
  });
  for (const e of extra) {
    sections.push({
      name: e.name,
      type: e.type,
      flags: e.flags,
      data: e.data ?? new Uint8Array(0),
      link: 0,
      info: 0,
      entsize: 0,
      ...(e.size === undefined ? {} : { size: e.size }),
      ...(e.aliasOf === undefined ? {} : { aliasOf: e.aliasOf }),
    });
  }
  const nameOffs = sections.map((s) => shNames.add(s.name));
  nameOffs.push(shNames.add(".shstrtab"));
  const all: RawSection[] = [
    ...sections,
    { name: ".shstrtab", type: 3, flags: 0, data: shNames.bytes(), link: 0, info: 0, entsize: 0 },
  ];
  let offset = 64;
  const placed = all.map((s) => {
    const at = offset;
    offset += Math.ceil(s.data.length / 8) * 8;
    return at;
  });
  all.forEach((s, i) => {
    if (s.aliasOf === undefined) return;
    const j = all.findIndex((t) => t.name === s.aliasOf);
    placed[i] = placed[j]!;
    s.size = all[j]!.data.length;
  });
  const shoff = offset;
  const out = new Uint8Array(shoff + 64 * (all.length + 1));
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  v.setUint16(16, 1, true); // ET_REL
  v.setUint16(18, 247, true); // EM_BPF
  v.setUint32(20, 1, true);
  v.setBigUint64(40, BigInt(shoff), true);
  v.setUint16(52, 64, true);
  v.setUint16(58, 64, true);
  v.setUint16(60, all.length + 1, true);
  v.setUint16(62, all.length, true); // .shstrtab is last
  all.forEach((s, i) => {
    out.set(s.data, placed[i]!);
    const h = shoff + 64 * (i + 1);
    v.setUint32(h, nameOffs[i]!, true);
    v.setUint32(h + 4, s.type, true);
    v.setBigUint64(h + 8, BigInt(s.flags), true);
    v.setBigUint64(h + 24, BigInt(placed[i]!), true);
    v.setBigUint64(h + 32, BigInt(s.size ?? s.data.length), true);
    v.setUint32(h + 40, s.link, true);
    v.setUint32(h + 44, s.info, true);
    v.setBigUint64(h + 48, 8n, true);
    v.setBigUint64(h + 56, BigInt(s.entsize), true);
  });
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

class Strings {
  readonly #parts: number[] = [0];
  add(s: string): number {
    const at = this.#parts.length;
    for (const b of new TextEncoder().encode(s)) this.#parts.push(b);
    this.#parts.push(0);
    return at;
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.#parts);
  }
}
