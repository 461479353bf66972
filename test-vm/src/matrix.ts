// The support matrix: iterator targets and link parameters × kernels, from the
// results of packages/iter/test/support.kernel.test.ts in every guest (and on
// the host when it can run kernel tests). A passed test is "✓", a test that
// skipped because the kernel's BTF lacks the target or parameter is "not in
// this kernel (first in X)", a failed one "failed", one that skipped because
// the kernel refuses the program (a security policy) "refused".
import type { GuestEvent, TestRecord } from "./events.js";

/** The test file whose results make the matrix. */
export const SUPPORT_FILE = "packages/iter/test/support.kernel.test.ts";
/** Prefix of its tests' full names (its describe block). */
const SUITE = "iterator support > ";

export type Cell =
  | { state: "supported" }
  | { state: "absent"; since?: string }
  | { state: "refused"; detail: string }
  | { state: "failed"; detail: string }
  | { state: "not run" };

export interface MatrixColumn {
  kernel: string;
  release: string;
  node?: string;
  cells: Record<string, Cell>;
}

export interface Matrix {
  /** Row labels ("target task_vma", "target task with a task parameter (pid)"), in test order. */
  rows: string[];
  columns: MatrixColumn[];
}

function cellOf(t: TestRecord): Cell {
  if (t.state === "passed") return { state: "supported" };
  if (t.state === "failed") return { state: "failed", detail: t.error ?? "" };
  const note = t.note ?? "";
  if (note.startsWith("not in this kernel")) {
    const since = /\(first in ([\d.]+)\)/.exec(note)?.[1];
    return since === undefined ? { state: "absent" } : { state: "absent", since };
  }
  if (note.startsWith("refused")) return { state: "refused", detail: note };
  // Any other skip proves nothing about the kernel: the test did not run.
  return { state: "not run" };
}

/** One kernel's column from its events (a guest's, or the host run's). */
export function matrixColumn(
  kernel: string,
  release: string,
  events: GuestEvent[],
  node?: string,
): { rows: string[]; column: MatrixColumn } {
  const rows: string[] = [];
  const cells: Record<string, Cell> = {};
  for (const ev of events) {
    if (ev.ev !== "file" || ev.file !== SUPPORT_FILE) continue;
    for (const t of ev.tests) {
      const row = t.name.startsWith(SUITE) ? t.name.slice(SUITE.length) : t.name;
      rows.push(row);
      cells[row] = cellOf(t);
    }
  }
  const column: MatrixColumn = { kernel, release, cells };
  if (node !== undefined) column.node = node;
  return { rows, column };
}

export function buildMatrix(parts: { rows: string[]; column: MatrixColumn }[]): Matrix {
  const rows: string[] = [];
  for (const p of parts) for (const r of p.rows) if (!rows.includes(r)) rows.push(r);
  return { rows, columns: parts.map((p) => p.column) };
}

export function cellText(c: Cell | undefined): string {
  switch (c?.state) {
    case "supported":
      return "✓";
    case "absent":
      return c.since ? `not in this kernel (${c.since}+)` : "not in this kernel";
    case "refused":
      return "refused (policy)";
    case "failed":
      return "FAILED";
    default:
      return "not run";
  }
}

const rowLabel = (row: string) => row.replace(/^target /, "");

/** The matrix as a plain-text table for the run's output. */
export function formatMatrix(m: Matrix): string {
  const header = ["target / parameter", ...m.columns.map((c) => c.kernel)];
  const body = m.rows.map((r) => [rowLabel(r), ...m.columns.map((c) => cellText(c.cells[r]))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** The matrix as a Markdown page for the site (no MDX-special characters in cells). */
export function matrixPage(m: Matrix, generated: string): string {
  const esc = (s: string) => s.replace(/[<>{}|]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const header = ["Target / parameter", ...m.columns.map((c) => `${c.kernel}`)];
  const lines = [
    "---",
    "title: Kernel support matrix",
    "slug: /kernel-matrix",
    "custom_edit_url: null",
    "---",
    "",
    "Which BPF iterator targets and link parameters work on which kernel, as measured by",
    "`packages/iter/test/support.kernel.test.ts`: for each target it loads a program, creates the",
    "iterator (with the parameter) and reads it to the end, in QEMU guests booting Debian's",
    "kernels and on the development host. **✓** works; **not in this kernel (X+)**: the kernel's",
    "own BTF lacks it, and X is the first kernel with it; **refused (policy)**: the kernel has it",
    "but its security policy refuses the program; **FAILED**: the test failed.",
    "",
    `Generated ${esc(generated)} by \`pnpm test:vm --publish\` (test-vm/src/matrix.ts); not edited by hand.`,
    "",
    "| Kernel | Release | Node |",
    "|---|---|---|",
    ...m.columns.map((c) => `| ${esc(c.kernel)} | \`${esc(c.release)}\` | ${esc(c.node ?? "")} |`),
    "",
    `| ${header.map(esc).join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...m.rows.map(
      (r) =>
        `| ${esc(rowLabel(r))} | ${m.columns.map((c) => esc(cellText(c.cells[r]))).join(" | ")} |`,
    ),
    "",
  ];
  return lines.join("\n");
}

/** Problems a matrix shows: failed cells, and rows a column lacks. */
export function matrixProblems(m: Matrix): string[] {
  const out: string[] = [];
  for (const c of m.columns) {
    for (const r of m.rows) {
      const cell = c.cells[r];
      if (cell?.state === "failed") out.push(`${c.kernel}: ${r} failed`);
    }
  }
  return out;
}
