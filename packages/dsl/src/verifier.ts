// When the kernel rejects a program: the verifier's failing instruction and
// complaint next to the DSL listing, with labels.
import type { ProgramSpec } from "@ts-ebpf/spec";
import { assemble } from "./assemble.js";
import { disassembleItems } from "./disassemble.js";
import { type Item, isLabel } from "./insn.js";
import { printInstruction } from "./print.js";
import type { BuiltProgram } from "./program.js";

/** What the kernel said: a VerifierError from @ts-ebpf/syscall (log + insn index) or the log text. */
export type VerifierReport =
  | string
  | { readonly log: string; readonly instruction?: number | undefined };

export interface VerifierFailure {
  /** Slot index of the instruction the verifier stopped at, if the log names one. */
  readonly slot: number | undefined;
  /** That instruction as the verifier printed it (`12: (85) call bpf_seq_printf#126`). */
  readonly verifierLine: string | undefined;
  /** The verifier's complaint: the meaningful lines after the failing instruction. */
  readonly message: string;
}

const INSN_LINE = /^(\d+): \([0-9a-f]{2}\) .*$/;
const STATS =
  /^(processed \d+ insns|verification time|stack depth|mark_precise|max_states_per_insn)/;

/** Finds the failing instruction and the complaint in a verifier log. */
export function parseVerifierLog(report: VerifierReport): VerifierFailure {
  const log = typeof report === "string" ? report : report.log;
  const lines = log.split("\n").map((l) => l.trimEnd());
  let lastInsn = -1;
  lines.forEach((l, i) => {
    if (INSN_LINE.test(l)) lastInsn = i;
  });
  const fromLog = lastInsn >= 0 ? Number(INSN_LINE.exec(lines[lastInsn]!)![1]) : undefined;
  const slot = typeof report === "string" ? fromLog : (report.instruction ?? fromLog);
  const tail = lines
    .slice(lastInsn + 1)
    .filter((l) => l.trim() !== "" && !STATS.test(l.trim()) && !INSN_LINE.test(l));
  const message =
    tail.join("\n").trim() ||
    lines
      .filter((l) => l.trim() !== "" && !STATS.test(l.trim()))
      .slice(-3)
      .join("\n");
  return {
    slot,
    verifierLine: lastInsn >= 0 ? lines[lastInsn] : undefined,
    message,
  };
}

export interface FormatVerifierOptions {
  /** Instructions shown before and after the failing one. Default 8; Infinity for all. */
  readonly context?: number;
}

interface Row {
  readonly slot: number | undefined;
  readonly text: string;
}

function listingOf(program: readonly Item[] | Uint8Array | ProgramSpec | BuiltProgram): Row[] {
  let items: readonly Item[];
  let slots: readonly number[];
  if (program instanceof Uint8Array || "instructions" in program) {
    items = disassembleItems(program instanceof Uint8Array ? program : program.instructions);
    slots = assemble(items).slots;
  } else if ("assembled" in program) {
    items = program.items;
    slots = program.assembled.slots;
  } else {
    items = program as readonly Item[];
    slots = assemble(items).slots;
  }
  const resolved =
    "assembled" in program && !(program instanceof Uint8Array)
      ? program.assembled.instructions
      : undefined;
  const rows: Row[] = [];
  let i = 0;
  for (const item of items) {
    if (isLabel(item)) rows.push({ slot: undefined, text: `${item.label}:` });
    else {
      rows.push({ slot: slots[i], text: printInstruction(resolved?.[i] ?? item) });
      i++;
    }
  }
  return rows;
}

/**
 * The DSL listing (labels included, slot numbers as the verifier counts
 * them) around the instruction the verifier rejected, marked with `>`, with
 * the verifier's own line and complaint under it.
 */
export function formatVerifierError(
  report: VerifierReport,
  program: readonly Item[] | Uint8Array | ProgramSpec | BuiltProgram,
  options: FormatVerifierOptions = {},
): string {
  const failure = parseVerifierLog(report);
  const rows = listingOf(program);
  const context = options.context ?? 8;
  const width = String(Math.max(0, ...rows.map((r) => r.slot ?? 0))).length;
  const at = rows.findIndex((r) => r.slot === failure.slot);
  const out: string[] = [
    failure.slot === undefined
      ? "verifier rejected the program (no failing instruction in the log)"
      : `verifier rejected the program at instruction ${failure.slot}`,
  ];
  const insnRows = rows.map((r, i) => [r, i] as const).filter(([r]) => r.slot !== undefined);
  const pos = insnRows.findIndex(([, i]) => i === at);
  const first = at < 0 ? 0 : insnRows[Math.max(0, pos - context)]![1];
  const last =
    at < 0 ? rows.length - 1 : insnRows[Math.min(insnRows.length - 1, pos + context)]![1];
  // Labels right before the first instruction shown belong to the window too.
  let start = first;
  while (start > 0 && rows[start - 1]!.slot === undefined) start--;
  if (start > 0) out.push("  ...");
  for (let i = start; i <= last; i++) {
    const r = rows[i]!;
    if (r.slot === undefined) {
      out.push(r.text);
      continue;
    }
    const mark = i === at ? ">" : " ";
    out.push(`${mark} ${String(r.slot).padStart(width)}: ${r.text}`);
    if (i === at) {
      if (failure.verifierLine !== undefined)
        out.push(`  ${" ".repeat(width)}  verifier: ${failure.verifierLine}`);
      for (const l of failure.message.split("\n")) out.push(`  ${" ".repeat(width)}  ${l}`);
    }
  }
  if (last < rows.length - 1) out.push("  ...");
  if (at < 0) {
    out.push("verifier says:");
    for (const l of failure.message.split("\n")) out.push(`  ${l}`);
  }
  return out.join("\n");
}
