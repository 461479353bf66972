// Load generators kept by C helpers (bench/c): extra processes (spawner.c),
// threads (threads.c), open fds (fd_holder.c), loopback TCP connections
// (tcp_pairs.c). Each prints "ready <n>" when its load is up and undoes it
// when its stdin closes, so nothing outlives this process even if it is
// SIGKILLed; each also dies with its parent (PR_SET_PDEATHSIG).
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { onCleanup } from "./cleanup.js";
import { type CProgram, cProgramPath } from "./native.js";

export interface ExtraProcesses extends Disposable {
  readonly count: number;
  stop(): void;
}

/** A running load helper: what it reported, and how to end it. */
export interface Helper extends Disposable {
  /** The number on its "ready" line. */
  readonly count: number;
  /** Its other output lines before "ready" ... e.g. "pid <n>" (fd_holder). */
  readonly lines: readonly string[];
  stop(): void;
}

/**
 * Starts a C load helper and resolves once it prints "ready <n>" (rejects if
 * it exits first, with its stderr). Stopped on dispose, on stop(), and by the
 * suite's cleanup however the run ends.
 */
export function startHelper(name: CProgram, args: readonly (string | number)[]): Promise<Helper> {
  return new Promise((resolve, reject) => {
    const child = spawn(cProgramPath(name), args.map(String), {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let err = "";
    let ready = false;
    const lines: string[] = [];
    child.stderr.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    const stop = onCleanup(() => {
      child.stdin.destroy();
      child.kill("SIGTERM");
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = /^ready (\d+)$/.exec(line);
      if (m && !ready) {
        ready = true;
        resolve({ count: Number(m[1]), lines, stop, [Symbol.dispose]: stop });
      } else {
        lines.push(line);
      }
    });
    child.on("error", (e) => {
      stop();
      reject(new Error(`${name}: ${e.message}`));
    });
    child.on("close", (code) => {
      if (!ready) {
        stop();
        reject(
          new Error(`${name} ${args.join(" ")} exited with ${code} before it was ready: ${err}`),
        );
      }
    });
  });
}

/** `count` extra processes (spawner.c), each sleeping. */
export async function startProcesses(count: number): Promise<ExtraProcesses> {
  const h = await startHelper("spawner", [count]);
  if (h.count !== count) {
    h.stop();
    throw new Error(`spawner made ${h.count} processes, not ${count}`);
  }
  return { count, stop: h.stop, [Symbol.dispose]: h.stop };
}

/**
 * Sets a sysctl (e.g. /proc/sys/kernel/pid_max) to at least `atLeast` until
 * the returned function runs (also run by the suite's cleanup however it
 * ends); nothing to undo when it was already high enough.
 */
export function raiseSysctl(path: string, atLeast: number): () => void {
  const before = readFileSync(path, "utf8").trim();
  if (Number(before) >= atLeast) return () => undefined;
  writeFileSync(path, String(atLeast));
  return onCleanup(() => writeFileSync(path, before));
}

/** The hard RLIMIT_NOFILE of this process (what a child may raise its soft limit to). */
export function hardFdLimit(): number {
  const line = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  const n = line?.[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(line?.[1]);
  return Number.isFinite(n) ? n : 1_048_576;
}
