// pnpm test:vm: the kernel integration tests and the tutorials in QEMU guests,
// one per kernel in kernels.json, and one summary table.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { GuestConfig } from "./events.js";
import { buildInitramfs } from "./initramfs.js";
import { type KernelEntry, loadKernels, type PreparedKernel, prepareKernel } from "./kernels.js";
import { cacheDir, repoRoot } from "./paths.js";
import { pinEntry } from "./pin.js";
import { type Accel, detectAccel, runExec, runGuest, runShell } from "./qemu.js";
import { formatSummary, type KernelSummary, progressLine, seconds, summarize } from "./summary.js";

const USAGE = `usage: pnpm test:vm [options]
  --kernel <name>     run only this kernel from kernels.json (repeatable, or comma-separated)
  --filter <text>     run only kernel test files whose path contains <text>
  --shell             boot the (first) kernel with a shell on this terminal
  --exec <command>    run a shell command in the (first) kernel's guest instead of the tests;
                      its output streams here, its exit status is this command's
  --out <dir>         share a host directory writable with the guest at $TS_EBPF_VM_OUT
  --timeout <s>       kill a guest after <s> seconds (default 900)
  --jobs <n>          guests booted at once (default 1)
  --accel kvm|tcg     override the accelerator (default: KVM when usable)
  --memory <MiB>      guest memory (default 3072)
  --cpus <n>          guest vCPUs (default 2)
  --self-test <kind>  run the harness's fixture instead: pass, fail or hang
  --no-tutorials      skip the tutorials' test script
  --pin <package>     print the kernels.json entry for the newest version of a linux-image
                      package in the suites kernels.json names (private apt under .cache/apt)
  --suite <suite>     with --pin: also look in this Debian suite (e.g. sid)`;

