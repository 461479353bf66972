// Runs inside the guest (started by init): finds every workspace package's
// *.kernel.test.ts files, runs them with vitest one package at a time, then the
// tutorials' test script, and reports over the event channel.
import { spawn } from "node:child_process";
import { existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { release } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { kernelTestFiles, workspaceDirs } from "../discover.js";
import { decodeConfig, type GuestConfig, type GuestEvent } from "../events.js";

const repo = process.env.TS_EBPF_VM_REPO ?? process.cwd();
const channelPath = process.env.TS_EBPF_VM_CHANNEL ?? "/dev/ttyS1";
const reporterPath = fileURLToPath(new URL("./reporter.js", import.meta.url));
const channel = openSync(channelPath, "w");
const emit = (ev: GuestEvent) => writeSync(channel, `${JSON.stringify(ev)}\n`);

function vitestEntry(pkgDir: string): string {
  for (const base of [pkgDir, repo]) {
    const p = join(base, "node_modules", "vitest", "vitest.mjs");
    if (existsSync(p)) return p;
  }
  throw new Error(`vitest not found for ${pkgDir}`);
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
    child.on("error", (e) => {
      console.error(`ts-ebpf-vm: ${cmd}: ${e.message}`);
      resolve(127);
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(config: GuestConfig): Promise<void> {
  const started = Date.now();
  let packages: { dir: string; files: string[] }[];
  if (config.selfTest) {
    const dir = join(repo, "test-vm", "fixtures", "self-test");
    packages = [{ dir, files: [join(dir, `${config.selfTest}.kernel.test.ts`)] }];
  } else {
    packages = workspaceDirs(repo)
      .map((dir) => ({
        dir,
        files: kernelTestFiles(dir).filter(
          (f) => !config.filter || relative(repo, f).includes(config.filter),
        ),
      }))
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
  });

  const env = {
    TS_EBPF_REQUIRE_KERNEL: "1",
    TS_EBPF_VM_KERNEL: config.kernel,
    TS_EBPF_VM_RELEASE: config.release,
    CI: "1",
    NO_COLOR: "1",
  };
  for (const pkg of packages) {
    const name = relative(repo, pkg.dir);
    const t0 = Date.now();
    emit({ ev: "phase", name });
    const args = [
      vitestEntry(pkg.dir),
      "run",
      "--reporter=default",
      `--reporter=${reporterPath}`,
      ...pkg.files.map((f) => relative(pkg.dir, f)),
    ];
    const code = await runStep(process.execPath, args, pkg.dir, {
      ...env,
      TS_EBPF_VM_PACKAGE: name,
    });
    emit({ ev: "phase-end", name, code, durationMs: Date.now() - t0 });
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
    const code = await runStep("sh", ["-c", tutorialsScript], dir, {
      ...env,
      PATH: path,
      TS_EBPF_VM_PACKAGE: "tutorials",
    });
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
