// The exporter without the kernel: grouping, the record decoder, counters,
// cardinality bounds, partial failures and concurrent scrapes, on data the
// tests make (sources replaced).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  Exporter,
  type ExporterOptions,
  groupBy,
  groupByRules,
  KERNEL_GROUP,
  loadGroupingConfig,
  OTHER_GROUP,
  ProcessDecoder,
  type ProcessRecordLayout,
  type ProcessSample,
  parseListen,
  parseServeArgs,
  type Sources,
  serve,
  stateLetter,
  wantsOpenMetrics,
} from "../src/index.js";
import { checkExposition, sample, seriesValue } from "./helpers.js";

const quiet: ExporterOptions["onError"] = () => {};

/** Sources with fixed data; `processes` returns what `procs` holds at the time of the call. */
function fakeSources(procs: { current: ProcessSample[] }, calls = { n: 0 }): Partial<Sources> {
  return {
    processes: async () => {
      calls.n++;
      return new Map(procs.current.map((p) => [p.tgid, { ...p }]));
    },
    tcp: async () => [
      {
        family: "inet",
        state: 10,
        stateName: "LISTEN",
        localAddress: "127.0.0.1",
        localPort: 8080,
        remoteAddress: "0.0.0.0",
        remotePort: 0,
        uid: 0,
        netns: 0,
      },
      {
        family: "inet6",
        state: 1,
        stateName: "ESTABLISHED",
        localAddress: "::1",
        localPort: 40000,
        remoteAddress: "::1",
        remotePort: 8080,
        uid: 0,
        netns: 0,
      },
    ],
    udp: async () => [],
    bpfProgs: async () => [],
    bpfMaps: async () => [],
    bpfLinks: async () => [],
    cgroups: async () => [],
  };
}

describe("state letters", () => {
  it("follow fs/proc/array.c: R S D T t X Z P I", () => {
    expect(stateLetter(0, 0)).toBe("R");
    expect(stateLetter(1, 0)).toBe("S");
    expect(stateLetter(2, 0)).toBe("D");
    expect(stateLetter(4, 0)).toBe("T");
    expect(stateLetter(8, 0)).toBe("t");
    expect(stateLetter(0, 0x10)).toBe("X");
    expect(stateLetter(0x80, 0x20)).toBe("Z"); // TASK_DEAD with EXIT_ZOMBIE
    expect(stateLetter(0x40, 0)).toBe("P");
    expect(stateLetter(0x402, 0)).toBe("I"); // TASK_IDLE
    expect(stateLetter(0x1000, 0)).toBe("D"); // TASK_RTLOCK_WAIT
  });
});

describe("ProcessDecoder", () => {
  // A layout as processProgram makes it.
  const names = ["startTime", "utime", "stime", "runtime", "rss", "cgroupId"];
  const offsets: Record<string, number> = {};
  names.forEach((n, i) => {
    offsets[n] = i * 8;
  });
  ["tgid", "pid", "uid", "state", "exitState", "flags"].forEach((n, i) => {
    offsets[n] = 48 + i * 4;
  });
  const layout: ProcessRecordLayout = {
    size: 96,
    offsets,
    fds: 72,
    fdsTruncated: 76,
    comm: 80,
    exe: -1,
    missing: [],
  };
  function record(f: Record<string, number | bigint>, comm: string): Buffer {
    const b = Buffer.alloc(layout.size);
    for (const [k, v] of Object.entries(f)) {
      const at = k === "fds" ? layout.fds : offsets[k]!;
      if (names.includes(k)) b.writeBigUInt64LE(BigInt(v), at);
      else b.writeUInt32LE(Number(v), at);
    }
    b.write(comm, layout.comm, "latin1");
    return b;
  }

  it("folds threads into their process and splits CPU as cputime_adjust does", () => {
    const bytes = Buffer.concat([
      record(
        {
          tgid: 10,
          pid: 11,
          runtime: 1000,
          utime: 30,
          stime: 10,
          startTime: 5,
          state: 1,
        },
        "worker",
      ),
      record(
        {
          tgid: 10,
          pid: 10,
          runtime: 4000, // its own and its exited threads', added by the program
          utime: 30,
          stime: 10,
          rss: 5,
          fds: 7,
          startTime: 4,
          state: 0,
          uid: 1000,
        },
        "main",
      ),
      record({ tgid: 20, pid: 20, state: 0x402 }, "idle"),
    ]);
    const decoder = new ProcessDecoder(layout);
    const ps = decoder.decode(bytes);
    expect([...ps.keys()]).toEqual([10, 20]);
    const p = ps.get(10)!;
    expect(p.comm).toBe("main");
    expect(p.threads).toBe(2);
    expect(p.runtime).toBe(5000);
    expect(p.utime + p.stime).toBe(5000);
    expect(p.stime).toBe(1250); // 5000 * 20 / 80
    expect(p.rssPages).toBe(5);
    expect(p.fds).toBe(7);
    expect(p.uid).toBe(1000);
    expect(p.state).toBe("R");
    expect(p.startTime).toBe(4);
    expect(ps.get(20)!.rssPages).toBe(0);
    expect(ps.get(20)!.state).toBe("I");
    // The next read: a process gone is gone, the map is reused.
    const again = decoder.decode(bytes.subarray(0, layout.size * 2));
    expect(again).toBe(ps);
    expect([...again.keys()]).toEqual([10]);
  });

  it("refuses bytes that are not whole records", () => {
    expect(() => new ProcessDecoder(layout).decode(Buffer.alloc(layout.size + 1))).toThrow(
      RangeError,
    );
  });
});

