// bpf-iter with its program cache: the second run takes the program from the
// cache (no kernel BTF read) and prints the same records; a cache file that
// is not what it claims, down to a program for another target with a forged
// digest, is never run as the built-in's: the CLI compiles from BTF again.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { hash64 } from "../src/builtins/program-cache.js";

const cli = fileURLToPath(new URL("../bin/bpf-iter.js", import.meta.url));

describeKernel("bpf-iter program cache", () => {
  let dir: string;
  let cacheDir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ts-ebpf-cli-cache-"));
    cacheDir = join(dir, "cache");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], {
      encoding: "utf8",
      maxBuffer: 256 << 20,
      env: { ...process.env, TS_EBPF_CACHE_DIR: cacheDir, TS_EBPF_CACHE: "1" },
    });
  /** This process and its parent, as `tasks --json` shows them. */
  const knownTasks = (stdout: string) => {
    const tasks = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { pid: number; tgid: number; ppid: number; comm: string });
    return [process.ppid, process.pid].map((pid) => {
      const t = tasks.find((x) => x.pid === pid);
      return t && { pid: t.pid, tgid: t.tgid, ppid: t.ppid, comm: t.comm };
    });
  };
  /** The program files (the directory also holds the CLI's code-cache/ and, on Node ≥ 22.1, node-compile-cache/). */
  const programFiles = () => readdirSync(cacheDir).filter((f) => f.startsWith("prog-"));
  /** The file of the task built-in's whole program (`tasks --json`'s; the table's has 6 fields, no gid). */
  const cacheFile = () => {
    const whole = programFiles()
      .map((f) => join(cacheDir, f))
      .filter((f) => readFileSync(f, "utf8").includes('\\"name\\":\\"gid\\"'));
    expect(whole).toHaveLength(1);
    return whole[0]!;
  };

  it("stores the program on the first run and prints the same tasks from it after", () => {
    const first = run("tasks", "--json");
    expect(first.status, first.stderr).toBe(0);
    expect(programFiles()).toHaveLength(1);
    const stored = readFileSync(cacheFile(), "utf8");
    const second = run("tasks", "--json");
    expect(second.status, second.stderr).toBe(0);
    const expected = knownTasks(first.stdout);
    expect(expected[0]).toMatchObject({ pid: process.ppid, tgid: process.ppid });
    expect(expected[1]).toMatchObject({ pid: process.pid, tgid: process.pid });
    expect(knownTasks(second.stdout)).toEqual(expected);
    // Used, not rewritten.
    expect(readFileSync(cacheFile(), "utf8")).toBe(stored);
    // The table too, from a program of its own (its columns' fields), cached beside it.
    const table = run("tasks");
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^\s*TGID\s+PID\s+PPID\s+UID\s+THR\s+COMM$/);
    expect(programFiles()).toHaveLength(2);
    expect(readFileSync(cacheFile(), "utf8")).toBe(stored);
  });

  it("never runs a cached program of another target: it compiles again and replaces the file", () => {
    expect(run("tasks", "--json").status).toBe(0);
    const file = JSON.parse(readFileSync(cacheFile(), "utf8"));
    const good = file.payload.attachBtfId as number;
    // The same instructions verified for bpf_iter_task_file: they load, the link would walk files.
    const other = loadKernelBtf().funcId("bpf_iter_task_file");
    expect(other).not.toBe(good);
    file.payload.attachBtfId = other;
    file.digest = hash64(`${file.key}\n${JSON.stringify(file.payload)}`);
    writeFileSync(cacheFile(), JSON.stringify(file));

    const r = run("tasks", "--json");
    expect(r.status, r.stderr).toBe(0);
    const [, self] = knownTasks(r.stdout);
    expect(self).toMatchObject({ pid: process.pid, tgid: process.pid, ppid: process.ppid });
    // Every line a task record (a task_file record has an fd).
    expect(r.stdout.includes('"fd":')).toBe(false);
    expect(JSON.parse(readFileSync(cacheFile(), "utf8")).payload.attachBtfId).toBe(good);
  });

  it("compiles from BTF when the file is damaged, and writes a good one", () => {
    writeFileSync(cacheFile(), "{ not json");
    const r = run("tasks", "--json");
    expect(r.status, r.stderr).toBe(0);
    expect(knownTasks(r.stdout)[1]).toMatchObject({ pid: process.pid, tgid: process.pid });
    expect(() => JSON.parse(readFileSync(cacheFile(), "utf8"))).not.toThrow();
  });
});
