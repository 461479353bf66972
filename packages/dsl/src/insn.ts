// The DSL's listings: instructions (the model is @ts-ebpf/spec's, re-exported
// here so `@ts-ebpf/dsl` users see it where it always was) and labels.
import type { Instruction } from "@ts-ebpf/spec";

export {
  ALU_CODES,
  ALU_OPS,
  type AluName,
  ATOMIC_CODES,
  ATOMIC_OPS,
  type AtomicName,
  classify,
  decode,
  encode,
  encodeInto,
  type Form,
  INSN_SIZE,
  type Instruction,
  isInt,
  JMP_CODES,
  JMP_OPS,
  type JmpName,
  type MemSize,
  type Operand,
  SIZE_CODES,
  SIZES,
  slotsOf,
} from "@ts-ebpf/spec";

/** A position in a listing that jumps can name. */
export interface Label {
  readonly label: string;
}

/** One element of a listing: an instruction or a label. */
export type Item = Instruction | Label;

export const isLabel = (item: Item): item is Label => "label" in item;
