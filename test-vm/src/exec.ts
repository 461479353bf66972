// Running host tools with errors that name the command and its output.
import { spawnSync } from "node:child_process";

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: Buffer } = {},
): string {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    input: opts.input,
    encoding: "buffer",
    maxBuffer: 1 << 30,
  });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) {
    const err = r.stderr.toString().trim().split("\n").slice(-5).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}: ${err}`);
  }
  return r.stdout.toString();
}

export function runBuffer(cmd: string, args: string[]): Buffer {
  const r = spawnSync(cmd, args, { encoding: "buffer", maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited with ${r.status}: ${r.stderr.toString().trim()}`,
    );
  }
  return r.stdout;
}
