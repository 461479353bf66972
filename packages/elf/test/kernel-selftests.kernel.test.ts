// The kernel's own iterator selftests through libbpf and through ts-ebpf
// (selftests/src/run.mjs, issue 23): every program libbpf loads, ts-ebpf
// loads, and the two print the same output and leave the same globals
// (a program whose output changes between two libbpf runs is counted apart).
// On a host: the whole run (linux-source fetched once through test-vm's
// private apt and cached, compiled with clang, the libbpf loader with
// libbpf-dev). In a test-vm guest, which has no compiler: the comparison of
// the directory `pnpm test:vm` prepared on the host for this kernel before
// booting it (`node selftests/src/run.mjs --guest <kernel>`; the repository is
// mounted at the same path); the test fails when that preparation failed.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const runner = join(repo, "selftests", "src", "run.mjs");
const inGuest = process.env.TS_EBPF_VM_REPO !== undefined;

interface Summary {
  programs: number;
  both: number;
  matching: number;
  varying: number;
  differing: number;
  onlyLibbpf: number;
  onlyTs: number;
  neither: number;
  notCompiling: number;
}

/**
 * This guest kernel's run as the host prepared it (`pnpm test:vm` runs
 * `run.mjs --guest <kernel>` before booting a guest whose files include this
 * one): its directory, or why there is none. No status file: nothing was
 * prepared for this kernel (the selftests were left out, e.g. a guest started
 * by hand); a failed status: the host tried and could not (no network, no
 * clang), which fails the test.
 */
function guestRun(): { dir: string } | { failed: string } | { absent: string } {
  const entries = (
    JSON.parse(readFileSync(join(repo, "test-vm", "kernels.json"), "utf8")) as {
      kernels: { name: string }[];
    }
  ).kernels;
  const [major, minor] = release().split(".");
  const name = entries.find((e) => e.name === `${major}.${minor}`)?.name;
  if (name === undefined) return { absent: `${release()} is no kernel of test-vm/kernels.json` };
  const dir = join(repo, "selftests", ".cache", `guest-${name}`);
  const statusFile = join(dir, "status.json");
  if (!existsSync(statusFile))
    return {
      absent: `no selftests prepared for ${name}: the guests have no compiler (pnpm test:vm, or node selftests/src/run.mjs --guest ${name} on the host, prepares them)`,
    };
  const status = JSON.parse(readFileSync(statusFile, "utf8")) as { state: string; reason?: string };
  if (status.state !== "ready")
    return { failed: `the host could not prepare the selftests for ${name}: ${status.reason}` };
  return { dir };
}

describeKernel("the kernel's bpf_iter selftests, libbpf beside ts-ebpf", () => {
  it("every program libbpf loads, ts-ebpf loads, with the same output and globals", (ctx) => {
    let args: string[];
    if (inGuest) {
      const prepared = guestRun();
      if ("absent" in prepared) return ctx.skip(prepared.absent);
      // A failed preparation fails the test where kernel tests are required (test-vm's guests).
      if ("failed" in prepared) {
        if (process.env.TS_EBPF_REQUIRE_KERNEL !== "1") return ctx.skip(prepared.failed);
        expect.fail(prepared.failed);
      }
      args = [runner, "--compare", prepared.dir];
    } else {
      args = [runner];
    }
    const r = spawnSync(process.execPath, args, {
      encoding: "utf8",
      maxBuffer: 1 << 26,
      timeout: 1_500_000,
    });
    const lines = r.stdout.split("\n");
    const json = lines.find((l) => l.startsWith("summary-json "));
    expect(json, `the runner printed no summary:\n${r.stderr}`).toBeDefined();
    const summary = JSON.parse(json!.slice("summary-json ".length)) as Summary;
    const problems = lines.filter((l) => /^(LIBBPF|DIFFERS) /.test(l));
    console.info(lines.find((l) => l.startsWith("selftests ")));
    expect(problems).toEqual([]);
    expect(summary.onlyLibbpf).toBe(0);
    expect(summary.differing).toBe(0);
    expect(summary.programs).toBeGreaterThan(20);
    // Most load on every kernel of the matrix (the rest are refused by both, or by policy).
    expect(summary.both).toBeGreaterThan(summary.programs / 3);
    expect(summary.matching + summary.varying).toBe(summary.both);
    expect(r.status).toBe(0);
  }, 1_600_000);
});
