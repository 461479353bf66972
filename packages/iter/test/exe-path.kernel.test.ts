// The executable's full path (exePaths, processes().exe): the program's walk
// up dentries and mounts against readlink(/proc/<pid>/exe) for every process,
// and for processes made to test the walk's edges: an unlinked executable, one
// on a mount only another mount namespace has, and one deeper than the walk.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  unlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeKernel, kernelRequired } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import * as iter from "../src/index.js";

const haveUnshare = spawnSync("sh", ["-c", "command -v unshare"]).status === 0;
const skipMounts = !haveUnshare && !kernelRequired();

/**
 * A program that sleeps, copied so that its path is ours to choose; copies
 * keep the name "sleep" (busybox, the guests' sleep, picks its applet by name).
 */
const SLEEP = [...(process.env.PATH ?? "").split(":"), "/usr/bin", "/bin"]
  .map((d) => join(d, "sleep"))
  .find((p) => existsSync(p))!;
/** Where it really is (/proc shows the target of a symlink, such as busybox's applets). */
const SLEEP_REAL = realpathSync(SLEEP);

const readExe = (pid: number): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined; // gone, or a kernel thread
  }
};
const shown = (e: iter.ExePath) => `${e.path}${e.deleted ? " (deleted)" : ""}`;

/** readlink of every process's exe now. */
const snapshot = () =>
  new Map(
    readdirSync("/proc")
      .filter((n) => /^\d+$/.test(n))
      .map((n) => [Number(n), readExe(Number(n))] as const),
  );

/** The pids whose exe was the same before and after (no exec, no exit in between). */
function steady(before: Map<number, string | undefined>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [pid, exe] of before) if (exe !== undefined && readExe(pid) === exe) out.set(pid, exe);
  return out;
}

afterAll(() => iter.closeQueries());

describeKernel("executable paths", () => {
  const dir = mkdtempSync(join(tmpdir(), "exe-path-"));
  const children: ChildProcess[] = [];
  const spawned = (file: string, args: string[] = ["600"]) => {
    const c = spawn(file, args, { stdio: "ignore" });
    children.push(c);
    return c;
  };

  beforeAll(async () => {
    // Give spawned programs time to exec.
    await new Promise((r) => setTimeout(r, 200));
  });

  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("every process's path is readlink(/proc/<pid>/exe)", async () => {
    const before = snapshot();
    const list = await iter.exePaths();
    const want = steady(before);
    const byPid = new Map(list.map((e) => [e.pid, e]));
    for (const [pid, exe] of want) {
      const e = byPid.get(pid);
      expect(e && shown(e), `pid ${pid}`).toBe(exe);
      expect(e!.truncated).toBe(false);
    }
    expect(want.size).toBeGreaterThan(1); // a guest runs only a few processes
    expect(byPid.get(process.pid)?.path).toBe(readExe(process.pid));
    // Kernel threads have no executable and no record.
    expect(byPid.has(2)).toBe(false);
  });

  it("an unlinked executable is its old path, marked deleted as /proc shows it", async () => {
    mkdirSync(join(dir, "gone"));
    const file = join(dir, "gone", "sleep");
    copyFileSync(SLEEP, file);
    spawnSync("chmod", ["755", file]);
    const c = spawned(file);
    await new Promise((r) => setTimeout(r, 200));
    unlinkSync(file);
    const e = (await iter.exePaths()).find((x) => x.pid === c.pid);
    expect(e).toEqual({
      pid: c.pid,
      startTimeNs: expect.any(BigInt),
      path: file,
      deleted: true,
      truncated: false,
    });
    expect(e?.startTimeNs).toBeGreaterThan(0n);
    expect(readExe(c.pid!)).toBe(`${file} (deleted)`);
  });

  it.skipIf(skipMounts)(
    "an executable on a mount only another mount namespace has: the walk crosses to the mountpoint",
    async () => {
      const mnt = join(dir, "mnt");
      mkdirSync(mnt);
      const c = spawn(
        "unshare",
        [
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          `mount -t tmpfs none '${mnt}' && cp '${SLEEP}' '${mnt}/sleep' && exec '${mnt}/sleep' 600`,
        ],
        { stdio: "ignore" },
      );
      children.push(c);
      let e: iter.ExePath | undefined;
      for (let i = 0; i < 50 && e?.path !== `${mnt}/sleep`; i++) {
        await new Promise((r) => setTimeout(r, 100));
        e = (await iter.exePaths()).find((x) => x.pid === c.pid);
      }
      expect(e).toEqual({
        pid: c.pid,
        startTimeNs: expect.any(BigInt),
        path: `${mnt}/sleep`,
        deleted: false,
        truncated: false,
      });
      expect(readExe(c.pid!)).toBe(`${mnt}/sleep`);
    },
  );

  it("a path deeper than the walk gives its tail, marked truncated", async () => {
    let deep = dir;
    for (let i = 0; i < iter.MAX_EXE_DEPTH + 4; i++) deep = join(deep, `d${i}`);
    mkdirSync(deep, { recursive: true });
    const file = join(deep, "sleep");
    copyFileSync(SLEEP, file);
    spawnSync("chmod", ["755", file]);
    const c = spawned(file);
    await new Promise((r) => setTimeout(r, 200));
    const e = (await iter.exePaths()).find((x) => x.pid === c.pid)!;
    expect(e.truncated).toBe(true);
    expect(e.path.split("/")).toHaveLength(iter.MAX_EXE_DEPTH);
    expect(readExe(c.pid!)!.endsWith(`/${e.path}`)).toBe(true);
    // processes() shows the tail too (what the walk could give).
    const p = (await iter.processes({ where: `pid == ${c.pid}` }))[0]!;
    expect(p.exe).toBe(e.path);
  });

  it("processes().exe is readlink(/proc/<pid>/exe) for processes alive throughout", async () => {
    const c = spawned(SLEEP);
    await new Promise((r) => setTimeout(r, 200));
    const before = snapshot();
    const ps = await iter.processes();
    const want = steady(before);
    const byPid = new Map(ps.map((p) => [p.pid, p]));
    for (const [pid, exe] of want) {
      // Deeper than the walk: the tail (the test above).
      if (exe.split("/").length - 1 > iter.MAX_EXE_DEPTH) continue;
      expect(byPid.get(pid)?.exe, `pid ${pid}`).toBe(exe);
    }
    expect(want.size).toBeGreaterThan(1); // a guest runs only a few processes
    expect(byPid.get(c.pid!)?.exe).toBe(SLEEP_REAL);
  });

  it("decodeExePaths reads whole records only", () => {
    const header = (pid: number, start: bigint) => {
      const h = Buffer.alloc(16);
      h.writeUInt32LE(pid, 0);
      h.writeBigUInt64LE(start, 8);
      return h;
    };
    const rec = Buffer.concat([
      header(7, 5n),
      Buffer.from("node\0bin\0usr\0\0", "latin1"),
      Buffer.from([0]),
      header(8, 2n ** 63n),
      Buffer.from("x\0\0", "latin1"),
      Buffer.from([3]),
    ]);
    expect(iter.decodeExePaths(rec)).toEqual([
      { pid: 7, startTimeNs: 5n, path: "/usr/bin/node", deleted: false, truncated: false },
      { pid: 8, startTimeNs: 2n ** 63n, path: "x", deleted: true, truncated: true },
    ]);
    expect(iter.decodeExePaths(rec.subarray(0, rec.length - 1))).toHaveLength(1);
    expect(() => iter.exePathSpec(undefined, 0)).toThrow(RangeError);
  });
});
