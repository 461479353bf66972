// spawnSync's result without blocking the event loop: the host's own jobs
// (selftests preparation, the module cache, the kernel-independent files on
// other Node majors, the support column) run beside the guests instead of
// before or after them, so neither host core idles while the other works.
import { spawn } from "node:child_process";

export interface SpawnResult {
  /** Exit code, or null when a signal (or the timeout) ended the process. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the process could not start or outlived `timeoutMs`. */
  error?: Error;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long; the result then has an error. */
  timeoutMs?: number;
  /** Output kept per stream; later output is dropped (a test's log can be large). */
  maxBuffer?: number;
}

export function spawnAsync(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<SpawnResult> {
  const max = options.maxBuffer ?? 64 << 20;
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on("data", (d: Buffer) => {
      if (outBytes < max) out.push(d);
      outBytes += d.length;
    });
    child.stderr.on("data", (d: Buffer) => {
      if (errBytes < max) err.push(d);
      errBytes += d.length;
    });
    let error: Error | undefined;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            error = new Error(`${command} timed out after ${options.timeoutMs} ms`);
            child.kill("SIGKILL");
          }, options.timeoutMs);
    child.on("error", (e) => {
      error ??= e;
    });
    child.on("close", (status, signal) => {
      if (timer) clearTimeout(timer);
      const result: SpawnResult = {
        status,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      };
      if (error) result.error = error;
      resolve(result);
    });
  });
}
