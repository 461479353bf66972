// Typed builders: one function per instruction form. Each returns a checked
// Instruction; a bad register, immediate or offset is a DslError here, where
// the caller's stack points at the line that wrote it.
import type { MapReference } from "@ts-ebpf/spec";
import { DslError } from "./errors.js";
import { helperId } from "./helpers.js";
import {
  type AluName,
  AluOp,
  ATOMIC_CODES,
  type AtomicName,
  aluOff,
  aluOpcode,
  CallSrc,
  Class,
  Endian,
  type Instruction,
  type Item,
  isInt,
  type JmpName,
  JmpOp,
  jmpOpcode,
  type Label,
  LD_IMM64,
  LdImm64Src,
  type MemSize,
  Mode,
  SIZE_CODES,
  Source,
} from "./insn.js";
import { sealInstruction } from "./validate.js";

export type Reg = "r0" | "r1" | "r2" | "r3" | "r4" | "r5" | "r6" | "r7" | "r8" | "r9" | "r10";
/** A register, or a signed 32-bit immediate. */
export type RegOrImm = Reg | number;
/** A label, or a signed offset in slots relative to the next instruction. */
export type JumpTarget = string | number;

/** Register number of `r0`..`r10`; DslError for anything else. */
export function regNumber(r: string, what = "register"): number {
  const m = /^r(\d+)$/.exec(r);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!(n >= 0 && n <= 10) || m![1]!.length > 2 || (m![1]!.length === 2 && n < 10)) {
    throw new DslError(`invalid ${what} ${JSON.stringify(r)} (r0..r10)`);
  }
  return n;
}

export const label = (name: string): Label => {
  // Register-like names and `pc` would read ambiguously in the text syntax.
  if (
    typeof name !== "string" ||
    !/^[A-Za-z_.$][\w.$]*$/.test(name) ||
    /^([rw]\d+|pc)$/.test(name)
  ) {
    throw new DslError(`invalid label name ${JSON.stringify(name)}`);
  }
  return { label: name };
};

/**
 * A BPF-to-BPF subprogram: its label and body, to place after the main
 * program's exit and call with callSubprog(name) (arguments in r1..r5,
 * result in r0).
 */
export const subprog = (name: string, ...body: (Item | readonly Item[])[]): Item[] => [
  label(name),
  ...body.flat(),
];

function make(fields: Instruction): Instruction {
  return sealInstruction(fields);
}

// ---- ALU ------------------------------------------------------------------

function alu(wide: boolean, op: AluName, dst: Reg, src: RegOrImm): Instruction {
  const off = aluOff(op);
  const d = regNumber(dst, "destination register");
  if (typeof src === "number") {
    // 32-bit operations take an unsigned 32-bit value too (w0 = 0xffffffff).
    const imm = !wide && src >= 2 ** 31 && src < 2 ** 32 ? src | 0 : src;
    if (!isInt(imm, 32)) {
      throw new DslError(
        `immediate ${src} out of range (signed 32-bit${wide ? "; use ldImm64 for 64-bit constants" : ""})`,
        { instruction: `${op}${wide ? "" : "32"} ${dst}, ${src}` },
      );
    }
    return make({ opcode: aluOpcode(wide, op, false), dst: d, src: 0, off, imm });
  }
  const s = regNumber(src, "source register");
  return make({ opcode: aluOpcode(wide, op, true), dst: d, src: s, off, imm: 0 });
}

type AluBuilder = (dst: Reg, src: RegOrImm) => Instruction;
const alu64 =
  (op: AluName): AluBuilder =>
  (dst, src) =>
    alu(true, op, dst, src);
const alu32 =
  (op: AluName): AluBuilder =>
  (dst, src) =>
    alu(false, op, dst, src);

/** `dst += src` (64-bit). Suffix `32` for the 32-bit (`w`) forms. */
export const add = alu64("add");
export const sub = alu64("sub");
export const mul = alu64("mul");
export const div = alu64("div");
/** Signed division (off = 1). */
export const sdiv = alu64("sdiv");
export const mod = alu64("mod");
/** Signed modulo (off = 1). */
export const smod = alu64("smod");
export const or = alu64("or");
export const and = alu64("and");
export const lsh = alu64("lsh");
export const rsh = alu64("rsh");
export const arsh = alu64("arsh");
export const xor = alu64("xor");
export const mov = alu64("mov");
export const add32 = alu32("add");
export const sub32 = alu32("sub");
export const mul32 = alu32("mul");
export const div32 = alu32("div");
export const sdiv32 = alu32("sdiv");
export const mod32 = alu32("mod");
export const smod32 = alu32("smod");
export const or32 = alu32("or");
export const and32 = alu32("and");
export const lsh32 = alu32("lsh");
export const rsh32 = alu32("rsh");
export const arsh32 = alu32("arsh");
export const xor32 = alu32("xor");
export const mov32 = alu32("mov");

