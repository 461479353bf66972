import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Machine } from "../src/machine.js";
import { readPart } from "../src/markdown.js";
import { readOutputs } from "../src/outputs.js";
import { describeDifference, type RunOptions, runParts, tooOldFor } from "../src/run.js";

const fixtures = join(import.meta.dirname, "fixtures");
const temp = mkdtempSync(join(tmpdir(), "notebook-test-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function copyFixture(name: string): string {
  const dir = join(temp, name);
  cpSync(join(fixtures, name), dir, { recursive: true });
  return dir;
}

function run(dir: string, slug: string, options: RunOptions = {}) {
  const log: string[] = [];
  const summary = runParts([readPart(join(dir, slug, "README.md"))], {
    checkRecorded: false,
    log: (line) => log.push(line),
    ...options,
  });
  return summary.then((s) => ({ ...s, log }));
}

describe("runParts on a notebook that passes", () => {
  const dir = copyFixture("kernel");

  it("runs cells in order in one scope per chapter and captures what they show", async () => {
    const summary = await run(dir, "part-1-kernel");
    expect(summary.log.filter((l) => l.includes("FAIL"))).toEqual([]);
    expect(summary.ok).toBe(true);
    expect(summary.passed).toBe(8);
    const [one, two] = summary.chapters;
    const results = one!.cells.map((c) => c.result);
    expect(results[0]).toEqual({
      stdout: "hello from cell 1\n",
      stderr: "a warning\n",
      value: "42",
    });
    // Top-level await, a function and a class from cell 2, a value printed with util.inspect.
    expect(results[1]!.value).toBe("Box { value: 80 }");
    // The hidden set-up cell ran: the next cell saw its `bytes`.
    expect(results[2]).toEqual({ stdout: "", stderr: "" });
    expect(results[3]!.error!.text).toBe("RangeError: too big");
    expect(results[4]!.value).toMatch(/^kernel \d+\.\d+/);
    // Imports of @ts-ebpf packages resolve from the tutorials package.
    expect(results[5]!.value).toBe("true");
    // A chapter starts with a fresh scope; an awaited rejection is an expected throw.
    expect(two!.cells.map((c) => c.result?.value ?? c.result?.error?.text)).toEqual([
      "undefined",
      "TypeError: async failure",
    ]);
  });

  it("records outputs with the kernel and date, then compares without rewriting", async () => {
    const recorded = await run(dir, "part-1-kernel", { record: true });
    expect(recorded.ok).toBe(true);
    const file = join(dir, "part-1-kernel", "outputs.json");
    const outputs = readOutputs(file, "part-1-kernel");
    const chapter = outputs.chapters["1"]!;
    expect(chapter.kernel).toMatch(/^\d+\.\d+/);
    expect(Date.parse(chapter.date)).not.toBeNaN();
    expect(chapter.cells).toHaveLength(6);
    expect(chapter.cells[3]!.error).toBe("RangeError: too big");

    // A checking run passes and leaves the file alone; a changed output (Date.now()) is not
    // a failure, only information.
    const before = readFileSync(file, "utf8");
    const tampered = JSON.parse(before);
    tampered.chapters["1"].cells[0].stdout = "something else\n";
    writeFileSync(file, JSON.stringify(tampered));
    const checked = await run(dir, "part-1-kernel", { checkRecorded: true });
    expect(checked.ok).toBe(true);
    expect(checked.chapters[0]!.cells[0]!.differs).toBe(true);
    expect(checked.log.join("\n")).toContain("information only");
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(tampered);
  });

  it("fails when a cell's text changed since its output was recorded", async () => {
    const readme = join(dir, "part-1-kernel", "README.md");
    writeFileSync(readme, readFileSync(readme, "utf8").replace("answer + b + first", "answer + b"));
    const checked = await run(dir, "part-1-kernel", { checkRecorded: true });
    expect(checked.ok).toBe(false);
    expect(checked.chapters[0]!.reason).toBe("recorded outputs are stale");
    expect(checked.log.join("\n")).toMatch(/STALE chapter 1, cell 1/);
  });

  it("writes to --out-dir without touching the committed file", async () => {
    const out = join(temp, "out");
    const committed = readFileSync(join(dir, "part-1-kernel", "outputs.json"), "utf8");
    const summary = await run(dir, "part-1-kernel", {
      record: true,
      outDir: out,
      chapters: new Set([2]),
    });
    expect(summary.chapters.map((c) => c.chapter.number)).toEqual([2]);
    expect(
      Object.keys(readOutputs(join(out, "part-1-kernel", "outputs.json"), "x").chapters),
    ).toEqual(["2"]);
    expect(readFileSync(join(dir, "part-1-kernel", "outputs.json"), "utf8")).toBe(committed);
  });
});

describe("cells that need an iterator target", () => {
  const dir = copyFixture("needs");
  const guest: Machine = { kernel: "6.12.117", virtualization: "TCG", cpu: "QEMU TCG CPU × 2" };
  const host: Machine = { kernel: "6.18.44", virtualization: "KVM", cpu: "AMD EPYC × 2" };
  const file = join(dir, "part-1-needs", "outputs.json");
  const runAs = (name: string, options: RunOptions) => {
    process.env.FIXTURE_RUN = name;
    return run(dir, "part-1-needs", { record: true, ...options });
  };

  it("keep the recording from a machine that loads the target; the rest is recorded here", async () => {
    await runAs("guest", { machine: guest, probeTarget: () => true });
    const first = readOutputs(file, "x").chapters["1"]!;
    expect(first.machine).toEqual(guest);
    expect(first.cells.map((c) => c.value)).toEqual(["needs: guest", "plain: guest"]);

    const summary = await runAs("host", { machine: host, probeTarget: () => false });
    expect(summary.ok).toBe(true);
    expect(summary.log.join("\n")).toContain("this kernel refuses bpf_map_elem programs");
    const second = readOutputs(file, "x").chapters["1"]!;
    expect(second.machine).toEqual(host);
    expect(second.cells[0]).toMatchObject({ value: "needs: guest", machine: guest });
    expect(second.cells[0]!.date).toBe(first.date);
    expect(second.cells[1]).toMatchObject({ value: "plain: host" });
    expect(second.cells[1]!.machine).toBeUndefined();
  });

  it("take them from --merge, and record unmet needs when no machine met them", async () => {
    const out = join(temp, "needs-guest");
    await runAs("guest2", { machine: guest, probeTarget: () => true, outDir: out });
    await runAs("host2", { machine: host, probeTarget: () => false, merge: out });
    const merged = readOutputs(file, "x").chapters["1"]!;
    expect(merged.cells[0]).toMatchObject({ value: "needs: guest2", machine: guest });
    expect(merged.cells[1]).toMatchObject({ value: "plain: host2" });

    rmSync(file);
    await runAs("host3", { machine: host, probeTarget: () => false });
    const alone = readOutputs(file, "x").chapters["1"]!;
    expect(alone.cells[0]).toMatchObject({ value: "needs: host3", unmet: ["bpf_map_elem"] });
  });

  it("name each differing cell, how it differs and where it was recorded", async () => {
    await runAs("guest4", { machine: guest, probeTarget: () => true });
    process.env.FIXTURE_RUN = "host4";
    const checked = await run(dir, "part-1-needs", {
      checkRecorded: true,
      probeTarget: () => false,
    });
    const log = checked.log.join("\n");
    expect(log).toContain("2 cell(s) print differently from the recording");
    expect(log).toMatch(
      /cell 1 \(line \d+\) \(recorded on Linux 6\.12\.117 \(TCG, QEMU TCG CPU × 2\), which loads bpf_map_elem; this kernel does not\): value line 1: recorded "needs: guest4", now "needs: host4"/,
    );
    expect(log).toMatch(
      /cell 2 \(line \d+\) \(recorded on Linux 6\.12\.117 [^)]*\)\): value line 1/,
    );
  });
});

