// parseCollection: an ELF object → CollectionSpec (plain data, no fds, no
// kernel): ProgramSpecs whose instructions have BPF-to-BPF calls linked, map
// and global data references, func and line info, and their CO-RE
// relocations kept for load time (bindProgramSpec applies them against kernel
// types); MapSpecs from .maps, legacy maps and global data sections; the
// fixed-up .BTF. Pure: it reads nothing but the bytes it is given.
import { type Btf, parseBtf } from "@ts-ebpf/btf";
import {
  type BtfExtRecords,
  CallSrc,
  Class,
  decode,
  type Instruction,
  InstructionError,
  JmpOp,
  LD_IMM64,
  LdImm64Src,
  type MapSpec,
  type ProgramSpec,
  slotsOf,
} from "@ts-ebpf/spec";
import { BpfMapFlag, BpfMapType } from "@ts-ebpf/spec/constants";
import { type BtfExt, type FuncInfoRecord, type LineInfoRecord, parseBtfExt } from "./btf-ext.js";
import { fixupBtf } from "./btf-fix.js";
import { ElfError } from "./errors.js";
import { collectExterns, type ExternSpec, KCONFIG_MAP } from "./externs.js";
import {
  type ElfFile,
  type ElfRelocation,
  type ElfSymbol,
  parseElf,
  type Section,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHT,
  STB,
  STT,
} from "./reader.js";
import { attachTargetName, type SectionKind, sectionKind } from "./sections.js";

/** A program of an ELF object: a ProgramSpec plus where it came from. */
export interface ElfProgramSpec extends ProgramSpec {
  readonly name: string;
  /** ELF section, e.g. "iter/task". */
  readonly section: string;
  /** For `iter/<target>` and `iter.s/<target>` sections: the iterator target. */
  readonly iterTarget?: string;
  /**
   * The object's own BTF (.BTF): the types its instructions' CO-RE
   * relocations refer to, resolved against kernel types by bindProgramSpec.
   */
  readonly localTypes?: Btf;
  /** The externs (`__kconfig`, `__ksym`) its instructions refer to, by name. */
  readonly externs?: Readonly<Record<string, ExternSpec>>;
}

/** A map of an ELF object: a MapSpec plus the .BTF type ids libbpf gives the kernel. */
export interface ElfMapSpec extends MapSpec {
  /** Key type in the object's .BTF (BTF-defined maps with `__type(key, ...)`). */
  readonly btfKeyTypeId?: number;
  /** Value type: `__type(value, ...)`, or the DATASEC of a global data section. */
  readonly btfValueTypeId?: number;
}

/** A global variable of a data section (for reading or setting it in `MapSpec.contents`). */
export interface GlobalVariable {
  /** Map (= section) holding it. */
  readonly map: string;
  readonly offset: number;
  readonly size: number;
}

export interface CollectionSpec {
  readonly programs: Readonly<Record<string, ElfProgramSpec>>;
  /** Maps by name: BTF-defined and legacy maps by variable name, global data by section name. */
  readonly maps: Readonly<Record<string, ElfMapSpec>>;
  /** Global variables by name. */
  readonly variables: Readonly<Record<string, GlobalVariable>>;
  readonly license: string;
  /**
   * Externs by name: `__kconfig` values (in the `.kconfig` map, filled at
   * load) and `__ksym` kfuncs and variables (resolved against kernel types at load).
   */
  readonly externs: Readonly<Record<string, ExternSpec>>;
  /** .BTF fixed up for BTF_LOAD, when the object has one. */
  readonly btf?: Uint8Array;
}

const R_BPF_64_64 = 1;
const R_BPF_64_32 = 10;
const R_BPF_64_ABS64 = 2;
const R_BPF_64_ABS32 = 3;
const R_BPF_64_NODYLD32 = 4;
const CALL = Class.JMP | JmpOp.CALL;
const FUNC_INFO_SIZE = 8;
const LINE_INFO_SIZE = 16;
/** The kernel refuses longer programs (BPF_COMPLEXITY_LIMIT_INSNS, E2BIG). */
const MAX_PROGRAM_INSNS = 1_000_000;
/**
 * Instructions linked for all programs together. Every program gets its own
 * copy of the functions it calls, so an object of many small programs calling
 * one long chain of functions links quadratically many.
 */
