// The instruction model: one BPF instruction as the kernel sees it, plus the
// references that stay symbolic until they are resolved (labels by the DSL's
// assemble(), maps at load, CO-RE against kernel types at load). ld_imm64 is
// one instruction of two 8-byte slots. The DSL builds these, the ELF reader
// decodes them, CO-RE and the linker rewrite them, and the loader resolves
// their references and encodes them, once (encodeProgram).
import type { MapReference } from "../program.js";
import { InstructionError } from "./errors.js";
import {
  AluOp,
  AtomicOp,
  CallSrc,
  Class,
  JmpOp,
  LD_IMM64,
  LdImm64Src,
  MAX_REG,
  Mode,
  opClass,
  opCode,
  opMode,
  opSize,
  opSource,
  Size,
  Source,
} from "./opcodes.js";

/**
 * A CO-RE relocation (a `.BTF.ext` record) on the instruction it rewrites:
 * an access into a type of the object's own BTF, resolved against kernel
 * types when the program is loaded.
 */
export interface CoreRelocation {
  /** Root type id in the object's BTF. */
  readonly typeId: number;
  /** Access string, e.g. "0:1:2" (index into the root, then member / element indexes). */
  readonly access: string;
  /** `enum bpf_core_relo_kind`. */
  readonly kind: number;
}

export interface Instruction {
  readonly opcode: number;
  /** Destination register, 0..10. */
  readonly dst: number;
  /** Source register 0..10, or a pseudo value (calls, ld_imm64). */
  readonly src: number;
  /** Signed 16-bit offset. */
  readonly off: number;
  /** Signed 32-bit immediate (for ld_imm64, the low 32 bits). */
  readonly imm: number;
  /** ld_imm64 only: imm of the second slot (high 32 bits, or a map value offset). */
  readonly imm2?: number;
  /**
   * Label this instruction refers to: the target of a jump, `gotol`, a
   * subprogram call or an ld_imm64 function reference. Resolved by assemble().
   */
  readonly target?: string;
  /** ld_imm64 map fd / map value: the map, patched in by the loader. */
  readonly map?: MapReference;
  /**
   * ld_imm64 map value only: a string constant this instruction points at.
   * program() places it in the `.rodata` read-only data and adds its offset
   * to `imm2`.
   */
  readonly str?: string;
  /**
   * A CO-RE relocation still to apply against kernel types (@ts-ebpf/elf does
   * at load); the loader refuses an instruction that still has one.
   */
  readonly core?: CoreRelocation;
  /**
   * A kernel symbol by name: the kfunc a `call` (src BPF_PSEUDO_KFUNC_CALL)
   * calls, or the kernel variable an ld_imm64 (src BPF_PSEUDO_BTF_ID) loads
   * the address of. Its BTF id is found in kernel types before load
   * (@ts-ebpf/elf's bindKsyms / loadCollection); the loader puts the id in
   * imm and a module's BTF fd in fd_array (kfunc) or imm2 (variable).
   */
  readonly ksym?: KsymReference;
}

/** A kfunc or kernel variable an instruction refers to (see Instruction.ksym). */
export interface KsymReference {
  readonly name: string;
  /** The FUNC's (kfunc) or VAR's (variable) id in the BTF that defines it, once found. */
  readonly btfId?: number;
  /**
   * The kernel module's BTF object defining it (an fd the caller keeps open
   * until the program is loaded); absent for vmlinux.
   */
  readonly module?: { readonly fd: number; readonly name?: string };
}

export const INSN_SIZE = 8;

/** Number of 8-byte slots an instruction takes (2 for ld_imm64). */
export const slotsOf = (insn: Instruction): number => (insn.opcode === LD_IMM64 ? 2 : 1);

export const isInt = (v: number, bits: number): boolean =>
  Number.isInteger(v) && v >= -(2 ** (bits - 1)) && v < 2 ** (bits - 1);

// ---- classification: what an instruction means, or why it is not one -----

export type Operand = { readonly reg: number } | { readonly imm: number };
export type AluName =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "sdiv"
  | "or"
  | "and"
  | "lsh"
  | "rsh"
  | "mod"
  | "smod"
  | "xor"
  | "mov"
  | "arsh";