describe("grouping", () => {
  const ctx = { cgroupPath: (id: number) => `/cg${id}`, userName: (uid: number) => `u${uid}` };
  it("by comm, exe, cgroup or user, kernel threads as configured", () => {
    const p = sample({ comm: "nginx", exe: "nginx-bin", uid: 33, cgroupId: 7 });
    const k = sample({ comm: "kworker/0:1", kernelThread: true });
    expect(groupBy("comm").groupOf(p, ctx)).toBe("nginx");
    expect(groupBy("exe").groupOf(p, ctx)).toBe("nginx-bin");
    expect(groupBy("cgroup").groupOf(p, ctx)).toBe("/cg7");
    expect(groupBy("user").groupOf(p, ctx)).toBe("u33");
    expect(groupBy("comm").groupOf(k, ctx)).toBe(KERNEL_GROUP);
    expect(groupBy("comm", "comm").groupOf(k, ctx)).toBe("kworker/0:1");
    expect(groupBy("comm", "skip").groupOf(k, ctx)).toBeUndefined();
    expect(groupBy("exe").needsExe).toBe(true);
    expect(groupBy("comm").needsExe).toBe(false);
    expect(() => groupBy("pid" as never)).toThrow(RangeError);
  });

  it("by process-exporter rules: first match names the group; unmatched processes are left out", () => {
    const g = groupByRules([
      { name: "web:{{.Comm}}:{{.Username}}", comm: ["nginx"] },
      { exe: ["/usr/bin/postgres"] },
    ]);
    expect(g.needsExe).toBe(true);
    expect(g.needsUsers).toBe(true);
    expect(g.groupOf(sample({ comm: "nginx", uid: 33 }), ctx)).toBe("web:nginx:u33");
    expect(g.groupOf(sample({ comm: "postmaster", exe: "postgres" }), ctx)).toBe("postgres");
    expect(g.groupOf(sample({ comm: "bash" }), ctx)).toBeUndefined();
  });

  it("refuses what it cannot honour, naming it", () => {
    expect(() => groupByRules([{ name: "x", cmdline: [".+"] } as never])).toThrow(/cmdline/);
    expect(() => groupByRules([{ name: "{{.Matches.x}}", comm: ["a"] }])).toThrow(/Matches/);
    expect(() => groupByRules([{ name: "x" }])).toThrow(/neither comm nor exe/);
    expect(() => groupByRules([])).toThrow(TypeError);
  });

  it("reads a process-exporter YAML config", () => {
    const dir = mkdtempSync(join(tmpdir(), "exporter-"));
    try {
      const file = join(dir, "config.yml");
      writeFileSync(file, 'process_names:\n  - name: "{{.Comm}}"\n    comm:\n    - sshd\n');
      const g = loadGroupingConfig(file);
      expect(g.groupOf(sample({ comm: "sshd" }), ctx)).toBe("sshd");
      writeFileSync(file, "other: 1\n");
      expect(() => loadGroupingConfig(file)).toThrow(/process_names/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe("Exporter", () => {
  it("renders valid Prometheus text and OpenMetrics", async () => {
    const procs = { current: [sample({ tgid: 1, comm: "a", runtime: 2e9, stime: 5e8 })] };
    using e = new Exporter({ sources: fakeSources(procs) });
    const text = await e.scrape("prometheus");
    expect(text.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    checkExposition(text.body, "prometheus");
    expect(seriesValue(text.body, 'bpf_iter_group_processes{groupname="a"}')).toBe(1);
    expect(
      seriesValue(text.body, 'bpf_iter_group_cpu_seconds_total{groupname="a",mode="user"}'),
    ).toBe(1.5);
    expect(seriesValue(text.body, 'bpf_iter_tcp_listeners{family="inet",port="8080"}')).toBe(1);
    expect(seriesValue(text.body, 'bpf_iter_tcp_sockets{family="inet6",state="ESTABLISHED"}')).toBe(
      1,
    );
    const om = await e.scrape("openmetrics");
    expect(om.contentType).toMatch(/^application\/openmetrics-text/);
    checkExposition(om.body, "openmetrics");
    expect(om.body.endsWith("# EOF\n")).toBe(true);
  });

  it("names counters with _total in Prometheus text after an OpenMetrics scrape too", async () => {
    const procs = { current: [sample({ tgid: 1, comm: "a", runtime: 2e9, stime: 5e8 })] };
    using e = new Exporter({ sources: fakeSources(procs) });
    const om = (await e.scrape("openmetrics")).body;
    // OpenMetrics: the family without the suffix, its samples with it.
    expect(om).toContain("# TYPE bpf_iter_group_cpu_seconds counter\n");
    expect(om).toContain("# TYPE bpf_iter_scrape_errors counter\n");
    expect(om).toContain('bpf_iter_scrape_errors_total{collector="processes"} 0\n');
    const text = (await e.scrape("prometheus")).body;
    checkExposition(text, "prometheus");
    for (const family of ["bpf_iter_group_cpu_seconds_total", "bpf_iter_scrape_errors_total"]) {
      expect(text).toContain(`# TYPE ${family} counter\n`);
    }
    expect(seriesValue(text, 'bpf_iter_group_cpu_seconds_total{groupname="a",mode="user"}')).toBe(
      1.5,
    );
    expect(seriesValue(text, 'bpf_iter_scrape_errors_total{collector="processes"}')).toBe(0);
  });

  it("renders group series as prom-client does: escaped labels, every group and state", async () => {
    const procs = {
      current: [
        sample({ tgid: 1, comm: 'a"b\\c\nd', state: "R", threads: 3, rssPages: 2, fds: 5 }),
        sample({ tgid: 2, comm: "z", state: "Z", startTime: 5e9 }),
      ],
    };
    using e = new Exporter({ sources: fakeSources(procs) });
    const body = (await e.scrape()).body;
    checkExposition(body, "prometheus");
    const a = 'groupname="a\\"b\\\\c\\nd"';
    expect(seriesValue(body, `bpf_iter_group_threads{${a}}`)).toBe(3);
    expect(seriesValue(body, `bpf_iter_group_open_fds{${a}}`)).toBe(5);
    expect(seriesValue(body, `bpf_iter_group_states{${a},state="running"}`)).toBe(1);
    expect(seriesValue(body, `bpf_iter_group_states{${a},state="zombie"}`)).toBe(0);
    expect(seriesValue(body, 'bpf_iter_group_states{groupname="z",state="zombie"}')).toBe(1);
    expect(body).toMatch(
      /^bpf_iter_group_oldest_start_time_seconds\{groupname="z"\} \d+(\.\d+)?$/m,
    );
    // Both groups in every per-group family, in the order they first appeared.
    const order = [...body.matchAll(/^bpf_iter_group_processes\{groupname="(.*)"\} 1$/gm)];
    expect(order.map((m) => m[1])).toEqual(['a\\"b\\\\c\\nd', "z"]);
  });

  it("keeps a group's CPU counter when its processes exit, and counts a new process whole", async () => {
    const procs = {
      current: [
        sample({ tgid: 1, comm: "job", runtime: 3e9, stime: 1e9 }),
        sample({ tgid: 2, comm: "job", runtime: 1e9, stime: 0 }),
      ],
    };
    using e = new Exporter({ sources: fakeSources(procs), collectors: ["processes"] });
    const cpu = async () => {
      const body = (await e.scrape()).body;
      return (
        seriesValue(body, 'bpf_iter_group_cpu_seconds_total{groupname="job",mode="user"}')! +
        seriesValue(body, 'bpf_iter_group_cpu_seconds_total{groupname="job",mode="system"}')!
      );
    };
    expect(await cpu()).toBe(4);
    procs.current = [sample({ tgid: 2, comm: "job", runtime: 1.5e9, stime: 0 })];
    expect(await cpu()).toBe(4.5); // tgid 1 exited: its 3 s stay counted
    // tgid 2 replaced by a new process with the same pid: all of its CPU counts.
    procs.current = [sample({ tgid: 2, comm: "job", runtime: 0.25e9, stime: 0, startTime: 99 })];
    expect(await cpu()).toBe(4.75);
    const body = (await e.scrape()).body;
    expect(seriesValue(body, 'bpf_iter_group_processes{groupname="job"}')).toBe(1);
    procs.current = [];
    const empty = (await e.scrape()).body;
    // A group without processes keeps its counters and reports 0 processes.
    expect(seriesValue(empty, 'bpf_iter_group_processes{groupname="job"}')).toBe(0);
    expect(
      seriesValue(empty, 'bpf_iter_group_cpu_seconds_total{groupname="job",mode="user"}'),
    ).toBeGreaterThan(0);
  });

  it("bounds the groups: past maxGroups, processes count in [other]", async () => {
    const procs = {
      current: Array.from({ length: 10 }, (_, i) => sample({ tgid: i + 1, comm: `p${i}` })),
    };
    using e = new Exporter({
      sources: fakeSources(procs),
      maxGroups: 3,
      collectors: ["processes"],
    });
    const body = (await e.scrape()).body;
    const groups = new Set(
      [...body.matchAll(/^bpf_iter_group_processes\{groupname="([^"]*)"\}/gm)].map((m) => m[1]),
    );
    expect(groups.size).toBe(4);
    expect(groups.has(OTHER_GROUP)).toBe(true);
    expect(seriesValue(body, `bpf_iter_group_processes{groupname="${OTHER_GROUP}"}`)).toBe(7);
    expect(() => new Exporter({ maxGroups: 0 })).toThrow(RangeError);
  });

  it("bounds the listening ports: past maxPorts they count as port other", async () => {
    const listeners = Array.from({ length: 5 }, (_, i) => ({
      family: "inet" as const,
      state: 10,
      stateName: "LISTEN",
      localAddress: "0.0.0.0",
      localPort: 1000 + i,
      remoteAddress: "0.0.0.0",
      remotePort: 0,
      uid: 0,
      netns: 0,
    }));
    using e = new Exporter({
      sources: { ...fakeSources({ current: [] }), tcp: async () => listeners },
      maxPorts: 2,
      collectors: ["sockets"],
    });
    const body = (await e.scrape()).body;
    expect(seriesValue(body, 'bpf_iter_tcp_listeners{family="inet",port="other"}')).toBe(3);
    expect(body.match(/^bpf_iter_tcp_listeners\{/gm)).toHaveLength(3);
  });

  it("a collector that fails gives a whole response: its metrics absent, an error metric", async () => {
    const errors: string[] = [];
    const procs = { current: [sample({ tgid: 1, comm: "a" })] };
    let fail = true;
    using e = new Exporter({
      sources: {
        ...fakeSources(procs),
        tcp: async () => {
          if (fail) throw new Error("iterator read failed part-way");
          return [];
        },
      },
      onError: (c, err) => errors.push(`${c}: ${(err as Error).message}`),
    });
    const body = (await e.scrape()).body;
    checkExposition(body, "prometheus");
    expect(errors).toEqual(["sockets: iterator read failed part-way"]);
    expect(seriesValue(body, 'bpf_iter_scrape_collector_success{collector="sockets"}')).toBe(0);
    expect(seriesValue(body, 'bpf_iter_scrape_errors_total{collector="sockets"}')).toBe(1);
    expect(seriesValue(body, 'bpf_iter_scrape_collector_success{collector="processes"}')).toBe(1);
    expect(body).not.toMatch(/^bpf_iter_tcp_sockets\{/m);
    expect(body).not.toMatch(/^bpf_iter_udp_sockets\{/m);
    expect(seriesValue(body, 'bpf_iter_group_processes{groupname="a"}')).toBe(1);
    fail = false;
    const later = (await e.scrape()).body;
    expect(seriesValue(later, 'bpf_iter_scrape_collector_success{collector="sockets"}')).toBe(1);
    expect(seriesValue(later, 'bpf_iter_scrape_errors_total{collector="sockets"}')).toBe(1);
  });

  it("records that did not change leave the socket series standing, also after a failure", async () => {
    const procs = { current: [sample({ tgid: 1, comm: "a" })] };
    const fake = fakeSources(procs);
    // The same arrays on every read, as the exporter's own readers return unchanged output.
    const tcpSockets = await fake.tcp!();
    const udpSockets = await fake.udp!();
    let fail = false;
    using e = new Exporter({
      sources: {
        ...fake,
        tcp: async () => {
          if (fail) throw new Error("read failed");
          return tcpSockets;
        },
        udp: async () => udpSockets,
      },
      onError: () => undefined,
    });
    const series = 'bpf_iter_tcp_listeners{family="inet",port="8080"}';
    expect(seriesValue((await e.scrape()).body, series)).toBe(1);
    expect(seriesValue((await e.scrape()).body, series)).toBe(1);
    fail = true;
    expect(seriesValue((await e.scrape()).body, series)).toBeUndefined();
    fail = false;
    // The same records as before the failure: set again, not skipped.
    expect(seriesValue((await e.scrape()).body, series)).toBe(1);
  });

  it("new socket records with the same counts leave the series standing; new counts replace them", async () => {
    const procs = { current: [sample({ tgid: 1, comm: "a" })] };
    const fake = fakeSources(procs);
    const base = await fake.tcp!();
    // Each read a fresh array (a scrape's own connection is a new socket each time).
    let tcp = () => base.map((s) => ({ ...s, localPort: s.stateName === "LISTEN" ? 8080 : 40001 }));
    using e = new Exporter({ sources: { ...fake, tcp: async () => tcp() } });
    const established = 'bpf_iter_tcp_sockets{family="inet6",state="ESTABLISHED"}';
    const first = (await e.scrape()).body;
    expect(seriesValue(first, established)).toBe(1);
    tcp = () => base.map((s) => ({ ...s, remotePort: 9 }));
    const socketLines = (body: string) =>
      body.split("\n").filter((l) => /^bpf_iter_(tcp|udp)_/.test(l));
    expect(socketLines((await e.scrape()).body)).toEqual(socketLines(first));
    // One more established socket, and a listener on another port: both series follow.
    tcp = () => [...base, { ...base[1]!, localPort: 40002 }, { ...base[0]!, localPort: 9090 }];
    const third = (await e.scrape()).body;
    expect(seriesValue(third, established)).toBe(2);
    expect(seriesValue(third, 'bpf_iter_tcp_listeners{family="inet",port="9090"}')).toBe(1);
    expect(seriesValue(third, 'bpf_iter_tcp_listeners{family="inet",port="8080"}')).toBe(1);
    checkExposition(third, "prometheus");
    // Back to the first counts: the extra series are gone.
    tcp = () => base.map((s) => ({ ...s }));
    const fourth = (await e.scrape()).body;
    expect(socketLines(fourth)).toEqual(socketLines(first));
  });

  it("a failed process read changes no counter", async () => {
    const procs = { current: [sample({ tgid: 1, comm: "a", runtime: 1e9 })] };
    let fail = false;
    const sources = fakeSources(procs);
    using e = new Exporter({
      sources: {
        ...sources,
        processes: async (o) => {
          if (fail) throw new Error("EIO");
          return sources.processes!(o);
        },
      },
      collectors: ["processes"],
      onError: quiet,
    });
    await e.scrape();
    fail = true;
    procs.current = [sample({ tgid: 1, comm: "a", runtime: 5e9 })];
    const failed = (await e.scrape()).body;
    expect(failed).not.toMatch(/^bpf_iter_group_/m);
    fail = false;
    const body = (await e.scrape()).body;
    expect(seriesValue(body, 'bpf_iter_group_cpu_seconds_total{groupname="a",mode="user"}')).toBe(
      5,
    );
  });

  it("concurrent scrapes run one at a time and share a read", async () => {
    const calls = { n: 0 };
    const procs = { current: [sample({ tgid: 1, comm: "a" })] };
    using e = new Exporter({ sources: fakeSources(procs, calls), collectors: ["processes"] });
    const bodies = await Promise.all(Array.from({ length: 20 }, () => e.scrape()));
    for (const b of bodies) checkExposition(b.body, "prometheus");
    // Made together, before any started: one read.
    expect(calls.n).toBe(1);
    // While one runs, those made meanwhile wait together for the next.
    const first = e.scrape();
    await new Promise((r) => setImmediate(r));
    const later = await Promise.all([first, ...Array.from({ length: 10 }, () => e.scrape())]);
    for (const b of later) checkExposition(b.body, "prometheus");
    expect(calls.n).toBe(3);
    expect(
      new Set(bodies.map((b) => seriesValue(b.body, 'bpf_iter_group_processes{groupname="a"}'))),
    ).toEqual(new Set([1]));
  });

  it("refuses bad options before reading anything", () => {
    expect(() => new Exporter({ collectors: ["disk" as never] })).toThrow(RangeError);
    expect(() => new Exporter({ maxPorts: 1.5 })).toThrow(RangeError);
    const e = new Exporter({ sources: fakeSources({ current: [] }) });
    expect(() => e.scrape("json" as never)).toThrow(RangeError);
    e.close();
    return expect(e.scrape()).rejects.toThrow(/closed/);
  });
});

describe("command line and HTTP", () => {
  it("parses listen addresses", () => {
    expect(parseListen("127.0.0.1:9466")).toEqual({ host: "127.0.0.1", port: 9466 });
    expect(parseListen("[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(parseListen(":9466")).toEqual({ host: "::", port: 9466 });
    for (const bad of ["9466", "host:", "a:99999", "[::1:80"]) {
      expect(() => parseListen(bad)).toThrow(RangeError);
    }
    expect(wantsOpenMetrics("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")).toBe(
      true,
    );
    expect(wantsOpenMetrics("text/plain")).toBe(false);
    expect(wantsOpenMetrics(undefined)).toBe(false);
  });

  it("parses serve's options and refuses bad ones", () => {
    const o = parseServeArgs(["--listen", ":1", "--group-by", "exe", "--max-groups", "5"]);
    expect(o).toMatchObject({ listen: ":1", maxGroups: 5 });
    expect(o !== "help" && o.grouping?.needsExe).toBe(true);
    expect(parseServeArgs(["--help"])).toBe("help");
    expect(() => parseServeArgs(["--group-by", "pid"])).toThrow(/--group-by/);
    expect(() => parseServeArgs(["--collectors", "processes,disk"])).toThrow(/disk/);
    expect(() => parseServeArgs(["--max-groups", "-1"])).toThrow(/--max-groups/);
    expect(() => parseServeArgs(["--config", "x", "--group-by", "comm"])).toThrow(/exclude/);
    expect(() => parseServeArgs(["extra"])).toThrow(/no arguments/);
  });

  describe("serve()", () => {
    let running: Awaited<ReturnType<typeof serve>>;
    afterAll(() => running?.close());

    const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
        (resolve, reject) => {
          const req = request(
            { host: "127.0.0.1", port: running.address.port, path, headers, method },
            (res) => {
              let body = "";
              res.setEncoding("utf8");
              res.on("data", (d: string) => {
                body += d;
              });
              res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
            },
          );
          req.on("error", reject);
          req.end();
        },
      );

    it("serves /metrics whole, by the Accept header's format; 404 elsewhere", async () => {
      running = await serve({
        listen: "127.0.0.1:0",
        sources: fakeSources({ current: [sample({ tgid: 1, comm: "a" })] }),
      });
      const r = await get("/metrics");
      expect(r.status).toBe(200);
      expect(Number(r.headers["content-length"])).toBe(Buffer.byteLength(r.body));
      checkExposition(r.body, "prometheus");
      const om = await get("/metrics", { Accept: "application/openmetrics-text; version=1.0.0" });
      expect(om.headers["content-type"]).toMatch(/openmetrics/);
      checkExposition(om.body, "openmetrics");
      expect((await get("/nope")).status).toBe(404);
      expect((await get("/metrics", {}, "POST")).status).toBe(405);
      expect((await get("/")).body).toMatch(/href="\/metrics"/);
      const many = await Promise.all(Array.from({ length: 16 }, () => get("/metrics")));
      for (const m of many) checkExposition(m.body, "prometheus");
    });
  });
});
