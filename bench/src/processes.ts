// Extra processes for the task-listing scenario, kept by the C spawner
// (bench/c/spawner.c). It kills its children when its stdin closes, so they
// cannot outlive this process even if it is SIGKILLed.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { onCleanup } from "./cleanup.js";
import { cProgramPath } from "./native.js";

export interface ExtraProcesses extends Disposable {
  readonly count: number;
  stop(): void;
}

export function startProcesses(count: number): Promise<ExtraProcesses> {
  return new Promise((resolve, reject) => {
    const child = spawn(cProgramPath("spawner"), [String(count)], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let err = "";
    let ready = false;
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const stop = onCleanup(() => {
      child.stdin.destroy();
      child.kill("SIGTERM");
    });
    const handle: ExtraProcesses = {
      count,
      stop,
      [Symbol.dispose]: stop,
    };
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line === `ready ${count}`) {
        ready = true;
        resolve(handle);
      }
    });
    child.on("error", (e) => {
      stop();
      reject(new Error(`spawner: ${e.message}`));
    });
    child.on("close", (code) => {
      if (!ready) {
        stop();
        reject(new Error(`spawner exited with ${code} before ${count} processes were up: ${err}`));
      }
    });
  });
}
