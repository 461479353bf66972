// The exporter: on each scrape it reads the kernel through iterators (the
// task program of program.ts; the tcp, udp, bpf_prog, bpf_map and bpf_link
// built-ins), turns the records into metric values and renders them with
// prom-client, as Prometheus text or OpenMetrics.
//
// A scrape never shows half of anything: each collector reads everything it
// needs first and only then sets its metrics; one that fails leaves its
// metrics out of that scrape and reports bpf_iter_scrape_collector_success 0.
// Scrapes are serialized (metric values are shared state) and coalesced:
// requests that arrive while one waits to start share its result.

import { readFileSync } from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import {
  type BpfLinkRecord,
  type BpfMapRecord,
  type BpfProgRecord,
  builtinLink,
  type Cgroup,
  cgroups,
  createIterator,
  decodeBuiltin,
  type InetSocket,
  type IteratorLink,
  supportedTargets,
  type UdpSocket,
} from "@ts-ebpf/iter";
import {
  Counter,
  Gauge,
  type OpenMetricsContentType,
  Registry,
  type RegistryContentType,
} from "prom-client";
import { GroupState, renderGroupFamilies } from "./group-metrics.js";
import { type GroupContext, type Grouping, groupBy } from "./grouping.js";
import { type FoldedSample, ProcessFolder, type ProcessSample } from "./processes.js";
import { type ProcessProgram, processProgram } from "./program.js";

export const COLLECTORS = ["processes", "sockets", "bpf"] as const;
export type CollectorName = (typeof COLLECTORS)[number];
export type Format = "prometheus" | "openmetrics";

/** Where the data comes from; tests replace some. */
export interface Sources {
  /** Every process of the caller's pid namespace, by tgid. */
  processes(options: { exe: boolean; cgroup: boolean }): Promise<Map<number, ProcessSample>>;
  tcp(): Promise<readonly InetSocket[]>;
  udp(): Promise<readonly UdpSocket[]>;
  bpfProgs(): Promise<readonly BpfProgRecord[]>;
  bpfMaps(): Promise<readonly BpfMapRecord[]>;
  bpfLinks(): Promise<readonly BpfLinkRecord[]>;
  cgroups(): Promise<readonly Cgroup[]>;
}

export interface ExporterOptions {
  /** How processes are grouped (default: by comm, kernel threads as one group). */
  readonly grouping?: Grouping;
  /** Collectors to run (default: all). */
  readonly collectors?: readonly CollectorName[];
  /** Most process groups reported; later ones count in "[other]" (default 256). */
  readonly maxGroups?: number;
  /** Most listening TCP ports reported one by one; the rest count as port "other" (default 128). */
  readonly maxPorts?: number;
  /** Most BPF programs, maps and links (each) with an info series (default 256). */
  readonly maxBpfObjects?: number;
  /** Replacement data sources (tests). */
  readonly sources?: Partial<Sources>;
  /** Called with each collector failure (default: one line on stderr). */
  readonly onError?: (collector: CollectorName, error: unknown) => void;
}

/** A rendered scrape. */
export interface Scrape {
  readonly body: string;
  readonly contentType: string;
}

export const OTHER_GROUP = "[other]";
/** The links of a kernel without the bpf_link iterator (one array: see #collectBpf). */
const NO_LINKS: readonly BpfLinkRecord[] = [];

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new RangeError(`${name} must be an integer from 1 to 1000000, got ${String(value)}`);
  }
  return value;
}

