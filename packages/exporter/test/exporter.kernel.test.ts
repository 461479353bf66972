// The exporter against the running kernel: the task program's records
// against /proc for processes this test starts, and a scrape that finds them.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { createIterator, supportedTargets } from "@ts-ebpf/iter";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Exporter, groupBy, ProcessDecoder, processProgram } from "../src/index.js";
import { checkExposition, seriesValue } from "./helpers.js";

/** Field `n` (1-based, after the comm) of /proc/<pid>/stat. */
function procStat(pid: number, n: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[n - 3]);
}

function status(pid: number, key: string): string {
  const m = new RegExp(`^${key}:\\s*(.*)$`, "m").exec(
    readFileSync(`/proc/${pid}/status`, "latin1"),
  );
  return m?.[1] ?? "";
}

const CLK_TCK = 100;

async function readProcesses(options: { exe?: boolean; maxFdWords?: number } = {}) {
  const program = processProgram(loadKernelBtf(), options);
  using link = createIterator(program.spec, "task");
  const reader = link.open();
  try {
    return new ProcessDecoder(program.layout).decode(await reader.readAll());
  } finally {
    reader.close();
  }
}

describeKernel("the exporter's task program", () => {
  let dir: string;
  let child: ChildProcess;
  const comm = `expt${process.pid}`.slice(0, 15);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "exporter-"));
    // A node child with a comm of its own (process.title sets it) and three pipes open.
    child = spawn(
      process.execPath,
      ["-e", `process.title = ${JSON.stringify(comm)}; setInterval(() => {}, 1e9);`],
      { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe", "pipe"] },
    );
    for (let i = 0; i < 200; i++) {
      try {
        if (readFileSync(`/proc/${child.pid}/comm`, "latin1").trim() === comm) break;
      } catch {
        // not there yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(() => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads what /proc shows of a process: comm, uid, threads, fds, RSS, start time, state", async () => {
    const ps = await readProcesses({ exe: true });
    const pid = child.pid!;
    const p = ps.get(pid)!;
    expect(p).toBeDefined();
    expect(p.comm).toBe(comm);
    expect(p.exe).toBe(basename(realpathSync(process.execPath)));
    expect(p.uid).toBe(process.getuid!());
    expect(["S", "R"]).toContain(p.state);
    expect(Math.abs(p.threads - Number(status(pid, "Threads")))).toBeLessThanOrEqual(1);
    expect(p.kernelThread).toBe(false);
    // stdin/out/err, the three pipes, node's own.
    expect(Math.abs(p.fds - readdirSync(`/proc/${pid}/fd`).length)).toBeLessThanOrEqual(1);
    expect(p.fds).toBeGreaterThanOrEqual(6);
    const rssKb = Number(status(pid, "VmRSS").split(" ")[0]);
    expect(Math.abs((p.rssPages * 4096) / 1024 - rssKb)).toBeLessThanOrEqual(rssKb * 0.1 + 8);
    // starttime in clock ticks since boot.
    expect(Math.floor(p.startTime / (1e9 / CLK_TCK))).toBe(procStat(pid, 22));
  });

  it("sums the threads of a process and counts its fds once", async () => {
    const ticks = procStat(process.pid, 14) + procStat(process.pid, 15);
    const ps = await readProcesses();
    const me = ps.get(process.pid)!;
    expect(me.comm).toBe(readFileSync("/proc/self/comm", "latin1").trim());
    const threads = Number(status(process.pid, "Threads"));
    expect(Math.abs(me.threads - threads)).toBeLessThanOrEqual(2);
    const fds = readdirSync("/proc/self/fd").length;
    expect(Math.abs(me.fds - fds)).toBeLessThanOrEqual(3);
    // CPU: at least what /proc showed before the read, in ticks.
    expect(me.runtime / (1e9 / CLK_TCK)).toBeGreaterThanOrEqual(ticks - 2);
    expect(me.utime + me.stime).toBe(me.runtime);
    const kthreadd = ps.get(2);
    if (kthreadd) {
      expect(kthreadd.kernelThread).toBe(true);
      expect(kthreadd.fds).toBe(0);
      expect(kthreadd.rssPages).toBe(0);
    }
  });

  it("flags an fd table larger than it counts", async () => {
    // One word (64 fds) counted; this process has more fds than that open once we open them.
    const extra: number[] = [];
    const { openSync, closeSync } = await import("node:fs");
    try {
      for (let i = 0; i < 80; i++) extra.push(openSync("/dev/null", "r"));
      const me = (await readProcesses({ maxFdWords: 1 })).get(process.pid)!;
      expect(me.fdsTruncated).toBe(true);
      expect(me.fds).toBeLessThanOrEqual(64);
      const whole = (await readProcesses()).get(process.pid)!;
      expect(whole.fdsTruncated).toBe(false);
      expect(whole.fds).toBeGreaterThanOrEqual(80);
    } finally {
      for (const fd of extra) closeSync(fd);
    }
  });
});