export const neg = (dst: Reg): Instruction =>
  make({ opcode: Class.ALU64 | AluOp.NEG, dst: regNumber(dst), src: 0, off: 0, imm: 0 });
export const neg32 = (dst: Reg): Instruction =>
  make({ opcode: Class.ALU | AluOp.NEG, dst: regNumber(dst), src: 0, off: 0, imm: 0 });

/** `dst = (s8|s16|s32)src`: sign-extending move (cpu v4). */
export const movsx = (dst: Reg, src: Reg, bits: 8 | 16 | 32): Instruction =>
  make({
    opcode: Class.ALU64 | Source.X | AluOp.MOV,
    dst: regNumber(dst),
    src: regNumber(src),
    off: bits,
    imm: 0,
  });
export const movsx32 = (dst: Reg, src: Reg, bits: 8 | 16): Instruction =>
  make({
    opcode: Class.ALU | Source.X | AluOp.MOV,
    dst: regNumber(dst),
    src: regNumber(src),
    off: bits,
    imm: 0,
  });

/** A byte order conversion of `dst` (Endian.TO_LE / TO_BE, ALU class). */
const toEndian =
  (order: number) =>
  (dst: Reg, bits: 16 | 32 | 64): Instruction =>
    make({ opcode: Class.ALU | order | AluOp.END, dst: regNumber(dst), src: 0, off: 0, imm: bits });
/** `dst = le16 dst`: convert to little endian (and truncate). */
export const le = toEndian(Endian.TO_LE);
/** `dst = be16 dst`: convert to big endian (and truncate). */
export const be = toEndian(Endian.TO_BE);
/** `dst = bswap16 dst`: unconditional byte swap (ALU64 form, cpu v4). */
export const bswap = (dst: Reg, bits: 16 | 32 | 64): Instruction =>
  make({ opcode: Class.ALU64 | AluOp.END, dst: regNumber(dst), src: 0, off: 0, imm: bits });

// ---- jumps and calls ----------------------------------------------------------

const targetFields = (target: JumpTarget): { off: number; target?: string } =>
  typeof target === "string" ? { off: 0, target } : { off: target };

/** `goto target` (16-bit offset). */
export const ja = (target: JumpTarget): Instruction =>
  make({ opcode: Class.JMP | JmpOp.JA, dst: 0, src: 0, imm: 0, ...targetFields(target) });
/** `gotol target`: JMP32 ja with a 32-bit offset in imm (cpu v4). */
export const gotol = (target: JumpTarget): Instruction =>
  typeof target === "string"
    ? make({ opcode: Class.JMP32 | JmpOp.JA, dst: 0, src: 0, off: 0, imm: 0, target })
    : make({ opcode: Class.JMP32 | JmpOp.JA, dst: 0, src: 0, off: 0, imm: target });

function jcond(wide: boolean, op: JmpName, dst: Reg, src: RegOrImm, target: JumpTarget) {
  const d = regNumber(dst, "destination register");
  if (typeof src === "number") {
    const imm = !wide && src >= 2 ** 31 && src < 2 ** 32 ? src | 0 : src;
    if (!isInt(imm, 32)) {
      throw new DslError(`immediate ${src} out of range (signed 32-bit)`, {
        instruction: `${op}${wide ? "" : "32"} ${dst}, ${src}`,
      });
    }
    return make({
      opcode: jmpOpcode(wide, op, false),
      dst: d,
      src: 0,
      imm,
      ...targetFields(target),
    });
  }
  const s = regNumber(src, "source register");
  return make({
    opcode: jmpOpcode(wide, op, true),
    dst: d,
    src: s,
    imm: 0,
    ...targetFields(target),
  });
}

type JmpBuilder = (dst: Reg, src: RegOrImm, target: JumpTarget) => Instruction;
const jmp64 =
  (op: JmpName): JmpBuilder =>
  (d, s, t) =>
    jcond(true, op, d, s, t);
const jmp32 =
  (op: JmpName): JmpBuilder =>
  (d, s, t) =>
    jcond(false, op, d, s, t);