/** Bytes per page, from the kernel's own account of this process's mappings. */
function pageSize(): number {
  try {
    const m = /KernelPageSize:\s+(\d+) kB/.exec(readFileSync("/proc/self/smaps", "latin1"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // no procfs: the common size
  }
  return 4096;
}

/** Boot time in seconds since the epoch (/proc/stat btime, as ps uses). */
function bootTime(): number {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"));
    if (m) return Number(m[1]);
  } catch {
    // no procfs
  }
  return Date.now() / 1000 - performance.now() / 1000;
}

/**
 * A process as the exporter keeps it from one scrape to the next: the
 * decoder's sample (this scrape's facts) and what its counters last added.
 */
interface TrackedProcess extends FoldedSample {
  /** The start time the fields below belong to (NaN: none; a recycled pid is another process). */
  countedStart: number;
  /** CPU ns already counted in its group (they only grow, as process-exporter's). */
  countedUser: number;
  countedSystem: number;
  /** Its group (undefined: not reported; null: not decided yet) and the facts it came from. */
  group: GroupState | undefined | null;
  groupComm: string;
  groupExe: string;
  groupUid: number;
  groupCgroupId: number;
}

function newTrackedProcess(tgid: number): TrackedProcess {
  // One literal (not a spread of the decoder's sample): every process object
  // gets the same hidden class from the start, and the scrape's loops stay fast.
  return {
    tgid,
    comm: "",
    commKey: [-1, -1, -1, -1],
    exe: "",
    uid: 0,
    cgroupId: 0,
    startTime: 0,
    state: "?",
    threads: 0,
    fds: 0,
    fdsTruncated: false,
    rssPages: 0,
    runtime: 0,
    utime: 0,
    stime: 0,
    kernelThread: false,
    gen: 0,
    countedStart: Number.NaN,
    countedUser: 0,
    countedSystem: 0,
    group: null,
    groupComm: "",
    groupExe: "",
    groupUid: 0,
    groupCgroupId: 0,
  };
}

/**
 * Where the process collector's processes come from: read() gets every
 * process (and changes no counter), finish() then hands each one to the
 * collector, with what its counters last added, and forgets the ones gone.
 */
interface ProcessTable {
  read(options: { exe: boolean; cgroup: boolean }): Promise<Iterable<TrackedProcess>>;
  finish(visit: (p: TrackedProcess) => void): void;
}

/** The kernel's processes: the task program, loaded once per exporter (and per exe option). */
class ProcessReader implements ProcessTable {
  /** By the program's options ("exe,cgroup"). */
  #links = new Map<
    string,
    { link: IteratorLink; program: ProcessProgram; folder: ProcessFolder<TrackedProcess> }
  >();
  #buffer = new Uint8Array(1 << 20);
  #last: ProcessFolder<TrackedProcess> | undefined;

  async read(options: { exe: boolean; cgroup: boolean }): Promise<Iterable<TrackedProcess>> {
    const key = `${options.exe},${options.cgroup}`;
    let entry = this.#links.get(key);
    if (!entry) {
      const program = processProgram(loadKernelBtf(), options);
      entry = {
        program,
        link: createIterator(program.spec, "task"),
        folder: new ProcessFolder(program.layout, newTrackedProcess),
      };
      this.#links.set(key, entry);
    }
    const reader = entry.link.open();
    let bytes: Buffer;
    try {
      // One buffer for every read, a quarter larger than the last output: a
      // fresh megabyte per scrape cost a page fault per 4 KiB and garbage.
      // Read on this thread: each read(2) returns at most the kernel's 32 KiB
      // seq buffer (30 reads at 10,000 processes), and handing each to the
      // thread pool cost two thread wake-ups per read; the scrape waits for
      // the records either way.
      bytes = reader.readAllSync({ into: this.#buffer });
    } finally {
      reader.close();
    }
    if (bytes.buffer !== this.#buffer.buffer || bytes.length * 1.25 > this.#buffer.length) {
      this.#buffer = new Uint8Array(Math.ceil((bytes.length * 1.25) / 4096) * 4096 + 65536);
    }
    const folder = entry.folder;
    folder.fold(bytes);
    this.#last = folder;
    // The processes this read saw (until finish(), the map still holds the ones gone).
    return {
      *[Symbol.iterator]() {
        for (const p of folder.samples.values()) if (p.gen === folder.generation) yield p;
      },
    };
  }

  finish(visit: (p: TrackedProcess) => void): void {
    this.#last?.finish(visit);
  }

  close(): void {
    for (const { link } of this.#links.values()) link.close();
    this.#links.clear();
  }
}

/** Processes from a replaced source (tests): its samples copied into kept ones, by tgid. */
class SampleTable implements ProcessTable {
  readonly #source: Sources["processes"];
  readonly #kept = new Map<number, TrackedProcess>();
  #gen = 0;

  constructor(source: Sources["processes"]) {
    this.#source = source;
  }

  async read(options: { exe: boolean; cgroup: boolean }): Promise<Iterable<TrackedProcess>> {
    const samples = await this.#source(options);
    const gen = ++this.#gen;
    const out: TrackedProcess[] = [];
    for (const p of samples.values()) {
      let kept = this.#kept.get(p.tgid);
      if (!kept) {
        kept = newTrackedProcess(p.tgid);
        this.#kept.set(p.tgid, kept);
      }
      // Every ProcessSample field but tgid (a spread and Object.assign made each scrape 4x slower).
      kept.comm = p.comm;
      kept.exe = p.exe;
      kept.uid = p.uid;
      kept.cgroupId = p.cgroupId;
      kept.startTime = p.startTime;
      kept.state = p.state;
      kept.threads = p.threads;
      kept.fds = p.fds;
      kept.fdsTruncated = p.fdsTruncated;
      kept.rssPages = p.rssPages;
      kept.runtime = p.runtime;
      kept.utime = p.utime;
      kept.stime = p.stime;
      kept.kernelThread = p.kernelThread;
      kept.gen = gen;
      out.push(kept);
    }
    return out;
  }

  finish(visit: (p: TrackedProcess) => void): void {
    const gen = this.#gen;
    this.#kept.forEach((p, tgid) => {
      if (p.gen !== gen) this.#kept.delete(tgid);
      else visit(p);
    });
  }
}

/**
 * One built-in iterator (tcp, udp, bpf_prog, ...) read on every scrape
 * through a link kept open, into a reused buffer. Output equal to the last
 * read's is not decoded again: the same records (the same array) come back,
 * so a collector can tell that nothing changed. On a quiet host the BPF
 * objects and sockets rarely change between scrapes, and their decoding was
 * most of those collectors' cost.
 */
class BuiltinReader<R> {
  readonly #target: string;
  #link: IteratorLink | undefined;
  #buffer = new Uint8Array(64 * 1024);
  #last: Uint8Array | undefined;
  #records: readonly R[] = [];

  constructor(target: string) {
    this.#target = target;
  }

  async read(): Promise<readonly R[]> {
    this.#link ??= builtinLink(this.#target);
    const reader = this.#link.open();
    let bytes: Buffer;
    try {
      bytes = reader.readAllSync({ into: this.#buffer }); // as ProcessReader, on this thread
    } finally {
      reader.close();
    }
    if (bytes.buffer !== this.#buffer.buffer || bytes.length === this.#buffer.length) {
      this.#buffer = new Uint8Array(bytes.length * 2);
    }
    const last = this.#last;
    if (last !== undefined && Buffer.compare(bytes, last) === 0) return this.#records;
    this.#records = decodeBuiltin(this.#target, bytes) as R[];
    this.#last = Uint8Array.from(bytes);
    return this.#records;
  }

  close(): void {
    this.#link?.close();
    this.#link = undefined;
    this.#last = undefined;
  }
}

export class Exporter {
  readonly #grouping: Grouping;
  readonly #collectors: ReadonlySet<CollectorName>;
  readonly #maxGroups: number;
  readonly #maxPorts: number;
  readonly #maxBpfObjects: number;
  readonly #sources: Omit<Sources, "processes">;
  readonly #processReader = new ProcessReader();
  /** The kernel's processes (#processReader) or a replaced source's. */
  readonly #processTable: ProcessTable;
  readonly #builtinReaders: BuiltinReader<unknown>[] = [];
  readonly #onError: (collector: CollectorName, error: unknown) => void;
  readonly #pageSize = pageSize();
  readonly #bootTime = bootTime();

  #generation = 0;
  /** Groups ever reported, with their CPU counters. */
  readonly #groups = new Map<string, GroupState>();
  /** Whether the group series are in the next rendering (false: the processes collector failed). */
  #groupsValid = false;
  #cgroupPaths = new Map<number, string>();
  /** The BPF objects the bpf_iter_bpf_* series show now (undefined: none set). */
  #bpfSignature: string | undefined;
  /** The records the socket and BPF series were last set from (see BuiltinReader). */
  #socketsFrom: readonly [readonly InetSocket[], readonly UdpSocket[]] | undefined;
  /** The socket counts the bpf_iter_tcp_* and _udp_* series show now (undefined: none set). */
  #socketsSignature: string | undefined;
  #bpfFrom:
    | readonly [readonly BpfProgRecord[], readonly BpfMapRecord[], readonly BpfLinkRecord[]]
    | undefined;
  #users: Map<number, string> | undefined;

  /**
   * prom-client's registries, per format: the socket series and the
   * BPF-object series, each rendered again only when it changes (most
   * scrapes neither does, and rendering ~300 label sets cost more than
   * reading them; a scrape's own connection changes the sockets but seldom
   * their counts), and the scrape's own series (durations, successes,
   * errors), rendered every time.
   */
  readonly #objects = {
    sockets: { prometheus: new Registry(), openmetrics: openMetricsRegistry() },
    bpf: { prometheus: new Registry(), openmetrics: openMetricsRegistry() },
  };
  readonly #scrapeSeries = { prometheus: new Registry(), openmetrics: openMetricsRegistry() };
  /** Bumped whenever a socket (or a BPF-object) series changes; the renderings taken at each. */
  readonly #objectsVersion = { sockets: 0, bpf: 0 };
  readonly #objectsText = new Map<string, { version: number; text: string }>();
  readonly #m: ReturnType<typeof makeMetrics>;
  /** prom-client's counters with their Prometheus names (see #scrapeNow). */
  readonly #counterNames: readonly (readonly [object, string])[];

  #queue: Promise<unknown> = Promise.resolve();
  readonly #waiting = new Map<Format, Promise<Scrape>>();
  #closed = false;
  #targets: Set<string> | undefined;
  /** Sources given by the caller (tests): the kernel's targets are not asked about. */
  readonly #replaced: boolean;

  constructor(options: ExporterOptions = {}) {
    this.#grouping = options.grouping ?? groupBy("comm");
    const collectors = options.collectors ?? COLLECTORS;
    for (const c of collectors) {
      if (!COLLECTORS.includes(c)) {
        throw new RangeError(`collectors: "${c}" is not one of ${COLLECTORS.join(", ")}`);
      }
    }
    this.#collectors = new Set(collectors);
    this.#maxGroups = positiveInt("maxGroups", options.maxGroups, 256);
    this.#maxPorts = positiveInt("maxPorts", options.maxPorts, 128);
    this.#maxBpfObjects = positiveInt("maxBpfObjects", options.maxBpfObjects, 256);
    this.#onError =
      options.onError ??
      ((collector, error) =>
        process.stderr.write(
          `bpf-iter serve: collector ${collector} failed: ${error instanceof Error ? error.message : String(error)}\n`,
        ));
    this.#replaced = options.sources !== undefined;
    const builtin = <R>(target: string) => {
      const r = new BuiltinReader<R>(target);
      this.#builtinReaders.push(r);
      return () => r.read();
    };
    this.#processTable = options.sources?.processes
      ? new SampleTable(options.sources.processes)
      : this.#processReader;
    this.#sources = {
      tcp: builtin<InetSocket>("tcp"),
      udp: builtin<UdpSocket>("udp"),
      bpfProgs: builtin<BpfProgRecord>("bpf_prog"),
      bpfMaps: builtin<BpfMapRecord>("bpf_map"),
      bpfLinks: builtin<BpfLinkRecord>("bpf_link"),
      cgroups: () => cgroups(),
      ...options.sources,
    };
    const both = (r: Record<Format, Registry<RegistryContentType>>) => [
      r.prometheus,
      r.openmetrics,
    ];
    this.#m = makeMetrics(
      both(this.#objects.sockets),
      both(this.#objects.bpf),
      both(this.#scrapeSeries),
    );
    this.#counterNames = [[this.#m.collectorErrors, "bpf_iter_scrape_errors_total"]];
    for (const c of this.#collectors) this.#m.collectorErrors.inc({ collector: c }, 0);
  }

  /**
   * Reads the kernel and renders every metric. Scrapes run one at a time;
   * requests made while another waits to start share its result.
   */
  scrape(format: Format = "prometheus"): Promise<Scrape> {
    if (format !== "prometheus" && format !== "openmetrics") {
      throw new RangeError(`format must be "prometheus" or "openmetrics", got ${String(format)}`);
    }
    if (this.#closed) return Promise.reject(new Error("the exporter is closed"));
    const waiting = this.#waiting.get(format);
    if (waiting) return waiting;
    const run = this.#queue.then(() => {
      this.#waiting.delete(format);
      return this.#scrapeNow(format);
    });
    this.#waiting.set(format, run);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #scrapeNow(format: Format): Promise<Scrape> {
    if (this.#closed) throw new Error("the exporter is closed");
    const start = performance.now();
    const collect: Record<CollectorName, () => Promise<void>> = {
      processes: () => this.#collectProcesses(),
      sockets: () => this.#collectSockets(),
      bpf: () => this.#collectBpf(),
    };
    for (const name of COLLECTORS) {
      if (!this.#collectors.has(name)) continue;
      const t0 = performance.now();
      let ok = 1;
      try {
        await collect[name]();
      } catch (err) {
        ok = 0;
        this.#m.collectorErrors.inc({ collector: name });
        this.#clear(name);
        this.#onError(name, err);
      }
      this.#m.collectorSuccess.set({ collector: name }, ok);
      this.#m.collectorDuration.set({ collector: name }, (performance.now() - t0) / 1000);
    }
    this.#m.scrapeDuration.set((performance.now() - start) / 1000);
    const openMetrics = format === "openmetrics";
    const registry = this.#scrapeSeries[format];
    if (!openMetrics) {
      // prom-client renames a counter for OpenMetrics in place (drops "_total"), and
      // the metric objects are shared by both registries: name them back.
      for (const [counter, name] of this.#counterNames) (counter as { name: string }).name = name;
    }
    const groups = renderGroupFamilies(
      this.#groupsValid ? [...this.#groups.values()] : undefined,
      { generation: this.#generation, pageSize: this.#pageSize, bootTime: this.#bootTime },
      openMetrics,
    );
    const sockets = await this.#objectsRendering("sockets", format);
    const bpf = await this.#objectsRendering("bpf", format);
    // In the order the families were registered: groups, sockets, BPF objects, the scrape's own.
    const rest = await registry.metrics();
    return {
      body: `${groups}${openMetrics ? "\n" : "\n\n"}${sockets}${bpf}${rest}`,
      contentType: registry.contentType,
    };
  }

  /** The socket or BPF-object families as text, rendered again only when a series changed. */
  async #objectsRendering(kind: "sockets" | "bpf", format: Format): Promise<string> {
    const key = `${kind}/${format}`;
    const version = this.#objectsVersion[kind];
    let rendering = this.#objectsText.get(key);
    if (rendering?.version !== version) {
      const text = await this.#objects[kind][format].metrics();
      // Continued by more families: OpenMetrics' "# EOF" comes once, at the end.
      rendering = {
        version,
        text: format === "openmetrics" ? text.slice(0, -"# EOF\n".length) : `${text}\n`,
      };
      this.#objectsText.set(key, rendering);
    }
    return rendering.text;
  }

  #clear(name: CollectorName): void {
    if (name === "bpf") {
      this.#bpfSignature = undefined;
      this.#bpfFrom = undefined;
    }
    if (name === "sockets") {
      this.#socketsFrom = undefined;
      this.#socketsSignature = undefined;
    }
    if (name !== "processes") this.#objectsVersion[name]++;
    const m = this.#m;
    if (name === "processes") this.#groupsValid = false;
    const of: Record<CollectorName, { reset(): void }[]> = {
      processes: [],
      sockets: [m.tcpSockets, m.tcpListeners, m.udpSockets],
      bpf: [
        m.bpfPrograms,
        m.bpfMaps,
        m.bpfLinks,
        m.bpfProgramInfo,
        m.bpfMapInfo,
        m.bpfLinkInfo,
        m.bpfObjectsOmitted,
      ],
    };
    for (const metric of of[name]) metric.reset();
  }

  async #context(samples: Iterable<ProcessSample>): Promise<GroupContext> {
    const grouping = this.#grouping;
    // Paths from the cgroup iterator (Linux 6.1+); before it, groups are named by id.
    if (grouping.needsCgroups && this.#hasTarget("cgroup")) {
      let unknown = false;
      for (const p of samples) if (!this.#cgroupPaths.has(p.cgroupId)) unknown = true;
      if (unknown) this.#cgroupPaths = cgroupPaths(await this.#sources.cgroups());
    }
    if (grouping.needsUsers) {
      let unknown = !this.#users;
      if (this.#users) for (const p of samples) if (!this.#users.has(p.uid)) unknown = true;
      if (unknown) this.#users = readUsers();
    }
    const paths = this.#cgroupPaths;
    const users = this.#users;
    return {
      cgroupPath: (id) => paths.get(id) ?? `cgroup:${id}`,
      userName: (uid) => users?.get(uid) ?? String(uid),
    };
  }

  async #collectProcesses(): Promise<void> {
    const table = this.#processTable;
    const samples = await table.read({
      exe: this.#grouping.needsExe,
      cgroup: this.#grouping.needsCgroups,
    });
    const ctx = await this.#context(samples);
    // Nothing below can fail: the read and the lookups above are done.
    const generation = ++this.#generation;
    table.finish((p) => {
      if (p.countedStart !== p.startTime) {
        // New process (or a new one with a recycled pid): all its CPU counts.
        p.countedStart = p.startTime;
        p.countedUser = 0;
        p.countedSystem = 0;
        p.group = null;
      }
      if (
        p.group === null ||
        p.groupComm !== p.comm ||
        p.groupExe !== p.exe ||
        p.groupUid !== p.uid ||
        p.groupCgroupId !== p.cgroupId
      ) {
        p.group = this.#groupFor(p, ctx);
        p.groupComm = p.comm;
        p.groupExe = p.exe;
        p.groupUid = p.uid;
        p.groupCgroupId = p.cgroupId;
      }
      const g = p.group;
      if (g === undefined) return;
      if (g.generation !== generation) g.begin(generation);
      g.processes++;
      g.threads += p.threads;
      g.rssPages += p.rssPages;
      g.fds += p.fds;
      if (p.startTime < g.oldest) g.oldest = p.startTime;
      g.countState(p.state);
      // CPU: what grew since the last scrape, kept monotonic per process as the
      // kernel keeps /proc's split (cputime_adjust's prev_cputime).
      let system = Math.max(p.stime, p.countedSystem);
      let user = p.runtime - system;
      if (user < p.countedUser) {
        user = p.countedUser;
        system = Math.max(p.countedSystem, p.runtime - user);
      }
      g.user += user - p.countedUser;
      g.system += system - p.countedSystem;
      p.countedUser = user;
      p.countedSystem = system;
    });
    this.#groupsValid = true;
  }

  /** The group of a process whose facts changed (or a new one); undefined: not reported. */
  #groupFor(p: ProcessSample, ctx: GroupContext): GroupState | undefined {
    let name = this.#grouping.groupOf(p, ctx);
    if (name === undefined) return undefined;
    if (!this.#groups.has(name) && this.#admitted() >= this.#maxGroups) name = OTHER_GROUP;
    let g = this.#groups.get(name);
    if (g === undefined) {
      g = new GroupState(name);
      this.#groups.set(name, g);
    }
    return g;
  }

  /** Groups admitted so far, [other] aside. */
  #admitted(): number {
    return this.#groups.size - (this.#groups.has(OTHER_GROUP) ? 1 : 0);
  }

  async #collectSockets(): Promise<void> {
    const [tcpSockets, udpSockets] = await Promise.all([this.#sources.tcp(), this.#sources.udp()]);
    // The same records as last time (a BuiltinReader's output did not change): the series stand.
    const from = this.#socketsFrom;
    if (from?.[0] === tcpSockets && from[1] === udpSockets) return;
    const tcpCounts = countBy(tcpSockets, (s) => `${s.family}\0${s.stateName}`);
    const udpCounts = countBy(udpSockets, (s) => `${s.family}\0${s.stateName}`);
    const ports = new Map<string, number>();
    const portsSeen = new Set<number>();
    for (const s of tcpSockets) {
      if (s.stateName !== "LISTEN") continue;
      if (portsSeen.size < this.#maxPorts) portsSeen.add(s.localPort);
      const port = portsSeen.has(s.localPort) ? String(s.localPort) : "other";
      const key = `${s.family}\0${port}`;
      ports.set(key, (ports.get(key) ?? 0) + 1);
    }
    // Counts as before (a new connection replaced a closed one): the series stand.
    this.#socketsFrom = [tcpSockets, udpSockets];
    const signature = [tcpCounts, udpCounts, ports]
      .map((counts) => [...counts].map(([key, n]) => `${key}=${n}`).join(","))
      .join("/");
    if (signature === this.#socketsSignature) return;
    const m = this.#m;
    this.#clear("sockets");
    for (const [key, n] of tcpCounts) {
      const [family, state] = key.split("\0") as [string, string];
      m.tcpSockets.set({ family, state }, n);
    }
    for (const [key, n] of udpCounts) {
      const [family, state] = key.split("\0") as [string, string];
      m.udpSockets.set({ family, state }, n);
    }
    for (const [key, n] of ports) {
      const [family, port] = key.split("\0") as [string, string];
      m.tcpListeners.set({ family, port }, n);
    }
    this.#socketsFrom = [tcpSockets, udpSockets];
    this.#socketsSignature = signature;
    this.#objectsVersion.sockets++;
  }

  async #collectBpf(): Promise<void> {
    const [progs, maps, links] = await Promise.all([
      this.#sources.bpfProgs(),
      this.#sources.bpfMaps(),
      // The bpf_link iterator came in Linux 5.19: before it, no link series.
      this.#hasTarget("bpf_link") ? this.#sources.bpfLinks() : NO_LINKS,
    ]);
    // The same records as last time (a BuiltinReader's output did not change): the series stand.
    const from = this.#bpfFrom;
    if (from?.[0] === progs && from[1] === maps && from[2] === links) return;
    // Unchanged objects, unchanged series: the ~700 label sets are not set again.
    const signature = [
      progs.map((p) => `${p.id}:${p.typeName}:${p.name}:${p.tag}`).join(","),
      maps.map((p) => `${p.id}:${p.typeName}:${p.name}`).join(","),
      links.map((l) => `${l.id}:${l.typeName}:${l.progId}`).join(","),
    ].join("/");
    if (signature === this.#bpfSignature) return;
    const max = this.#maxBpfObjects;
    const m = this.#m;
    this.#clear("bpf");
    for (const [type, n] of countBy(progs, (p) => p.typeName)) m.bpfPrograms.set({ type }, n);
    for (const [type, n] of countBy(maps, (p) => p.typeName)) m.bpfMaps.set({ type }, n);
    for (const [type, n] of countBy(links, (p) => p.typeName)) m.bpfLinks.set({ type }, n);
    // The lowest ids: the longest-lived objects keep their series when there are too many.
    const first = <T extends { id: number }>(xs: readonly T[]) =>
      [...xs].sort((a, b) => a.id - b.id).slice(0, max);
    for (const p of first(progs)) {
      m.bpfProgramInfo.set({ id: String(p.id), name: p.name, type: p.typeName, tag: p.tag }, 1);
    }
    for (const p of first(maps))
      m.bpfMapInfo.set({ id: String(p.id), name: p.name, type: p.typeName }, 1);
    for (const l of first(links)) {
      m.bpfLinkInfo.set({ id: String(l.id), type: l.typeName, prog_id: String(l.progId) }, 1);
    }
    m.bpfObjectsOmitted.set({ kind: "program" }, Math.max(0, progs.length - max));
    m.bpfObjectsOmitted.set({ kind: "map" }, Math.max(0, maps.length - max));
    m.bpfObjectsOmitted.set({ kind: "link" }, Math.max(0, links.length - max));
    this.#bpfSignature = signature;
    this.#bpfFrom = [progs, maps, links];
    this.#objectsVersion.bpf++;
  }

  /** Whether the running kernel has an iterator target (always, with replaced sources). */
  #hasTarget(target: string): boolean {
    if (this.#replaced) return true;
    this.#targets ??= new Set(supportedTargets().map((t) => t.name));
    return this.#targets.has(target);
  }

  /** Closes the exporter's iterator links; later scrapes fail. */
  close(): void {
    this.#closed = true;
    this.#processReader.close();
    for (const r of this.#builtinReaders) r.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The metrics prom-client renders (the group ones are group-metrics.ts'):
 * the socket ones in `sockets`' registries, the BPF-object ones in `bpf`'s,
 * the scrape's own in `scrape`'s, one of each per format.
 */
function makeMetrics(
  sockets: Registry<RegistryContentType>[],
  bpf: Registry<RegistryContentType>[],
  scrape: Registry<RegistryContentType>[],
) {
  let registers = sockets;
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const socketMetrics = {
    tcpSockets: gauge(
      "bpf_iter_tcp_sockets",
      "TCP sockets of the exporter's network namespace by state.",
      ["family", "state"],
    ),
    tcpListeners: gauge("bpf_iter_tcp_listeners", "Listening TCP sockets by local port.", [
      "family",
      "port",
    ]),
    udpSockets: gauge(
      "bpf_iter_udp_sockets",
      "UDP sockets of the exporter's network namespace by state.",
      ["family", "state"],
    ),
  };
  registers = bpf;
  const bpfMetrics = {
    bpfPrograms: gauge("bpf_iter_bpf_programs", "Loaded BPF programs by type.", ["type"]),
    bpfMaps: gauge("bpf_iter_bpf_maps", "BPF maps by type.", ["type"]),
    bpfLinks: gauge("bpf_iter_bpf_links", "BPF links by type.", ["type"]),
    bpfProgramInfo: gauge("bpf_iter_bpf_program_info", "One series per BPF program (value 1).", [
      "id",
      "name",
      "type",
      "tag",
    ]),
    bpfMapInfo: gauge("bpf_iter_bpf_map_info", "One series per BPF map (value 1).", [
      "id",
      "name",
      "type",
    ]),
    bpfLinkInfo: gauge("bpf_iter_bpf_link_info", "One series per BPF link (value 1).", [
      "id",
      "type",
      "prog_id",
    ]),
    bpfObjectsOmitted: gauge(
      "bpf_iter_bpf_objects_omitted",
      "BPF objects counted but without an info series (over maxBpfObjects).",
      ["kind"],
    ),
  };
  registers = scrape;
  return {
    ...socketMetrics,
    ...bpfMetrics,
    scrapeDuration: gauge(
      "bpf_iter_scrape_duration_seconds",
      "Time this scrape took to read and render.",
    ),
    collectorDuration: gauge(
      "bpf_iter_scrape_collector_duration_seconds",
      "Time each collector took in this scrape.",
      ["collector"],
    ),
    collectorSuccess: gauge(
      "bpf_iter_scrape_collector_success",
      "1 when the collector's read succeeded in this scrape, 0 when it failed (its metrics are then absent).",
      ["collector"],
    ),
    collectorErrors: counter(
      "bpf_iter_scrape_errors_total",
      "Failed reads of each collector since the exporter started.",
      ["collector"],
    ),
  };
}

function openMetricsRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

function countBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const x of xs) {
    const k = key(x);
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

/** Paths of cgroups listed in pre-order with their levels ("/", "/system.slice", ...). */
export function cgroupPaths(list: readonly Cgroup[]): Map<number, string> {
  if (!Array.isArray(list)) throw new TypeError("list must be an array of cgroups");
  const out = new Map<number, string>();
  const stack: string[] = [];
  for (const c of list) {
    // Pre-order: a cgroup is at most one level below the one before it.
    if (!Number.isInteger(c?.level) || c.level < 0 || c.level > stack.length) {
      throw new RangeError(`cgroup level ${String(c?.level)} does not follow a pre-order walk`);
    }
    stack.length = c.level;
    stack[c.level] = c.level === 0 ? "" : c.name;
    out.set(Number(c.id), c.level === 0 ? "/" : `/${stack.slice(1, c.level + 1).join("/")}`);
  }
  return out;
}

function readUsers(): Map<number, string> {
  const out = new Map<number, string>();
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , uid] = line.split(":");
      if (name && uid && /^\d+$/.test(uid)) out.set(Number(uid), name);
    }
  } catch {
    // numbers only
  }
  return out;
}
