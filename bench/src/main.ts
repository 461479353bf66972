// pnpm bench [--quick] [--only map-dump,tasks,...] [--reps N] [--vm <kernel>]
// Runs the scenarios of issue 8 as root and writes results/ (see output.ts);
// with --vm, inside a test-vm guest (see vm.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { evaluateGoals } from "./goals.js";
import { probeMapElem } from "./kernel-features.js";
import { gitCommit, machineInfo } from "./machine.js";
import type { GroupResult, RunResult } from "./model.js";
import { checkCompiled, compileC } from "./native.js";
import { writeResults } from "./output.js";
import { benchRoot, resultsDir } from "./paths.js";
import { Progress } from "./progress.js";
import { terminalReport } from "./report.js";
import { btfAndDsl } from "./scenarios/btf-dsl.js";
import { chunkSizes } from "./scenarios/chunk-size.js";
import { cliStart } from "./scenarios/cli-start.js";
import type { Context } from "./scenarios/context.js";
import { exporterScrapes } from "./scenarios/exporters.js";
import { lookupElem } from "./scenarios/lookup.js";
import { mapDecode } from "./scenarios/map-decode.js";
import { mapDump } from "./scenarios/map-dump.js";
import { netnsSockets } from "./scenarios/netns.js";
import { selectiveQuery } from "./scenarios/query.js";
import { filesScale, tasksScale, tasksThreads, tcpScale } from "./scenarios/scale.js";
import { taskList } from "./scenarios/tasks.js";
import { loadTsApi } from "./ts-api.js";
import { readVmInfo, runInVm, testVmCli, VM_RUN_FILE } from "./vm.js";

const SCENARIOS: Record<string, (ctx: Context) => Promise<GroupResult[]>> = {
  "map-dump": mapDump,
  "map-decode": mapDecode,
  tasks: taskList,
  "chunk-size": chunkSizes,
  "lookup-elem": lookupElem,
  "btf-dsl": btfAndDsl,
  netns: netnsSockets,
  exporters: exporterScrapes,
  "cli-start": cliStart,
  query: selectiveQuery,
  "tasks-scale": tasksScale,
  "tasks-threads": tasksThreads,
  "files-scale": filesScale,
  "tcp-scale": tcpScale,
};

const KIB = 1024;
/** Where a run of some scenarios (--only) writes, so results/ keeps the last full run. */
const PARTIAL_DIR = `${resultsDir}/raw/partial`;

/**
 * Where a run's files go: --out when given; else a run of some scenarios
 * (--only) to PARTIAL_DIR and a guest's full run to results/guest-<kernel>,
 * never over results/ (the host's last full run, which the site shows);
 * undefined for writeResults' default (results/, or raw/quick for --quick).
 */
function outputDir(
  values: { out?: string | undefined; only?: string | undefined },
  quick: boolean,
  vmKernel?: string,
): string | undefined {
  if (values.out !== undefined) return values.out;
  if (values.only !== undefined && !quick) return PARTIAL_DIR;
  return vmKernel === undefined || quick ? undefined : `${resultsDir}/guest-${vmKernel}`;
}

