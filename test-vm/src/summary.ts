// Turns one guest's events into counts, failures and skip reasons, and prints
// the matrix as one table.
import type { GuestEvent, TestRecord } from "./events.js";
import type { GuestOutcome } from "./qemu.js";

export interface KernelSummary {
  kernel: string;
  release: string;
  accel: string;
  /** Node version the guest ran the tests with (e.g. v22.23.5). */
  node?: string;
  status: GuestOutcome["status"];
  bootMs?: number;
  wallMs: number;
  cpuMs?: number;
  passed: number;
  failed: number;
  skipped: number;
  failures: { file: string; name: string; error: string }[];
  /** `reason` is absent when the test's name states it (the project's convention). */
  skips: { file: string; name: string; reason?: string }[];
  /** Kernel-independent files this guest left out, and why (node-only.ts). */
  leftOut?: { files: string[]; why: string };
  /** Failures that are not a failed test: a panic, a timeout, a crashed runner, ... */
  problems: string[];
  kernelWarnings: string[];
  logPath: string;
  ok: boolean;
}

export function summarize(
  kernel: string,
  release: string,
  accel: string,
  outcome: GuestOutcome,
  opts: { filtered: boolean; node?: string },
): KernelSummary {
  const s: KernelSummary = {
    kernel,
    release,
    accel,
    status: outcome.status,
    wallMs: outcome.wallMs,
    passed: 0,
    failed: 0,
    skipped: 0,
    failures: [],
    skips: [],
    problems: [],
    kernelWarnings: outcome.kernelWarnings,
    logPath: outcome.logPath,
    ok: false,
  };
  if (opts.node !== undefined) s.node = opts.node;
  if (outcome.bootMs !== undefined) s.bootMs = outcome.bootMs;
  if (outcome.cpuMs !== undefined) s.cpuMs = outcome.cpuMs;
  if (outcome.status !== "completed")
    s.problems.push(`${outcome.status}: ${outcome.detail ?? ""}`.trim());

  const reported = new Set<string>();
  let planned: string[] = [];
  let failedBeforePhase = 0;
  for (const ev of outcome.events) {
    if (ev.ev === "plan") {
      planned = ev.packages.flatMap((p) => p.files);
      if (ev.leftOut) s.leftOut = ev.leftOut;
    }
    if (ev.ev === "phase") failedBeforePhase = s.failed;
    if (ev.ev === "file") {
      reported.add(ev.file);
      if (ev.error) {
        s.failed++;
        s.failures.push({ file: ev.file, name: "(test file)", error: ev.error });
      }
      for (const t of ev.tests) count(s, ev.file, t);
    }
    if (ev.ev === "run-end") {
      for (const e of ev.errors) s.problems.push(`vitest: unhandled error: ${e}`);
    }
    if (ev.ev === "phase-end" && ev.name === "tutorials") {
      if (ev.code === 0) s.passed++;
      else {
        s.failed++;
        s.failures.push({
          file: "tutorials",
          name: "test script",
          error: `exited with ${ev.code}`,
        });
      }
    } else if (ev.ev === "phase-end" && ev.code !== 0 && s.failed === failedBeforePhase) {
      s.problems.push(
        `${ev.name}: vitest exited with ${ev.code} without a failed test (see the log)`,
      );
    }
  }
  if (outcome.status === "completed") {
    for (const f of planned) if (!reported.has(f)) s.problems.push(`${f}: no result reported`);
    if (s.passed + s.failed + s.skipped === 0) {
      s.problems.push(opts.filtered ? "no kernel test matched the filter" : "no kernel tests ran");
    }
  }
  s.ok = s.problems.length === 0 && s.failed === 0;
  return s;
}

function count(s: KernelSummary, file: string, t: TestRecord): void {
  switch (t.state) {
    case "passed":
      s.passed++;
      break;
    case "failed":
      s.failed++;
      s.failures.push({ file, name: t.name, error: t.error ?? "(no message)" });
      break;
    default:
      s.skipped++;
      // The reason is often already in the name (`[skipped: why]`); say it once.
      s.skips.push(
        t.note && !t.name.includes(t.note)
          ? { file, name: t.name, reason: t.note }
          : { file, name: t.name },
      );
  }
}

