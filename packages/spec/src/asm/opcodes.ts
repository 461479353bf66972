// BPF opcode fields (include/uapi/linux/bpf_common.h, bpf.h): the one place
// opcode bits are defined. Everything that reads or writes instructions builds on it.
import {
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE,
} from "../constants/uapi.js";

/** Instruction classes: the low 3 bits of the opcode. */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Operand source bit for ALU and JMP classes. */
export const Source = { K: 0x00, X: 0x08 } as const;

/** BPF_END direction (ALU class) — shares the source bit. */
export const Endian = { TO_LE: 0x00, TO_BE: 0x08 } as const;

/** ALU operations: the high 4 bits. */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;

/** Jump operations: the high 4 bits. */
export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
} as const;

/** Memory access size: bits 3-4. */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Memory mode: the high 3 bits. */
export const Mode = {
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;

/** `imm` of BPF_STX | BPF_ATOMIC instructions. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe0 | 0x01,
  CMPXCHG: 0xf0 | 0x01,
  LOAD_ACQ: 0x100,
  STORE_REL: 0x110,
} as const;

/** `src` of a call instruction (BPF_PSEUDO_*: see constants/uapi). */
export const CallSrc = {
  HELPER: 0,
  PSEUDO_CALL: BPF_PSEUDO_CALL,
  KFUNC: BPF_PSEUDO_KFUNC_CALL,
} as const;

/** `src` of an ld_imm64 instruction (BPF_PSEUDO_*: see constants/uapi). */
export const LdImm64Src = {
  IMM: 0,
  MAP_FD: BPF_PSEUDO_MAP_FD,
  MAP_VALUE: BPF_PSEUDO_MAP_VALUE,
  BTF_ID: BPF_PSEUDO_BTF_ID,
  FUNC: BPF_PSEUDO_FUNC,
  MAP_IDX: BPF_PSEUDO_MAP_IDX,
  MAP_IDX_VALUE: BPF_PSEUDO_MAP_IDX_VALUE,
} as const;

export const LD_IMM64 = Class.LD | Mode.IMM | Size.DW;

/** Number of the frame pointer register, the last one. */
export const MAX_REG = 10;

export const opClass = (opcode: number): number => opcode & 0x07;
export const opCode = (opcode: number): number => opcode & 0xf0;
export const opSource = (opcode: number): number => opcode & 0x08;
export const opSize = (opcode: number): number => opcode & 0x18;
export const opMode = (opcode: number): number => opcode & 0xe0;
/** `opcode` with its memory access size (a Size value) replaced. */
export const withOpSize = (opcode: number, size: number): number => (opcode & ~0x18) | size;
