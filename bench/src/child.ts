// Timing a command from spawn to exit: wall time here, CPU time from this
// process's reaped-children counters (what the child and its own children
// used). Used where the reference is another program (ps, ss) or a CLI.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Sampler } from "./measure.js";

/** CPU seconds of this process's reaped children (cutime + cstime of /proc/self/stat; 10 ms ticks). */
export function childCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 16 and 17 of stat(5); index from the state field (3).
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** Runs `cmd args...` (with `env` added to ours) to its exit, stdout discarded; rejects on a non-zero exit. */
export function runToExit(
  cmd: string,
  args: readonly string[],
  env?: Readonly<Record<string, string>>,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["ignore", "ignore", "pipe"],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")}: exit ${code} ${err}`)),
    );
  });
}

/** One run of `cmd args...` per sample (after an untimed warm-up run); items = 1. */
export function commandSampler(
  cmd: string,
  args: readonly string[],
  env?: Readonly<Record<string, string>>,
): () => Promise<Sampler> {
  return async () => {
    await runToExit(cmd, args, env); // warm-up: page cache, the kernel's BTF read once
    return {
      async sample() {
        const c0 = childCpuSeconds();
        const t0 = process.hrtime.bigint();
        await runToExit(cmd, args, env);
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        return { seconds, cpuSeconds: childCpuSeconds() - c0, items: 1 };
      },
    };
  };
}
