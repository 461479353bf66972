// A real Prometheus server (Debian's `prometheus` package) scrapes the
// exporter on loopback; PromQL through its HTTP API then finds this test's
// own process group and listening socket. Needs root and the prometheus
// binary: it skips loudly without them, and fails under
// TS_EBPF_REQUIRE_KERNEL=1 (scripts/setup.sh --test installs prometheus).
// Not a *.kernel.test.ts: the QEMU guests have no prometheus.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeKernel, skipWithoutTool } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningServer, serve } from "../src/index.js";

const hasPrometheus = spawnSync("prometheus", ["--version"]).status === 0;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

interface Vector {
  status: string;
  data: {
    resultType: string;
    result: { metric: Record<string, string>; value: [number, string] }[];
  };
}

describeKernel("Prometheus scraping bpf-iter serve", () => {
  const skip = skipWithoutTool(hasPrometheus);
  if (!hasPrometheus && skip) {
    console.warn(
      "\n!!! SKIPPING the Prometheus test: no prometheus binary (apt-get install prometheus) !!!\n",
    );
  }
  let dir: string;
  let exporter: RunningServer;
  let prometheus: ChildProcess;
  let promLog = "";
  let api = "";
  let listener: Server;
  let listenPort = 0;
  let worker: ChildProcess;
  // The test's own process: a copy of sleep with a name nothing else has.
  const comm = `promt${process.pid}`.slice(0, 15);

  beforeAll(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), "exporter-prom-"));
    const exe = join(dir, comm);
    copyFileSync("/bin/sleep", exe);
    chmodSync(exe, 0o755);
    worker = spawn(exe, ["600"], { stdio: "ignore" });
    listener = createServer();
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
    listenPort = (listener.address() as { port: number }).port;

    exporter = await serve({ listen: "127.0.0.1:0" });
    const promPort = await freePort();
    api = `http://127.0.0.1:${promPort}/api/v1`;
    const config = join(dir, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: bpf-iter",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${exporter.address.port}"]`,
        "",
      ].join("\n"),
    );
    prometheus = spawn(
      "prometheus",
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stderr!.on("data", (d: Buffer) => {
      promLog += d.toString();
    });
  });

  afterAll(async () => {
    prometheus?.kill("SIGTERM");
    if (prometheus && prometheus.exitCode === null) {
      await new Promise((r) => prometheus.once("close", r));
    }
    worker?.kill("SIGKILL");
    listener?.close();
    await exporter?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Polls a PromQL query until it returns a series (60 s at most). */
  async function query(promql: string): Promise<Vector["data"]["result"]> {
    const deadline = Date.now() + 60_000;
    let last = "";
    while (Date.now() < deadline) {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited: ${promLog}`);
      try {
        const r = await fetch(`${api}/query?query=${encodeURIComponent(promql)}`);
        const body = (await r.json()) as Vector;
        last = JSON.stringify(body);
        if (body.status === "success" && body.data.result.length > 0) return body.data.result;
      } catch (err) {
        last = String(err); // not listening yet
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(
      `no result for ${promql} in 60 s; last answer: ${last}; prometheus log: ${promLog}`,
    );
  }

  it.skipIf(skip)(
    "finds the target up, this test's process group and its listening socket",
    async () => {
      const up = await query('up{job="bpf-iter"} == 1');
      expect(up).toHaveLength(1);
      const group = await query(`bpf_iter_group_processes{groupname="${comm}"}`);
      expect(group[0]!.value[1]).toBe("1");
      const states = await query(`bpf_iter_group_states{groupname="${comm}",state="sleeping"}`);
      expect(states[0]!.value[1]).toBe("1");
      const fds = await query(`bpf_iter_group_open_fds{groupname="${comm}"}`);
      expect(Number(fds[0]!.value[1])).toBeGreaterThanOrEqual(3);
      const socket = await query(`bpf_iter_tcp_listeners{port="${listenPort}"}`);
      expect(socket[0]!.metric.family).toBe("inet");
      expect(socket[0]!.value[1]).toBe("1");
      // This process (vitest's worker) by its comm, with the CPU it used.
      const self = readFileSync("/proc/self/comm", "latin1").trim();
      const cpu = await query(`sum(bpf_iter_group_cpu_seconds_total{groupname="${self}"})`);
      expect(Number(cpu[0]!.value[1])).toBeGreaterThan(0);
      // Every collector succeeded on every scrape Prometheus made.
      const failures = await query("sum(bpf_iter_scrape_errors_total)");
      expect(failures[0]!.value[1]).toBe("0");
      const duration = await query("bpf_iter_scrape_duration_seconds");
      expect(Number(duration[0]!.value[1])).toBeGreaterThan(0);
    },
  );
});
