// The issue's goals, each a ratio of two medians measured in the same run.
import { type GoalResult, type GroupResult, groupBusy, type VariantResult } from "./model.js";

interface GoalDef {
  id: string;
  text: string;
  group: (groups: GroupResult[]) => GroupResult | undefined;
  /** ratio = median(numerator) / median(denominator). */
  numerator: string;
  denominator: string;
  formula: string;
  comparison: "at-most" | "at-least";
  target: number;
  /** "faster than" is strict: a ratio of exactly the target misses. */
  strict?: boolean;
  /** Judged on numerator − denominator in seconds (target in seconds), not their ratio. */
  difference?: boolean;
  /**
   * Judged on CPU time whatever the load: the goal is about what a thing
   * costs (an exporter's scrape), not how soon its answer arrives.
   */
  cpuGoal?: boolean;
  /**
   * A variant doing the numerator's work in the fastest hand-written
   * JavaScript (js-floors.ts), judged against the same target: when it misses
   * too, the goal is out of JavaScript's reach on this Node.
   */
  floor?: string;
}

/** The dump group of the largest map in the run. */
function largestDump(groups: GroupResult[]): GroupResult | undefined {
  const dumps = groups.filter((g) => g.scenario === "map-dump");
  return dumps[dumps.length - 1];
}

const byId = (id: string) => (groups: GroupResult[]) => groups.find((g) => g.id === id);