export type JmpName =
  | "jeq"
  | "jgt"
  | "jge"
  | "jset"
  | "jne"
  | "jsgt"
  | "jsge"
  | "jlt"
  | "jle"
  | "jslt"
  | "jsle";
export type MemSize = "u8" | "u16" | "u32" | "u64";
export type AtomicName =
  | "add"
  | "or"
  | "and"
  | "xor"
  | "fetch_add"
  | "fetch_or"
  | "fetch_and"
  | "fetch_xor"
  | "xchg"
  | "cmpxchg"
  | "load_acquire"
  | "store_release";

export type Form =
  | { kind: "alu"; wide: boolean; op: AluName; dst: number; src: Operand }
  | { kind: "neg"; wide: boolean; dst: number }
  | { kind: "movsx"; wide: boolean; dst: number; src: number; bits: 8 | 16 | 32 }
  | { kind: "endian"; order: "le" | "be" | "bswap"; dst: number; bits: 16 | 32 | 64 }
  | { kind: "ja"; off: number }
  | { kind: "gotol"; imm: number }
  | { kind: "jcond"; wide: boolean; op: JmpName; dst: number; src: Operand; off: number }
  | { kind: "call"; id: number }
  | { kind: "call_subprog"; imm: number }
  | { kind: "call_kfunc"; id: number; off: number }
  | { kind: "exit" }
  | { kind: "ld_imm64"; pseudo: number; dst: number; imm: number; imm2: number }
  | { kind: "ldx"; sx: boolean; size: MemSize; dst: number; src: number; off: number }
  | { kind: "st"; size: MemSize; dst: number; off: number; imm: number }
  | { kind: "stx"; size: MemSize; dst: number; src: number; off: number }
  | { kind: "atomic"; op: AtomicName; size: MemSize; dst: number; src: number; off: number }
  | { kind: "ld_abs"; size: MemSize; imm: number }
  | { kind: "ld_ind"; size: MemSize; src: number; imm: number };

export const ALU_OPS: Record<number, AluName> = {
  [AluOp.ADD]: "add",
  [AluOp.SUB]: "sub",
  [AluOp.MUL]: "mul",
  [AluOp.DIV]: "div",
  [AluOp.OR]: "or",
  [AluOp.AND]: "and",
  [AluOp.LSH]: "lsh",
  [AluOp.RSH]: "rsh",
  [AluOp.MOD]: "mod",
  [AluOp.XOR]: "xor",
  [AluOp.MOV]: "mov",
  [AluOp.ARSH]: "arsh",
};
export const ALU_CODES: Record<AluName, number> = {
  add: AluOp.ADD,
  sub: AluOp.SUB,
  mul: AluOp.MUL,
  div: AluOp.DIV,
  sdiv: AluOp.DIV,
  or: AluOp.OR,
  and: AluOp.AND,
  lsh: AluOp.LSH,
  rsh: AluOp.RSH,
  mod: AluOp.MOD,
  smod: AluOp.MOD,
  xor: AluOp.XOR,
  mov: AluOp.MOV,
  arsh: AluOp.ARSH,
};
export const JMP_OPS: Record<number, JmpName> = {
  [JmpOp.JEQ]: "jeq",
  [JmpOp.JGT]: "jgt",
  [JmpOp.JGE]: "jge",
  [JmpOp.JSET]: "jset",
  [JmpOp.JNE]: "jne",
  [JmpOp.JSGT]: "jsgt",
  [JmpOp.JSGE]: "jsge",
  [JmpOp.JLT]: "jlt",
  [JmpOp.JLE]: "jle",
  [JmpOp.JSLT]: "jslt",
  [JmpOp.JSLE]: "jsle",
};
export const JMP_CODES = Object.fromEntries(
  Object.entries(JMP_OPS).map(([code, name]) => [name, Number(code)]),
) as Record<JmpName, number>;

export const SIZES: Record<number, MemSize> = {
  [Size.B]: "u8",
  [Size.H]: "u16",
  [Size.W]: "u32",
  [Size.DW]: "u64",
};
export const SIZE_CODES: Record<MemSize, number> = {
  u8: Size.B,
  u16: Size.H,
  u32: Size.W,
  u64: Size.DW,
};

