// BPF opcode fields: owned by @ts-ebpf/spec's instruction model, re-exported
// so `@ts-ebpf/dsl` users see them where they always were.
export {
  AluOp,
  AtomicOp,
  CallSrc,
  Class,
  Endian,
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
} from "@ts-ebpf/spec";