export const seconds = (ms: number | undefined): string =>
  ms === undefined
    ? "-"
    : ms < 60_000
      ? `${(ms / 1000).toFixed(1)} s`
      : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;

/** The matrix as a table, then failures, skips and problems per kernel. */
export function formatSummary(rows: KernelSummary[]): string {
  const header = [
    "kernel",
    "release",
    "node",
    "accel",
    "result",
    "boot",
    "passed",
    "failed",
    "skipped",
    "time",
    "qemu cpu",
  ];
  const table = rows.map((r) => [
    r.kernel,
    r.release,
    r.node ?? "-",
    r.accel,
    r.ok ? "ok" : r.status === "completed" ? "FAILED" : r.status.toUpperCase(),
    seconds(r.bootMs),
    String(r.passed),
    String(r.failed),
    String(r.skipped),
    seconds(r.wallMs),
    seconds(r.cpuMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const out = [line(header), line(widths.map((w) => "-".repeat(w))), ...table.map(line)];
  for (const r of rows) {
    if (r.leftOut && r.leftOut.files.length > 0)
      out.push(
        `  ${r.kernel} LEFT OUT  ${r.leftOut.files.length} kernel-independent file(s): ${r.leftOut.why}`,
      );
    for (const p of r.problems) out.push(`  ${r.kernel} PROBLEM  ${p}`);
    for (const f of r.failures) {
      out.push(`  ${r.kernel} FAIL  ${f.file} > ${f.name}`);
      for (const l of f.error.split("\n").slice(0, 4)) out.push(`      ${l}`);
    }
    for (const k of r.skips) {
      out.push(`  ${r.kernel} SKIP  ${k.file} > ${k.name}${k.reason ? `: ${k.reason}` : ""}`);
    }
    for (const w of r.kernelWarnings) out.push(`  ${r.kernel} KERNEL  ${w}`);
    if (!r.ok) out.push(`  ${r.kernel} log: ${r.logPath}`);
  }
  return out.join("\n");
}

/** One progress line for an event, or undefined when it needs none. */
export function progressLine(ev: GuestEvent, elapsedMs: number): string | undefined {
  switch (ev.ev) {
    case "boot":
      return `booted ${ev.release} (guest uptime ${ev.uptime.toFixed(1)} s, ${seconds(elapsedMs)} since start)`;
    case "plan": {
      const files = ev.packages.reduce((n, p) => n + p.files.length, 0);
      const leftOut = ev.leftOut
        ? `; ${ev.leftOut.files.length} kernel-independent file(s) left out (${ev.leftOut.why})`
        : "";
      return `plan: ${files} kernel test file(s) in ${ev.packages.map((p) => p.dir).join(", ") || "no package"}${ev.tutorials ? " + tutorials" : ""}${leftOut}`;
    }
    case "phase":
      return `running ${ev.name}`;
    case "file-start":
      return `...  ${ev.file}`;
    case "file": {
      const n = (state: string) => ev.tests.filter((t) => t.state === state).length;
      const failed = n("failed") + (ev.error ? 1 : 0);
      const mark = failed > 0 ? "FAIL" : "ok  ";
      const skipped = ev.tests.length - n("passed") - n("failed");
      // The failures at once, not only in the summary at the end of a long run.
      const why = [
        ...(ev.error ? [`    (test file) ${ev.error.split("\n")[0]}`] : []),
        ...ev.tests
          .filter((t) => t.state === "failed")
          .map((t) => `    ${t.name}: ${(t.error ?? "").split("\n")[0]}`),
      ];
      return [
        `${mark} ${ev.file}: ${n("passed")} passed, ${failed} failed, ${skipped} skipped`,
        ...why,
      ].join("\n");
    }
    case "phase-end":
      return `${ev.name} finished with exit code ${ev.code} in ${seconds(ev.durationMs)}`;
    case "fatal":
      return `FATAL ${ev.message}`;
    default:
      return undefined;
  }
}
