// The parent side of a package's batch: spawns the child (src/child.ts,
// compiled to dist/child.js), then asserts no death by signal, only
// documented error types, no fd leaked or closed behind the caller, and the
// same fd count before and after the batch.

import { kernel, kernelRequired } from "@ts-ebpf/testing";
import { describe, expect, it } from "vitest";
import { type BatchResult, runBatch } from "../src/batch.js";
import type { PackageName } from "../src/enumerate.js";
import { KNOWN } from "../src/known.js";
import type { Finding } from "../src/report.js";
import { SIGNATURES } from "../src/signatures.js";

export const seed = Number(process.env.HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));
export const runs = Number(process.env.HOSTILE_RUNS ?? 30);
const useKnown = process.env.HOSTILE_NO_KNOWN !== "1";

/** Packages whose batch needs the kernel; the others run without it too. */
const KERNEL_PACKAGES: PackageName[] = ["syscall", "iter", "elf", "exporter"];

function replay(pkg: string): string {
  return `replay: HOSTILE_SEED=${seed} HOSTILE_RUNS=${runs} npx vitest run test/${pkg}.test.ts`;
}

function describeFinding(f: Finding): string {
  const stack = f.stack ? `\n      ${f.stack.split("\n").slice(0, 4).join("\n      ")}` : "";
  return `  ${f.kind} in ${f.key}${f.type ? ` (${f.type})` : ""}: ${f.message}\n    args ${f.args ?? "-"}${stack}`;
}

export function hostileSuite(pkg: PackageName, timeoutMs = 150_000): void {
  const needsKernel = KERNEL_PACKAGES.includes(pkg);
  const canRun = kernel.available || !needsKernel;
  const known = useKnown ? KNOWN.filter((k) => k.key.startsWith(`${pkg}:`)) : [];
  const crashers = known.filter((k) => k.kind === "crash").map((k) => k.key);

  describe(`hostile arguments: ${pkg}`, () => {
    if (!canRun) {
      if (kernelRequired()) {
        it("needs the kernel (TS_EBPF_REQUIRE_KERNEL=1)", () => {
          throw new Error(`hostile ${pkg} batch required but cannot run: ${kernel.reason}`);
        });
      } else {
        console.warn(`\n!!! SKIPPING the hostile-argument batch of ${pkg}: ${kernel.reason} !!!\n`);
        it.skip(`every export of ${pkg} [skipped: ${kernel.reason}]`, () => {});
      }
      return;
    }

    it(`every export of @ts-ebpf/${pkg}: no signal, documented errors only, no fd leaked or closed (seed ${seed})`, () => {
      console.log(`hostile ${pkg}: seed ${seed}, runs ${runs} (${replay(pkg)})`);
      const r: BatchResult = runBatch(pkg, {
        seed,
        runs,
        kernel: kernel.available,
        timeoutMs,
        exclude: crashers,
      });
      const problems: string[] = [];
      for (const c of r.crashes) {
        problems.push(
          `batch ${pkg} (seed ${seed}) died: ${c.signal ?? `exit code ${c.status}`} in ${c.lastCall}\n${c.stderr.slice(-1500)}`,
        );
      }
      for (const rep of r.reports) {
        if (rep.uncovered.length > 0)
          problems.push(
            `exports without a signature in src/signatures.ts: ${rep.uncovered.join(", ")}`,
          );
        if (rep.aborted) problems.push(`batch stopped: ${rep.aborted}`);
        if (rep.fds.afterBatch !== rep.fds.beforeBatch)
          problems.push(
            `fd count ${rep.fds.beforeBatch} before the batch, ${rep.fds.afterBatch} after: added ${rep.fdDiff.added.join("; ") || "none"}, removed ${rep.fdDiff.removed.join("; ") || "none"}`,
          );
        // Entries for callables that are gone (a warning: the table is reviewed by hand).
        const present = new Set([
          ...rep.exports.map((e) => e.key),
          ...rep.skipped.map((e) => e.key),
        ]);
        const stale = Object.keys(SIGNATURES).filter(
          (k) => k.startsWith(`${pkg}:`) && !present.has(k) && !/\[(Symbol|nodejs)\./.test(k),
        );
        if (stale.length > 0)
          console.warn(
            `hostile ${pkg}: signatures of callables no longer exported: ${stale.join(", ")}`,
          );
        const total = rep.exports.reduce((a, e) => a + e.calls, 0);
        console.log(
          `hostile ${pkg}: ${total} calls of ${rep.exports.length} callables in ${rep.durationMs} ms`,
        );
      }
      const isKnown = (f: Finding) => known.some((k) => k.key === f.key && k.kind === f.kind);
      const knownHits = r.findings.filter(isKnown);
      if (knownHits.length > 0)
        console.warn(
          `hostile ${pkg}: ${knownHits.length} findings on the known list (src/known.ts)`,
        );
      // One line per callable and kind of finding (the first one in full), with a count.
      const groups = new Map<string, Finding[]>();
      for (const f of r.findings.filter((f) => !isKnown(f))) {
        const k = `${f.kind} ${f.key} ${f.type ?? ""}`;
        groups.set(k, [...(groups.get(k) ?? []), f]);
      }
      for (const fs of groups.values()) {
        const more = fs.length > 1 ? `\n    (${fs.length} calls like this)` : "";
        problems.push(describeFinding(fs[0]!) + more);
      }
      expect(
        problems,
        `${problems.length} problems in batch ${pkg} (seed ${seed}; ${replay(pkg)})`,
      ).toEqual([]);
    });

    for (const key of crashers) {
      const why = known.find((k) => k.key === key && k.kind === "crash")!.why;
      it.fails(`known crash, being fixed: ${key} (${why}); remove it from src/known.ts once this fails`, () => {
        const r = runBatch(pkg, {
          seed,
          runs,
          kernel: kernel.available,
          timeoutMs,
          only: [key],
          maxCrashes: 0,
        });
        expect(r.crashes.map((c) => `${c.signal} in ${c.lastCall}`)).toEqual([]);
      });
    }
  });
}
