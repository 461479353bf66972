// The bin with the launcher's V8 code cache (cli/launch.ts): a built-in's
// run writes it, the next run compiles from it (and leaves it as it is), and
// a damaged file or one of another owner changes nothing in what is printed:
// it is ignored and replaced.
import { spawn, spawnSync } from "node:child_process";
import {
  chownSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";

const cli = fileURLToPath(new URL("../bin/bpf-iter.js", import.meta.url));
const bundled = readFileSync(new URL("../dist/cli/start.js", import.meta.url), "utf8").startsWith(
  "// bpf-iter CLI bundle",
);

describeKernel("bpf-iter's code cache", () => {
  let dir: string;
  let cacheDir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ts-ebpf-cli-code-cache-"));
    cacheDir = join(dir, "cache");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => {
    const { NODE_DISABLE_COMPILE_CACHE, TS_EBPF_CACHE, ...env } = process.env;
    return spawnSync(process.execPath, [cli, ...args], {
      encoding: "utf8",
      maxBuffer: 256 << 20,
      env: { ...env, TS_EBPF_CACHE_DIR: cacheDir },
    });
  };
  const codeFiles = () => readdirSync(join(cacheDir, "code-cache"));
  /** This process as `tasks --json` shows it. */
  const self = (stdout: string) =>
    stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { pid: number; tgid: number; ppid: number })
      .find((t) => t.pid === process.pid);

  it.runIf(bundled)("is written by a built-in's run and used by the next one", () => {
    const first = run("tasks", "--json");
    expect(first.status, first.stderr).toBe(0);
    expect(codeFiles()).toHaveLength(1);
    const file = join(cacheDir, "code-cache", codeFiles()[0]!);
    const written = statSync(file);
    const second = run("tasks", "--json");
    expect(second.status, second.stderr).toBe(0);
    expect(self(second.stdout)).toMatchObject({ pid: process.pid, ppid: process.ppid });
    // Accepted: not written again (a rejected or unread cache is replaced after the run).
    expect(statSync(file).ino).toBe(written.ino);
    expect(statSync(file).mtimeMs).toBe(written.mtimeMs);
    const table = run("tasks");
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^\s*TGID\s+PID\s+PPID\s+UID\s+THR\s+COMM$/);
  });

  it.runIf(bundled)("ignores a damaged file and replaces it", () => {
    const file = join(cacheDir, "code-cache", codeFiles()[0]!);
    const good = readFileSync(file);
    const damaged = Buffer.from(good);
    // Bytes in the middle of V8's data: only the launcher's checksum sees them.
    for (let i = 0; i < 64; i++) damaged[(good.length >> 1) + i]! ^= 0x5a;
    writeFileSync(file, damaged);
    const r = run("tasks", "--json");
    expect(r.status, r.stderr).toBe(0);
    expect(self(r.stdout)).toMatchObject({ pid: process.pid, ppid: process.ppid });
    expect(readFileSync(file).equals(damaged)).toBe(false);
    expect(codeFiles()).toHaveLength(1);
  });

  it.runIf(bundled && process.geteuid?.() === 0)(
    "ignores a file of another owner and replaces it",
    () => {
      const file = join(cacheDir, "code-cache", codeFiles()[0]!);
      chownSync(file, 65534, 65534);
      const r = run("tasks", "--json");
      expect(r.status, r.stderr).toBe(0);
      expect(self(r.stdout)).toMatchObject({ pid: process.pid, ppid: process.ppid });
      expect(statSync(file).uid).toBe(0);
    },
  );

  it("writes nothing where the command is not a built-in's, or with TS_EBPF_CACHE=0", () => {
    rmSync(cacheDir, { recursive: true, force: true });
    const help = run("--help");
    expect(help.status, help.stderr).toBe(0);
    const off = spawnSync(process.execPath, [cli, "tasks"], {
      encoding: "utf8",
      maxBuffer: 256 << 20,
      env: { ...process.env, TS_EBPF_CACHE_DIR: cacheDir, TS_EBPF_CACHE: "0" },
    });
    expect(off.status, off.stderr).toBe(0);
    expect(() => codeFiles()).toThrow(/ENOENT/);
  });

  it.runIf(bundled)(
    "is written by a run that a closed pipe ends (bpf-iter tasks | head)",
    async () => {
      const own = join(dir, "pipe-cache");
      const { NODE_DISABLE_COMPILE_CACHE, TS_EBPF_CACHE, ...env } = process.env;
      const child = spawn(process.execPath, [cli, "tasks", "--json"], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...env, TS_EBPF_CACHE_DIR: own },
      });
      // Closed before the child (~100 ms to start) writes: its first write is an EPIPE.
      child.stdout.destroy();
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      expect(code).toBe(0);
      expect(readdirSync(join(own, "code-cache"))).toHaveLength(1);
    },
  );
});
