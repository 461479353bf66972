// The kernel-independent files (node-only.ts) run on the host with a guest's
// Node major: they check Node and the addon, not the kernel, so the host's
// kernel does as well as a guest's, at native speed (10-15 s here, 4-5 min
// in a TCG guest). The result is one row of the summary table ("host").
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import type { GuestEvent } from "./events.js";
import { NODE_ONLY_FILES } from "./node-only.js";
import { repoRoot, testVmDir } from "./paths.js";
import type { GuestOutcome } from "./qemu.js";
import { spawnAsync } from "./spawn.js";
import { type KernelSummary, summarize } from "./summary.js";
import { kernelTestPackages, vitestConfigText, vitestEntry } from "./vitest-config.js";

/** Whether this host can run kernel tests: root, with kernel BTF (what the node-only files need). */
export function hostRunsKernelTests(): boolean {
  return process.getuid?.() === 0 && existsSync("/sys/kernel/btf/vmlinux");
}

/**
 * Runs the node-only files with `node` (a Node binary of another major than
 * this process's) on the host, through the guests' reporter, and summarizes
 * them like a guest. The console output goes to `logPath`.
 */
export async function runNodeOnlyOnHost(
  node: { path: string; version: string },
  logPath: string,
  timeoutMs: number,
): Promise<KernelSummary> {
  const nodeOnly = new Set(NODE_ONLY_FILES.map((f) => join(repoRoot, f.file)));
  const packages = kernelTestPackages(repoRoot)
    .map((p) => ({ dir: p.dir, files: p.files.filter((f) => nodeOnly.has(f)) }))
    .filter((p) => p.files.length > 0);
  const dir = mkdtempSync(join(tmpdir(), "test-vm-node-only-"));
  const channel = join(dir, "events");
  const started = Date.now();
  try {
    const config = join(dir, "ts-ebpf-vm.vitest.config.mjs");
    writeFileSync(config, vitestConfigText(repoRoot, packages, undefined));
    writeFileSync(channel, "");
    const r = await spawnAsync(
      node.path,
      [
        vitestEntry(repoRoot),
        "run",
        `--config=${config}`,
        "--no-isolate",
        "--reporter=default",
        `--reporter=${join(testVmDir, "dist", "guest", "reporter.js")}`,
        ...packages.flatMap((p) => p.files),
      ],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          TS_EBPF_REQUIRE_KERNEL: "1",
          TS_EBPF_VM_CHANNEL: channel,
          TS_EBPF_VM_REPO: repoRoot,
          CI: "1",
          NO_COLOR: "1",
        },
        timeoutMs,
      },
    );
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, `${r.stdout}${r.stderr}`);
    const events: GuestEvent[] = [
      {
        ev: "plan",
        packages: packages.map((p) => ({
          dir: relative(repoRoot, p.dir),
          files: p.files.map((f) => relative(repoRoot, f)),
        })),
        tutorials: false,
      },
      { ev: "phase", name: "kernel-independent files" },
      ...readFileSync(channel, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as GuestEvent),
    ];
    const durationMs = Date.now() - started;
    const killed = r.error !== undefined || r.signal !== null;
    if (!killed) {
      events.push({
        ev: "phase-end",
        name: "kernel-independent files",
        code: r.status ?? 1,
        durationMs,
      });
      events.push({ ev: "done", durationMs });
    }
    const outcome: GuestOutcome = {
      status: killed ? "timeout" : "completed",
      events,
      wallMs: durationMs,
      kernelWarnings: [],
      logPath,
    };
    if (killed)
      outcome.detail = `vitest with ${node.version} ${r.error ? r.error.message : `killed by ${r.signal}`}`;
    return summarize("host", release(), "none", outcome, { filtered: false, node: node.version });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
