// Variants a kernel cannot run (it refuses bpf_map_elem iterator programs):
// reported as unavailable, with the reason, in every output; never as FAILED.
import { describe, expect, it } from "vitest";
import { evaluateGoals } from "../src/goals.js";
import { probeMapElem, unavailableReason } from "../src/kernel-features.js";
import { runGroup, type VariantSpec, withRatios } from "../src/measure.js";
import type { GroupResult, RunResult, VariantResult } from "../src/model.js";
import { Progress } from "../src/progress.js";
import { chartFor, goalVerdict, markdownReport, terminalReport } from "../src/report.js";
import { type Context, needsMapElemIterator } from "../src/scenarios/context.js";
import { summarize } from "../src/stats.js";
import { testRun } from "./fixtures.js";

const REASON =
  "this kernel refuses bpf_map_elem iterator programs (EPERM as root: security policy)";

function refusedError(): Error {
  const e = new Error("the kernel (Linux 6.18) refuses bpf_map_elem iterator programs: ...");
  e.name = "IteratorTargetRefusedError";
  return e;
}

function ok(id: string, samples: number[]): VariantResult {
  return { id, label: id, status: "ok", samples, items: 1000, summary: summarize(samples) };
}

function refused(id: string, reference = false): VariantResult {
  return {
    id,
    label: `${id} label`,
    status: "unavailable",
    note: REASON,
    missing: "kernel",
    samples: [],
    ...(reference ? { reference: true } : {}),
  };
}

/** The 1M dump on a refusing kernel: every iterator variant unavailable, the loops measured. */
function refusedDump(): GroupResult {
  return withRatios({
    id: "map-dump-1000000",
    scenario: "map-dump",
    title: "Dump a 1,000,000-entry hash map",
    description: "",
    unit: "seconds",
    variants: [
      refused("c-iter", true),
      refused("c-iter-12"),
      refused("ts-map-elems-raw"),
      refused("ts-map-elems-decoded"),
      ok("ts-lookup-batch-raw", [2, 2, 2, 2, 2]),
      ok("ts-lookup-batch", [3, 3, 3, 3, 3]),
      ok("ts-next-key", [9, 9, 9, 9, 9]),
    ],
  });
}

const runOf = (groups: GroupResult[]): RunResult => testRun(groups, { os: "L" });