function fail(msg: string): never {
  console.error(`test-vm: ${msg}`);
  process.exit(2);
}

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    fail(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * The node binary a guest runs: the host's, or the entry's Node major from the
 * npm registry (scripts/fetch-node.mjs, cached in .cache/node). The addons are
 * N-API, so the host's build loads in every major.
 */
function nodeBinary(
  major: number | undefined,
  log: (m: string) => void,
): { path: string; version: string } {
  const hostMajor = Number(process.versions.node.split(".")[0]);
  if (major === undefined || major === hostMajor) {
    return { path: process.execPath, version: process.version };
  }
  const fetched = spawnSync(
    process.execPath,
    [join(repoRoot, "scripts", "fetch-node.mjs"), String(major)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  const path = fetched.stdout?.trim();
  if (fetched.status !== 0 || !path) fail(`scripts/fetch-node.mjs ${major} failed`);
  const version = spawnSync(path, ["--version"], { encoding: "utf8" }).stdout?.trim();
  if (!version?.startsWith(`v${major}.`)) fail(`${path} is not Node ${major} (${version})`);
  log(`node ${version} (${path})`);
  return { path, version };
}

async function main(): Promise<number> {
  // `pnpm test:vm -- --kernel 6.1` passes the "--" through to the script.
  const argv = process.argv.slice(2);
  if (argv[0] === "--") argv.shift();
  const { values } = parseArgs({
    args: argv,
    options: {
      kernel: { type: "string", multiple: true },
      filter: { type: "string" },
      shell: { type: "boolean" },
      exec: { type: "string" },
      out: { type: "string" },
      timeout: { type: "string" },
      jobs: { type: "string" },
      accel: { type: "string" },
      memory: { type: "string" },
      cpus: { type: "string" },
      "self-test": { type: "string" },
      "no-tutorials": { type: "boolean" },
      pin: { type: "string" },
      suite: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.pin !== undefined) {
    const suites = loadKernels().map((k) => ({ suite: k.suite, component: k.component }));
    if (values.suite !== undefined) suites.push({ suite: values.suite, component: "main" });
    console.log(
      JSON.stringify(
        pinEntry(values.pin, suites, (m) => console.error(`test-vm: ${m}`)),
        null,
        2,
      ),
    );
    return 0;
  }
  const selfTest = values["self-test"];
  if (selfTest !== undefined && !["pass", "fail", "hang"].includes(selfTest)) {
    fail(`--self-test must be pass, fail or hang, got ${JSON.stringify(selfTest)}`);
  }
  if (values.accel !== undefined && values.accel !== "kvm" && values.accel !== "tcg") {
    fail(`--accel must be kvm or tcg, got ${JSON.stringify(values.accel)}`);
  }
  const timeoutMs = positiveInt("timeout", values.timeout, 900) * 1000;
  const jobs = positiveInt("jobs", values.jobs, 1);
  const memoryMiB = positiveInt("memory", values.memory, 3072);
  const cpus = positiveInt("cpus", values.cpus, 2);
  const accel: Accel = (values.accel as Accel | undefined) ?? detectAccel();

  if (spawnSync("qemu-system-x86_64", ["--version"]).status !== 0) {
    fail("qemu-system-x86_64 not found (apt-get install qemu-system-x86)");
  }
  const all = loadKernels();
  const wanted = (values.kernel ?? []).flatMap((k) => k.split(",")).filter(Boolean);
  for (const w of wanted) {
    if (!all.some((k) => k.name === w))
      fail(`unknown kernel ${w}; kernels.json has ${all.map((k) => k.name).join(", ")}`);
  }
  const selected: KernelEntry[] =
    wanted.length > 0 ? all.filter((k) => wanted.includes(k.name)) : all;

  const t0 = Date.now();
  const prepared: { kernel: PreparedKernel; initramfs: string; node: string }[] = [];
  for (const entry of selected) {
    const log = (m: string) => console.log(`[${entry.name}] ${m}`);
    const kernel = prepareKernel(entry, log, all);
    const node = nodeBinary(entry.node, log);
    prepared.push({
      kernel,
      initramfs: buildInitramfs({ kernel, node: node.path }),
      node: node.version,
    });
  }
  console.log(
    `test-vm: ${prepared.length} guest(s), ${accel.toUpperCase()}, ${cpus} vCPU, ${memoryMiB} MiB; prepared in ${seconds(Date.now() - t0)}`,
  );

  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const configFor = (kernel: PreparedKernel): GuestConfig => {
    const c: GuestConfig = {
      kernel: kernel.entry.name,
      release: kernel.release,
      tutorials: !values["no-tutorials"],
    };
    if (values.filter !== undefined) c.filter = values.filter;
    if (selfTest !== undefined) c.selfTest = selfTest as NonNullable<GuestConfig["selfTest"]>;
    return c;
  };
  let outDir: string | undefined;
  if (values.out !== undefined) {
    outDir = resolve(values.out);
    if (!existsSync(outDir) || !statSync(outDir).isDirectory()) {
      fail(`--out ${values.out} is not a directory`);
    }
  }
  const common = { accel, memoryMiB, cpus, timeoutMs, ...(outDir ? { outDir } : {}) };

  if (values.exec !== undefined) {
    const first = prepared[0]!;
    const logPath = join(cacheDir, "logs", `${first.kernel.entry.name}-exec-${stamp}.log`);
    console.log(
      `[${first.kernel.entry.name}] booting ${first.kernel.release} to run: ${values.exec}`,
    );
    const code = await runExec({
      ...common,
      ...first,
      exec: values.exec,
      config: configFor(first.kernel),
      logPath,
    });
    console.log(`test-vm: the command exited with ${code} (console: ${logPath})`);
    return code;
  }

  if (values.shell) {
    const first = prepared[0]!;
    return runShell({
      ...common,
      ...first,
      config: configFor(first.kernel),
      logPath: join(cacheDir, "logs", `${first.kernel.entry.name}-shell-${stamp}.log`),
    });
  }

  const summaries: KernelSummary[] = [];
  const queue = [...prepared];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { kernel, initramfs, node } = next;
      const name = kernel.entry.name;
      const logPath = join(cacheDir, "logs", `${name}-${stamp}.log`);
      console.log(`[${name}] booting ${kernel.release}, node ${node} (console: ${logPath})`);
      const outcome = await runGuest({
        ...common,
        kernel,
        initramfs,
        config: configFor(kernel),
        logPath,
        onEvent: (ev, ms) => {
          const line = progressLine(ev, ms);
          if (line) console.log(`[${name}] ${line}`);
        },
      });
      summaries.push(
        summarize(name, kernel.release, accel, outcome, {
          filtered: values.filter !== undefined,
          node,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, prepared.length) }, worker));
  summaries.sort(
    (a, b) =>
      prepared.findIndex((p) => p.kernel.entry.name === a.kernel) -
      prepared.findIndex((p) => p.kernel.entry.name === b.kernel),
  );

  console.log(`\n${formatSummary(summaries)}\n`);
  const ok = summaries.every((s) => s.ok);
  console.log(`test-vm: ${ok ? "all kernels passed" : "FAILED"} in ${seconds(Date.now() - t0)}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`test-vm: ${(e as Error).message}`);
    process.exit(2);
  },
);
