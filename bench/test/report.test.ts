import { describe, expect, it } from "vitest";
import { formatBytes, formatRatio, formatSeconds, formatThroughput } from "../src/format.js";
import { evaluateGoals } from "../src/goals.js";
import { othersRunnableNow, withRatios } from "../src/measure.js";
import { type GroupResult, groupBusy, type RunResult, type VariantResult } from "../src/model.js";
import { parseStat } from "../src/proc-scan.js";
import { chartFor, goalVerdict, markdownReport, terminalReport } from "../src/report.js";
import { summarize } from "../src/stats.js";
import { escapeXml, logTicks, niceTicks, renderBarChart } from "../src/svg.js";
import { testRun } from "./fixtures.js";

function variant(id: string, samples: number[], extra: Partial<VariantResult> = {}): VariantResult {
  return {
    id,
    label: id,
    status: "ok",
    samples,
    items: 1000,
    summary: summarize(samples),
    ...extra,
  };
}

function dumpGroup(): GroupResult {
  return withRatios({
    id: "map-dump-1000",
    scenario: "map-dump",
    title: "Dump <1000> entries",
    description: "test",
    unit: "seconds",
    variants: [
      variant("c-iter", [1, 1, 1, 1, 1], { reference: true }),
      variant("ts-map-elems-raw", [1.1, 1.1, 1.1, 1.1, 1.1]),
      variant("ts-map-elems-decoded", [2.5, 2.5, 2.5, 2.5, 2.5]),
      variant("ts-lookup-batch-raw", [2, 2, 2, 2, 2]),
      variant("ts-lookup-batch", [2, 2, 2, 2, 2]),
      {
        id: "ts-next-key",
        label: "TS next key",
        status: "unavailable",
        note: "not landed",
        samples: [],
      },
    ],
  });
}

const run = (groups: GroupResult[]): RunResult => testRun(groups);

describe("format", () => {
  it("picks units", () => {
    expect(formatSeconds(1.234)).toBe("1.23 s");
    expect(formatSeconds(0.2314)).toBe("231 ms");
    expect(formatSeconds(1.17e-6)).toBe("1.17 µs");
    expect(formatSeconds(5e-9)).toBe("5.00 ns");
    expect(formatRatio(1.049)).toBe("1.05x");
    expect(formatRatio(12.34)).toBe("12.3x");
    expect(formatRatio(undefined)).toBe("—");
    expect(formatBytes(4096)).toBe("4 KiB");
    expect(formatBytes(1 << 20)).toBe("1 MiB");
    expect(formatThroughput(2 ** 30 * 1.5)).toBe("1.50 GiB/s");
  });
});