const MAX_LINKED_INSNS = 1 << 22;
/** Functions placed for all programs together: linking costs per function too. */
const MAX_LINKED_FUNCS = 1 << 16;
/**
 * Bytes of code sections copied, all together: sections may overlap in the
 * file, so their sizes are not bounded by its length. The instructions the
 * programs may link, as bytes.
 */
const MAX_CODE_BYTES = MAX_LINKED_INSNS * 8;
/** Bytes of global data (map contents) for all sections together, as for one .bss. */
const MAX_GLOBAL_DATA = 1 << 28;

interface Func {
  readonly section: Section;
  readonly name: string;
  /** Byte range in the section. */
  readonly start: number;
  readonly end: number;
}

interface CodeSection {
  readonly section: Section;
  /** The section's instructions, with their CO-RE relocations (`core`). */
  readonly insns: readonly Instruction[];
  /** Index in `insns` of the instruction at each slot (-1: the second slot of an ld_imm64). */
  readonly indexAt: Int32Array;
  readonly funcs: Func[];
  /** Index in `funcs` of the function each instruction belongs to (-1: none). */
  readonly owner: Int32Array;
  /** Relocations by byte offset. */
  readonly relocs: Map<number, ElfRelocation>;
  /**
   * The section's func info and line info by byte offset (stable sort): each
   * placed function takes its range by binary search instead of scanning all
   * of them.
   */
  readonly funcInfo: readonly FuncInfoRecord[];
  readonly lineInfo: readonly LineInfoRecord[];
}

function isGlobalData(name: string): boolean {
  return (
    name === ".data" ||
    name === ".bss" ||
    name === ".rodata" ||
    name.startsWith(".data.") ||
    name.startsWith(".rodata.")
  );
}

/**
 * A by-name record without a prototype: names come from the object, and
 * "constructor", "toString" or "__proto__" are names like any other.
 */
function byName<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

const utf8 = new TextDecoder();

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return utf8.decode(bytes.subarray(0, end < 0 ? bytes.length : end));
}

class Parser {
  readonly elf: ElfFile;
  readonly btf: Btf | undefined;
  readonly ext: BtfExt | undefined;
  readonly maps: Record<string, ElfMapSpec> = byName();
  readonly variables: Record<string, GlobalVariable> = byName();
  externs: Record<string, ExternSpec> = byName();
  /** Map name by symbol index of .maps / maps symbols. */
  readonly #mapBySymbol = new Map<number, string>();
  readonly #code = new Map<number, CodeSection>();
  /** Symbols by section index, and REL sections by the section they apply to. */
  readonly #symbols = new Map<number, ElfSymbol[]>();
  readonly #relSections = new Map<number, Section[]>();
  /** Instructions and functions linked so far, all programs together. */
  #linked = 0;
  #linkedFuncs = 0;
  /** Bytes of code sections copied so far. */
  #codeBytes = 0;
  #license: string | undefined;

  constructor(bytes: Uint8Array) {
    this.elf = parseElf(bytes);
    // Grouped once: scanning every symbol and section per code section is
    // quadratic in a hostile object's size.
    for (const sym of this.elf.symbols) {
      const list = this.#symbols.get(sym.section) ?? [];
      list.push(sym);
      this.#symbols.set(sym.section, list);
    }
    for (const rs of this.elf.sections) {
      if (rs.type !== SHT.REL) continue;
      const list = this.#relSections.get(rs.info) ?? [];
      list.push(rs);
      this.#relSections.set(rs.info, list);
    }
    const btfSec = this.elf.section(".BTF");
    if (btfSec) {
      try {
        this.btf = parseBtf(new Uint8Array(this.data(btfSec)));
      } catch (e) {
        throw new ElfError(`.BTF: ${(e as Error).message}`, btfSec.offset, { cause: e });
      }
      const extSec = this.elf.section(".BTF.ext");
      if (extSec) this.ext = parseBtfExt(this.data(extSec), this.btf);
    }
  }