/** `if dst == src goto target`. Suffix `32` compares the low 32 bits (`w` registers). */
export const jeq = jmp64("jeq");
export const jne = jmp64("jne");
export const jgt = jmp64("jgt");
export const jge = jmp64("jge");
export const jlt = jmp64("jlt");
export const jle = jmp64("jle");
export const jsgt = jmp64("jsgt");
export const jsge = jmp64("jsge");
export const jslt = jmp64("jslt");
export const jsle = jmp64("jsle");
export const jset = jmp64("jset");
export const jeq32 = jmp32("jeq");
export const jne32 = jmp32("jne");
export const jgt32 = jmp32("jgt");
export const jge32 = jmp32("jge");
export const jlt32 = jmp32("jlt");
export const jle32 = jmp32("jle");
export const jsgt32 = jmp32("jsgt");
export const jsge32 = jmp32("jsge");
export const jslt32 = jmp32("jslt");
export const jsle32 = jmp32("jsle");
export const jset32 = jmp32("jset");

/** Call a helper by name (`"seq_write"` or `"bpf_seq_write"`) or by id. */
export const call = (helper: string | number): Instruction =>
  make({ opcode: Class.JMP | JmpOp.CALL, dst: 0, src: 0, off: 0, imm: helperId(helper) });
/** Call a kernel function by its BTF id; `btfFdIndex` selects a module BTF in fd_array. */
export const callKfunc = (btfId: number, btfFdIndex = 0): Instruction =>
  make({
    opcode: Class.JMP | JmpOp.CALL,
    dst: 0,
    src: CallSrc.KFUNC,
    off: btfFdIndex,
    imm: btfId,
  });
/**
 * Call a kernel function by name (BPF_PSEUDO_KFUNC_CALL): its BTF id is found
 * in kernel types before load (@ts-ebpf/elf's bindKsyms). `module`: the BTF
 * object of the kernel module defining it (an fd the caller keeps open until
 * load), placed in PROG_LOAD's fd_array by the loader. `btfId`: the id when
 * already known (the verifier's `call name#id`).
 */
export const kfunc = (
  name: string,
  module?: { readonly fd: number },
  btfId?: number,
): Instruction => {
  if (typeof name !== "string" || !/^[A-Za-z_][\w]*$/.test(name))
    throw new DslError(`invalid kfunc name ${JSON.stringify(name)}`);
  if (module !== undefined && (typeof module !== "object" || module === null))
    throw new DslError("kfunc module must be { fd } of the module's BTF object");
  return make({
    opcode: Class.JMP | JmpOp.CALL,
    dst: 0,
    src: CallSrc.KFUNC,
    off: 0,
    imm: btfId ?? 0,
    ksym: {
      name,
      ...(btfId === undefined ? {} : { btfId }),
      ...(module === undefined ? {} : { module: { fd: module.fd } }),
    },
  });
};
/** BPF-to-BPF call of the subprogram at a label (or a relative slot offset). */
export const callSubprog = (target: JumpTarget): Instruction =>
  typeof target === "string"
    ? make({
        opcode: Class.JMP | JmpOp.CALL,
        dst: 0,
        src: CallSrc.PSEUDO_CALL,
        off: 0,
        imm: 0,
        target,
      })
    : make({
        opcode: Class.JMP | JmpOp.CALL,
        dst: 0,
        src: CallSrc.PSEUDO_CALL,
        off: 0,
        imm: target,
      });
export const exit = (): Instruction =>
  make({ opcode: Class.JMP | JmpOp.EXIT, dst: 0, src: 0, off: 0, imm: 0 });

// ---- ld_imm64 ---------------------------------------------------------------

const MIN_I64 = -(2n ** 63n);
const MAX_U64 = 2n ** 64n - 1n;

/** `dst = value ll`: a 64-bit constant (signed or unsigned range). */
export function ldImm64(dst: Reg, value: bigint | number): Instruction {
  if (typeof value !== "bigint" && typeof value !== "number")
    throw new TypeError(`ldImm64: value must be a bigint or a number, not ${typeof value}`);
  if (typeof value === "number" && !Number.isInteger(value)) {
    throw new DslError(`64-bit constant ${value} is not an integer`, {
      instruction: `${dst} = ${value} ll`,
    });
  }
  const v = BigInt(value);
  if (v < MIN_I64 || v > MAX_U64) {
    throw new DslError(`64-bit constant ${value} out of range`, {
      instruction: `${dst} = ${value} ll`,
    });
  }
  const u = BigInt.asUintN(64, v);
  return make({
    opcode: LD_IMM64,
    dst: regNumber(dst),
    src: LdImm64Src.IMM,
    off: 0,
    imm: Number(BigInt.asIntN(32, u)),
    imm2: Number(BigInt.asIntN(32, u >> 32n)),
  });
}