export const GOALS: GoalDef[] = [
  {
    id: "map-elems-raw-vs-c",
    text: "1M-entry dump: mapElems raw bytes within 1.15x of the C iterator reader",
    group: largestDump,
    numerator: "ts-map-elems-raw",
    denominator: "c-iter",
    formula: "mapElems raw / C reader",
    comparison: "at-most",
    target: 1.15,
  },
  {
    id: "map-elems-decoded-vs-c",
    text: "1M-entry dump: mapElems u32/u64 records, every element visited, within 1.3x of the C iterator reader",
    group: largestDump,
    numerator: "ts-map-elems-decoded",
    denominator: "c-iter",
    formula: "mapElems records / C reader",
    comparison: "at-most",
    target: 1.3,
  },
  {
    id: "map-elems-bytes-vs-c",
    text: "1M-entry dump: mapElems without codecs (bytes), every element visited, within 1.6x of the C iterator reader",
    group: largestDump,
    numerator: "ts-map-elems-bytes",
    denominator: "c-iter",
    formula: "mapElems bytes / C reader",
    comparison: "at-most",
    target: 1.6,
  },
  {
    id: "map-elems-array-vs-c",
    text: "1M-entry dump: mapElems materialised [key, value][] within 2x of the C iterator reader",
    group: largestDump,
    numerator: "ts-map-elems-array",
    denominator: "c-iter",
    formula: "mapElems toArray() / C reader",
    comparison: "at-most",
    target: 2,
  },
  {
    id: "map-elems-array-vs-batch",
    text: "1M-entry dump: mapElems materialised faster than Map.entriesBatch",
    group: largestDump,
    numerator: "ts-lookup-batch",
    denominator: "ts-map-elems-array",
    formula: "TS Map.entriesBatch / mapElems toArray()",
    comparison: "at-least",
    target: 1,
    strict: true,
  },
  // The same goals on the decode half alone (map-decode: the same records
  // captured once, read from tmpfs by C and TypeScript), for kernels that
  // refuse bpf_map_elem programs. Stricter than the dump's: no kernel work.
  ...(
    [
      ["raw", "ts-decode-raw", "raw bytes", 1.15, undefined],
      [
        "records",
        "ts-decode-records",
        "u32/u64 records, every element visited,",
        1.3,
        "js-floor-records",
      ],
      [
        "bytes",
        "ts-decode-bytes",
        "no codecs (bytes), every element visited,",
        1.6,
        "js-floor-bytes",
      ],
      ["array", "ts-decode-array", "materialised [key, value][]", 2, "js-floor-array"],
    ] as const
  ).map(
    ([id, numerator, what, target, floor]): GoalDef => ({
      id: `decode-${id}-vs-c`,
      text: `Decode-only (captured 1M-element dump): ${what} within ${target}x of C`,
      group: byId("map-decode"),
      numerator,
      denominator: "c-decode",
      formula: `${numerator} / C read + visit`,
      comparison: "at-most",
      target,
      ...(floor ? { floor } : {}),
    }),
  ),
  {
    id: "decode-array-vs-batch",
    text: "Decode-only: materialised [key, value][] (read + decode) faster than Map.entriesBatch",
    group: byId("map-decode"),
    numerator: "ts-lookup-batch",
    denominator: "ts-decode-array",
    formula: "TS Map.entriesBatch / read + toArray()",
    comparison: "at-least",
    target: 1,
    strict: true,
  },
  {
    id: "map-elems-vs-next-key",
    text: "mapElems at least 10x faster than the TS GET_NEXT_KEY loop",
    group: largestDump,
    numerator: "ts-next-key",
    denominator: "ts-map-elems-raw",
    formula: "TS GET_NEXT_KEY loop / mapElems raw",
    comparison: "at-least",
    target: 10,
  },
  {
    id: "map-elems-decoded-vs-next-key",
    text: "mapElems (decoded) at least 10x faster than the TS GET_NEXT_KEY loop",
    group: largestDump,
    numerator: "ts-next-key",
    denominator: "ts-map-elems-decoded",
    formula: "TS GET_NEXT_KEY loop / mapElems decoded",
    comparison: "at-least",
    target: 10,
  },
  {
    id: "map-elems-vs-batch",
    text: "mapElems (raw) faster than TS MAP_LOOKUP_BATCH (raw)",
    group: largestDump,
    numerator: "ts-lookup-batch-raw",
    denominator: "ts-map-elems-raw",
    formula: "TS LOOKUP_BATCH raw / mapElems raw",
    comparison: "at-least",
    target: 1,
    strict: true,
  },
  {
    id: "map-elems-decoded-vs-batch",
    text: "mapElems (decoded) faster than TS MAP_LOOKUP_BATCH (decoded)",
    group: largestDump,
    numerator: "ts-lookup-batch",
    denominator: "ts-map-elems-decoded",
    formula: "TS Map.entriesBatch / mapElems decoded",
    comparison: "at-least",
    target: 1,
    strict: true,
  },
  {
    id: "tasks-warm-vs-proc",
    text: "tasks() warm at least 10x faster than the /proc scan",
    group: byId("tasks"),
    numerator: "ts-proc-scan",
    denominator: "ts-tasks-warm",
    formula: "/proc scan / tasks() warm",
    comparison: "at-least",
    target: 10,
  },
  {
    id: "tasks-warm-vs-c",
    text: "tasks() warm within 1.5x of the C task iterator",
    group: byId("tasks"),
    numerator: "ts-tasks-warm",
    denominator: "c-task-iter",
    formula: "tasks() warm / C task iterator",
    comparison: "at-most",
    target: 1.5,
  },
  // Scale (issue 17): the same ratios with many more objects.
  ...[10_000, 50_000].map(
    (n): GoalDef => ({
      id: `tasks-warm-vs-c-${n / 1000}k-threads`,
      text: `tasks() warm within 1.5x of the C task iterator with ${n.toLocaleString("en-US")} extra threads`,
      group: byId(`tasks-threads-${n}`),
      numerator: "ts-tasks-warm",
      denominator: "c-task-iter",
      formula: "tasks() warm / C task iterator",
      comparison: "at-most",
      target: 1.5,
    }),
  ),
  {
    id: "cli-tasks-vs-ps",
    text: "bpf-iter tasks (spawn to exit, Node's start-up included) faster than ps -e with 10,000 extra processes",
    group: byId("cli-ps-10000"),
    numerator: "ps-e",
    denominator: "cli-tasks",
    formula: "ps -e / bpf-iter tasks",
    comparison: "at-least",
    target: 1,
    strict: true,
  },
  {
    id: "task-files-vs-proc",
    text: "taskFiles() over 1,000,000 extra fds faster than listing /proc/<pid>/fd (fd numbers only)",
    group: byId("task-files-scale"),
    numerator: "proc-fd-list",
    denominator: "ts-task-files",
    formula: "/proc/<pid>/fd readdir / taskFiles()",
    comparison: "at-least",
    target: 1,
    strict: true,
  },
  {
    id: "task-files-vs-proc-stat",
    text: "taskFiles() at least 5x faster than /proc/<pid>/fd with a stat() per fd (inode and mode, as lsof)",
    group: byId("task-files-scale"),
    numerator: "proc-fd-stat",
    denominator: "ts-task-files",
    formula: "/proc/<pid>/fd readdir + stat / taskFiles()",
    comparison: "at-least",
    target: 5,
  },
  {
    id: "tcp-vs-ss",
    text: "tcp() over 100,000 loopback sockets faster than ss -tan",
    group: byId("tcp-scale"),
    numerator: "ss-tan",
    denominator: "ts-tcp",
    formula: "ss -tan / tcp()",
    comparison: "at-least",
    target: 1,
    strict: true,
  },
  {
    id: "query-vs-js-filter",
    text: "A 1% query over 10,000 extra processes, filtered in the kernel, faster than tasks() filtered in JavaScript",
    group: byId("query"),
    numerator: "ts-tasks-js-filter",
    denominator: "ts-query-where",
    formula: "tasks() + JS filter / query() with where",
    comparison: "at-least",
    target: 1,
    strict: true,
  },
  {
    id: "query-vs-proc",
    text: "The same query at least 10x faster than reading /proc/<pid>/stat of every process",
    group: byId("query"),
    numerator: "ts-proc-scan-filter",
    denominator: "ts-query-where",
    formula: "/proc scan + JS filter / query() with where",
    comparison: "at-least",
    target: 10,
  },
  {
    id: "cli-start-above-node",
    text: "bpf-iter tasks at most 40 ms above bare node -e '' (paired runs)",
    group: byId("cli-start"),
    numerator: "cli-tasks",
    denominator: "node-bare",
    formula: "bpf-iter tasks − node -e ''",
    comparison: "at-most",
    target: 0.04,
    difference: true,
  },
  {
    id: "serve-vs-node-exporter",
    text: "bpf-iter serve at least 20x cheaper per scrape than node_exporter's processes collector at 10,000 processes",
    group: byId("exporters-10000"),
    numerator: "node-exporter-processes",
    denominator: "ts-serve",
    formula: "node_exporter processes / bpf-iter serve, per scrape",
    comparison: "at-least",
    target: 20,
    cpuGoal: true,
  },
  {
    id: "serve-vs-process-exporter",
    text: "bpf-iter serve at least 20x cheaper per scrape than process-exporter at 10,000 processes",
    group: byId("exporters-10000"),
    numerator: "process-exporter",
    denominator: "ts-serve",
    formula: "process-exporter / bpf-iter serve, per scrape",
    comparison: "at-least",
    target: 20,
    cpuGoal: true,
  },
  {
    id: "lookup-ts-vs-c",
    text: "MAP_LOOKUP_ELEM from TypeScript within 2x of C",
    group: byId("lookup-elem"),
    numerator: "ts-lookup",
    denominator: "c-lookup",
    formula: "TS Map.get() / C, per call",
    comparison: "at-most",
    target: 2,
  },
];