export const ATOMIC_OPS: Record<number, AtomicName> = {
  [AtomicOp.ADD]: "add",
  [AtomicOp.OR]: "or",
  [AtomicOp.AND]: "and",
  [AtomicOp.XOR]: "xor",
  [AtomicOp.ADD | AtomicOp.FETCH]: "fetch_add",
  [AtomicOp.OR | AtomicOp.FETCH]: "fetch_or",
  [AtomicOp.AND | AtomicOp.FETCH]: "fetch_and",
  [AtomicOp.XOR | AtomicOp.FETCH]: "fetch_xor",
  [AtomicOp.XCHG]: "xchg",
  [AtomicOp.CMPXCHG]: "cmpxchg",
  [AtomicOp.LOAD_ACQ]: "load_acquire",
  [AtomicOp.STORE_REL]: "store_release",
};
export const ATOMIC_CODES = Object.fromEntries(
  Object.entries(ATOMIC_OPS).map(([code, name]) => [name, Number(code)]),
) as Record<AtomicName, number>;

// ---- opcodes by name: what builders and assemblers compose ------------------

/** Opcode of an ALU operation: 64-bit (ALU64) or 32-bit, register (X) or immediate (K) source. */
export const aluOpcode = (wide: boolean, op: AluName, regSource: boolean): number =>
  (wide ? Class.ALU64 : Class.ALU) | (regSource ? Source.X : Source.K) | ALU_CODES[op];

/** `off` of an ALU operation: 1 selects the signed division and modulo. */
export const aluOff = (op: AluName): number => (op === "sdiv" || op === "smod" ? 1 : 0);

/** Opcode of a conditional jump: 64-bit (JMP) or 32-bit (JMP32), register or immediate source. */
export const jmpOpcode = (wide: boolean, op: JmpName, regSource: boolean): number =>
  (wide ? Class.JMP : Class.JMP32) | (regSource ? Source.X : Source.K) | JMP_CODES[op];

/** Opcode of a legacy packet load: `r0 = *(size *)skb[imm]` (ABS) or `skb[src + imm]` (IND). */
export const packetLoadOpcode = (size: MemSize, indirect: boolean): number =>
  Class.LD | SIZE_CODES[size] | (indirect ? Mode.IND : Mode.ABS);

const hex = (v: number): string => `0x${(v & 0xff).toString(16).padStart(2, "0")}`;

/**
 * What the instruction means. Throws an InstructionError (without position) when the
 * fields do not form a valid instruction: unknown opcode, register above r10,
 * off/imm out of range, or a reserved field that is not zero.
 */
