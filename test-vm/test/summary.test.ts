import { describe, expect, it } from "vitest";
import type { GuestEvent } from "../src/events.js";
import type { GuestOutcome } from "../src/qemu.js";
import { formatSummary, progressLine, summarize } from "../src/summary.js";

const outcome = (events: GuestEvent[], over: Partial<GuestOutcome> = {}): GuestOutcome => ({
  status: "completed",
  events,
  bootMs: 5000,
  wallMs: 30_000,
  kernelWarnings: [],
  logPath: "/tmp/x.log",
  ...over,
});

const plan: GuestEvent = {
  ev: "plan",
  packages: [{ dir: "packages/a", files: ["packages/a/test/x.kernel.test.ts"] }],
  tutorials: false,
};

describe("summarize", () => {
  it("counts passed, failed and skipped tests with reasons", () => {
    const s = summarize(
      "6.1",
      "6.1.0-50-amd64",
      "tcg",
      outcome([
        plan,
        {
          ev: "file",
          pkg: "packages/a",
          file: "packages/a/test/x.kernel.test.ts",
          tests: [
            { name: "a > works", state: "passed", durationMs: 1 },
            { name: "a > breaks", state: "failed", durationMs: 1, error: "expected 1 to be 2" },
            {
              name: "a > needs 6.13",
              state: "skipped",
              durationMs: 0,
              note: "kmem_cache needs 6.13",
            },
          ],
        },
        { ev: "phase-end", name: "packages/a", code: 1, durationMs: 10 },
        { ev: "done", durationMs: 10 },
      ]),
      { filtered: false },
    );
    expect([s.passed, s.failed, s.skipped, s.ok]).toEqual([1, 1, 1, false]);
    expect(s.problems).toEqual([]);
    expect(s.skips[0]!.reason).toBe("kmem_cache needs 6.13");
    const text = formatSummary([s]);
    expect(text).toMatch(/6\.1\s+6\.1\.0-50-amd64\s+-\s+tcg\s+FAILED\s+5\.0 s\s+1\s+1\s+1/);
    expect(text).toContain("FAIL  packages/a/test/x.kernel.test.ts > a > breaks");
    expect(text).toContain(
      "SKIP  packages/a/test/x.kernel.test.ts > a > needs 6.13: kmem_cache needs 6.13",
    );
  });

  it("is ok only when every planned file reported and something ran", () => {
    const passing: GuestEvent = {
      ev: "file",
      pkg: "packages/a",
      file: "packages/a/test/x.kernel.test.ts",
      tests: [{ name: "ok", state: "passed", durationMs: 1 }],
    };
    expect(summarize("k", "r", "tcg", outcome([plan, passing]), { filtered: false }).ok).toBe(true);
    const missing = summarize("k", "r", "tcg", outcome([plan]), { filtered: false });
    expect(missing.ok).toBe(false);
    expect(missing.problems).toContain("packages/a/test/x.kernel.test.ts: no result reported");
    const none = summarize("k", "r", "tcg", outcome([{ ...plan, packages: [] }]), {
      filtered: true,
    });
    expect(none.problems).toEqual(["no kernel test matched the filter"]);
  });

  it("turns a timeout, a panic and a vitest crash into failures", () => {
    const hung = summarize(
      "k",
      "r",
      "tcg",
      outcome([plan], { status: "timeout", detail: "no result after 60 s" }),
      { filtered: false },
    );
    expect(hung.ok).toBe(false);
    expect(hung.problems).toEqual(["timeout: no result after 60 s"]);
    expect(formatSummary([hung])).toMatch(/TIMEOUT/);
    const crashed = summarize(
      "k",
      "r",
      "tcg",
      outcome([
        { ...plan, packages: [] },
        { ev: "phase-end", name: "packages/a", code: 1, durationMs: 1 },
      ]),
      { filtered: false },
    );
    expect(crashed.problems[0]).toMatch(/vitest exited with 1 without a failed test/);
    const tutorials = summarize(
      "k",
      "r",
      "tcg",
      outcome([
        { ...plan, packages: [], tutorials: true },
        { ev: "phase-end", name: "tutorials", code: 3, durationMs: 1 },
      ]),
      { filtered: false },
    );
    expect(tutorials.failed).toBe(1);
    expect(tutorials.failures[0]!.error).toBe("exited with 3");
  });

  it("prints one progress line per finished file, and its failures under it", () => {
    const line = progressLine(
      {
        ev: "file",
        pkg: "p",
        file: "p/x.kernel.test.ts",
        tests: [{ name: "t", state: "failed", durationMs: 1, error: "boom\nstack" }],
      },
      1000,
    );
    expect(line).toBe("FAIL p/x.kernel.test.ts: 0 passed, 1 failed, 0 skipped\n    t: boom");
    expect(progressLine({ ev: "test-start", file: "p/x", name: "t" }, 1)).toBeUndefined();
    expect(progressLine({ ev: "done", durationMs: 1 }, 1)).toBeUndefined();
  });
});
