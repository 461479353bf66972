// Runs inside the guest (started by init): finds every workspace package's
// *.kernel.test.ts files, runs them with vitest (each package a project), then
// the tutorials' test script, and reports over the event channel.
import { spawn } from "node:child_process";
import { existsSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { release } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeConfig, type GuestConfig, type GuestEvent } from "../events.js";
import { NODE_ONLY_FILES } from "../node-only.js";
import { kernelTestPackages, vitestConfigText, vitestEntry } from "../vitest-config.js";

const repo = process.env.TS_EBPF_VM_REPO ?? process.cwd();
const channelPath = process.env.TS_EBPF_VM_CHANNEL ?? "/dev/ttyS1";
const reporterPath = fileURLToPath(new URL("./reporter.js", import.meta.url));
const channel = openSync(channelPath, "w");
const emit = (ev: GuestEvent) => writeSync(channel, `${JSON.stringify(ev)}\n`);

/** The last pid the kernel handed out (the last field of /proc/loadavg). */
function newestPid(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").trim().split(" ").pop() ?? "";
  } catch {
    return "";
  }
}

/**
 * The tutorials' script to run in the guest: `test:vm` when the package
 * defines one (e.g. notebooks without unit tests), else `notebooks`, else `test`.
 */
function tutorialsCommand(pkg: { scripts?: Record<string, string> }): string | undefined {
  const s = pkg.scripts ?? {};
  return s["test:vm"] ?? s.notebooks ?? s.test;
}