describe("tooOldFor", () => {
  const chapter = { minKernel: [6, 1] as const } as Parameters<typeof tooOldFor>[0];
  it("compares the running kernel's release with the chapter's oldest", () => {
    expect(tooOldFor(chapter, "5.10.237-1-amd64")).toBe(
      "needs Linux 6.1 or later; this is 5.10.237-1-amd64",
    );
    expect(tooOldFor(chapter, "6.1.0-50-amd64")).toBeUndefined();
    expect(tooOldFor(chapter, "7.2.0")).toBeUndefined();
    expect(tooOldFor({ ...chapter, minKernel: undefined }, "4.19.0")).toBeUndefined();
  });
});

describe("describeDifference", () => {
  const recorded = { index: 0, hash: "h", stdout: "a\nb\n", stderr: "", value: "1" };
  it("gives the first differing line of each part", () => {
    expect(describeDifference(recorded, { stdout: "a\nb\n", stderr: "", value: "1" })).toBe(
      undefined,
    );
    expect(describeDifference(recorded, { stdout: "a\nc\n", stderr: "w", value: "1" })).toBe(
      'stdout line 2: recorded "b", now "c"; stderr line 1: recorded "", now "w"',
    );
    expect(describeDifference(recorded, { stdout: "a\nb\n", stderr: "", value: "1\n2\n3" })).toBe(
      'value: 2 more line(s), first "2"',
    );
  });
});

describe("runParts on a notebook that fails", () => {
  const dir = copyFixture("failing");

  it("fails on unexpected throws, mismatches, missing throws, hangs and bad syntax", async () => {
    const summary = await run(dir, "part-1-failing", {
      kernelUnavailable: "no kernel in this test",
    });
    expect(summary.ok).toBe(false);
    const byNumber = new Map(summary.chapters.map((c) => [c.chapter.number, c]));
    const one = byNumber.get(1)!;
    expect(one.status).toBe("failed");
    expect(one.cells.map((c) => c.status)).toEqual(["passed", "failed", "not-run"]);
    expect(one.cells[1]!.problem).toBe("threw unexpectedly: Error: boom 1");
    expect(byNumber.get(2)!.cells[0]!.problem).toMatch(
      /output does not match \/\^goodbye\/:\n {4}\| hello/,
    );
    expect(byNumber.get(3)!.cells[0]!.problem).toBe("was expected to throw but did not");
    expect(byNumber.get(4)!.cells[0]!.problem).toMatch(/Timeout: the cell ran longer than 300 ms/);
    expect(byNumber.get(5)!.cells[0]!.problem).toMatch(/README.md:\d+ \(chapter 5, cell 1\):1: /);
    expect(byNumber.get(6)).toMatchObject({ status: "skipped", reason: "no kernel in this test" });
    expect(summary.skipped).toBe(1);
  });

  it("fails a chapter that needs the kernel when the kernel is required", async () => {
    const summary = await run(dir, "part-1-failing", {
      kernelUnavailable: "no kernel in this test",
      requireKernel: true,
      chapters: new Set([6]),
    });
    expect(summary.ok).toBe(false);
    expect(summary.chapters[0]!.reason).toMatch(/TS_EBPF_REQUIRE_KERNEL=1/);
  });

  it("never records a failing chapter", async () => {
    await run(dir, "part-1-failing", { record: true, chapters: new Set([1]) });
    const outputs = readOutputs(join(dir, "part-1-failing", "outputs.json"), "part-1-failing");
    expect(outputs.chapters).toEqual({});
  });
});
