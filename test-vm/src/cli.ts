// pnpm test:vm: the kernel integration tests and the tutorials in QEMU guests,
// one per kernel in kernels.json, and one summary table.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { GuestConfig, GuestEvent } from "./events.js";
import { hostRunsKernelTests, runNodeOnlyOnHost } from "./host-node.js";
import { buildInitramfs } from "./initramfs.js";
import { type KernelEntry, loadKernels, type PreparedKernel, prepareKernel } from "./kernels.js";
import {
  buildMatrix,
  formatMatrix,
  type MatrixColumn,
  matrixColumn,
  matrixPage,
  SUPPORT_FILE,
} from "./matrix.js";
import { nodeOnlyElsewhere, otherNodeMajors } from "./node-only.js";
import { cacheDir, repoRoot, testVmDir } from "./paths.js";
import { pinEntry } from "./pin.js";
import { type Accel, defaultGuestCpus, detectAccel, runExec, runGuest, runShell } from "./qemu.js";
import { prepareSelftests, selftestsIncluded } from "./selftests-prep.js";
import { spawnAsync } from "./spawn.js";
import { formatSummary, type KernelSummary, progressLine, seconds, summarize } from "./summary.js";
import {
  kernelTestPackages,
  moduleCacheDir,
  vitestConfigText,
  vitestEntry,
} from "./vitest-config.js";