export function classify(insn: Instruction): Form {
  const { opcode, dst, src, off, imm } = insn;
  const fail = (reason: string): never => {
    throw new InstructionError(reason);
  };
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xff) fail(`invalid opcode ${opcode}`);
  if (!Number.isInteger(dst) || dst < 0 || dst > MAX_REG) fail(`invalid register r${dst}`);
  if (!Number.isInteger(src) || src < 0 || src > 15) fail(`invalid source field ${src}`);
  if (!isInt(off, 16)) fail(`offset ${off} out of range (signed 16-bit)`);
  if (!isInt(imm, 32)) fail(`immediate ${imm} out of range (signed 32-bit)`);
  const reg = (r: number): number => (r > MAX_REG ? fail(`invalid register r${r}`) : r);
  const zero = (name: string, v: number): void => {
    if (v !== 0) fail(`reserved field ${name} must be 0, is ${v}`);
  };
  const cls = opClass(opcode);
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const wide = cls === Class.ALU64;
      const code = opCode(opcode);
      const x = opSource(opcode) === Source.X;
      if (code === AluOp.END) {
        if (!(imm === 16 || imm === 32 || imm === 64)) fail(`byte swap width ${imm} (16, 32, 64)`);
        zero("src", src);
        zero("off", off);
        if (wide && x) fail(`invalid opcode ${hex(opcode)}`);
        const order = wide ? "bswap" : x ? "be" : "le";
        return { kind: "endian", order, dst, bits: imm as 16 | 32 | 64 };
      }
      if (code === AluOp.NEG) {
        if (x) fail(`invalid opcode ${hex(opcode)}`);
        zero("src", src);
        zero("off", off);
        zero("imm", imm);
        return { kind: "neg", wide, dst };
      }
      let op = ALU_OPS[code];
      if (op === undefined) return fail(`invalid opcode ${hex(opcode)}`);
      if (code === AluOp.MOV && x && off !== 0) {
        if (!(off === 8 || off === 16 || (wide && off === 32))) fail(`movsx width ${off}`);
        zero("imm", imm);
        return { kind: "movsx", wide, dst, src: reg(src), bits: off as 8 | 16 | 32 };
      }
      if ((code === AluOp.DIV || code === AluOp.MOD) && off === 1) {
        op = code === AluOp.DIV ? "sdiv" : "smod";
      } else {
        zero("off", off);
      }
      if (x) {
        zero("imm", imm);
        return { kind: "alu", wide, op, dst, src: { reg: reg(src) } };
      }
      zero("src", src);
      return { kind: "alu", wide, op, dst, src: { imm } };
    }
    case Class.JMP:
    case Class.JMP32: {
      const wide = cls === Class.JMP;
      const code = opCode(opcode);
      const x = opSource(opcode) === Source.X;
      if (code === JmpOp.JA) {
        if (x) fail(`invalid opcode ${hex(opcode)}`);
        zero("dst", dst);
        zero("src", src);
        if (wide) {
          zero("imm", imm);
          return { kind: "ja", off };
        }
        zero("off", off);
        return { kind: "gotol", imm };
      }
      if (code === JmpOp.CALL || code === JmpOp.EXIT) {
        if (!wide || x) fail(`invalid opcode ${hex(opcode)}`);
        zero("dst", dst);
        if (code === JmpOp.EXIT) {
          zero("src", src);
          zero("off", off);
          zero("imm", imm);
          return { kind: "exit" };
        }
        if (src === CallSrc.HELPER) {
          zero("off", off);
          // Helper ids are enum bpf_func_id values: the kernel refuses a negative one.
          if (imm < 0) fail(`invalid helper id ${imm}`);
          return { kind: "call", id: imm };
        }
        if (src === CallSrc.PSEUDO_CALL) {
          zero("off", off);
          return { kind: "call_subprog", imm };
        }
        if (src === CallSrc.KFUNC) return { kind: "call_kfunc", id: imm, off };
        return fail(`invalid call source ${src}`);
      }
      const op = JMP_OPS[code];
      if (op === undefined) return fail(`invalid opcode ${hex(opcode)}`);
      if (x) {
        zero("imm", imm);
        return { kind: "jcond", wide, op, dst, src: { reg: reg(src) }, off };
      }
      zero("src", src);
      return { kind: "jcond", wide, op, dst, src: { imm }, off };
    }
    case Class.LD: {
      if (opcode === LD_IMM64) {
        const imm2 = insn.imm2 ?? 0;
        if (!isInt(imm2, 32)) fail(`second immediate ${imm2} out of range (signed 32-bit)`);
        if (src > LdImm64Src.MAP_IDX_VALUE) fail(`invalid ld_imm64 source ${src}`);
        zero("off", off);
        if (
          src !== LdImm64Src.IMM &&
          src !== LdImm64Src.MAP_VALUE &&
          src !== LdImm64Src.MAP_IDX_VALUE
        )
          zero("second imm", imm2);
        return { kind: "ld_imm64", pseudo: src, dst, imm, imm2 };
      }
      const size = SIZES[opSize(opcode)];
      const mode = opMode(opcode);
      if (size === undefined || size === "u64" || (mode !== Mode.ABS && mode !== Mode.IND))
        return fail(`invalid opcode ${hex(opcode)}`);
      zero("dst", dst);
      zero("off", off);
      if (mode === Mode.ABS) {
        zero("src", src);
        return { kind: "ld_abs", size, imm };
      }
      return { kind: "ld_ind", size, src: reg(src), imm };
    }
    case Class.LDX: {
      const size = SIZES[opSize(opcode)]!;
      const mode = opMode(opcode);
      if (mode !== Mode.MEM && !(mode === Mode.MEMSX && size !== "u64"))
        return fail(`invalid opcode ${hex(opcode)}`);
      zero("imm", imm);
      return { kind: "ldx", sx: mode === Mode.MEMSX, size, dst, src: reg(src), off };
    }
    case Class.ST: {
      const size = SIZES[opSize(opcode)]!;
      if (opMode(opcode) !== Mode.MEM) return fail(`invalid opcode ${hex(opcode)}`);
      zero("src", src);
      return { kind: "st", size, dst, off, imm };
    }
    default: {
      // Class.STX
      const size = SIZES[opSize(opcode)]!;
      const mode = opMode(opcode);
      if (mode === Mode.MEM) {
        zero("imm", imm);
        return { kind: "stx", size, dst, src: reg(src), off };
      }
      if (mode !== Mode.ATOMIC) return fail(`invalid opcode ${hex(opcode)}`);
      const op = ATOMIC_OPS[imm];
      if (op === undefined) return fail(`invalid atomic operation ${imm}`);
      const acqRel = op === "load_acquire" || op === "store_release";
      if (!acqRel && size !== "u32" && size !== "u64") fail(`atomic ${op} on ${size}`);
      return { kind: "atomic", op, size, dst, src: reg(src), off };
    }
  }
}