describe("ratios and goals", () => {
  it("computes ratios against the group's reference", () => {
    const g = dumpGroup();
    expect(g.variants.map((v) => v.ratio)).toEqual([1, 1.1, 2.5, 2, 2, undefined]);
  });
  it("evaluates each goal in the direction it is stated", () => {
    const goals = evaluateGoals([dumpGroup()], 2);
    const byId = Object.fromEntries(goals.map((g) => [g.id, g]));
    expect(byId["map-elems-raw-vs-c"]).toMatchObject({ met: true });
    expect(byId["map-elems-raw-vs-c"]!.ratio).toBeCloseTo(1.1);
    expect(byId["map-elems-decoded-vs-c"]).toMatchObject({ ratio: 2.5, met: false });
    expect(byId["map-elems-vs-batch"]!.ratio).toBeCloseTo(2 / 1.1);
    expect(byId["map-elems-vs-batch"]!.met).toBe(true);
    expect(byId["map-elems-decoded-vs-batch"]).toMatchObject({ ratio: 0.8, met: false });
    expect(byId["map-elems-vs-next-key"]).toMatchObject({ met: null });
    expect(byId["map-elems-vs-next-key"]!.note).toContain("TS next key");
    expect(byId["tasks-warm-vs-proc"]).toMatchObject({ met: null });
  });
  it("carries CPU-time ratios next to the wall-time ones", () => {
    const g = dumpGroup();
    g.variants[0]!.cpuSummary = summarize([0.5, 0.5, 0.5]);
    g.variants[1]!.cpuSummary = summarize([0.56, 0.56, 0.56]);
    withRatios(g);
    expect(g.variants[1]!.cpuRatio).toBeCloseTo(1.12);
    expect(g.variants[2]!.cpuRatio).toBeUndefined();
    const goal = evaluateGoals([g], 2).find((x) => x.id === "map-elems-raw-vs-c")!;
    expect(goal.cpuRatio).toBeCloseTo(1.12);
    expect(markdownReport(run([g]))).toContain("| 1.10x (goal ≤ 1.15x) | 1.12x |");
    expect(goal.cpuMet).toBe(true);
  });
  it("says when the CPU-time ratio disagrees with the wall-time verdict", () => {
    const g = dumpGroup();
    g.variants[0]!.cpuSummary = summarize([0.5, 0.5, 0.5]);
    g.variants[1]!.cpuSummary = summarize([0.8, 0.8, 0.8]);
    const goal = evaluateGoals([g], 2).find((x) => x.id === "map-elems-raw-vs-c")!;
    expect(goal).toMatchObject({ met: true, cpuMet: false });
    expect(goalVerdict(goal)).toBe("met (missed on CPU time)");
  });
  it("judges on CPU time when the machine was busy", () => {
    const g = dumpGroup();
    g.loadAverage = 9.5;
    g.variants[0]!.cpuSummary = summarize([0.5, 0.5, 0.5]);
    g.variants[1]!.cpuSummary = summarize([0.8, 0.8, 0.8]);
    const goal = evaluateGoals([g], 2).find((x) => x.id === "map-elems-raw-vs-c")!;
    expect(goal).toMatchObject({ basis: "cpu", met: false, wallMet: true });
    expect(goalVerdict(goal)).toBe("MISSED (on CPU time: machine busy; wall time says met)");
    expect(evaluateGoals([g], 16).find((x) => x.id === "map-elems-raw-vs-c")).toMatchObject({
      basis: "wall",
      met: true,
    });
  });
  it("judges by other runnable tasks where recorded, not by a load average left by an earlier spike", () => {
    const g = dumpGroup();
    g.variants[0]!.cpuSummary = summarize([0.5, 0.5, 0.5]);
    g.variants[1]!.cpuSummary = summarize([0.8, 0.8, 0.8]);
    // The load average of a run after 50,000 threads started, but nothing else runnable.
    g.loadAverage = 320;
    g.othersRunnable = 0.4;
    const quiet = evaluateGoals([g], 2).find((x) => x.id === "map-elems-raw-vs-c")!;
    expect(quiet).toMatchObject({ basis: "wall", met: true });
    // Two other runnable tasks on average on 2 cores: busy, whatever the load average says.
    g.loadAverage = 0.5;
    g.othersRunnable = 2;
    const busy = evaluateGoals([g], 2).find((x) => x.id === "map-elems-raw-vs-c")!;
    expect(busy).toMatchObject({ basis: "cpu", met: false });
    expect(groupBusy({ othersRunnable: 1 }, 2)).toBe(false);
    expect(groupBusy({ othersRunnable: 1.01 }, 2)).toBe(true);
    expect(groupBusy({ loadAverage: 2.5 }, 2)).toBe(true);
    expect(markdownReport(run([g]))).toContain(
      "Load average 0.5, 2 other runnable tasks on average on 2 cores while measuring (busy",
    );
  });
  it("reads procs_running from /proc/stat, less this process", () => {
    expect(othersRunnableNow("cpu  1 2 3\nprocs_running 3\nprocs_blocked 0\n")).toBe(2);
    expect(othersRunnableNow("procs_running 1\n")).toBe(0);
    expect(othersRunnableNow("nothing here\n")).toBeUndefined();
    expect(othersRunnableNow()).toBeGreaterThanOrEqual(0);
  });
  it("judges the exporter goals on CPU time also when the machine was quiet", () => {
    const g: GroupResult = withRatios({
      ...dumpGroup(),
      id: "exporters-10000",
      scenario: "exporters",
      loadAverage: 0.5,
      variants: [
        variant("ts-serve", [0.03, 0.03, 0.03], {
          reference: true,
          cpuSummary: summarize([0.01, 0.01, 0.01]),
        }),
        variant("node-exporter-processes", [0.3, 0.3, 0.3], {
          cpuSummary: summarize([0.25, 0.25, 0.25]),
        }),
      ],
    });
    const goal = evaluateGoals([g], 2).find((x) => x.id === "serve-vs-node-exporter")!;
    expect(goal).toMatchObject({ basis: "cpu", cpuGoal: true, met: true, wallMet: false });
    expect(goal.cpuRatio).toBeCloseTo(25);
    expect(goalVerdict(goal)).toBe(
      "met (on CPU time, what the goal measures; wall time says missed)",
    );
  });
  it("judges a difference goal (CLI start-up) on the difference of medians, shown in ms", () => {
    const g: GroupResult = {
      ...dumpGroup(),
      id: "cli-start",
      scenario: "cli-start",
      variants: [
        { ...variant("node-bare", [0.07, 0.07, 0.07]), reference: true },
        variant("cli-tasks", [0.1, 0.1, 0.1]),
      ],
    };
    const goal = evaluateGoals([g], 2).find((x) => x.id === "cli-start-above-node")!;
    expect(goal).toMatchObject({ difference: true, met: true });
    expect(goal.ratio).toBeCloseTo(0.03);
    expect(markdownReport(run([g]))).toContain("+30.0 ms (goal ≤ +40.0 ms)");
  });
  it("says when a decode goal is out of JavaScript's reach: its hand-written floor misses too", () => {
    const decode = (floor: number): GroupResult => ({
      ...dumpGroup(),
      id: "map-decode",
      scenario: "map-decode",
      variants: [
        { ...variant("c-decode", [1, 1, 1]), reference: true },
        variant("ts-decode-records", [3, 3, 3]),
        variant("js-floor-records", [floor, floor, floor]),
      ],
    });
    const out = evaluateGoals([decode(1.6)], 2).find((g) => g.id === "decode-records-vs-c")!;
    expect(out).toMatchObject({ met: false, floorMet: false });
    expect(out.floorRatio).toBeCloseTo(1.6);
    expect(goalVerdict(out)).toBe(
      "MISSED (out of JavaScript's reach on this Node: its hand-written floor takes 1.60x)",
    );
    const within = evaluateGoals([decode(1.2)], 2).find((g) => g.id === "decode-records-vs-c")!;
    expect(within).toMatchObject({ met: false, floorMet: true });
    expect(goalVerdict(within)).toBe("MISSED");
  });
  it("uses the largest map's group", () => {
    const small = { ...dumpGroup(), id: "map-dump-10" };
    const large = dumpGroup();
    large.variants[1] = variant("ts-map-elems-raw", [3, 3, 3, 3, 3]);
    const goal = evaluateGoals([small, large], 2).find((g) => g.id === "map-elems-raw-vs-c")!;
    expect(goal).toMatchObject({ ratio: 3, met: false });
  });
});

