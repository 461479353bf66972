// Runs chapters: one kernel process per chapter, its cells in order; checks each cell's
// attributes; compares with the recorded outputs; writes them in record mode.
import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeMachine, type Machine, thisMachine } from "./machine.js";
import type { Chapter, CodeCell, Part } from "./markdown.js";
import {
  cellMachine,
  type OutputsFile,
  outputsPath,
  type RecordedCell,
  type RecordedChapter,
  readOutputs,
  truncateForRecord,
  writeOutputs,
} from "./outputs.js";
import type { CellResult, WorkerRequest, WorkerResponse } from "./protocol.js";
import { CellCompileError, compileCell } from "./transform.js";

export const DEFAULT_CELL_TIMEOUT_MS = 60_000;

export interface RunOptions {
  /** Rewrite the outputs files with this run's outputs (only chapters that passed). */
  record?: boolean;
  /** Write outputs files under this folder (`<outDir>/<part>/outputs.json`) instead of beside the parts. */
  outDir?: string;
  /** Fail when a cell's recorded output is missing or belongs to an older text of the cell. */
  checkRecorded?: boolean;
  /** Why chapters that need the kernel cannot run here; undefined when they can. */
  kernelUnavailable?: string;
  /** With kernelUnavailable set: fail those chapters instead of skipping them. */
  requireKernel?: boolean;
  /** Only these chapter numbers. */
  chapters?: ReadonlySet<number>;
  /** Progress and diagnostics (default: stderr). */
  log?: (line: string) => void;
  /**
   * With record: a folder of recordings made elsewhere (`<merge>/<part>/outputs.json`, e.g.
   * a VM guest's --out-dir). A cell whose `needs=` targets this kernel refuses takes its
   * recording from there when that machine loaded them.
   */
  merge?: string;
  /** Whether this kernel loads programs of an iterator target (default: @ts-ebpf/iter's probe). */
  probeTarget?: (target: string) => Promise<boolean> | boolean;
  /** The machine recordings are attributed to (default: this one). */
  machine?: Machine;
  /** The running kernel's release (default: os.release()), for `<!-- notebook: linux X.Y -->`. */
  kernelRelease?: string;
}

/** Why a kernel is too old for a chapter, or undefined when it is not. */
export function tooOldFor(chapter: Chapter, kernelRelease: string): string | undefined {
  if (!chapter.minKernel) return undefined;
  const [major, minor] = chapter.minKernel;
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  const running = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (running[0]! > major || (running[0] === major && running[1]! >= minor)) return undefined;
  return `needs Linux ${major}.${minor} or later; this is ${kernelRelease}`;
}

export type CellStatus = "passed" | "failed" | "not-run";

export interface CellOutcome {
  cell: CodeCell;
  status: CellStatus;
  result?: CellResult;
  /** Why the cell failed. */
  problem?: string;
  /** True when the output differs from the recording (information, never a failure). */
  differs?: boolean;
  /** How it differs (the first differing line of each part), when it does. */
  difference?: string;
  /** The cell's `needs=` targets this kernel refuses. */
  unmet?: string[];
}

export interface ChapterOutcome {
  part: Part;
  chapter: Chapter;
  status: "passed" | "failed" | "skipped";
  reason?: string;
  cells: CellOutcome[];
  /** Problems with the recording itself (stale or missing outputs). */
  recordingProblems: string[];
}

export interface RunSummary {
  chapters: ChapterOutcome[];
  passed: number;
  failed: number;
  skipped: number;
  ok: boolean;
}

// The kernel process runs compiled JavaScript; under vitest this module is the .ts source,
// so the worker comes from the package's build.
const here = fileURLToPath(import.meta.url);
const WORKER = here.endsWith(".ts")
  ? join(dirname(here), "..", "..", "dist", "worker.js")
  : join(dirname(here), "worker.js");

/** The text an `expect=` pattern is matched against: everything the cell showed. */
export function shownText(result: CellResult): string {
  return [result.stdout, result.stderr, result.value ?? "", result.error?.text ?? ""]
    .filter((s) => s !== "")
    .join("\n");
}

/** Checks a cell's result against its attributes; returns the problem, if any. */
export function judgeCell(cell: CodeCell, result: CellResult): string | undefined {
  const { throws, expect } = cell.attrs;
  if (result.error && throws === false) return `threw unexpectedly: ${result.error.text}`;
  if (!result.error && throws !== false) return "was expected to throw but did not";
  if (result.error && throws instanceof RegExp && !throws.test(result.error.text)) {
    return `threw "${result.error.text}", which does not match ${throws}`;
  }
  if (expect && !expect.test(shownText(result))) {
    return `output does not match ${expect}:\n${indent(shownText(result))}`;
  }
  return undefined;
}

