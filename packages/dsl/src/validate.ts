// Checks that an Instruction is one the kernel could accept structurally,
// turning classify()'s reason into a DslError that names the instruction.
import { InstructionError, referenceProblem } from "@ts-ebpf/spec";
import { DslError } from "./errors.js";
import { classify, type Form, type Instruction } from "./insn.js";
import { printForm, printRaw } from "./print.js";

// The builders check each instruction once and keep its form on the (then
// frozen) object under this non-enumerable key, so assemble() need not
// classify it again. Copies ({ ...insn }) do not carry it.
const FORM: unique symbol = Symbol("form");
type Checked = Instruction & { readonly [FORM]?: Form };

/** Classifies the instruction or throws a DslError naming it (and `index`, when given). */
export function checkInstruction(insn: Instruction, index?: number): Form {
  return (insn as Checked)[FORM] ?? checkFields(insn, index);
}

/** Checks a new instruction, remembers its form and freezes it. */
export function sealInstruction<T extends Instruction>(insn: T): T {
  const form = checkFields(insn);
  Object.defineProperty(insn, FORM, { value: form, enumerable: false });
  return Object.freeze(insn);
}

function checkFields(insn: Instruction, index?: number): Form {
  let form: Form;
  try {
    form = classify(insn);
  } catch (e) {
    if (!(e instanceof InstructionError)) throw e;
    throw new DslError(e.reason, { index, instruction: printRaw(insn) });
  }
  const problem = referenceProblem(form, insn);
  if (problem !== undefined)
    throw new DslError(problem, { index, instruction: printForm(form, insn) });
  return form;
}