const silent = () =>
  new Progress({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);

describe("probing bpf_map_elem", () => {
  it("names a refusal (EPERM as root) as a security policy", () => {
    expect(
      unavailableReason({ target: "bpf_map_elem", loadable: false, error: refusedError() }),
    ).toBe(REASON);
  });
  it("says when the kernel lacks the target, and passes other errors' first line on", () => {
    const missing = new Error("no bpf_iter_bpf_map_elem");
    missing.name = "UnsupportedTargetError";
    expect(unavailableReason({ target: "bpf_map_elem", loadable: false, error: missing })).toBe(
      "this kernel has no bpf_map_elem iterator target",
    );
    expect(
      unavailableReason({
        target: "bpf_map_elem",
        loadable: false,
        error: new Error("BPF_PROG_LOAD: EINVAL\nverifier log"),
      }),
    ).toBe("bpf_map_elem iterator programs do not load here: BPF_PROG_LOAD: EINVAL");
    expect(unavailableReason({ target: "bpf_map_elem", loadable: true })).toBeUndefined();
  });
  it("marks the variants unavailable, except where TS_EBPF_REQUIRE_FEATURES=1 wants them to fail", () => {
    const refusing = (target: string) => ({ target, loadable: false, error: refusedError() });
    expect(probeMapElem(false, refusing)).toMatchObject({ unavailable: REASON });
    const required = probeMapElem(true, refusing);
    expect(required.unavailable).toBeUndefined();
    expect(required.note).toContain("running those variants anyway");
    expect(probeMapElem(false, (target) => ({ target, loadable: true }))).toEqual({});
  });
});

describe("a variant the kernel cannot run", () => {
  const ctx = { mapElemUnavailable: REASON } as Context;
  const spec: VariantSpec = {
    id: "c-iter",
    label: "C iterator reader",
    reference: true,
    expectItems: 10,
    sampler: () => Promise.reject(new Error("must not be prepared")),
  };

  it("keeps its id, label and reference role, drops its sampler", () => {
    expect(needsMapElemIterator(ctx, spec)).toEqual({
      id: "c-iter",
      label: "C iterator reader",
      reference: true,
      unavailable: REASON,
      missing: "kernel",
    });
    expect(needsMapElemIterator({} as Context, spec)).toBe(spec);
  });

  it("comes out of runGroup as unavailable (kernel), not failed, and is never sampled", async () => {
    let sampled = 0;
    const g = await runGroup(
      silent(),
      { id: "g", scenario: "map-dump", title: "t", description: "", unit: "seconds" },
      [
        needsMapElemIterator(ctx, spec),
        {
          id: "ts-next-key",
          label: "loop",
          sampler: async () => ({
            sample: async () => {
              sampled++;
              return { seconds: 1, cpuSeconds: 1, items: 1 };
            },
          }),
        },
      ],
      3,
    );
    expect(g.variants[0]).toMatchObject({
      status: "unavailable",
      missing: "kernel",
      note: REASON,
      samples: [],
    });
    expect(g.variants[1]!.status).toBe("ok");
    expect(sampled).toBe(3);
    const json = JSON.parse(JSON.stringify(g)) as GroupResult;
    expect(json.variants[0]).toMatchObject({ status: "unavailable", missing: "kernel" });
  });

  it("a group with nothing runnable finishes without rounds", async () => {
    const lines: string[] = [];
    const progress = new Progress({
      write: (s: string) => lines.push(s) > 0,
      isTTY: false,
    } as unknown as NodeJS.WriteStream);
    const g = await runGroup(
      progress,
      { id: "chunk-size", scenario: "chunk-size", title: "c", description: "", unit: "throughput" },
      [needsMapElemIterator(ctx, spec), needsMapElemIterator(ctx, { id: "ts", label: "ts" })],
      5,
    );
    expect(g.variants.every((v) => v.status === "unavailable")).toBe(true);
    expect(lines.join("")).not.toMatch(/round/);
    expect(lines.join("")).toContain(`unavailable: ${REASON}`);
  });
});

describe("reports of a run on a refusing kernel", () => {
  const run = runOf([refusedDump()]);

  it("goals on the iterator say 'not measured: <reason>', once", () => {
    const byId = Object.fromEntries(run.goals.map((g) => [g.id, g]));
    for (const id of [
      "map-elems-raw-vs-c",
      "map-elems-decoded-vs-c",
      "map-elems-vs-next-key",
      "map-elems-vs-batch",
    ]) {
      expect(byId[id]).toMatchObject({ met: null, note: REASON });
      expect(goalVerdict(byId[id]!)).toBe(`not measured: ${REASON}`);
    }
  });

  it("the terminal table shows the variants as unavailable with the reason, nothing FAILED", () => {
    const text = terminalReport(run);
    const row = text.split("\n").find((l) => l.startsWith("ts-map-elems-raw label"))!;
    expect(row).toContain(`unavailable: ${REASON}`);
    expect(text).toContain(`not measured: ${REASON}`);
    expect(text).not.toContain("FAILED");
    expect(text).not.toContain("not available yet");
  });

  it("the Markdown says so in the variant rows and the goals", () => {
    const md = markdownReport(run);
    expect(md).toContain(
      `| **c-iter label** | — | — | — | — | — | — | — | — | unavailable: ${REASON} |`,
    );
    expect(md).toContain(`| not measured: ${REASON} |`);
    expect(md).not.toContain("FAILED");
    // The measured loops are still there.
    expect(md).toMatch(/\| ts-next-key \| 9\.00 s \|/);
  });

  it("the chart labels them unavailable on this kernel", () => {
    const svg = chartFor(refusedDump(), run);
    expect(svg.match(/unavailable on this kernel/g)).toHaveLength(4);
  });

  it("a missing API still reads 'not available yet'", () => {
    const g = refusedDump();
    g.variants[6] = {
      id: "ts-next-key",
      label: "TS next key",
      status: "unavailable",
      note: "not landed",
      samples: [],
    };
    const goals = evaluateGoals([g], 2);
    expect(markdownReport(runOf([g]))).toContain("not available yet: not landed");
    expect(goals.find((x) => x.id === "map-elems-vs-next-key")!.note).toBe(
      `TS next key not available yet (not landed); ${REASON}`,
    );
  });
});