  /**
   * Contents of a section that must hold data from the file. A NOBITS one
   * would be zeros the size of its header's claim (up to 256 MiB), allocated
   * only to be rejected.
   */
  data(s: Section): Uint8Array {
    if (s.type !== SHT.PROGBITS)
      throw new ElfError(`section ${s.name} has type ${s.type}, not PROGBITS`, s.offset);
    return this.elf.contents(s);
  }

  /** Read once: every program carries it. */
  license(): string {
    if (this.#license === undefined) {
      const s = this.elf.section("license");
      this.#license = s ? cString(this.data(s)) : "";
    }
    return this.#license;
  }

  globalData(): void {
    let total = 0;
    for (const s of this.elf.sections) {
      if (!isGlobalData(s.name) || (s.flags & SHF_ALLOC) === 0 || s.size === 0) continue;
      if (s.type !== SHT.PROGBITS && s.type !== SHT.NOBITS) continue;
      // Each section's contents are copied (or allocated, for NOBITS), and
      // sections may overlap or claim sizes the file does not hold.
      total += s.size;
      if (total > MAX_GLOBAL_DATA)
        throw new ElfError(
          `global data sections hold more than ${MAX_GLOBAL_DATA} bytes together (at ${s.name})`,
        );
      const readOnly = s.name.startsWith(".rodata");
      const datasec = this.btf?.findType(s.name, "datasec");
      this.maps[s.name] = {
        ...(datasec ? { btfValueTypeId: datasec.id } : {}),
        name: s.name,
        type: BpfMapType.ARRAY,
        keySize: 4,
        valueSize: s.size,
        maxEntries: 1,
        flags: readOnly ? BpfMapFlag.RDONLY_PROG : 0,
        // NOBITS contents are a fresh zeroed array already; PROGBITS a view to copy.
        contents: s.type === SHT.NOBITS ? this.elf.contents(s) : this.elf.contents(s).slice(),
        freeze: readOnly,
      };
      for (const sym of this.#symbols.get(s.index) ?? []) {
        if (sym.type !== STT.OBJECT || sym.name === "") continue;
        if (sym.value + sym.size > s.size)
          throw new ElfError(`symbol ${sym.name} lies outside ${s.name}`);
        this.variables[sym.name] = { map: s.name, offset: sym.value, size: sym.size };
      }
    }
  }

  /** `__kconfig` / `__ksym` externs from .BTF; the `.kconfig` map their values go in (filled at load). */
  collectExterns(): void {
    const weak = new Set(
      this.elf.symbols
        .filter((x) => x.section === SHN_UNDEF && x.bind === STB.WEAK && x.name !== "")
        .map((x) => x.name),
    );
    const { externs, kconfigSize } = collectExterns(this.btf, weak);
    this.externs = externs;
    if (kconfigSize > 0)
      this.maps[KCONFIG_MAP] = {
        name: KCONFIG_MAP,
        type: BpfMapType.ARRAY,
        keySize: 4,
        valueSize: kconfigSize,
        maxEntries: 1,
        flags: BpfMapFlag.RDONLY_PROG,
        contents: new Uint8Array(kconfigSize),
        freeze: true,
      };
  }

  /** An instruction referring to extern `sym`: a kconfig value, a ksym variable or a kfunc. */
  externReference(
    rel: ElfRelocation,
    insn: Instruction,
    sym: ElfSymbol,
    what: string,
  ): Instruction {
    const ext = this.externs[sym.name];
    if (!ext)
      throw new ElfError(
        `${what}: extern ${sym.name} is neither __kconfig nor __ksym in .BTF (no .kconfig / .ksyms DATASEC entry)`,
      );
    if (rel.type === R_BPF_64_32) {
      if (insn.opcode !== CALL || ext.kind !== "ksym" || !ext.func)
        throw new ElfError(`${what}: a call of extern ${sym.name}, which is not a kfunc`);
      return { ...insn, src: CallSrc.KFUNC, imm: 0, off: 0, ksym: { name: sym.name } };
    }
    if (rel.type !== R_BPF_64_64 || insn.opcode !== LD_IMM64)
      throw new ElfError(`${what}: extern ${sym.name} relocated by type ${rel.type}`);
    if (ext.kind === "kconfig")
      return {
        ...insn,
        src: LdImm64Src.MAP_VALUE,
        imm: 0,
        imm2: ext.offset + insn.imm,
        map: { name: KCONFIG_MAP },
      };
    return { ...insn, src: LdImm64Src.BTF_ID, imm: 0, imm2: 0, ksym: { name: sym.name } };
  }

