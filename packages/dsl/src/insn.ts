// The DSL's listings: instructions and labels. The instruction model (opcodes,
// Instruction and its references, encode/decode) is @ts-ebpf/spec's,
// re-exported whole so `@ts-ebpf/dsl` users see it where it always was.
import type { Instruction } from "@ts-ebpf/spec";

export * from "@ts-ebpf/spec/asm";

/** A position in a listing that jumps can name. */
export interface Label {
  readonly label: string;
}

/** One element of a listing: an instruction or a label. */
export type Item = Instruction | Label;

export const isLabel = (item: Item): item is Label => "label" in item;