function indent(text: string): string {
  const lines = text.split("\n");
  const shown = lines.slice(0, 20).map((l) => `    | ${l}`);
  if (lines.length > 20) shown.push(`    | … ${lines.length - 20} more lines`);
  return shown.join("\n");
}

class Kernel {
  private readonly child: ChildProcess;
  private pending: ((message: WorkerResponse) => void) | undefined;
  private exited: string | undefined;
  private readonly ready: Promise<void>;

  constructor(part: Part, log: (line: string) => void) {
    const dir = dirname(part.file);
    if (!existsSync(WORKER)) {
      throw new Error(`notebook kernel ${WORKER} is missing: build @ts-ebpf/tutorials first`);
    }
    this.child = fork(WORKER, [], {
      cwd: dir,
      env: { ...process.env, TS_EBPF_NOTEBOOK_DIR: dir },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
    // Output that bypasses process.stdout (a subprocess with inherited stdio) is shown here.
    this.child.stdout?.on("data", (d: Buffer) =>
      log(`  [kernel stdout] ${d.toString().trimEnd()}`),
    );
    this.child.stderr?.on("data", (d: Buffer) =>
      log(`  [kernel stderr] ${d.toString().trimEnd()}`),
    );
    this.child.on("message", (message: WorkerResponse) => {
      const waiting = this.pending;
      this.pending = undefined;
      waiting?.(message);
    });
    this.ready = new Promise((resolve, reject) => {
      this.pending = (m) => (m.type === "ready" ? resolve() : reject(new Error("bad hello")));
      this.child.once("exit", (code, signal) => {
        this.exited = `kernel process exited (${signal ?? `code ${code}`})`;
        reject(new Error(this.exited));
        const waiting = this.pending;
        this.pending = undefined;
        waiting?.({
          type: "result",
          index: -1,
          result: { stdout: "", stderr: "", error: { text: this.exited, stack: "" } },
        });
      });
    });
  }

  async run(index: number, code: string, filename: string, timeoutMs: number): Promise<CellResult> {
    await this.ready;
    if (this.exited) throw new Error(this.exited);
    return new Promise<CellResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        this.child.kill("SIGKILL");
        resolve({
          stdout: "",
          stderr: "",
          error: { text: `Timeout: the cell ran longer than ${timeoutMs} ms`, stack: "" },
        });
      }, timeoutMs);
      this.pending = (message) => {
        clearTimeout(timer);
        if (message.type === "result") resolve(message.result);
      };
      const request: WorkerRequest = { type: "run", index, code, filename };
      this.child.send(request);
    });
  }

  close(): Promise<void> {
    if (this.exited || this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      const request: WorkerRequest = { type: "exit" };
      this.child.send(request, (error) => {
        if (error) this.child.kill("SIGKILL");
      });
    });
  }
}

const clip = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}…` : s);

/** The first differing line of one part of a cell's output, or undefined when equal. */
function differingLine(part: string, recorded: string, now: string): string | undefined {
  if (recorded === now) return undefined;
  const a = recorded.split("\n");
  const b = now.split("\n");
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i >= a.length)
    return `${part}: ${b.length - a.length} more line(s), first ${clip(b[i] ?? "")}`;
  if (i >= b.length)
    return `${part}: ${a.length - b.length} line(s) fewer, first ${clip(a[i] ?? "")}`;
  return `${part} line ${i + 1}: recorded ${clip(a[i]!)}, now ${clip(b[i]!)}`;
}

/** How a cell's output differs from its recording (first differing line per part), or undefined. */
export function describeDifference(recorded: RecordedCell, result: CellResult): string | undefined {
  const parts = [
    differingLine("stdout", recorded.stdout, truncateForRecord(result.stdout)),
    differingLine("stderr", recorded.stderr, truncateForRecord(result.stderr)),
    differingLine("value", recorded.value ?? "", truncateForRecord(result.value ?? "")),
    differingLine("error", recorded.error ?? "", result.error?.text ?? ""),
  ].filter((p) => p !== undefined);
  return parts.length > 0 ? parts.join("; ") : undefined;
}

export async function runChapter(
  part: Part,
  chapter: Chapter,
  log: (line: string) => void,
): Promise<CellOutcome[]> {
  const outcomes: CellOutcome[] = chapter.cells.map((cell) => ({ cell, status: "not-run" }));
  const kernel = new Kernel(part, log);
  try {
    for (const outcome of outcomes) {
      const { cell } = outcome;
      const label = `${part.slug}/README.md:${cell.line} (chapter ${chapter.number}, cell ${cell.index + 1})`;
      let code: string;
      try {
        code = compileCell(cell.source, label).code;
      } catch (e) {
        if (!(e instanceof CellCompileError)) throw e;
        outcome.status = "failed";
        outcome.problem = e.message;
        break;
      }
      const timeout = cell.attrs.timeoutMs ?? DEFAULT_CELL_TIMEOUT_MS;
      const filename = `${part.file}#chapter-${chapter.number}-cell-${cell.index + 1}`;
      const result = await kernel.run(cell.index, code, filename, timeout);
      outcome.result = result;
      const problem = judgeCell(cell, result);
      if (problem) {
        outcome.status = "failed";
        outcome.problem = problem;
        if (result.error?.stack) log(result.error.stack);
        // Later cells build on this one, as in a notebook: stop here.
        break;
      }
      outcome.status = "passed";
    }
  } finally {
    await kernel.close();
  }
  return outcomes;
}