// ---- bytes ----------------------------------------------------------------

/** Writes one instruction's fields (8 or 16 bytes) at byte offset `at`, references unresolved. */
export function encodeInto(view: DataView, at: number, insn: Instruction): void {
  view.setUint8(at, insn.opcode);
  view.setUint8(at + 1, (insn.src << 4) | insn.dst);
  view.setInt16(at + 2, insn.off, true);
  view.setInt32(at + 4, insn.imm, true);
  if (insn.opcode === LD_IMM64) {
    view.setBigUint64(at + 8, 0n, true);
    view.setInt32(at + 12, insn.imm2 ?? 0, true);
  }
}

/**
 * Encodes instructions' fields as they are: references are not resolved
 * (a map reference encodes imm 0). For display and tests; the loader uses
 * encodeProgram, which resolves them.
 */
export function encode(insns: readonly Instruction[]): Uint8Array {
  let slots = 0;
  for (const insn of insns) slots += slotsOf(insn);
  const bytes = new Uint8Array(slots * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const insn of insns) {
    encodeInto(view, at, insn);
    at += slotsOf(insn) * INSN_SIZE;
  }
  return bytes;
}

/**
 * Decodes bytes into instructions (ld_imm64 takes two slots). Fields are
 * taken as they are; classify() says whether they form a valid instruction.
 */
export function decode(bytes: Uint8Array): Instruction[] {
  if (bytes.length % INSN_SIZE !== 0) {
    throw new InstructionError(`instruction bytes: length ${bytes.length} is not a multiple of 8`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instruction[] = [];
  for (let at = 0; at < bytes.length; at += INSN_SIZE) {
    const opcode = view.getUint8(at);
    const regs = view.getUint8(at + 1);
    const base = {
      opcode,
      dst: regs & 0x0f,
      src: regs >> 4,
      off: view.getInt16(at + 2, true),
      imm: view.getInt32(at + 4, true),
    };
    if (opcode === LD_IMM64) {
      if (at + 2 * INSN_SIZE > bytes.length) {
        throw new InstructionError(
          `instruction bytes: ld_imm64 at slot ${at / INSN_SIZE} is truncated`,
        );
      }
      // The second slot holds only the upper immediate; the Instruction has
      // nowhere to keep other bits, and the kernel refuses them.
      if (view.getUint32(at + 8, true) !== 0) {
        throw new InstructionError(
          `instruction bytes: ld_imm64 at slot ${at / INSN_SIZE}: its second slot has opcode, registers or offset set (must be 0)`,
        );
      }
      out.push({ ...base, imm2: view.getInt32(at + 12, true) });
      at += INSN_SIZE;
    } else {
      out.push(base);
    }
  }
  return out;
}

/** Raw fields, for messages about instructions that are not valid (`.insn opcode=0x.. ...`). */
export function formatRaw(insn: Instruction): string {
  const imm2 = insn.imm2 === undefined ? "" : ` imm2=${insn.imm2}`;
  return `.insn opcode=0x${(insn.opcode >>> 0).toString(16).padStart(2, "0")} dst=${insn.dst} src=${insn.src} off=${insn.off} imm=${insn.imm}${imm2}`;
}
