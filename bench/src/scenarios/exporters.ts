// Scenario: Prometheus exporters scraped with thousands of processes alive.
// bpf-iter serve (@ts-ebpf/exporter) reads the kernel through iterators on
// each scrape; Debian's prometheus-process-exporter (process groups by comm,
// as bpf-iter serve's default) and prometheus-node-exporter's processes
// collector scan /proc. Each exporter is a server process of its own; a
// sample is one HTTP scrape: its wall time, and the CPU time the exporter's
// process spent on it (the sum of its threads' run time, /proc/<pid>/task/*/schedstat,
// until 100 ms after the answer, so that work done after answering counts),
// after a warm-up of 30 scrapes (or 10 s of them) for each.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { onCleanup } from "../cleanup.js";
import { runGroup, type Sampler, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { startProcesses } from "../processes.js";
import type { Context } from "./context.js";

const EXPORTER_BIN = fileURLToPath(
  new URL("../../../packages/exporter/bin/ts-ebpf-exporter.js", import.meta.url),
);

/** The exporters' process counts: 2,000 and 10,000 (quick: 200 and 1,000). */
export function exporterSizes(quick: boolean): number[] {
  return quick ? [200, 1_000] : [2_000, 10_000];
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** CPU seconds the process has used so far: every thread's run time (ns precision). */
export function processCpuSeconds(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "latin1").split(" ")[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e9;
}

function installed(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

interface Server {
  child: ChildProcess;
  url: string;
}

/** Starts an exporter and waits (up to 5 min: process-exporter reads every process first) until it answers. */
async function startServer(cmd: string, args: (port: number) => string[]): Promise<Server> {
  const port = await freePort();
  const child = spawn(cmd, args(port), { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  const stop = onCleanup(() => child.kill("SIGKILL"));
  child.once("exit", stop);
  const url = `http://127.0.0.1:${port}/metrics`;
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited with ${child.exitCode}: ${err}`);
    try {
      const r = await fetch(url);
      await r.text();
      if (r.ok) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGKILL");
  throw new Error(`${cmd} did not answer on ${url} within 5 minutes: ${err}`);
}

/** Scrapes before the timed ones (see scrapeSampler)... */
const WARM_UP_SCRAPES = 30;
/** ...unless they take longer than this. */
const WARM_UP_SECONDS = 10;

/** How long after its answer a scrape's CPU time is still counted (see scrapeSampler). */
const AFTER_SCRAPE_MS = 100;

/** A sampler scraping `server`: wall time of the GET, the exporter's CPU time over it. */
function scrapeSampler(start: () => Promise<Server>): () => Promise<Sampler> {
  return async () => {
    const server = await start();
    const pid = server.child.pid!;
    const scrape = async () => {
      const r = await fetch(server.url, {
        headers: { Accept: "text/plain; version=0.0.4" },
      });
      const body = await r.text();
      if (!r.ok) throw new Error(`HTTP ${r.status}: ${body.slice(0, 200)}`);
      return body;
    };
    // Warm-up, the same rule for every exporter: WARM_UP_SCRAPES scrapes, or as
    // many as WARM_UP_SECONDS allow (process-exporter takes seconds per scrape
    // at 10,000 processes), at least one (bpf-iter's programs are loaded then).
    // An exporter is scraped for as long as it runs; its first scrapes are not
    // what it costs: Node compiles a function to machine code only after it has
    // run many times, and the compiler's threads count in the CPU measured.
    const warmUntil = performance.now() + WARM_UP_SECONDS * 1000;
    for (let i = 0; i < WARM_UP_SCRAPES && (i === 0 || performance.now() < warmUntil); i++) {
      await scrape();
    }
    return {
      async sample() {
        await new Promise((r) => setTimeout(r, 100));
        const c0 = processCpuSeconds(pid);
        const t0 = process.hrtime.bigint();
        const body = await scrape();
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        // The CPU window closes AFTER_SCRAPE_MS after the answer, the same for
        // every exporter: what one does after answering (garbage collection,
        // the connection's close) is part of what a scrape costs. Not longer:
        // between two samples of one exporter the others run, for seconds,
        // and the Go runtime's background work in that idle time is no scrape's.
        await new Promise((r) => setTimeout(r, AFTER_SCRAPE_MS));
        const cpuSeconds = processCpuSeconds(pid) - c0;
        const series = body.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
        return { seconds, cpuSeconds, items: series, bytes: body.length };
      },
      close() {
        server.child.kill("SIGKILL");
      },
    };
  };
}

export async function exporterScrapes(ctx: Context): Promise<GroupResult[]> {
  const groups: GroupResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), "ts-ebpf-bench-exporters-"));
  const config = join(dir, "process-exporter.yml");
  // Groups by comm, as bpf-iter serve's default; every process with a command line.
  writeFileSync(config, 'process_names:\n  - name: "{{.Comm}}"\n    cmdline:\n    - ".+"\n');
  try {
    for (const n of exporterSizes(ctx.quick)) {
      ctx.progress.heading(`starting ${n.toLocaleString("en-US")} extra processes`);
      using _procs = await startProcesses(n);
      const node = process.execPath;
      const ts = (id: string, label: string, extra: string[], reference = false): VariantSpec => ({
        id,
        label,
        ...(reference ? { reference: true } : {}),
        itemsMayVary: true,
        sampler: scrapeSampler(() =>
          startServer(node, (port) => [EXPORTER_BIN, "--listen", `127.0.0.1:${port}`, ...extra]),
        ),
      });
      const debian = (
        id: string,
        label: string,
        cmd: string,
        pkg: string,
        args: (port: number) => string[],
        note: string,
      ): VariantSpec =>
        installed(cmd)
          ? {
              id,
              label,
              itemsMayVary: true,
              note,
              reps: Math.min(ctx.reps, ctx.quick ? 3 : 5),
              sampler: scrapeSampler(() => startServer(cmd, args)),
            }
          : { id, label, unavailable: `${cmd} is not installed (apt-get install ${pkg})` };
      const specs: VariantSpec[] = [
        ts("ts-serve", "bpf-iter serve (process groups, sockets, BPF objects)", [], true),
        ts("ts-serve-processes", "bpf-iter serve --collectors processes", [
          "--collectors",
          "processes",
        ]),
        debian(
          "process-exporter",
          "prometheus-process-exporter (groups by comm)",
          "prometheus-process-exporter",
          "prometheus-process-exporter",
          (port) => [
            `-config.path=${config}`,
            `-web.listen-address=127.0.0.1:${port}`,
            "-threads=false",
            "-gather-smaps=false",
          ],
          "-threads=false -gather-smaps=false (no per-thread or smaps reads)",
        ),
        debian(
          "node-exporter-processes",
          "prometheus-node-exporter, processes collector",
          "prometheus-node-exporter",
          "prometheus-node-exporter",
          (port) => [
            `--web.listen-address=127.0.0.1:${port}`,
            "--collector.disable-defaults",
            "--collector.processes",
          ],
          "state and thread counts only, no groups",
        ),
      ];
      groups.push(
        await runGroup(
          ctx.progress,
          {
            id: `exporters-${n}`,
            scenario: "exporters",
            title: `Scrape process metrics with ${n.toLocaleString("en-US")} extra processes`,
            description:
              `The suite keeps ${n.toLocaleString("en-US")} extra processes alive and scrapes each exporter over HTTP ` +
              "on loopback. bpf-iter serve reads the kernel through a task iterator (CPU, memory, threads, fds, " +
              "states, start time per process, grouped by comm) plus the tcp, udp and BPF-object built-ins; " +
              "prometheus-process-exporter (groups by comm) and node_exporter's processes collector read /proc. " +
              "Each exporter is scraped 30 times (or for 10 s, whichever ends first) before the timed scrapes. " +
              "Time is one scrape's wall time; CPU is the exporter process's own (all its threads) from the request " +
              "to 100 ms after the answer (work done after answering, such as garbage collection, included).",
            unit: "seconds",
          },
          specs,
          ctx.reps,
        ),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return groups;
}