function recordingProblems(chapter: Chapter, recorded: RecordedChapter | undefined): string[] {
  if (chapter.cells.length === 0) return [];
  if (!recorded) return [`chapter ${chapter.number} has no recorded outputs`];
  const problems: string[] = [];
  for (const cell of chapter.cells) {
    const r = recorded.cells[cell.index];
    if (!r || r.hash !== cell.hash) {
      problems.push(
        `chapter ${chapter.number}, cell ${cell.index + 1} (line ${cell.line}): output recorded for another text of the cell`,
      );
    }
  }
  if (recorded.cells.length > chapter.cells.length) {
    problems.push(`chapter ${chapter.number}: outputs recorded for cells that no longer exist`);
  }
  return problems;
}

/** This run's recording of one cell. */
function recordCell(outcome: CellOutcome): RecordedCell {
  const { cell, result } = outcome;
  const r: RecordedCell = {
    index: cell.index,
    hash: cell.hash,
    stdout: truncateForRecord(result?.stdout ?? ""),
    stderr: truncateForRecord(result?.stderr ?? ""),
  };
  if (result?.value !== undefined) r.value = truncateForRecord(result.value);
  if (result?.error) r.error = result.error.text;
  if (outcome.unmet && outcome.unmet.length > 0) r.unmet = outcome.unmet;
  return r;
}

/**
 * A recording of `cell` made where its needs were met, from another chapter recording, with
 * its machine and date made explicit; undefined when there is none for this text of the cell.
 */
function recordedWhereMet(
  cell: CodeCell,
  from: RecordedChapter | undefined,
): RecordedCell | undefined {
  const r = from?.cells[cell.index];
  if (!from || !r || r.hash !== cell.hash || (r.unmet && r.unmet.length > 0)) return undefined;
  return { ...r, machine: cellMachine(from, r), date: r.date ?? from.date };
}

function toRecorded(
  chapter: Chapter,
  outcomes: CellOutcome[],
  date: string,
  machine: Machine,
  committed: RecordedChapter | undefined,
  merged: RecordedChapter | undefined,
): RecordedChapter {
  return {
    number: chapter.number,
    title: chapter.title,
    kernel: machine.kernel,
    machine,
    date,
    node: process.version,
    cells: outcomes.map((outcome) => {
      if (outcome.unmet && outcome.unmet.length > 0) {
        // This kernel refuses what the cell demonstrates: keep a recording from one that does.
        const kept =
          recordedWhereMet(outcome.cell, merged) ?? recordedWhereMet(outcome.cell, committed);
        if (kept) return kept;
      }
      return recordCell(outcome);
    }),
  };
}

/** Which of the chapter's `needs=` targets this kernel refuses. */
async function unmetTargets(
  chapter: Chapter,
  probe: (target: string) => Promise<boolean> | boolean,
): Promise<Set<string>> {
  const wanted = new Set(chapter.cells.flatMap((c) => c.attrs.needs));
  const unmet = new Set<string>();
  for (const target of wanted) if (!(await probe(target))) unmet.add(target);
  return unmet;
}

async function probeWithIter(target: string): Promise<boolean> {
  const { probeIteratorTarget } = await import("@ts-ebpf/iter");
  return probeIteratorTarget(target).loadable;
}

function failIfStale(
  outcome: ChapterOutcome,
  summary: RunSummary,
  log: (line: string) => void,
): void {
  for (const problem of outcome.recordingProblems) {
    log(`  STALE ${problem}: run the notebooks with --record`);
  }
  if (outcome.recordingProblems.length > 0 && outcome.status !== "failed") {
    summary.failed += outcome.recordingProblems.length;
    outcome.status = "failed";
    outcome.reason = "recorded outputs are stale";
  }
}

