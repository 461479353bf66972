// The recorded outputs of a part: a committed JSON file beside its README.md, written by
// `--record`, read by the site generator and compared against by every run.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Machine } from "./machine.js";
import type { Part } from "./markdown.js";

export interface RecordedCell {
  index: number;
  /** cellHash() of the cell text that produced this output. */
  hash: string;
  stdout: string;
  stderr: string;
  value?: string;
  /** "Name: message" when the cell threw (expected, or the recording would not exist). */
  error?: string;
  /**
   * Where this cell was recorded, when not on the chapter's machine: a cell that `needs=` an
   * iterator target the recording machine refuses keeps its recording from a machine that
   * loads it (a VM guest, with --merge).
   */
  machine?: Machine;
  /** ISO date of the run that recorded this cell, when not the chapter's. */
  date?: string;
  /** The cell's `needs=` targets that the machine it was recorded on refused. */
  unmet?: string[];
}

export interface RecordedChapter {
  number: number;
  title: string;
  /** os.release() of the kernel the chapter ran on. */
  kernel: string;
  /** The machine the chapter ran on (absent in recordings older than this field). */
  machine?: Machine;
  /** ISO date and time of the run. */
  date: string;
  node: string;
  cells: RecordedCell[];
}

export interface OutputsFile {
  part: string;
  /** Keyed by chapter number. */
  chapters: Record<string, RecordedChapter>;
}

export const OUTPUTS_FILE = "outputs.json";

/** Longest text kept per stream in a recording; a cell that prints more is cut with a note. */
export const MAX_RECORDED_LINES = 120;
export const MAX_RECORDED_CHARS = 12_000;

export function outputsPath(part: Part, outDir?: string): string {
  return outDir ? join(outDir, part.slug, OUTPUTS_FILE) : join(dirname(part.file), OUTPUTS_FILE);
}

export function readOutputs(file: string, slug: string): OutputsFile {
  if (!existsSync(file)) return { part: slug, chapters: {} };
  const parsed = JSON.parse(readFileSync(file, "utf8")) as OutputsFile;
  if (typeof parsed !== "object" || parsed === null || typeof parsed.chapters !== "object") {
    throw new TypeError(`${file}: not a notebook outputs file`);
  }
  return parsed;
}

export function writeOutputs(file: string, outputs: OutputsFile): void {
  mkdirSync(dirname(file), { recursive: true });
  const ordered: OutputsFile = {
    part: outputs.part,
    chapters: Object.fromEntries(
      Object.entries(outputs.chapters).sort(([a], [b]) => Number(a) - Number(b)),
    ),
  };
  writeFileSync(file, `${JSON.stringify(ordered, null, 2)}\n`);
}

/** The machine a recorded cell ran on: its own, else its chapter's. */
export function cellMachine(chapter: RecordedChapter, cell: RecordedCell): Machine {
  return (
    cell.machine ??
    chapter.machine ?? { kernel: chapter.kernel, virtualization: "unknown", cpu: "not recorded" }
  );
}

/** Keeps a recording readable: at most MAX_RECORDED_LINES lines and MAX_RECORDED_CHARS chars. */
export function truncateForRecord(text: string): string {
  let lines = text.split("\n");
  let cut = 0;
  if (lines.length > MAX_RECORDED_LINES + 1) {
    cut = lines.length - MAX_RECORDED_LINES;
    lines = lines.slice(0, MAX_RECORDED_LINES);
  }
  let kept = lines.join("\n");
  if (kept.length > MAX_RECORDED_CHARS) {
    const end = kept.lastIndexOf("\n", MAX_RECORDED_CHARS);
    const rest = kept.slice(end > 0 ? end : MAX_RECORDED_CHARS);
    cut += rest.split("\n").length - 1;
    kept = kept.slice(0, end > 0 ? end : MAX_RECORDED_CHARS);
  }
  return cut > 0 ? `${kept}\n… (${cut} more lines not recorded)\n` : text;
}