/** Runs a command with its output on the console; resolves to its exit code. */
function runStep(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  onOutput?: () => void,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Piped, so vitest prints plain lines rather than redrawing a TTY.
    child.stdout.pipe(process.stdout);
    child.stderr.pipe(process.stderr);
    if (onOutput) {
      child.stdout.on("data", onOutput);
      child.stderr.on("data", onOutput);
    }
    child.on("error", (e) => {
      console.error(`ts-ebpf-vm: ${cmd}: ${e.message}`);
      resolve(127);
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * Runs `packages`' files in one vitest process, with each package as a
 * project (its own config, global setup and timeouts). Returns the files the
 * reporter saw finish and whether the run reached its end.
 */
let moduleCache: string | undefined;

async function runPhase(
  name: string,
  packages: { dir: string; files: string[] }[],
  env: Record<string, string>,
  noIsolate = false,
): Promise<{ finished: boolean; files: Set<string> }> {
  const t0 = Date.now();
  emit({ ev: "phase", name });
  const configPath = "/tmp/ts-ebpf-vm.vitest.config.mjs";
  const reportedPath = "/tmp/ts-ebpf-vm.reported";
  writeFileSync(configPath, vitestConfigText(repo, packages, moduleCache));
  rmSync(reportedPath, { force: true });
  const args = [
    vitestEntry(repo),
    "run",
    `--config=${configPath}`,
    "--reporter=default",
    ...(noIsolate ? ["--no-isolate"] : []),
    `--reporter=${reporterPath}`,
    ...packages.flatMap((p) => p.files),
  ];
  // A test that spawns one CLI after another (20-90 s each on a loaded TCG
  // host) can run for many minutes without a test ending: a process started
  // since the last look counts as progress, so the host's stall watchdog only
  // kills a guest where nothing ends and nothing starts (a spin, a deadlock).
  let lastPid = newestPid();
  const watch = setInterval(() => {
    const pid = newestPid();
    if (pid !== lastPid) emit({ ev: "heartbeat", phase: name });
    lastPid = pid;
  }, 15_000);
  const code = await runStep(process.execPath, args, repo, {
    ...env,
    TS_EBPF_VM_REPORTED: reportedPath,
  }).finally(() => clearInterval(watch));
  emit({ ev: "phase-end", name, code, durationMs: Date.now() - t0 });
  const lines = existsSync(reportedPath) ? readFileSync(reportedPath, "utf8").split("\n") : [];
  return {
    finished: lines.includes("run-end"),
    files: new Set(lines.filter((l) => l.startsWith("/"))),
  };
}

async function main(config: GuestConfig): Promise<void> {
  moduleCache = config.moduleCache;
  const started = Date.now();
  let packages: { dir: string; files: string[] }[];
  if (config.selfTest) {
    const dir = join(repo, "test-vm", "fixtures", "self-test");
    packages = [{ dir, files: [join(dir, `${config.selfTest}.kernel.test.ts`)] }];
  } else {
    packages = kernelTestPackages(repo, config.filter);
  }
  let leftOut: { files: string[]; why: string } | undefined;
  if (config.nodeOnlyElsewhere !== undefined) {
    const nodeOnly = new Set(NODE_ONLY_FILES.map((f) => join(repo, f.file)));
    const files = packages.flatMap((p) => p.files).filter((f) => nodeOnly.has(f));
    leftOut = { files: files.map((f) => relative(repo, f)), why: config.nodeOnlyElsewhere };
    packages = packages
      .map((p) => ({ dir: p.dir, files: p.files.filter((f) => !nodeOnly.has(f)) }))
      .filter((p) => p.files.length > 0);
  }
  const tutorialsPkg = join(repo, "tutorials", "package.json");
  const tutorialsScript =
    config.tutorials && !config.selfTest && !config.filter && existsSync(tutorialsPkg)
      ? tutorialsCommand(
          JSON.parse(readFileSync(tutorialsPkg, "utf8")) as { scripts?: Record<string, string> },
        )
      : undefined;
  emit({
    ev: "plan",
    packages: packages.map((p) => ({
      dir: relative(repo, p.dir),
      files: p.files.map((f) => relative(repo, f)),
    })),
    tutorials: tutorialsScript !== undefined,
    ...(leftOut ? { leftOut } : {}),
  });

  const env = {
    TS_EBPF_REQUIRE_KERNEL: "1",
    TS_EBPF_REQUIRE_FEATURES: "1",
    TS_EBPF_VM_KERNEL: config.kernel,
    TS_EBPF_VM_RELEASE: config.release,
    TS_EBPF_VM_ACCEL: config.accel ?? "",
    CI: "1",
    NO_COLOR: "1",
  };
  if (packages.length > 0) {
    // One vitest run over every package's project saves a vitest start-up
    // (tens of seconds under TCG) per package. If it dies before finishing,
    // each package whose files did not all report runs again on its own.
    const reported = await runPhase("kernel tests", packages, env, config.noIsolate);
    if (!reported.finished) {
      for (const pkg of packages) {
        const missing = pkg.files.filter((f) => !reported.files.has(f));
        if (missing.length > 0)
          await runPhase(
            relative(repo, pkg.dir),
            [{ dir: pkg.dir, files: missing }],
            env,
            config.noIsolate,
          );
      }
    }
  }

  if (tutorialsScript !== undefined) {
    const dir = join(repo, "tutorials");
    const t0 = Date.now();
    emit({ ev: "phase", name: "tutorials" });
    const path = [
      join(dir, "node_modules", ".bin"),
      join(repo, "node_modules", ".bin"),
      process.env.PATH,
    ].join(":");
    // No per-test events here: output, at most one heartbeat per 10 s, tells the host it moves.
    let lastBeat = 0;
    const beat = () => {
      if (Date.now() - lastBeat < 10_000) return;
      lastBeat = Date.now();
      emit({ ev: "heartbeat", phase: "tutorials" });
    };
    const code = await runStep(
      "sh",
      ["-c", tutorialsScript],
      dir,
      { ...env, PATH: path, TS_EBPF_VM_PACKAGE: "tutorials" },
      beat,
    );
    emit({ ev: "phase-end", name: "tutorials", code, durationMs: Date.now() - t0 });
  }
  emit({ ev: "done", durationMs: Date.now() - started });
}

const arg = process.argv[2];
if (!arg) {
  emit({ ev: "fatal", message: "runner started without a configuration" });
  process.exit(2);
}
const config = decodeConfig(arg);
if (release() !== config.release) {
  emit({ ev: "fatal", message: `guest runs ${release()}, expected ${config.release}` });
  process.exit(2);
}
main(config).catch((e: unknown) => {
  emit({ ev: "fatal", message: `runner: ${(e as Error).stack ?? String(e)}` });
  process.exit(2);
});
