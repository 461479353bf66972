import { execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeKernel, skipWithoutTool } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { builtinLayout, closeBuiltins, openPinned } from "../src/index.js";
import { lacksLinkParam, mapElem, procComm, procPids, startSleepers, tinyHash } from "./helpers.js";

const cli = fileURLToPath(new URL("../bin/bpf-iter.js", import.meta.url));
const run = (...args: string[]) =>
  // Task records of a busy machine run to megabytes of JSON: more than the default 1 MiB.
  spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", maxBuffer: 256 << 20 });

afterAll(() => closeBuiltins());

function hasBpftool(): boolean {
  return spawnSync("bpftool", ["version"]).status === 0;
}

describeKernel("bpf-iter CLI", () => {
  let sleepers: Awaited<ReturnType<typeof startSleepers>>;
  beforeAll(async () => {
    sleepers = await startSleepers(3);
  });
  afterAll(() => sleepers.stop());

  it("tasks --json prints every process /proc lists, with pid, tgid and comm", () => {
    const before = procPids();
    const commBefore = new Map([...before].map((p) => [p, safeComm(p)]));
    const r = run("tasks", "--json");
    const after = procPids();
    expect(r.status).toBe(0);
    const tasks = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { pid: number; tgid: number; comm: string });
    const leaders = new Map(tasks.filter((t) => t.pid === t.tgid).map((t) => [t.pid, t]));
    let compared = 0;
    for (const pid of before) {
      if (!after.has(pid)) continue;
      expect(leaders.has(pid), `pid ${pid} missing`).toBe(true);
      const comm = commBefore.get(pid);
      if (comm !== undefined && comm === safeComm(pid)) {
        // /proc shows kernel threads' full names ("rcu_exp_par_gp_kthread_worker/0",
        // "kworker/0:0H-kblockd"); task->comm holds up to 15 bytes of them.
        const ours = leaders.get(pid)!.comm;
        const truncated =
          comm.length > ours.length &&
          comm.startsWith(ours) &&
          (ours.length === 15 || ours.startsWith("kworker/"));
        if (!truncated) expect(ours).toBe(comm);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(3);
    for (const pid of sleepers.pids)
      expect(leaders.get(pid)).toMatchObject({ pid, tgid: pid, comm: "sleep" });
    // threads carry their process's tgid
    for (const t of tasks)
      if (t.pid !== t.tgid) expect(leaders.has(t.tgid) || !after.has(t.tgid)).toBe(true);
  });

  it("tasks --pid prints an aligned table of one process", (ctx) => {
    const why = lacksLinkParam("task"); // --pid is a task link parameter (the 5.10 guest: exit 1)
    if (why) return ctx.skip(why);
    const r = run("tasks", "--pid", String(sleepers.pids[0]));
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^\s*TGID\s+PID\s+PPID\s+UID\s+THR\s+COMM$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      new RegExp(
        `^\\s*${sleepers.pids[0]}\\s+${sleepers.pids[0]}\\s+${process.pid}\\s+0\\s+1\\s+sleep$`,
      ),
    );
    expect(lines[0]!.indexOf("COMM")).toBe(lines[1]!.indexOf("sleep"));
    expect(lines[0]!.indexOf("PPID") + 4).toBe(
      lines[1]!.indexOf(` ${process.pid}`) + 1 + String(process.pid).length,
    );
  });

  it("tasks (its table read by a program of the columns' fields alone) agrees with --json", () => {
    const table = run("tasks");
    const json = run("tasks", "--json");
    expect(table.status, table.stderr).toBe(0);
    expect(json.status, json.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^\s*TGID\s+PID\s+PPID\s+UID\s+THR\s+COMM$/);
    const records = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const pid of sleepers.pids) {
      const record = records.find((t) => t.pid === pid);
      expect(record).toMatchObject({ tgid: pid, ppid: process.pid, threads: 1, comm: "sleep" });
      const row = lines.find((l) => l.trim().split(/\s+/)[1] === String(pid));
      const { tgid, ppid, uid, threads, comm } = record!;
      expect(row?.trim().split(/\s+/)).toEqual([tgid, pid, ppid, uid, threads, comm].map(String));
    }
  });

  it("list names the targets of the running kernel", () => {
    const r = run("list", "--json");
    expect(r.status).toBe(0);
    const targets = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { target: string; builtin: string });
    expect(targets).toContainEqual(expect.objectContaining({ target: "task", builtin: "tasks" }));
    expect(targets).toContainEqual(expect.objectContaining({ target: "bpf_map_elem" }));
  });

  it.skipIf(skipWithoutTool(hasBpftool()))(
    "map <pinned path> reads a map bpftool created and filled, as bpftool dumps it (the iterator, or the map syscalls where the kernel refuses it)",
    () => {
      const path = `/sys/fs/bpf/ts_ebpf_cli_map_${process.pid}`;
      rmSync(path, { force: true });
      execFileSync("bpftool", [
        "map",
        "create",
        path,
        "type",
        "hash",
        "key",
        "4",
        "value",
        "8",
        "entries",
        "64",
        "name",
        "cli_map",
      ]);
      try {
        // One bpftool process for the 20 updates (process starts are slow in QEMU guests).
        const batch = join(mkdtempSync(join(tmpdir(), "bpftool-")), "updates");
        const updates: string[] = [];
        for (let i = 1; i <= 20; i++) {
          const key = [i, 0, 0, 0].join(" ");
          const value = [i * 3, 0, 0, 0, 0, 0, i, 0].join(" ");
          updates.push(`map update pinned ${path} key ${key} value ${value}`);
        }
        writeFileSync(batch, `${updates.join("\n")}\n`);
        execFileSync("bpftool", ["batch", "file", batch]);
        rmSync(dirname(batch), { recursive: true });
        const dump = JSON.parse(
          execFileSync("bpftool", ["-j", "map", "dump", "pinned", path], { encoding: "utf8" }),
        ) as Array<{
          key: string[];
          value: string[];
        }>;
        const hex = (a: string[]) => a.map((b) => b.replace(/^0x/, "").padStart(2, "0")).join("");
        const expected = dump.map((e) => `${hex(e.key)}=${hex(e.value)}`).sort();
        expect(expected).toHaveLength(20);
        const r = run("map", path, "--json");
        expect(r.status).toBe(0);
        const got = r.stdout
          .trim()
          .split("\n")
          .map((l) => {
            const e = JSON.parse(l) as { key: string; value: string };
            return `${e.key}=${e.value}`;
          });
        expect(got.sort()).toEqual(expected);
        // by id too, as a table
        const id = (
          JSON.parse(
            execFileSync("bpftool", ["-j", "map", "show", "pinned", path], { encoding: "utf8" }),
          ) as { id: number }
        ).id;
        const table = run("map", String(id));
        expect(table.status).toBe(0);
        expect(table.stdout.split("\n")[0]).toMatch(/^KEY\s+VALUE$/);
        expect(table.stdout.trim().split("\n")).toHaveLength(21);
      } finally {
        rmSync(path, { force: true });
      }
    },
  );

  it("pin <target> <path> pins a built-in that reads back as typed records", async () => {
    const path = `/sys/fs/bpf/ts_ebpf_cli_pin_${process.pid}`;
    rmSync(path, { force: true });
    try {
      const r = run("pin", "task", path);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/pinned task iterator/);
      const records = await openPinned(path).readRecords(builtinLayout("task"));
      expect(records.some((t) => t.pid === sleepers.pids[0] && t.comm === "sleep")).toBe(true);
      // bpf-iter cat decodes the pinned built-in back into rows
      const cat = run("cat", path, "--json");
      expect(cat.status).toBe(0);
      const rows = cat.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { pid: number; comm: string });
      expect(rows).toContainEqual(
        expect.objectContaining({ pid: sleepers.pids[1], comm: "sleep" }),
      );
      expect(run("cat", path).stdout.split("\n")[0]).toMatch(/^\s*TGID\s+PID/);
    } finally {
      rmSync(path, { force: true });
    }
  });

  it("errors give a message and exit code 1", () => {
    const cases: Array<[string[], RegExp]> = [
      [["bogus"], /unknown command "bogus"/],
      [["map", "4294967295"], /ENOENT/],
      [["maps", "--pid", "3"], /--pid applies to tasks, files and vmas/],
      [["pin", "nosuch", "/sys/fs/bpf/x"], /no built-in iterator for "nosuch"/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr).toMatch(/^bpf-iter: \S/);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
  it("a reader that has closed the pipe ends the run quietly (exit 0), as with other tools", async () => {
    const child = spawn(process.execPath, [cli, "tasks", "--json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Closed before the child (~100 ms to start) writes: its first write is an EPIPE.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("a failed write of the output is an error: message and exit code 1", () => {
    const full = openSync("/dev/full", "w");
    try {
      const r = spawnSync(process.execPath, [cli, "tasks"], {
        stdio: ["ignore", full, "pipe"],
        encoding: "utf8",
      });
      expect(r.stderr).toMatch(/^bpf-iter: writing output: ENOSPC/);
      expect(r.status).toBe(1);
    } finally {
      closeSync(full);
    }
  });

  it.skipIf(mapElem.available)(
    "map <id> where the kernel refuses bpf_map_elem programs: the elements come from the map syscalls",
    () => {
      using map = tinyHash("cli_refused", 8);
      for (let i = 1; i <= 3; i++) map.set(new Uint8Array([i, 0, 0, 0]), new Uint8Array(8).fill(i));
      const r = run("map", String(map.info().id), "--json");
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split("\n").sort()).toEqual(
        [1, 2, 3].map((i) => JSON.stringify({ key: `0${i}000000`, value: `0${i}`.repeat(8) })),
      );
    },
  );
});

function safeComm(pid: number): string | undefined {
  try {
    return procComm(pid);
  } catch {
    return undefined;
  }
}
