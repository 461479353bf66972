// Command line for one or more batches, printing a summary:
//   node dist/run.js syscall [btf ...]   (HOSTILE_SEED, HOSTILE_RUNS as in the test)

import { runBatch } from "./batch.js";
import { PACKAGES, type PackageName } from "./enumerate.js";

const pkgs = (process.argv.slice(2).length > 0 ? process.argv.slice(2) : PACKAGES) as PackageName[];
const seed = Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31);
const runs = Number(process.env.HOSTILE_RUNS ?? 30);
const kernel = process.env.HOSTILE_NO_KERNEL !== "1";
console.log(`hostile seed ${seed}, runs ${runs}`);
for (const pkg of pkgs) {
  const r = runBatch(pkg, { seed, runs, kernel, timeoutMs: 240_000 });
  for (const c of r.crashes) {
    console.log(
      `[${pkg}] CRASH ${c.signal ?? `exit ${c.status}`} in ${c.lastCall}\n${c.stderr.slice(-1500)}`,
    );
  }
  for (const rep of r.reports) {
    console.log(
      `[${pkg}] ${rep.calls} calls in ${rep.durationMs} ms; fds ${JSON.stringify(rep.fds)}; uncovered ${rep.uncovered.join(", ") || "none"}${rep.aborted ? `; ABORTED: ${rep.aborted}` : ""}`,
    );
  }
  const seen = new Map<string, number>();
  for (const f of r.findings) {
    const k = `${f.kind} ${f.key} ${f.type ?? ""}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
    if (seen.get(k)! > 1) continue;
    console.log(
      `[${pkg}] ${f.kind} ${f.key} ${f.type ?? ""}: ${f.message.slice(0, 300)}\n    args ${f.args ?? ""}`,
    );
    if (f.stack) console.log(`    ${f.stack.split("\n").slice(1, 3).join(" / ").trim()}`);
  }
  for (const [k, n] of seen) if (n > 1) console.log(`[${pkg}] (${n}x) ${k}`);
}
