// The kernel's own iterator selftests in the guests (issue 23): the guests
// have no compiler and no network, so before a guest whose run includes
// elf's kernel-selftests test boots, the host prepares that kernel's run
// (selftests/src/run.mjs --guest <kernel>: its linux-source fetched through
// the private apt, compiled against its vmlinux.h, the static libbpf loader)
// into selftests/.cache/guest-<kernel>, which the guest reads over 9p. The
// runner keeps a prepared directory while the kernels.json entry, the runner
// and the loader's source are unchanged. Where preparing fails, the runner's
// status.json says why and the guest test fails with that reason.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./paths.js";
import { spawnAsync } from "./spawn.js";
import { seconds } from "./summary.js";

/** The guest test that compares the selftests, relative to the repository. */
export const SELFTESTS_TEST = "packages/elf/test/kernel-selftests.kernel.test.ts";
const runner = join(repoRoot, "selftests", "src", "run.mjs");

/** Whether a run with this --filter (none: every file) includes the selftests test. */
export function selftestsIncluded(filter: string | undefined, repo = repoRoot): boolean {
  return (
    existsSync(join(repo, SELFTESTS_TEST)) &&
    (filter === undefined || SELFTESTS_TEST.includes(filter))
  );
}

/**
 * Prepares kernel `name`'s selftests run on the host, logging one progress
 * line with its time; a failure is one loud line (the guest test then fails
 * with the reason). Returns whether it is ready.
 */
export async function prepareSelftests(name: string, log: (m: string) => void): Promise<boolean> {
  const t0 = Date.now();
  log("selftests: preparing this kernel's run (selftests/src/run.mjs --guest)");
  const r = await spawnAsync(process.execPath, [runner, "--guest", name], {
    cwd: repoRoot,
    timeoutMs: 1_800_000,
  });
  const took = seconds(Date.now() - t0);
  const lines = `${r.stderr ?? ""}`.split("\n").filter((l) => l.trim() !== "");
  if (r.status === 0) {
    // The runner's last line says what it did (cached or compiled, programs, files not compiling).
    const done = lines.filter((l) => /programs of \d+ files/.test(l)).pop() ?? "done";
    log(`selftests: ${done.replace(/^\[selftests\] /, "")} (${took})`);
    return true;
  }
  const why =
    lines
      .filter((l) => /FAILED/.test(l))
      .pop()
      ?.replace(/^\[selftests\] /, "") ??
    `run.mjs exited with ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ""}: ${lines.slice(-2).join(" | ")}`;
  // The runner records its own failures; one it could not record (it did not start) is recorded here.
  if (!/FAILED/.test(why)) {
    const dir = join(repoRoot, "selftests", ".cache", `guest-${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "status.json"),
      `${JSON.stringify({ state: "failed", reason: why, at: new Date().toISOString() }, null, 2)}\n`,
    );
  }
  console.log(
    `test-vm: !!! SELFTESTS NOT PREPARED for ${name} after ${took}: ${why} -- ${SELFTESTS_TEST} will FAIL in that guest`,
  );
  return false;
}