export async function runParts(
  parts: readonly Part[],
  options: RunOptions = {},
): Promise<RunSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const checkRecorded = options.checkRecorded ?? true;
  const summary: RunSummary = { chapters: [], passed: 0, failed: 0, skipped: 0, ok: true };
  const date = new Date().toISOString();
  const machine = options.machine ?? thisMachine();

  for (const part of parts) {
    const committed = readOutputs(outputsPath(part), part.slug);
    const merged = options.merge
      ? readOutputs(outputsPath(part, options.merge), part.slug)
      : undefined;
    const target = outputsPath(part, options.outDir);
    const written: OutputsFile = options.outDir
      ? readOutputs(target, part.slug)
      : structuredClone(committed);
    let changed = false;

    for (const chapter of part.chapters) {
      if (options.chapters && !options.chapters.has(chapter.number)) continue;
      const recorded = committed.chapters[String(chapter.number)];
      const outcome: ChapterOutcome = {
        part,
        chapter,
        status: "passed",
        cells: [],
        recordingProblems:
          checkRecorded && !options.record ? recordingProblems(chapter, recorded) : [],
      };
      summary.chapters.push(outcome);

      if (chapter.needsKernel && options.kernelUnavailable) {
        outcome.cells = chapter.cells.map((cell) => ({ cell, status: "not-run" }));
        if (options.requireKernel) {
          outcome.status = "failed";
          outcome.reason = `needs the kernel (TS_EBPF_REQUIRE_KERNEL=1): ${options.kernelUnavailable}`;
          summary.failed += chapter.cells.length;
        } else {
          outcome.status = "skipped";
          outcome.reason = options.kernelUnavailable;
          summary.skipped += chapter.cells.length;
        }
        log(
          `!!! ${outcome.status.toUpperCase()} chapter ${chapter.number} (${chapter.title}): ${outcome.reason} !!!`,
        );
        failIfStale(outcome, summary, log);
        continue;
      }

      const tooOld = chapter.needsKernel
        ? tooOldFor(chapter, options.kernelRelease ?? machine.kernel)
        : undefined;
      if (tooOld) {
        // Not a failure: the chapter's subject does not exist on this kernel.
        outcome.cells = chapter.cells.map((cell) => ({ cell, status: "not-run" }));
        outcome.status = "skipped";
        outcome.reason = tooOld;
        summary.skipped += chapter.cells.length;
        log(`!!! SKIPPED chapter ${chapter.number} (${chapter.title}): ${tooOld} !!!`);
        failIfStale(outcome, summary, log);
        continue;
      }

      log(`chapter ${chapter.number} — ${chapter.title} (${chapter.cells.length} cells)`);
      const unmet = await unmetTargets(chapter, options.probeTarget ?? probeWithIter);
      if (unmet.size > 0) {
        log(
          `  this kernel refuses ${[...unmet].join(", ")} programs: the cells that need them run without their demonstration`,
        );
      }
      outcome.cells = await runChapter(part, chapter, log);
      const differing: string[] = [];
      for (const cell of outcome.cells) {
        const missing = cell.cell.attrs.needs.filter((t) => unmet.has(t));
        if (missing.length > 0) cell.unmet = missing;
        const r = recorded?.cells[cell.cell.index];
        const difference =
          cell.result && r && r.hash === cell.cell.hash
            ? describeDifference(r, cell.result)
            : undefined;
        if (difference && recorded && r) {
          cell.differs = true;
          cell.difference = difference;
          const where = cellMachine(recorded, r);
          const why =
            missing.length > 0 && !r.unmet
              ? ` (recorded on ${describeMachine(where)}, which loads ${missing.join(", ")}; this kernel does not)`
              : ` (recorded on ${describeMachine(where)})`;
          differing.push(
            `  cell ${cell.cell.index + 1} (line ${cell.cell.line})${why}: ${difference}`,
          );
        }
        if (cell.status === "passed") summary.passed++;
        else summary.failed++;
        if (cell.status === "failed") {
          log(
            `  FAIL ${part.slug}/README.md:${cell.cell.line} cell ${cell.cell.index + 1}: ${cell.problem}`,
          );
        }
      }
      if (outcome.cells.some((c) => c.status !== "passed")) outcome.status = "failed";
      if (outcome.status === "failed") outcome.reason = "a cell failed";
      if (recorded && differing.length > 0) {
        log(
          `  ${differing.length} cell(s) print differently from the recording (information only):`,
        );
        for (const line of differing) log(line);
      }
      failIfStale(outcome, summary, log);
      if (options.record && outcome.status === "passed") {
        written.chapters[String(chapter.number)] = toRecorded(
          chapter,
          outcome.cells,
          date,
          machine,
          recorded,
          merged?.chapters[String(chapter.number)],
        );
        changed = true;
      }
    }
    // Recordings of chapters that no longer exist go away with a full record run.
    if (options.record && !options.chapters) {
      const numbers = new Set(part.chapters.map((c) => String(c.number)));
      for (const key of Object.keys(written.chapters)) {
        if (!numbers.has(key)) {
          delete written.chapters[key];
          changed = true;
        }
      }
    }
    if (options.record && changed) {
      writeOutputs(target, written);
      log(`recorded ${target}`);
    }
  }
  summary.ok = summary.chapters.every((c) => c.status !== "failed");
  return summary;
}
