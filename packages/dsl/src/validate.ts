// Checks that an Instruction is one the kernel could accept structurally,
// turning classify()'s reason into a DslError that names the instruction.
import { DslError } from "./errors.js";
import { classify, type Form, type Instruction } from "./insn.js";
import { LdImm64Src } from "./opcodes.js";
import { printForm, printRaw } from "./print.js";

/** Forms whose target (off or imm) may be a label. */
export function takesTarget(f: Form): boolean {
  return (
    f.kind === "ja" ||
    f.kind === "gotol" ||
    f.kind === "jcond" ||
    f.kind === "call_subprog" ||
    (f.kind === "ld_imm64" && f.pseudo === LdImm64Src.FUNC)
  );
}

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
    if (!(e instanceof DslError)) throw e;
    throw new DslError(e.reason, { index, instruction: printRaw(insn) });
  }
  const fail = (reason: string): never => {
    throw new DslError(reason, { index, instruction: printForm(form, insn) });
  };
  if (insn.target !== undefined) {
    if (!takesTarget(form))
      fail("only jumps, calls of subprograms and func references take a label");
    if (typeof insn.target !== "string" || insn.target === "")
      fail("label must be a non-empty string");
  }
  if (insn.map !== undefined) {
    const ok =
      form.kind === "ld_imm64" &&
      (form.pseudo === LdImm64Src.MAP_FD || form.pseudo === LdImm64Src.MAP_VALUE);
    if (!ok) fail("only ld_imm64 map fd / map value take a map reference");
  }
  if (insn.str !== undefined) {
    if (typeof insn.str !== "string") fail("str must be a string");
    if (!(form.kind === "ld_imm64" && form.pseudo === LdImm64Src.MAP_VALUE)) {
      fail("only ld_imm64 map value takes a string constant");
    }
  }
  return form;
}
