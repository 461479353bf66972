// Resolves labels and checks a listing: the instructions a ProgramSpec
// carries, plus their bytes and where their map references sit (for tools;
// the loader encodes a spec's instructions itself, resolving the references).
import { mapReferences, type Relocation } from "@ts-ebpf/spec";
import { DslError } from "./errors.js";
import {
  encodeInto,
  type Form,
  INSN_SIZE,
  type Instruction,
  type Item,
  isInt,
  isLabel,
  LdImm64Src,
  slotsOf,
} from "./insn.js";
import { printForm } from "./print.js";
import { checkInstruction } from "./validate.js";

export interface Assembled {
  /** The program's fields encoded, 8 bytes per slot (map references as imm 0). */
  readonly bytes: Uint8Array;
  /** The instructions with jump offsets and immediates resolved (labels kept in `target`, maps in `map`). */
  readonly instructions: readonly Instruction[];
  /** Slot (8-byte index) of each instruction. */
  readonly slots: readonly number[];
  /** Slot each label stands at. */
  readonly labels: ReadonlyMap<string, number>;
  readonly relocations: readonly Relocation[];
}

/**
 * Resolves labels, checks every instruction and jump distance, and encodes.
 * DslError (with the instruction and its index) for an invalid instruction,
 * an unknown or duplicate label, or a jump out of range.
 */
export function assemble(items: readonly Item[]): Assembled {
  const labels = new Map<string, number>();
  const instructions: Instruction[] = [];
  const forms: Form[] = [];
  const slots: number[] = [];
  let slot = 0;
  for (const item of items) {
    if (isLabel(item)) {
      if (labels.has(item.label)) {
        throw new DslError(`duplicate label ${JSON.stringify(item.label)}`, {
          index: instructions.length,
        });
      }
      labels.set(item.label, slot);
      continue;
    }
    forms.push(checkInstruction(item, instructions.length));
    instructions.push(item);
    slots.push(slot);
    slot += slotsOf(item);
  }
  const total = slot;
  // Slots that start an instruction: a jump may land only there.
  const starts = new Uint8Array(total + 1);
  for (const at of slots) starts[at] = 1;

  const resolved: Instruction[] = new Array(instructions.length);
  const bytes = new Uint8Array(total * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  const fail = (i: number, insn: Instruction, reason: string): never => {
    throw new DslError(reason, { index: i, instruction: printForm(forms[i]!, insn) });
  };
  for (let i = 0; i < instructions.length; i++) {
    let insn = instructions[i]!;
    const at = slots[i]!;
    const form = forms[i]!;
    const kind = form.kind;
    const isJump = kind === "ja" || kind === "jcond";
    if (
      isJump ||
      kind === "gotol" ||
      kind === "call_subprog" ||
      (kind === "ld_imm64" && form.pseudo === LdImm64Src.FUNC)
    ) {
      let delta: number;
      if (insn.target !== undefined) {
        const to = labels.get(insn.target);
        if (to === undefined) return fail(i, insn, `unknown label ${JSON.stringify(insn.target)}`);
        delta = to - (at + 1);
        if (isJump && !isInt(delta, 16)) {
          fail(i, insn, `jump out of range: offset ${delta} does not fit in 16 bits (use gotol)`);
        }
        insn = isJump ? { ...insn, off: delta } : { ...insn, imm: delta };
      } else {
        delta = isJump ? insn.off : insn.imm;
      }
      const to = at + 1 + delta;
      if (to < 0 || to >= total) {
        fail(
          i,
          insn,
          `jump out of range: target slot ${to} is outside the program (0..${total - 1})`,
        );
      }
      if (starts[to] !== 1) fail(i, insn, `jump into the middle of ld_imm64 at slot ${to - 1}`);
    }
    encodeInto(view, at * INSN_SIZE, insn);
    resolved[i] = insn;
  }
  return { bytes, instructions: resolved, slots, labels, relocations: mapReferences(resolved) };
}
