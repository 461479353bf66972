// Bytes back to a listing, with labels recovered for jump and call targets.
import { classify, decode, type Instruction, type Item, slotsOf } from "./insn.js";
import { LdImm64Src } from "./opcodes.js";
import { printInstruction } from "./print.js";

export interface DisassembleOptions {
  /** Name jump and call targets (`L5:`, `sub_12:`) instead of printing offsets. Default true. */
  readonly labels?: boolean;
  /** Prefix each instruction with its slot number, as the verifier log does. Default false. */
  readonly slots?: boolean;
}

interface Decoded {
  readonly insns: Instruction[];
  readonly slots: number[];
  /** Slot -> label name. */
  readonly names: Map<number, string>;
}

function decodeWithTargets(bytes: Uint8Array): Decoded {
  const insns = decode(bytes);
  const slots: number[] = [];
  let slot = 0;
  for (const insn of insns) {
    slots.push(slot);
    slot += slotsOf(insn);
  }
  const starts = new Set(slots);
  const names = new Map<number, string>();
  const targets: (number | undefined)[] = insns.map((insn, i) => {
    let form: ReturnType<typeof classify>;
    try {
      form = classify(insn);
    } catch {
      return undefined;
    }
    const at = slots[i]!;
    let to: number | undefined;
    let sub = false;
    if (form.kind === "ja" || form.kind === "jcond") to = at + 1 + form.off;
    else if (form.kind === "gotol") to = at + 1 + form.imm;
    else if (form.kind === "call_subprog") [to, sub] = [at + 1 + form.imm, true];
    else if (form.kind === "ld_imm64" && form.pseudo === LdImm64Src.FUNC)
      [to, sub] = [at + 1 + form.imm, true];
    if (to === undefined || !starts.has(to)) return undefined;
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
 * Decodes bytes into a listing with labels at every jump and call target;
 * instructions keep their resolved offsets, so assemble() gives the same bytes.
 */
export function disassembleItems(bytes: Uint8Array): Item[] {
  const { insns, slots, names } = decodeWithTargets(bytes);
  const items: Item[] = [];
  insns.forEach((insn, i) => {
    const name = names.get(slots[i]!);
    if (name !== undefined) items.push({ label: name });
    items.push(insn);
  });
  return items;
}

/** The listing of instruction bytes, one instruction a line (see DisassembleOptions). */
export function disassemble(bytes: Uint8Array, options: DisassembleOptions = {}): string {
  const withLabels = options.labels ?? true;
  const { insns, slots, names } = decodeWithTargets(bytes);
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