/**
 * Why one side of a goal has no figure. A kernel that cannot run the variant
 * gives the same reason for both sides, said once.
 */
function notMeasured(v: VariantResult | undefined, id: string): string {
  if (!v) return `${id} not in this run`;
  if (v.status === "unavailable") {
    return v.missing === "kernel"
      ? (v.note ?? "unavailable on this kernel")
      : `${v.label} not available yet${v.note ? ` (${v.note})` : ""}`;
  }
  if (v.status === "failed") return `${v.label} failed`;
  return `${v.label} not measured`;
}

/**
 * Judges every goal. On a quiet machine (groupBusy false: no more other
 * runnable tasks than cores beside the suite's) the verdict is on wall time;
 * on a busy one, on CPU time, and both ratios are always reported.
 */
export function evaluateGoals(groups: GroupResult[], cores: number): GoalResult[] {
  return GOALS.map((d) => {
    const base = {
      id: d.id,
      text: d.text,
      comparison: d.comparison,
      target: d.target,
      formula: d.formula,
      ...(d.difference ? { difference: true } : {}),
      ...(d.cpuGoal ? { cpuGoal: true } : {}),
    };
    const g = d.group(groups);
    const num = g?.variants.find((v) => v.id === d.numerator);
    const den = g?.variants.find((v) => v.id === d.denominator);
    if (!g) return { ...base, met: null, note: "its scenario is not in this run" };
    if (!num?.summary || !den?.summary) {
      const why = [
        ...new Set(
          [
            [num, d.numerator],
            [den, d.denominator],
          ]
            .filter(([v]) => !(v as VariantResult | undefined)?.summary)
            .map(([v, id]) => notMeasured(v as VariantResult | undefined, id as string)),
        ),
      ];
      return { ...base, met: null, note: why.join("; ") };
    }
    const judge = (r: number): boolean =>
      d.comparison === "at-most" ? r <= d.target : d.strict ? r > d.target : r >= d.target;
    const combine = (a: number, b: number) => (d.difference ? a - b : a / b);
    const ratio = combine(num.summary.median, den.summary.median);

    const cpuRatio =
      num.cpuSummary && den.cpuSummary && (d.difference || den.cpuSummary.median > 0)
        ? combine(num.cpuSummary.median, den.cpuSummary.median)
        : undefined;
    const busy = g !== undefined && groupBusy(g, cores);
    const basis = (d.cpuGoal || busy) && cpuRatio !== undefined ? "cpu" : "wall";
    const floorVariant = d.floor ? g.variants.find((v) => v.id === d.floor) : undefined;
    const floorSummary = basis === "cpu" ? floorVariant?.cpuSummary : floorVariant?.summary;
    const denSummary = basis === "cpu" ? den.cpuSummary! : den.summary;
    const floorRatio =
      floorSummary && denSummary.median > 0
        ? combine(floorSummary.median, denSummary.median)
        : undefined;
    const noisy =
      basis === "cpu"
        ? num.cpuSummary!.noisy || den.cpuSummary!.noisy
        : num.summary.noisy || den.summary.noisy;
    return {
      ...base,
      ratio,
      wallMet: judge(ratio),
      ...(cpuRatio !== undefined ? { cpuRatio, cpuMet: judge(cpuRatio) } : {}),
      met: judge(basis === "cpu" ? cpuRatio! : ratio),
      basis,
      ...(floorRatio !== undefined ? { floorRatio, floorMet: judge(floorRatio) } : {}),
      ...(noisy ? { noisy: true } : {}),
      note: g ? `in “${g.title}”` : "",
    };
  });
}
