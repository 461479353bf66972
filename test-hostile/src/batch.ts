// Runs one package's batch in child processes and gathers what went wrong.
// A child killed by a signal names the call it was in (from its progress
// file); the batch is then run again without that callable, so one crash does
// not hide the rest of the package (at most `maxCrashes` times).

import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PackageName } from "./enumerate.js";
import type { BatchReport, Finding } from "./report.js";

export interface BatchOptions {
  seed: number;
  runs: number;
  kernel: boolean;
  /** Wall-clock limit of one child. */
  timeoutMs: number;
  /** Callables to leave out (known crashers, while they are being fixed). */
  exclude?: string[];
  only?: string[];
  maxCrashes?: number;
}

export interface Crash {
  /** The callable the child was calling when it died (its last progress line). */
  key: string;
  lastCall: string;
  signal: string | null;
  status: number | null;
  stderr: string;
}

export interface BatchResult {
  pkg: PackageName;
  reports: BatchReport[];
  crashes: Crash[];
  /** All findings of all child runs. */
  findings: Finding[];
}

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled child, next to this file (dist/) or, from src/ under vitest, in ../dist. */
export const childPath = existsSync(join(here, "child.js"))
  ? join(here, "child.js")
  : join(here, "..", "dist", "child.js");

export function runBatch(pkg: PackageName, o: BatchOptions): BatchResult {
  const exclude = new Set(o.exclude ?? []);
  const result: BatchResult = { pkg, reports: [], crashes: [], findings: [] };
  const dir = mkdtempSync(join(tmpdir(), `ts-ebpf-hostile-${pkg}-`));
  try {
    for (let attempt = 0; attempt <= (o.maxCrashes ?? 6); attempt++) {
      const report = join(dir, `report-${attempt}.json`);
      const progress = join(dir, `progress-${attempt}.txt`);
      const args = [
        "--expose-gc",
        childPath,
        "--package",
        pkg,
        "--seed",
        String(o.seed),
        "--runs",
        String(o.runs),
        "--report",
        report,
        "--progress",
        progress,
      ];
      if (exclude.size > 0) args.push("--exclude", [...exclude].join(","));
      if (o.only) args.push("--only", o.only.join(","));
      if (!o.kernel) args.push("--no-kernel");
      // stdout and stderr are files opened for writing: a call that reads fd 1
      // or 2 gets EBADF instead of blocking on a pipe forever.
      const outPath = join(dir, `output-${attempt}.txt`);
      const out = openSync(outPath, "w");
      const child = spawnSync(process.execPath, args, {
        stdio: ["ignore", out, out],
        timeout: o.timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 64 << 20,
      });
      closeSync(out);
      const output = readFileSync(outPath, "utf8");
      if (child.status === 0 && child.signal === null && existsSync(report)) {
        const r = JSON.parse(readFileSync(report, "utf8")) as BatchReport;
        result.reports.push(r);
        result.findings.push(...r.findings);
        return result;
      }
      const lines = existsSync(progress)
        ? readFileSync(progress, "utf8").trimEnd().split("\n")
        : [];
      const watchdog = lines.at(-1)?.startsWith("(watchdog)") ? lines.pop() : undefined;
      const lastCall = lines.at(-1) ?? "(before the first call)";
      const key = lastCall.split(" ")[0] ?? "";
      const timedOut = child.error && /ETIMEDOUT/.test(String(child.error));
      result.crashes.push({
        key,
        lastCall,
        signal: watchdog
          ? `${child.signal} ${watchdog}`
          : timedOut
            ? `timeout after ${o.timeoutMs} ms`
            : child.signal,
        status: child.status,
        stderr: output.slice(-4000),
      });
      if (!key.includes(":") || exclude.has(key)) return result;
      exclude.add(key);
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