const USAGE = `usage: pnpm test:vm [options]
  --kernel <name>     run only this kernel from kernels.json (repeatable, or comma-separated)
  --filter <text>     run only kernel test files whose path contains <text>
  --shell             boot the (first) kernel with a shell on this terminal
  --exec <command>    run a shell command in the (first) kernel's guest instead of the tests;
                      its output streams here, its exit status is this command's
  --out <dir>         share a host directory writable with the guest at $TS_EBPF_VM_OUT
  --timeout <s>       kill a guest after <s> seconds in all (default 10800)
  --stall <s>         kill a guest when for <s> seconds no test starts or ends and no
                      process starts: a hang, reported with the test it hung in (default 600)
  --jobs <n>          guests booted at once (default: the host's cores, at most the guests)
  --accel kvm|tcg     override the accelerator (default: KVM when usable)
  --memory <MiB>      guest memory (default 3072)
  --cpus <n>          guest vCPUs (default: the host's cores shared among the guests at once,
                      1 or 2: more vCPUs than cores stalls TCG guests)
  --self-test <kind>  run the harness's fixture instead: pass, fail or hang
  --no-tutorials      skip the tutorials' test script
  --isolate           run each test file in a fresh worker (vitest's default); without it the
                      guests run each package's files in one worker (vitest --no-isolate),
                      saving a worker start and a module-graph import per file under TCG
  --all-files         run the kernel-independent files (src/node-only.ts) in every guest, not
                      once per Node major on the host (the guests' majors with their binaries)
  --publish           write the support matrix to website/docs/kernel-matrix.md (whole runs only)
  --no-host           leave the host's column out of the support matrix
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

/**
 * Fills vitest's module cache on the host (`vitest list` collects every test
 * file with the guests' configuration, transforming each module once), so the
 * guests skip that work. A failure only costs the guests the time.
 */
async function warmModuleCache(
  filter: string | undefined,
  moduleCache: string,
  log: (m: string) => void,
): Promise<void> {
  const t0 = Date.now();
  const packages = kernelTestPackages(repoRoot, filter);
  if (packages.length === 0) return;
  const dir = mkdtempSync(join(tmpdir(), "test-vm-warm-"));
  try {
    const config = join(dir, "ts-ebpf-vm.vitest.config.mjs");
    writeFileSync(config, vitestConfigText(repoRoot, packages, moduleCache));
    const r = await spawnAsync(
      process.execPath,
      [vitestEntry(repoRoot), "list", `--config=${config}`, ...packages.flatMap((p) => p.files)],
      { cwd: repoRoot, env: { ...process.env, NO_COLOR: "1", CI: "1" }, timeoutMs: 600_000 },
    );
    const outcome =
      r.status === 0
        ? "filled"
        : `could not fill it (vitest list exited with ${r.status ?? r.signal}: ${r.stderr.trim().split("\n").slice(-2).join(" ")})`;
    log(`module cache (${moduleCache}): ${outcome} in ${seconds(Date.now() - t0)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const HOST_COLUMN = "host";

/**
 * The host's column: the support test run here with the guests' reporter
 * writing its events to a file. Undefined (with a line saying why) where the
 * host cannot run kernel tests.
 */
async function hostColumn(
  log: (m: string) => void,
): Promise<ReturnType<typeof matrixColumn> | undefined> {
  const iterDir = join(repoRoot, "packages", "iter");
  const dir = mkdtempSync(join(tmpdir(), "test-vm-host-"));
  const channel = join(dir, "events");
  try {
    writeFileSync(channel, "");
    const r = await spawnAsync(
      process.execPath,
      [
        join(repoRoot, "node_modules", "vitest", "vitest.mjs"),
        "run",
        "test/support.kernel.test.ts",
        "--reporter=dot",
        `--reporter=${join(testVmDir, "dist", "guest", "reporter.js")}`,
      ],
      {
        cwd: iterDir,
        env: {
          ...process.env,
          TS_EBPF_REQUIRE_KERNEL: "1",
          TS_EBPF_VM_CHANNEL: channel,
          TS_EBPF_VM_REPO: repoRoot,
          NO_COLOR: "1",
        },
        timeoutMs: 300_000,
      },
    );
    const events = readFileSync(channel, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as GuestEvent);
    const column = matrixColumn(HOST_COLUMN, release(), events, process.version);
    if (column.rows.length === 0) {
      log(`no support results from the host (vitest exited with ${r.status}); no host column`);
      return undefined;
    }
    log(`support test on the host (${release()}): vitest exited with ${r.status}`);
    return column;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether `bpf-iter list` on the host names exactly the targets the host column has. */
function checkListAgrees(host: MatrixColumn): string | undefined {
  const r = spawnSync(
    process.execPath,
    [join(repoRoot, "packages", "iter", "bin", "bpf-iter.js"), "list", "--json"],
    { encoding: "utf8" },
  );
  if (r.status !== 0) return `bpf-iter list --json exited with ${r.status}: ${r.stderr.trim()}`;
  const listed = new Set(
    r.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { target: string }).target),
  );
  const wrong: string[] = [];
  for (const [row, cell] of Object.entries(host.cells)) {
    const target = /^target (\S+)$/.exec(row)?.[1];
    if (!target) continue;
    const has = cell.state === "supported" || cell.state === "refused" || cell.state === "failed";
    if (has !== listed.has(target))
      wrong.push(`${target} (${has ? "in the matrix, not listed" : "listed, not in the matrix"})`);
  }
  return wrong.length === 0
    ? undefined
    : `bpf-iter list disagrees with the host column: ${wrong.join(", ")}`;
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
      stall: { type: "string" },
      jobs: { type: "string" },
      accel: { type: "string" },
      memory: { type: "string" },
      cpus: { type: "string" },
      "self-test": { type: "string" },
      "no-tutorials": { type: "boolean" },
      isolate: { type: "boolean" },
      "all-files": { type: "boolean" },
      pin: { type: "string" },
      publish: { type: "boolean" },
      "no-host": { type: "boolean" },
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
  // A whole guest can take long on a loaded 2-core machine under TCG: the total
  // timeout is a backstop; hangs are caught by the stall watchdog.
  const timeoutMs = positiveInt("timeout", values.timeout, 10_800) * 1000;
  const stallMs = positiveInt("stall", values.stall, 600) * 1000;
  const memoryMiB = positiveInt("memory", values.memory, 3072);
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
  // Guests side by side, one per host core: a TCG guest running vitest keeps
  // about one core busy and waits on 9p and process starts the rest of the time.
  const jobs = positiveInt("jobs", values.jobs, Math.min(selected.length, availableParallelism()));
  const cpus = positiveInt("cpus", values.cpus, defaultGuestCpus(availableParallelism(), jobs));

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

  // A whole run (no --filter) leaves the kernel-independent files out of the
  // guests: the host runs them with each guest's Node major (below, before the
  // guests boot), or, where the host cannot run kernel tests, the first guest
  // with that major does.
  const nodeOnlyByKernel = new Map<string, string>();
  let nodeOnlyMajorsOnHost: number[] = [];
  const isTestRun = values.exec === undefined && !values.shell;
  if (values.filter === undefined && selfTest === undefined && !values["all-files"] && isTestRun) {
    const major = (v: string) => Number(/^v(\d+)/.exec(v)?.[1]);
    const guests = prepared.map((p) => ({ kernel: p.kernel.entry.name, nodeMajor: major(p.node) }));
    const onHost = hostRunsKernelTests();
    const why = nodeOnlyElsewhere(guests, major(process.version), onHost);
    prepared.forEach((p, i) => {
      if (why[i] !== undefined) nodeOnlyByKernel.set(p.kernel.entry.name, why[i]!);
    });
    if (onHost) nodeOnlyMajorsOnHost = otherNodeMajors(guests, major(process.version));
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  // Set once the host has filled it, before the test guests boot (exec and shell guests have none).
  let moduleCache: string | undefined;
  const configFor = (kernel: PreparedKernel): GuestConfig => {
    const c: GuestConfig = {
      kernel: kernel.entry.name,
      release: kernel.release,
      accel,
      tutorials: !values["no-tutorials"],
    };
    if (values.filter !== undefined) c.filter = values.filter;
    if (!values.isolate) c.noIsolate = true;
    const elsewhere = nodeOnlyByKernel.get(kernel.entry.name);
    if (elsewhere !== undefined) c.nodeOnlyElsewhere = elsewhere;
    if (moduleCache !== undefined && existsSync(moduleCache)) c.moduleCache = moduleCache;
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

  if (values.publish && (values.filter !== undefined || selfTest !== undefined)) {
    fail("--publish needs the whole run (no --filter, no --self-test)");
  }
  // The host's own work runs beside the guests: on two cores, one waiting for
  // the other is minutes of a CI run. Each kernel's selftests are compiled one
  // kernel after another (they share test-vm's private apt), starting now; a
  // guest boots once its own are ready and the module cache is filled.
  const selftestsReady = new Map<string, Promise<boolean>>();
  if (selfTest === undefined && selftestsIncluded(values.filter)) {
    let previous: Promise<unknown> = Promise.resolve();
    for (const { kernel } of prepared) {
      const name = kernel.entry.name;
      // Never rejects: a kernel whose preparation threw gets the same loud line as one that
      // failed (its guest's selftests test then fails), and the kernels after it still prepare.
      const ready = previous
        .then(() => prepareSelftests(name, (m) => console.log(`[${name}] ${m}`)))
        .catch((e: unknown) => {
          console.log(`test-vm: !!! SELFTESTS NOT PREPARED for ${name}: ${(e as Error).message}`);
          return false;
        });
      selftestsReady.set(name, ready);
      previous = ready;
    }
  }
  moduleCache = moduleCacheDir(repoRoot, `${stamp}-${process.pid}`);
  if (selfTest === undefined) {
    await warmModuleCache(values.filter, moduleCache, (m) => console.log(`test-vm: ${m}`));
  }
  const summaries: KernelSummary[] = [];
  // The kernel-independent files on the guests' other Node majors, then the
  // host's support column: both on the host, while the guests run.
  const wholeRun = selfTest === undefined && values.filter === undefined && !values["no-host"];
  // Found now: nodeBinary exits the process on failure, which must not happen with guests running.
  const hostNodes = nodeOnlyMajorsOnHost.map((m) => ({
    m,
    node: nodeBinary(m, (line) => console.log(`[host] ${line}`)),
  }));
  const hostWork = (async () => {
    for (const { m, node } of hostNodes) {
      const t = Date.now();
      const row = await runNodeOnlyOnHost(
        node,
        join(cacheDir, "logs", `host-node${m}-${stamp}.log`),
        timeoutMs,
      );
      console.log(
        `[host] kernel-independent files with node ${node.version}: ${row.passed} passed, ${row.failed} failed, ${row.skipped} skipped in ${seconds(Date.now() - t)}`,
      );
      summaries.push(row);
    }
    return wholeRun ? hostColumn((m) => console.log(`[host] ${m}`)) : undefined;
  })();
  // Awaited after the guests; marked handled now, so a failure cannot end the process mid-run.
  hostWork.catch(() => undefined);
  const columns = new Map<string, ReturnType<typeof matrixColumn>>();
  const queue = [...prepared];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { kernel, initramfs, node } = next;
      const name = kernel.entry.name;
      await selftestsReady.get(name);
      const logPath = join(cacheDir, "logs", `${name}-${stamp}.log`);
      console.log(`[${name}] booting ${kernel.release}, node ${node} (console: ${logPath})`);
      const outcome = await runGuest({
        ...common,
        stallMs,
        kernel,
        initramfs,
        config: configFor(kernel),
        logPath,
        onEvent: (ev, ms) => {
          const line = progressLine(ev, ms);
          // Seconds since QEMU started: the gaps between lines show where a guest spends its time.
          if (line) console.log(`[${name} ${Math.round(ms / 1000)}s] ${line}`);
        },
      });
      columns.set(name, matrixColumn(name, kernel.release, outcome.events, node));
      summaries.push(
        summarize(name, kernel.release, accel, outcome, {
          filtered: values.filter !== undefined,
          node,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, prepared.length) }, worker));
  if (moduleCache !== undefined) rmSync(moduleCache, { recursive: true, force: true });
  const hostSupport = await hostWork;
  summaries.sort(
    (a, b) =>
      prepared.findIndex((p) => p.kernel.entry.name === a.kernel) -
      prepared.findIndex((p) => p.kernel.entry.name === b.kernel),
  );

  console.log(`\n${formatSummary(summaries)}\n`);
  let matrixOk = true;
  if (selfTest === undefined) {
    const parts = prepared
      .map((p) => columns.get(p.kernel.entry.name))
      .filter((c) => c !== undefined && c.rows.length > 0) as ReturnType<typeof matrixColumn>[];
    if (parts.length > 0 && hostSupport) parts.push(hostSupport);
    if (parts.length > 0) {
      const matrix = buildMatrix(parts);
      console.log(`iterator support (${SUPPORT_FILE}):\n${formatMatrix(matrix)}\n`);
      const host = matrix.columns.find((c) => c.kernel === HOST_COLUMN);
      if (host) {
        const disagreement = checkListAgrees(host);
        if (disagreement) {
          console.log(`test-vm: PROBLEM ${disagreement}`);
          matrixOk = false;
        } else
          console.log(
            "test-vm: `bpf-iter list` on the host names the targets the host column supports",
          );
      }
      mkdirSync(cacheDir, { recursive: true });
      writeFileSync(join(cacheDir, "matrix.json"), `${JSON.stringify(matrix, null, 2)}\n`);
      const page = matrixPage(matrix, new Date().toISOString().slice(0, 10));
      writeFileSync(join(cacheDir, "kernel-matrix.md"), page);
      if (values.publish) {
        const out = join(repoRoot, "website", "docs", "kernel-matrix.md");
        writeFileSync(out, page);
        console.log(`test-vm: published the matrix to ${out}`);
      }
    }
  }
  const ok = summaries.every((s) => s.ok) && matrixOk;
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
