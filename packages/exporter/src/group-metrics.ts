// The per-group process metrics, kept as plain numbers on one object per
// group and rendered straight to text. At 10,000 processes and 256 groups a
// scrape sets ~3,000 series: through prom-client's Gauge.set (a label object
// hashed per call) and its renderer (labels re-escaped per line) that was a
// third of the exporter's CPU per scrape. Here a group's escaped label is
// built once, when the group is admitted, and a scrape adds numbers to fields.
// The text is what prom-client renders for the same series (its number and
// label formatting), so the exposition is unchanged; the other metrics stay
// prom-client's.

export const STATES = ["running", "sleeping", "waiting", "zombie", "other"] as const;
export type StateName = (typeof STATES)[number];

/** One process group: CPU counters for its lifetime, the rest for the current scrape. */
export class GroupState {
  readonly name: string;
  /** `groupname="<escaped name>"`. */
  readonly label: string;
  /** CPU ns of the group's processes, counted since the group appeared (never decreases). */
  user = 0;
  system = 0;
  /** The scrape these per-scrape figures belong to. */
  generation = 0;
  processes = 0;
  threads = 0;
  rssPages = 0;
  fds = 0;
  /** Earliest start time (ns since boot) of its processes now. */
  oldest = Number.POSITIVE_INFINITY;
  running = 0;
  sleeping = 0;
  waiting = 0;
  zombie = 0;
  other = 0;

  constructor(name: string) {
    this.name = name;
    this.label = `groupname="${escapeLabelValue(name)}"`;
  }

  /** Starts this scrape's figures (first process of the group seen in it). */
  begin(generation: number): void {
    this.generation = generation;
    this.processes = 0;
    this.threads = 0;
    this.rssPages = 0;
    this.fds = 0;
    this.oldest = Number.POSITIVE_INFINITY;
    this.running = 0;
    this.sleeping = 0;
    this.waiting = 0;
    this.zombie = 0;
    this.other = 0;
  }

  /** Counts a process in state `letter` (/proc's letter) in this scrape. */
  countState(letter: string): void {
    switch (letter) {
      case "R":
        this.running++;
        break;
      case "S":
        this.sleeping++;
        break;
      case "D":
        this.waiting++;
        break;
      case "Z":
        this.zombie++;
        break;
      default:
        this.other++;
    }
  }
}

/** As prom-client escapes a label value. */
export function escapeLabelValue(value: string): string {
  return escapeString(value).replace(/"/g, '\\"');
}

/** As prom-client escapes HELP text. */
function escapeString(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** As prom-client writes a sample value. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return "Nan";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return `${value}`;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "gauge" | "counter";
  /** The samples of one group: a line each, `name{labels} value`. */
  readonly lines: (g: GroupState, name: string, now: RenderContext, out: string[]) => void;
}

export interface RenderContext {
  readonly generation: number;
  readonly pageSize: number;
  /** Boot time, seconds since the epoch. */
  readonly bootTime: number;
}

const current = (g: GroupState, ctx: RenderContext) => g.generation === ctx.generation;

const gauge = (
  name: string,
  help: string,
  value: (g: GroupState, ctx: RenderContext) => number,
): Family => ({
  name,
  help,
  type: "gauge",
  lines: (g, n, ctx, out) => {
    out.push(`${n}{${g.label}} ${valueText(value(g, ctx))}`);
  },
});

/** The group families in the order they are rendered (before prom-client's metrics). */
const FAMILIES: readonly Family[] = [
  gauge("bpf_iter_group_processes", "Processes in the group.", (g, c) =>
    current(g, c) ? g.processes : 0,
  ),
  gauge("bpf_iter_group_threads", "Threads (tasks) in the group.", (g, c) =>
    current(g, c) ? g.threads : 0,
  ),
  {
    name: "bpf_iter_group_cpu_seconds_total",
    help: "CPU time of the group's processes, user and system, as /proc/<pid>/stat splits it; never decreases when a process exits.",
    type: "counter",
    lines: (g, n, _ctx, out) => {
      out.push(`${n}{${g.label},mode="user"} ${valueText(g.user / 1e9)}`);
      out.push(`${n}{${g.label},mode="system"} ${valueText(g.system / 1e9)}`);
    },
  },
  gauge(
    "bpf_iter_group_resident_memory_bytes",
    "Resident memory (file, anonymous and shmem pages) of the group's processes.",
    (g, c) => (current(g, c) ? g.rssPages : 0) * c.pageSize,
  ),
  gauge("bpf_iter_group_open_fds", "Open file descriptors of the group's processes.", (g, c) =>
    current(g, c) ? g.fds : 0,
  ),
  {
    name: "bpf_iter_group_states",
    help: "Processes of the group by state (running R, sleeping S, waiting D, zombie Z, other).",
    type: "gauge",
    lines: (g, n, ctx, out) => {
      const now = current(g, ctx);
      for (const state of STATES) {
        out.push(`${n}{${g.label},state="${state}"} ${valueText(now ? g[state] : 0)}`);
      }
    },
  },
  {
    name: "bpf_iter_group_oldest_start_time_seconds",
    help: "Start time of the group's oldest process, seconds since the epoch.",
    type: "gauge",
    // Only groups with a process now.
    lines: (g, n, ctx, out) => {
      if (current(g, ctx)) out.push(`${n}{${g.label}} ${valueText(ctx.bootTime + g.oldest / 1e9)}`);
    },
  },
];

/**
 * The group families as text: HELP and TYPE of each (also when `groups` is
 * undefined: the collector failed, and its series are left out), then a line
 * per series, in the layout prom-client uses for the rest of the body.
 * OpenMetrics names a counter family without `_total`, its samples with it.
 */
export function renderGroupFamilies(
  groups: readonly GroupState[] | undefined,
  ctx: RenderContext,
  openMetrics: boolean,
): string {
  const families: string[] = [];
  for (const f of FAMILIES) {
    const family = openMetrics && f.type === "counter" ? f.name.replace(/_total$/, "") : f.name;
    const out = [`# HELP ${family} ${escapeString(f.help)}`, `# TYPE ${family} ${f.type}`];
    if (groups) for (const g of groups) f.lines(g, f.name, ctx, out);
    families.push(out.join("\n"));
  }
  return families.join(openMetrics ? "\n" : "\n\n");
}