describeKernel("the task program's fd count", () => {
  // Children holding about 100 and 900 open fds: fd tables of at least 128
  // bits (a child keeps its parent's table size) and of 1,024 (16 words), read
  // in blocks of words; the word limits below leave every remainder.
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    for (const n of [100, 900]) {
      const child = spawn(
        process.execPath,
        [
          "-e",
          `const fs = require("node:fs"); for (let i = 0; i < ${n}; i++) fs.openSync("/dev/null", "r"); ` +
            `process.stdout.write("ready\\n"); setInterval(() => {}, 1e9);`,
        ],
        { stdio: ["ignore", "pipe", "ignore"] },
      );
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`fd holder exited with ${code}`)));
      });
    }
  });
  afterAll(() => {
    for (const child of children) child.kill("SIGKILL");
  });

  it("counts exactly the open fds below 64 × the words counted, for any word limit", async () => {
    for (const maxFdWords of [undefined, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16]) {
      const ps = await readProcesses(maxFdWords === undefined ? {} : { maxFdWords });
      for (const child of children) {
        const pid = child.pid!;
        const tableWords = Number(status(pid, "FDSize")) / 64;
        const counted = Math.min(tableWords, maxFdWords ?? tableWords);
        const open = readdirSync(`/proc/${pid}/fd`).map(Number);
        const p = ps.get(pid)!;
        expect({ pid, maxFdWords, fds: p.fds, truncated: p.fdsTruncated }).toEqual({
          pid,
          maxFdWords,
          fds: open.filter((fd) => fd < counted * 64).length,
          truncated: tableWords > counted,
        });
      }
    }
    // The larger table is the size meant: 16 words, four blocks.
    expect(Number(status(children[1]!.pid!, "FDSize"))).toBe(1024);
  });
});

describeKernel("Exporter on the kernel", () => {
  let server: Server;
  let port = 0;
  let exporter: Exporter;
  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
    exporter = new Exporter({ grouping: groupBy("comm") });
  });
  afterAll(() => {
    server?.close();
    exporter?.close();
  });

  it("finds this test's process group and its listening socket", async () => {
    const { body } = await exporter.scrape();
    checkExposition(body, "prometheus");
    const comm = readFileSync("/proc/self/comm", "latin1").trim();
    expect(
      seriesValue(body, `bpf_iter_group_processes{groupname="${comm}"}`),
    ).toBeGreaterThanOrEqual(1);
    expect(seriesValue(body, `bpf_iter_tcp_listeners{family="inet",port="${port}"}`)).toBe(1);
    for (const c of ["processes", "sockets", "bpf"]) {
      expect(seriesValue(body, `bpf_iter_scrape_collector_success{collector="${c}"}`)).toBe(1);
    }
    // The exporter's own program is among the BPF programs it lists.
    expect(body).toMatch(
      /^bpf_iter_bpf_program_info\{id="\d+",name="bpf_iter_procs",type="tracing"/m,
    );
    const om = await exporter.scrape("openmetrics");
    checkExposition(om.body, "openmetrics");
  });

  const cgroupIterator = (() => {
    try {
      return supportedTargets().some((t) => t.name === "cgroup");
    } catch {
      return false; // no kernel BTF: the suite skips anyway
    }
  })();
  it.skipIf(!cgroupIterator)(
    "groups by the cgroup v2 path /proc/self/cgroup shows [6.1+]",
    async () => {
      const line = readFileSync("/proc/self/cgroup", "latin1")
        .split("\n")
        .find((l) => l.startsWith("0::"));
      const path = line?.slice(3) ?? "/";
      using byCgroup = new Exporter({ grouping: groupBy("cgroup"), collectors: ["processes"] });
      const { body } = await byCgroup.scrape();
      expect(
        seriesValue(body, `bpf_iter_group_processes{groupname="${path}"}`),
      ).toBeGreaterThanOrEqual(1);
      expect(body).not.toMatch(/groupname="cgroup:/);
    },
  );

  it.skipIf(cgroupIterator)(
    "groups by cgroup id where the kernel has no cgroup iterator [before 6.1]",
    async () => {
      using byCgroup = new Exporter({ grouping: groupBy("cgroup"), collectors: ["processes"] });
      const { body } = await byCgroup.scrape();
      expect(seriesValue(body, 'bpf_iter_scrape_collector_success{collector="processes"}')).toBe(1);
      expect(body).toMatch(/groupname="cgroup:\d+"/);
    },
  );

  it("its CPU counters never go back between scrapes", async () => {
    const read = async () =>
      (await exporter.scrape()).body
        .split("\n")
        .filter((l) => l.startsWith("bpf_iter_group_cpu_seconds_total{"))
        .map(
          (l) => [l.slice(0, l.lastIndexOf(" ")), Number(l.slice(l.lastIndexOf(" ") + 1))] as const,
        );
    const before = new Map(await read());
    // Work and short-lived processes in between.
    const kids = Array.from({ length: 5 }, () => spawn("/bin/true"));
    await Promise.all(kids.map((k) => new Promise((r) => k.on("close", r))));
    const after = new Map(await read());
    for (const [series, value] of before) {
      expect(after.get(series), series).toBeGreaterThanOrEqual(value);
    }
  });
});
