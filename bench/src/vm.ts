// pnpm bench --vm <kernel>: the suite inside a test-vm guest (QEMU booting one
// of test-vm/kernels.json's Debian kernels), for kernels that allow what the
// host's refuses (bpf_map_elem iterator programs). The C references are
// compiled here first: the guest has no gcc, and sees bench/build/c through
// the repository's read-only share. test-vm's --exec runs the suite in the
// guest (its progress streams to this terminal over the guest's console) and
// --out shares a host directory writable in the guest: this side leaves what
// the guest needs to know about its machine there (vm.json), the guest leaves
// the run's JSON (run.json), and the results are written here as usual.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { detectAccel } from "@ts-ebpf/test-vm/qemu";
import type { RunResult, VmInfo } from "./model.js";
import { benchRoot } from "./paths.js";

export const VM_INFO_FILE = "vm.json";
export const VM_RUN_FILE = "run.json";

export const testVmCli = join(benchRoot, "..", "test-vm", "dist", "cli.js");
const mainScript = fileURLToPath(new URL("./main.js", import.meta.url));

/** Quotes `s` for the guest's sh. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The shell command test-vm runs in the guest: this suite, in guest mode, with `benchArgs`. */
export function guestCommand(benchArgs: readonly string[]): string {
  return ["node", "--expose-gc", mainScript, "--vm-guest", ...benchArgs].map(shellQuote).join(" ");
}

export interface VmRunOptions {
  /** kernels.json name, e.g. "6.12". */
  kernel: string;
  /** Arguments for the suite in the guest (--quick, --only, --reps). */
  benchArgs: string[];
  memoryMiB: number;
  cpus: number;
  timeoutSeconds: number;
  accel?: "kvm" | "tcg";
}

export interface VmRunOutcome {
  /** test-vm's exit status: the suite's in the guest, 124 at the timeout. */
  code: number;
  /** The run the guest measured, when it finished one. */
  run?: RunResult;
}

/** Boots the guest, runs the suite there with its output on this terminal, returns its run. */
export async function runInVm(o: VmRunOptions): Promise<VmRunOutcome> {
  if (!existsSync(testVmCli)) {
    throw new Error(`${testVmCli} is missing: build test-vm first (pnpm build)`);
  }
  const accel = o.accel ?? detectAccel();
  const cpus = os.cpus();
  const info: VmInfo = {
    accel,
    kernelName: o.kernel,
    hostCpu: cpus[0]?.model.trim() ?? "unknown CPU",
    hostCores: cpus.length,
    hostKernel: os.release(),
    vcpus: o.cpus,
    memoryMiB: o.memoryMiB,
  };
  const out = mkdtempSync(join(os.tmpdir(), "ts-ebpf-bench-vm-"));
  try {
    writeFileSync(join(out, VM_INFO_FILE), `${JSON.stringify(info)}\n`);
    const args = [
      testVmCli,
      "--kernel",
      o.kernel,
      "--accel",
      accel,
      "--cpus",
      String(o.cpus),
      "--memory",
      String(o.memoryMiB),
      "--timeout",
      String(o.timeoutSeconds),
      "--out",
      out,
      "--exec",
      guestCommand(o.benchArgs),
    ];
    const loads = [os.loadavg()[0]!];
    const sampler = setInterval(() => loads.push(os.loadavg()[0]!), 10_000);
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: "inherit" });
      child.on("error", reject);
      child.on("close", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    }).finally(() => clearInterval(sampler));
    loads.push(os.loadavg()[0]!);
    const runFile = join(out, VM_RUN_FILE);
    if (!existsSync(runFile)) return { code: code === 0 ? 1 : code };
    const run = JSON.parse(readFileSync(runFile, "utf8")) as RunResult;
    if (run.machine.vm) run.machine.vm.hostLoadAverage = hostLoad(loads);
    return { code, run };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Mean and maximum of load-average samples, rounded to 0.01. */
export function hostLoad(samples: readonly number[]): { mean: number; max: number } {
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    mean: r(samples.reduce((a, b) => a + b, 0) / samples.length),
    max: r(Math.max(...samples)),
  };
}

/** In the guest: what the host said about the machine (written by runInVm). */
export function readVmInfo(outDir: string): VmInfo {
  return JSON.parse(readFileSync(join(outDir, VM_INFO_FILE), "utf8")) as VmInfo;
}