function usage(): string {
  return [
    "usage: pnpm bench [--quick] [--only <scenario>[,<scenario>...]] [--reps <n>] [--vm <kernel>]",
    "       pnpm bench --render-only <dir>/latest.json   (rewrite that run's Markdown and charts)",
    `scenarios: ${Object.keys(SCENARIOS).join(", ")}`,
    "--quick: small sizes and 3 repetitions, results in bench/results/raw/quick/ (a smoke test)",
    "--out <dir>: write the run's JSON, Markdown and charts there instead",
    "    (else a run with --only goes to bench/results/raw/partial/, a guest's full run to",
    "    bench/results/guest-<kernel>/: results/ is the host's last full run)",
    "--map-sizes <n>[,<n>...]: entries of the dumped maps (default 10000,100000,1000000; the largest is map-decode's)",
    "--vm <kernel>: run inside a test-vm guest booting that kernel of test-vm/kernels.json",
    "    (QEMU; TCG without KVM: slow, and the results say so); the results come back here.",
    "    --vm-memory <MiB> (default 3072), --vm-cpus <n> (default 2), --vm-timeout <s> (default 7200)",
    "Needs root (BPF programs, bpffs pins; QEMU and test-vm's kernel cache for --vm).",
  ].join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      reps: { type: "string" },
      "map-sizes": { type: "string" },
      "render-only": { type: "string" },
      out: { type: "string" },
      vm: { type: "string" },
      "vm-memory": { type: "string" },
      "vm-cpus": { type: "string" },
      "vm-timeout": { type: "string" },
      // Set by --vm for the suite inside the guest: see vm.ts.
      "vm-guest": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const renderOnly = values["render-only"];
  if (renderOnly !== undefined) {
    // Rewrites the Markdown and charts of an earlier run (after a change to the report code).
    const run = JSON.parse(readFileSync(renderOnly, "utf8")) as RunResult;
    run.goals = evaluateGoals(run.groups, run.machine.cores);
    const files = writeResults(run, dirname(renderOnly));
    console.log(`rewrote ${files.length} files in ${dirname(renderOnly)}`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    console.error(`bench: must run as root (loads BPF programs, pins maps)\n${usage()}`);
    return 2;
  }
  const quick = values.quick === true;
  const reps = values.reps !== undefined ? Number(values.reps) : quick ? 3 : 7;
  if (!Number.isInteger(reps) || reps < 1) {
    console.error(`bench: --reps must be a positive integer, got ${values.reps}`);
    return 2;
  }
  // tasks-threads is a part of tasks-scale, for --only: a full run measures its groups once.
  const only =
    values.only?.split(",").map((s) => s.trim()) ??
    Object.keys(SCENARIOS).filter((s) => s !== "tasks-threads");
  const unknown = only.filter((s) => !(s in SCENARIOS));
  if (unknown.length > 0) {
    console.error(`bench: unknown scenario ${unknown.join(", ")}\n${usage()}`);
    return 2;
  }

  const mapSizes = parseMapSizes(values["map-sizes"], quick);
  if (typeof mapSizes === "string") {
    console.error(`bench: ${mapSizes}\n${usage()}`);
    return 2;
  }

  const vmKernel = values.vm;
  if (vmKernel !== undefined) {
    return runBenchInVm(vmKernel, values, quick, reps, only);
  }
  const guest = values["vm-guest"] === true;
  const guestOut = process.env.TS_EBPF_VM_OUT;
  if (guest && guestOut === undefined) {
    console.error("bench: --vm-guest is for the suite inside a test-vm guest (--out not shared)");
    return 2;
  }
  const vmInfo = guest ? readVmInfo(guestOut!) : undefined;

  const progress = new Progress(process.stderr, { statusLines: guest });
  if (guest) {
    progress.heading(`in a QEMU ${vmInfo!.accel.toUpperCase()} guest, kernel ${release()}`);
    checkCompiled();
  } else {
    progress.heading("compiling the C references (gcc)");
    await compileC();
  }
  const mapElem = probeMapElem();
  if (mapElem.note) progress.note(mapElem.note);
  const ctx: Context = {
    quick,
    reps,
    progress,
    ts: loadTsApi(),
    mapSizes,
    extraProcesses: quick ? 200 : 3_000,
    queryProcesses: quick ? 1_000 : 10_000,
    chunkSizes: quick
      ? [4 * KIB, 64 * KIB, 1024 * KIB]
      : [4, 16, 64, 256, 1024].map((k) => k * KIB),
    lookupCalls: quick ? 20_000 : 300_000,
    dslInstructions: quick ? 10_000 : 100_000,
    maps: new Map(),
    ...(mapElem.unavailable !== undefined ? { mapElemUnavailable: mapElem.unavailable } : {}),
  };
  const startedAt = new Date().toISOString();
  const groups: GroupResult[] = [];
  let failures = 0;
  for (const name of only) {
    try {
      groups.push(...(await SCENARIOS[name]!(ctx)));
    } catch (e) {
      failures++;
      progress.note(`scenario ${name} FAILED: ${(e as Error).stack ?? e}`);
    }
  }
  for (const m of ctx.maps.values()) m.remove();
  const machine = machineInfo(vmInfo);
  const commit = guest ? undefined : gitCommit(benchRoot);
  const run: RunResult = {
    suite: "ts-ebpf bench",
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    quick,
    repetitions: reps,
    ...(commit ? { commit } : {}),
    machine,
    groups,
    goals: evaluateGoals(groups, machine.cores),
  };
  const failedVariants = groups.flatMap((g) => g.variants).filter((v) => v.status === "failed");
  const code = failures > 0 || failedVariants.length > 0 ? 1 : 0;
  if (guest) {
    // The host writes the results (with its commit) and prints the tables.
    writeFileSync(`${guestOut}/${VM_RUN_FILE}`, `${JSON.stringify(run)}\n`);
    progress.heading(`run finished; results go back to the host`);
    return code;
  }
  // results/ holds a full run's files (the site shows them): a run of some scenarios
  // goes to --out, else to results/raw/partial/ (not committed), never over them.
  const out = outputDir(values, quick);
  const files = out === undefined ? writeResults(run) : writeResults(run, out);
  process.stdout.write(
    `\n${terminalReport(run)}\nwrote ${files.length} files to ${files[0]?.replace(/\/[^/]*$/, "")}\n`,
  );
  return code;
}

/** --vm: compiles the C references here, runs the suite in the guest, writes its results here. */
async function runBenchInVm(
  kernel: string,
  values: Record<string, string | boolean | undefined>,
  quick: boolean,
  reps: number,
  only: string[],
): Promise<number> {
  const num = (name: string, dflt: number): number => {
    const v = values[name];
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const memoryMiB = num("vm-memory", 3072);
  const cpus = num("vm-cpus", 2);
  const timeoutSeconds = num("vm-timeout", 7200);
  const progress = new Progress();
  progress.heading("compiling the C references (gcc, on the host: the guest has none)");
  await compileC();
  const benchArgs = [
    ...(quick ? ["--quick"] : []),
    "--only",
    only.join(","),
    "--reps",
    String(reps),
    ...(typeof values["map-sizes"] === "string" ? ["--map-sizes", values["map-sizes"]] : []),
  ];
  // The commit measured: taken before booting, as files may change during a long run.
  const commit = gitCommit(benchRoot);
  progress.heading(`running the suite in a test-vm guest (kernel ${kernel}) via ${testVmCli}`);
  const t0 = Date.now();
  const { code, run } = await runInVm({ kernel, benchArgs, memoryMiB, cpus, timeoutSeconds });
  const took = `${((Date.now() - t0) / 60_000).toFixed(1)} min`;
  if (!run) {
    console.error(`bench: the guest returned no results (exit ${code}) after ${took}`);
    return code === 0 ? 1 : code;
  }
  if (commit) run.commit = commit;
  run.goals = evaluateGoals(run.groups, run.machine.cores);
  const files = writeResults(run, outputDir(values, quick, kernel));
  process.stdout.write(
    `\n${terminalReport(run)}\nwrote ${files.length} files to ${files[0]?.replace(/\/[^/]*$/, "")} (the guest's run took ${took} with boot)\n`,
  );
  return code;
}

/** --map-sizes as ascending entry counts (1 to 10,000,000), or what is wrong with it. */
function parseMapSizes(arg: string | undefined, quick: boolean): number[] | string {
  if (arg === undefined) return quick ? [1_000, 10_000] : [10_000, 100_000, 1_000_000];
  const sizes = arg.split(",").map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000_000)) {
    return `--map-sizes must be entry counts from 1 to 10,000,000, got ${arg}`;
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
