// Bytes back to a listing, with labels recovered for jump and call targets.
// Only bytes that assemble() could have written are accepted, so that every
// listing parse() reads back and assembles to the same bytes.
import { InstructionError } from "@ts-ebpf/spec";
import { DslError } from "./errors.js";
import { decode, type Instruction, type Item, LdImm64Src, slotsOf } from "./insn.js";
import { printForm, printInstruction } from "./print.js";
import { checkInstruction } from "./validate.js";

export interface DisassembleOptions {
  /** Name jump and call targets (`L5:`, `sub_12:`) instead of printing offsets. Default true. */
  readonly labels?: boolean;
  /** Prefix each instruction with its slot number, as the verifier log does. Default false. */
  readonly slots?: boolean;
}

interface Decoded {
  readonly insns: readonly Instruction[];
  readonly slots: number[];
  /** Slot -> label name. */
  readonly names: Map<number, string>;
}

/** Instructions of bytes or of a list (a ProgramSpec's), checked to be a program. */
function instructionsOf(program: Uint8Array | readonly Instruction[]): readonly Instruction[] {
  if (Array.isArray(program)) {
    program.forEach((insn: unknown, i) => {
      if (typeof insn !== "object" || insn === null)
        throw new TypeError(`instructions[${i}] is not an instruction`);
    });
    return program;
  }
  if (!(program instanceof Uint8Array))
    throw new TypeError("bytes must be a Uint8Array (or the instructions an array)");
  try {
    return decode(program);
  } catch (e) {
    if (!(e instanceof InstructionError)) throw e;
    throw new DslError(e.reason, {}, { cause: e });
  }
}

function decodeWithTargets(program: Uint8Array | readonly Instruction[]): Decoded {
  const insns = instructionsOf(program);
  const slots: number[] = [];
  let slot = 0;
  for (const insn of insns) {
    slots.push(slot);
    slot += slotsOf(insn);
  }
  const starts = new Set(slots);
  const names = new Map<number, string>();
  const targets: (number | undefined)[] = insns.map((insn, i) => {
    const at = slots[i]!;
    let form: ReturnType<typeof checkInstruction>;
    try {
      form = checkInstruction(insn, i);
    } catch (e) {
      if (!(e instanceof DslError)) throw e;
      throw new DslError(`${e.reason} (at slot ${at})`, { index: i, instruction: e.instruction });
    }
    let to: number | undefined;
    let sub = false;
    if (form.kind === "ja" || form.kind === "jcond") to = at + 1 + form.off;
    else if (form.kind === "gotol") to = at + 1 + form.imm;
    else if (form.kind === "call_subprog") [to, sub] = [at + 1 + form.imm, true];
    else if (form.kind === "ld_imm64" && form.pseudo === LdImm64Src.FUNC)
      [to, sub] = [at + 1 + form.imm, true];
    if (to === undefined) return undefined;
    if (!starts.has(to)) {
      // The same checks as assemble(): a listing it would refuse is not printed.
      const where = { index: i, instruction: printForm(form, insn) };
      if (to >= 0 && to < slot) {
        throw new DslError(`jump into the middle of ld_imm64 at slot ${to - 1}`, where);
      }
      throw new DslError(
        `jump out of range: target slot ${to} is outside the program (0..${slot - 1})`,
        where,
      );
    }
    if (sub) names.set(to, `sub_${to}`);
    else if (!names.has(to)) names.set(to, `L${to}`);
    return to;
  });
  const named = insns.map((insn, i) => {
    const to = targets[i];
    return to === undefined ? insn : { ...insn, target: names.get(to)! };
  });
  return { insns: named, slots, names };
}

/**
 * Decodes bytes (or takes instructions, e.g. a ProgramSpec's) into a listing
 * with labels at every jump and call target; instructions keep their
 * resolved offsets, so assemble() gives the same bytes.
 * DslError (with the instruction's index) for bytes assemble() could not
 * have written: an invalid instruction, a jump outside the program or into
 * an ld_imm64, a truncated ld_imm64 or one with bits set in its second slot.
 */
export function disassembleItems(program: Uint8Array | readonly Instruction[]): Item[] {
  const { insns, slots, names } = decodeWithTargets(program);
  const items: Item[] = [];
  insns.forEach((insn, i) => {
    const name = names.get(slots[i]!);
    if (name !== undefined) items.push({ label: name });
    items.push(insn);
  });
  return items;
}

/**
 * The listing of instruction bytes (or instructions, e.g. a ProgramSpec's),
 * one instruction a line (see DisassembleOptions); parse() reads it back to
 * the same bytes. DslError for what is not a program (see disassembleItems).
 */
export function disassemble(
  program: Uint8Array | readonly Instruction[],
  options: DisassembleOptions = {},
): string {
  const withLabels = options.labels ?? true;
  const { insns, slots, names } = decodeWithTargets(program);
  const width = String(Math.max(0, slots.at(-1) ?? 0)).length;
  const lines: string[] = [];
  insns.forEach((insn, i) => {
    const slot = slots[i]!;
    const name = withLabels ? names.get(slot) : undefined;
    if (name !== undefined) lines.push(`${name}:`);
    const text = printInstruction(withLabels ? insn : stripTarget(insn));
    lines.push(options.slots ? `${String(slot).padStart(width)}: ${text}` : `  ${text}`);
  });
  return lines.join("\n");
}

function stripTarget(insn: Instruction): Instruction {
  if (insn.target === undefined) return insn;
  const { target: _, ...rest } = insn;
  return rest;
}