describe("reports", () => {
  it("Markdown lists goals, groups, charts and missing variants", () => {
    const md = markdownReport(run([dumpGroup()]));
    expect(md).toContain(
      "| 1M-entry dump: mapElems raw bytes within 1.15x of the C iterator reader | 1.10x (goal ≤ 1.15x)",
    );
    expect(md).toContain("![Dump <1000> entries](./map-dump-1000.svg)");
    expect(md).toContain("not available yet: not landed");
    expect(md).toContain("Test CPU (2 cores");
  });
  it("the terminal table has one row per variant", () => {
    const text = terminalReport(run([dumpGroup()]));
    expect(text.split("\n").filter((l) => l.startsWith("ts-"))).toHaveLength(5);
    expect(text).toContain("MISSED");
  });
  it("charts are well-formed SVG with escaped text", () => {
    const svg = chartFor(dumpGroup(), run([dumpGroup()]));
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("Dump &lt;1000&gt; entries");
    expect(svg).not.toContain("<1000>");
    expect(svg.match(/<rect /g)).toHaveLength(1 + 5); // background + five bars
    expect(svg).toContain("not available yet");
  });
  it("throughput charts scale by bytes per second", () => {
    const g: GroupResult = {
      id: "chunk",
      scenario: "chunk-size",
      title: "chunks",
      description: "",
      unit: "throughput",
      variants: [variant("c", [1, 1, 1], { bytes: 2 ** 20, reference: true })],
    };
    expect(chartFor(g, run([g]))).toContain("1.00 MiB/s");
  });
});

describe("svg helpers", () => {
  it("niceTicks covers the maximum with round steps", () => {
    expect(niceTicks(2.3)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(0)).toEqual([0]);
    expect(niceTicks(100)).toEqual([0, 20, 40, 60, 80, 100]);
  });
  it("logTicks spans the data in powers of ten", () => {
    expect(logTicks(0.0005, 0.5)).toEqual([0.0001, 0.001, 0.01, 0.1, 1]);
    expect(logTicks(3, 3)).toEqual([1, 10]);
  });
  it("switches to a log axis for widely spread bars", () => {
    const rows = [
      { label: "a", value: 1, text: "a" },
      { label: "b", value: 1000, text: "b" },
    ];
    const svg = renderBarChart({ title: "t", axisLabel: "x", rows, formatTick: String });
    expect(svg).toContain("log scale");
    const linear = renderBarChart({
      title: "t",
      axisLabel: "x",
      rows: rows.slice(0, 1),
      formatTick: String,
    });
    expect(linear).not.toContain("log scale");
  });
  it("escapes XML", () => {
    expect(escapeXml(`<a & "b">`)).toBe("&lt;a &amp; &quot;b&quot;&gt;");
  });
  it("renders an empty chart", () => {
    const svg = renderBarChart({ title: "t", axisLabel: "x", rows: [], formatTick: String });
    expect(svg).toContain("</svg>");
  });
});

describe("parseStat", () => {
  it("handles spaces and parentheses in comm", () => {
    expect(parseStat("42 (a) b) (c) S 7 42 42 0 -1")).toEqual({
      pid: 42,
      comm: "a) b) (c",
      state: "S",
      ppid: 7,
    });
    expect(() => parseStat("garbage")).toThrow();
  });
});