const mapRef = (map: MapReference | string): MapReference =>
  typeof map === "string" ? { name: map } : map;

/** `dst = map[...]`: the address of a map, relocated at load time. */
export const ldMapFd = (dst: Reg, map: MapReference | string): Instruction =>
  make({
    opcode: LD_IMM64,
    dst: regNumber(dst),
    src: LdImm64Src.MAP_FD,
    off: 0,
    imm: 0,
    imm2: 0,
    map: mapRef(map),
  });
/** `dst = map[...][0]+offset`: a pointer into value 0 of an array map. */
export const ldMapValue = (dst: Reg, map: MapReference | string, offset = 0): Instruction =>
  make({
    opcode: LD_IMM64,
    dst: regNumber(dst),
    src: LdImm64Src.MAP_VALUE,
    off: 0,
    imm: 0,
    imm2: offset,
    map: mapRef(map),
  });
/** Name of the read-only data that string constants are collected into. */
export const RODATA = ".rodata";

/**
 * `dst = str("...")`: pointer to a NUL-terminated string constant that
 * program() places in `.rodata` (`offset` bytes into it).
 */
export const ldStr = (dst: Reg, text: string, offset = 0): Instruction => {
  if (typeof text !== "string") throw new TypeError("ldStr: text must be a string");
  return make({ ...ldMapValue(dst, RODATA, offset), str: text });
};

/** ld_imm64 with a raw pseudo source and immediates, e.g. a map fd already known. */
export const ldPseudo = (dst: Reg, pseudo: number, imm: number, imm2 = 0): Instruction =>
  make({ opcode: LD_IMM64, dst: regNumber(dst), src: pseudo, off: 0, imm, imm2 });
/** `dst = btf_id`: address of a kernel variable (ksym) by BTF id. */
export const ldBtfId = (dst: Reg, btfId: number): Instruction =>
  ldPseudo(dst, LdImm64Src.BTF_ID, btfId);
/** `dst = &subprogram` (callback for bpf_loop and friends). */
export const ldFunc = (dst: Reg, target: JumpTarget): Instruction =>
  typeof target === "string"
    ? make({
        opcode: LD_IMM64,
        dst: regNumber(dst),
        src: LdImm64Src.FUNC,
        off: 0,
        imm: 0,
        imm2: 0,
        target,
      })
    : ldPseudo(dst, LdImm64Src.FUNC, target);

// ---- memory -------------------------------------------------------------------

/** `dst = *(size *)(src + off)`. */
export const ldx = (size: MemSize, dst: Reg, src: Reg, off = 0): Instruction =>
  make({
    opcode: Class.LDX | Mode.MEM | SIZE_CODES[size],
    dst: regNumber(dst),
    src: regNumber(src),
    off,
    imm: 0,
  });
/** `dst = *(s8|s16|s32 *)(src + off)`: sign-extending load (cpu v4). */
export const ldxsx = (size: "s8" | "s16" | "s32", dst: Reg, src: Reg, off = 0): Instruction =>
  make({
    opcode: Class.LDX | Mode.MEMSX | SIZE_CODES[`u${size.slice(1)}` as MemSize],
    dst: regNumber(dst),
    src: regNumber(src),
    off,
    imm: 0,
  });
/** `*(size *)(dst + off) = imm`. */
export const st = (size: MemSize, dst: Reg, off: number, imm: number): Instruction =>
  make({ opcode: Class.ST | Mode.MEM | SIZE_CODES[size], dst: regNumber(dst), src: 0, off, imm });
/** `*(size *)(dst + off) = src`. */
export const stx = (size: MemSize, dst: Reg, off: number, src: Reg): Instruction =>
  make({
    opcode: Class.STX | Mode.MEM | SIZE_CODES[size],
    dst: regNumber(dst),
    src: regNumber(src),
    off,
    imm: 0,
  });

/**
 * Atomic operation on `*(size *)(dst + off)` with `src`: add/or/and/xor
 * (optionally `fetch_*`, which puts the old value in src), xchg, cmpxchg
 * (compares with r0, old value in r0), load_acquire (dst = *(src + off)),
 * store_release (*(dst + off) = src).
 */
export const atomic = (
  op: AtomicName,
  size: MemSize,
  dst: Reg,
  off: number,
  src: Reg,
): Instruction =>
  make({
    opcode: Class.STX | Mode.ATOMIC | SIZE_CODES[size],
    dst: regNumber(dst),
    src: regNumber(src),
    off,
    imm: ATOMIC_CODES[op],
  });