  legacyMaps(): void {
    const s = this.elf.section("maps");
    if (!s || s.size === 0) return;
    const syms = this.elf.symbols.filter(
      (x) => x.section === s.index && x.type !== STT.SECTION && x.name !== "",
    );
    if (syms.length === 0) return;
    const defSize = Math.floor(s.size / syms.length);
    if (defSize < 20)
      throw new ElfError(`legacy maps section: ${defSize}-byte definitions (need 20)`, s.offset);
    const bytes = this.data(s);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const sym of syms) {
      if (sym.value + 20 > s.size)
        throw new ElfError(`legacy map ${sym.name} lies outside the maps section`);
      const u = (i: number) => view.getUint32(sym.value + i * 4, true);
      this.maps[sym.name] = {
        name: sym.name,
        type: u(0),
        keySize: u(1),
        valueSize: u(2),
        maxEntries: u(3),
        flags: u(4),
      };
      this.#mapBySymbol.set(sym.index, sym.name);
    }
  }

  btfMaps(): void {
    const s = this.elf.section(".maps");
    if (!s) return;
    const btf = this.btf;
    if (!btf) throw new ElfError(".maps section without .BTF: BTF-defined maps need BTF");
    const sec = btf.findType(".maps", "datasec");
    if (sec?.kind !== "datasec") throw new ElfError(".BTF has no DATASEC .maps");
    for (const v of sec.vars) {
      const variable = btf.type(v.type);
      if (variable.kind !== "var") continue;
      const name = variable.name;
      const def = btf.resolve(variable.type);
      if (def.kind !== "struct")
        throw new ElfError(`map ${name}: its definition is a ${def.kind}, not a struct`);
      const fields: Record<string, number> = byName();
      let keySize: number | undefined;
      let valueSize: number | undefined;
      const typeIds: { btfKeyTypeId?: number; btfValueTypeId?: number } = {};
      for (const m of def.members) {
        const mt = btf.resolve(m.type);
        if (mt.kind !== "ptr") throw new ElfError(`map ${name}: member ${m.name} is not a pointer`);
        const target = btf.resolve(mt.type);
        if (m.name === "key" || m.name === "value") {
          const size = btf.sizeOf(mt.type);
          if (m.name === "key") {
            keySize = size;
            typeIds.btfKeyTypeId = mt.type;
          } else {
            valueSize = size;
            typeIds.btfValueTypeId = mt.type;
          }
        } else if (m.name === "values") {
          throw new ElfError(`map ${name}: map-in-map (values) is not supported`);
        } else {
          if (target.kind !== "array")
            throw new ElfError(`map ${name}: __uint(${m.name}) is not an array pointer`);
          fields[m.name] = target.nelems;
        }
      }
      if (fields.type === undefined) throw new ElfError(`map ${name}: no type`);
      this.maps[name] = {
        name,
        type: fields.type,
        keySize: keySize ?? fields.key_size ?? 0,
        valueSize: valueSize ?? fields.value_size ?? 0,
        maxEntries: fields.max_entries ?? 0,
        flags: fields.map_flags ?? 0,
        ...typeIds,
      };
    }
    for (const sym of this.elf.symbols) {
      if (sym.section === s.index && sym.type !== STT.SECTION && this.maps[sym.name])
        this.#mapBySymbol.set(sym.index, sym.name);
    }
  }

  codeSection(index: number): CodeSection {
    const have = this.#code.get(index);
    if (have) return have;
    const section = this.elf.sectionAt(index, "code");
    if ((section.flags & SHF_EXECINSTR) === 0 || section.type !== SHT.PROGBITS)
      throw new ElfError(`section ${section.name} is not code`);
    if (section.size % 8 !== 0)
      throw new ElfError(
        `code section ${section.name}: ${section.size} bytes is not whole instructions`,
      );
    this.#codeBytes += section.size;
    if (this.#codeBytes > MAX_CODE_BYTES)
      throw new ElfError(
        `code sections hold more than ${MAX_CODE_BYTES} bytes together (at ${section.name})`,
      );
    const insns = decodeSection(this.elf.contents(section), section);
    const indexAt = new Int32Array(section.size / 8).fill(-1);
    for (let i = 0, slot = 0; i < insns.length; slot += slotsOf(insns[i]!), i++) indexAt[slot] = i;
    const funcs: Func[] = (this.#symbols.get(index) ?? [])
      .filter((s) => s.type === STT.FUNC)
      .map((s) => {
        if (
          s.value % 8 !== 0 ||
          s.size % 8 !== 0 ||
          s.value + s.size > section.size ||
          s.size === 0
        )
          throw new ElfError(
            `function ${s.name} (${s.size} bytes at ${s.value}) outside ${section.name}`,
          );
        return { section, name: s.name, start: s.value, end: s.value + s.size };
      })
      .sort((a, b) => a.start - b.start);
    if (funcs.length === 0 && section.size > 0)
      funcs.push({ section, name: section.name, start: 0, end: section.size });
    const owner = ownerIndex(funcs, section.size / 8);
    const relocs = new Map<number, ElfRelocation>();
    for (const rs of this.#relSections.get(index) ?? []) {
      for (const r of this.elf.relocations(rs)) {
        if (r.offset % 8 !== 0)
          throw new ElfError(`${rs.name}: relocation at ${r.offset} not on an instruction`);
        relocs.set(r.offset, r);
      }
    }
    for (const rec of this.ext?.coreRelocations.get(section.name) ?? []) {
      // Kept on the instruction it rewrites; applied against kernel types at load.
      const i = rec.insnOff % 8 === 0 ? (indexAt[rec.insnOff / 8] ?? -1) : -1;
      if (i < 0)
        throw new ElfError(
          `${section.name}: CO-RE relocation at byte ${rec.insnOff} is not on an instruction of the section (${section.size} bytes)`,
        );
      if (insns[i]!.core !== undefined)
        throw new ElfError(`${section.name}: two CO-RE relocations at byte ${rec.insnOff}`);
      insns[i] = { ...insns[i]!, core: { typeId: rec.typeId, access: rec.access, kind: rec.kind } };
    }
    const byInsnOff = (a: { insnOff: number }, b: { insnOff: number }) => a.insnOff - b.insnOff;
    const code = {
      section,
      insns,
      indexAt,
      funcs,
      owner,
      relocs,
      funcInfo: [...(this.ext?.funcInfo.get(section.name) ?? [])].sort(byInsnOff),
      lineInfo: [...(this.ext?.lineInfo.get(section.name) ?? [])].sort(byInsnOff),
    };
    this.#code.set(index, code);
    return code;
  }

  funcAt(code: CodeSection, byteOff: number, from: string): Func {
    // Looked up per call instruction: an index, not a search of every function.
    const f =
      byteOff % 8 === 0 && byteOff >= 0 ? code.funcs[code.owner[byteOff / 8] ?? -1] : undefined;
    if (!f) throw new ElfError(`${from}: no function at byte ${byteOff} of ${code.section.name}`);
    return f;
  }

  /** The instructions of `entry` with every function it calls appended. */
  link(entry: Func, kind: SectionKind): ElfProgramSpec {
    const instructions: Instruction[] = [];
    const placed = new Map<Func, number>();
    const queue: Func[] = [];
    const funcInfo: number[][] = [];
    const lineInfo: number[][] = [];
    let length = 0; // slots placed so far
    const place = (f: Func): number => {
      const at = placed.get(f);
      if (at !== undefined) return at;
      placed.set(f, length);
      const n = (f.end - f.start) / 8;
      length += n;
      this.#linked += n;
      if (length > MAX_PROGRAM_INSNS)
        throw new ElfError(
          `program ${entry.name} links more than ${MAX_PROGRAM_INSNS} instructions (the kernel's limit)`,
        );
      if (++this.#linkedFuncs > MAX_LINKED_FUNCS)
        throw new ElfError(
          `the object's programs link more than ${MAX_LINKED_FUNCS} functions together (each program copies the functions it calls)`,
        );
      if (this.#linked > MAX_LINKED_INSNS)
        throw new ElfError(
          `the object's programs link more than ${MAX_LINKED_INSNS} instructions together (each program copies the functions it calls)`,
        );
      queue.push(f);
      return placed.get(f)!;
    };
    place(entry);
    for (let qi = 0; qi < queue.length; qi++) {
      const f = queue[qi]!;
      const base = placed.get(f)!;
      const code = this.codeSection(f.section.index);
      const where = `${f.section.name}:${f.name}`;
      const first = f.start / 8;
      const end = f.end / 8;
      if (code.indexAt[first]! < 0)
        throw new ElfError(`${where}: the function starts inside an ld_imm64`);
      for (let slot = first; slot < end; ) {
        let insn = code.insns[code.indexAt[slot]!]!;
        const i = slot - first; // slot in the function
        if (slot + slotsOf(insn) > end)
          throw new ElfError(`${where}: ld_imm64 cut off at the function end`);
        const rel = code.relocs.get(slot * 8);
        if (rel) {
          insn = this.relocate(rel, insn, base + i, where, place);
        } else if (insn.opcode === CALL && insn.src === CallSrc.PSEUDO_CALL) {
          // A call inside the section with no relocation: pc-relative.
          const target = (slot + insn.imm + 1) * 8;
          const callee = this.funcAt(code, target, where);
          const at = place(callee) + (target - callee.start) / 8;
          insn = { ...insn, imm: at - (base + i + 1) };
        }
        instructions.push(insn);
        slot += slotsOf(insn);
      }
      for (const r of within(code.funcInfo, (x) => x.insnOff, f.start, f.end))
        funcInfo.push([base + insnIndex(r.insnOff - f.start, "func info", where), r.typeId]);
      for (const r of within(code.lineInfo, (x) => x.insnOff, f.start, f.end))
        lineInfo.push([
          base + insnIndex(r.insnOff - f.start, "line info", where),
          r.fileNameOff,
          r.lineOff,
          r.lineCol,
        ]);
    }
    const iterTarget = kind.attach === "iter" ? kind.target : undefined;
    // The maps it references travel with the program, so the spec also loads
    // on its own (loadProgram / createIterator create them for it).
    const mapNames = [
      ...new Set(instructions.flatMap((i) => (i.map && "name" in i.map ? [i.map.name] : []))),
    ];
    const maps = mapNames.flatMap((n) => (this.maps[n] ? [this.maps[n]] : []));
    const externs = byName<ExternSpec>();
    for (const i of instructions) {
      const name =
        i.ksym?.name ?? (i.map && "name" in i.map && i.map.name === KCONFIG_MAP ? "" : undefined);
      if (name !== undefined && name !== "" && this.externs[name])
        externs[name] = this.externs[name];
    }
    if (mapNames.includes(KCONFIG_MAP))
      for (const e of Object.values(this.externs)) if (e.kind === "kconfig") externs[e.name] = e;
    return {
      name: entry.name,
      section: entry.section.name,
      type: kind.type,
      ...(kind.expectedAttachType === undefined
        ? {}
        : { expectedAttachType: kind.expectedAttachType }),
      ...(kind.flags === undefined ? {} : { flags: kind.flags }),
      ...this.attachTarget(kind),
      ...(iterTarget === undefined ? {} : { iterTarget }),
      license: this.license(),
      instructions,
      maps,
      ...(funcInfo.length > 0 ? { funcInfo: records(funcInfo, FUNC_INFO_SIZE) } : {}),
      ...(lineInfo.length > 0 ? { lineInfo: records(lineInfo, LINE_INFO_SIZE) } : {}),
      ...(this.btf ? { localTypes: this.btf } : {}),
      ...(Object.keys(externs).length > 0 ? { externs } : {}),
    };
  }

  /**
   * The instruction at program slot `at` with its ELF relocation applied: a
   * call or function address linked, a map or global data reference set.
   */
  relocate(
    rel: ElfRelocation,
    insn: Instruction,
    at: number,
    where: string,
    place: (f: Func) => number,
  ): Instruction {
    const sym: ElfSymbol = rel.symbol;
    const what = `${where}: relocation at instruction ${rel.offset / 8} (symbol ${sym.name || `#${sym.index}`})`;
    if (
      rel.type === R_BPF_64_ABS64 ||
      rel.type === R_BPF_64_ABS32 ||
      rel.type === R_BPF_64_NODYLD32
    )
      return insn; // data relocations (debug info), nothing to do in code
    if (sym.section === SHN_UNDEF) return this.externReference(rel, insn, sym, what);
    if (sym.section >= SHN_LORESERVE)
      throw new ElfError(`${what}: symbol in reserved section ${sym.section}`);
    const target = this.elf.sectionAt(sym.section, what);
    /** The pc-relative distance from this instruction to `tOff` of code section `target`, placing its function. */
    const linkTo = (tOff: number): number => {
      const code = this.codeSection(target.index);
      const callee = this.funcAt(code, tOff, what);
      return place(callee) + (tOff - callee.start) / 8 - (at + 1);
    };
    if (rel.type === R_BPF_64_32) {
      if (insn.opcode !== CALL)
        throw new ElfError(`${what}: R_BPF_64_32 on a non-call instruction`);
      const imm = linkTo(sym.value + (insn.imm + 1) * 8);
      return { ...insn, src: CallSrc.PSEUDO_CALL, imm };
    }
    if (rel.type !== R_BPF_64_64)
      throw new ElfError(`${what}: unsupported relocation type ${rel.type}`);
    if (insn.opcode !== LD_IMM64)
      throw new ElfError(`${what}: R_BPF_64_64 on a non-ld_imm64 instruction`);
    const mapName = this.#mapBySymbol.get(sym.index);
    if (mapName !== undefined)
      return { ...insn, src: LdImm64Src.MAP_FD, imm: 0, imm2: 0, map: { name: mapName } };
    if (this.maps[target.name] && isGlobalData(target.name)) {
      const offset = insn.imm + (sym.type === STT.SECTION ? 0 : sym.value);
      if (offset < 0 || offset >= target.size)
        throw new ElfError(
          `${what}: offset ${offset} outside ${target.name} (${target.size} bytes)`,
        );
      return {
        ...insn,
        src: LdImm64Src.MAP_VALUE,
        imm: 0,
        imm2: offset,
        map: { name: target.name },
      };
    }
    if ((target.flags & SHF_EXECINSTR) !== 0) {
      // Address of a function (callbacks such as bpf_loop's): BPF_PSEUDO_FUNC.
      return { ...insn, src: LdImm64Src.FUNC, imm: linkTo(sym.value + insn.imm) };
    }
    throw new ElfError(
      `${what}: refers to section ${target.name}, which is neither a map nor data`,
    );
  }

  /** The attach target's name; its BTF id is found in kernel types at load (bindProgramSpec). */
  attachTarget(kind: SectionKind): Pick<ProgramSpec, "attachTarget"> {
    const name = attachTargetName(kind);
    return name === undefined ? {} : { attachTarget: name };
  }

  programs(): Record<string, ElfProgramSpec> {
    const out = byName<ElfProgramSpec>();
    for (const s of this.elf.sections) {
      if (s.type !== SHT.PROGBITS || (s.flags & SHF_EXECINSTR) === 0 || s.name === ".text")
        continue;
      if (s.size === 0) continue;
      const kind = sectionKind(s.name);
      if (!kind)
        throw new ElfError(`section ${s.name}: unknown program type (not a libbpf section name)`);
      const code = this.codeSection(s.index);
      for (const f of code.funcs) {
        if (out[f.name]) throw new ElfError(`two programs are named ${f.name}`);
        out[f.name] = this.link(f, kind);
      }
    }
    return out;
  }
}

/**
 * For each instruction slot, the index of the first function (in start order)
 * that covers it, as a search of `funcs` would find it. Each slot is filled
 * once ("next free slot" links), so overlapping functions cost no more.
 */
function ownerIndex(funcs: readonly Func[], slots: number): Int32Array {
  const owner = new Int32Array(slots).fill(-1);
  const nextFree = new Int32Array(slots + 1);
  for (let i = 0; i <= slots; i++) nextFree[i] = i;
  const free = (from: number): number => {
    let i = from;
    while (nextFree[i] !== i) i = nextFree[i]!;
    // Path compression: later searches from `from` jump straight to `i`.
    for (let j = from; nextFree[j] !== j; ) {
      const k = nextFree[j]!;
      nextFree[j] = i;
      j = k;
    }
    return i;
  };
  funcs.forEach((f, index) => {
    const end = f.end / 8;
    for (let slot = free(f.start / 8); slot < end; slot = free(slot)) {
      owner[slot] = index;
      nextFree[slot] = slot + 1;
    }
  });
  return owner;
}

/** The items of `sorted` (ascending by `at`) with `start <= at(item) < end`. */
function within<T>(
  sorted: readonly T[],
  at: (item: T) => number,
  start: number,
  end: number,
): readonly T[] {
  const lowerBound = (value: number): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (at(sorted[mid]!) < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return sorted.slice(lowerBound(start), lowerBound(end));
}

/** Instruction index of a .BTF.ext record's byte offset (from the function start). */
function insnIndex(byteOff: number, what: string, where: string): number {
  if (byteOff % 8 !== 0)
    throw new ElfError(`${where}: ${what} record at byte ${byteOff} is not on an instruction`);
  return byteOff / 8;
}

function records(rows: number[][], size: number): BtfExtRecords {
  rows.sort((a, b) => a[0]! - b[0]!);
  const bytes = new Uint8Array(rows.length * size);
  const view = new DataView(bytes.buffer);
  rows.forEach((row, r) => {
    row.forEach((v, c) => {
      view.setUint32(r * size + c * 4, v, true);
    });
  });
  return { recordSize: size, records: bytes };
}

/**
 * Reads an ELF object (bytes) into a CollectionSpec. Malformed input raises
 * ElfError; a problem in the object's .BTF is an ElfError whose cause is the
 * BtfError. Any other cause (a TypeError, a RangeError) is a bug in this
 * package: it is still wrapped, so callers see one error type.
 */
export function parseCollection(bytes: Uint8Array): CollectionSpec {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("parseCollection needs a Uint8Array");
  try {
    return parse(bytes);
  } catch (e) {
    if (e instanceof ElfError) throw e;
    throw new ElfError(`malformed object: ${e instanceof Error ? e.message : String(e)}`, -1, {
      cause: e,
    });
  }
}

function parse(bytes: Uint8Array): CollectionSpec {
  const p = new Parser(bytes);
  p.collectExterns();
  p.globalData();
  p.legacyMaps();
  p.btfMaps();
  const programs = p.programs();
  const btfSec = p.elf.section(".BTF");
  return {
    programs,
    maps: p.maps,
    variables: p.variables,
    license: p.license(),
    externs: p.externs,
    ...(btfSec && p.btf ? { btf: fixupBtf(p.data(btfSec), p.elf, p.externs) } : {}),
  };
}

/**
 * The instructions of a code section. Bytes that are not instructions (a
 * truncated ld_imm64, one with bits in its second slot) are a malformed object.
 */
function decodeSection(bytes: Uint8Array, section: Section): Instruction[] {
  try {
    return decode(bytes);
  } catch (e) {
    // Not wrapped as the cause: an ElfError's causes are ElfErrors and BtfErrors.
    if (e instanceof InstructionError)
      throw new ElfError(`code section ${section.name}: ${e.reason}`, section.offset);
    throw e;
  }
}
