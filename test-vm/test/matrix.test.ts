import { describe, expect, it } from "vitest";
import type { GuestEvent } from "../src/events.js";
import {
  buildMatrix,
  formatMatrix,
  matrixColumn,
  matrixPage,
  matrixProblems,
  SUPPORT_FILE,
} from "../src/matrix.js";

const support = (tests: Extract<GuestEvent, { ev: "file" }>["tests"]): GuestEvent[] => [
  { ev: "file", pkg: "packages/iter", file: "packages/iter/test/other.kernel.test.ts", tests: [] },
  { ev: "file", pkg: "packages/iter", file: SUPPORT_FILE, tests },
];

describe("support matrix", () => {
  const old = matrixColumn(
    "5.10",
    "5.10.0-46-amd64",
    support([
      { name: "iterator support > target task", state: "passed", durationMs: 1 },
      {
        name: "iterator support > target task_vma",
        state: "skipped",
        durationMs: 0,
        note: "not in this kernel: 5.10.0-46-amd64 has no task_vma iterator (first in 5.12)",
      },
      {
        name: "iterator support > target task with a task parameter (pid)",
        state: "failed",
        durationMs: 1,
        error: "EINVAL",
      },
    ]),
    "v20.20.2",
  );
  const host = matrixColumn(
    "host",
    "6.18.0",
    support([
      { name: "iterator support > target task", state: "passed", durationMs: 1 },
      {
        name: "iterator support > target sockmap",
        state: "skipped",
        durationMs: 0,
        note: "refused by this kernel: EPERM",
      },
    ]),
  );
  const m = buildMatrix([old, host]);

  it("reads each kernel's cells from the support test's results only", () => {
    expect(m.rows).toEqual([
      "target task",
      "target task_vma",
      "target task with a task parameter (pid)",
      "target sockmap",
    ]);
    expect(m.columns[0]!.cells["target task_vma"]).toEqual({ state: "absent", since: "5.12" });
    expect(m.columns[1]!.cells["target sockmap"]?.state).toBe("refused");
    expect(m.columns[1]!.cells["target task_vma"]).toBeUndefined();
  });

  it("prints ✓, not in this kernel, refused, FAILED and not run", () => {
    const text = formatMatrix(m);
    expect(text).toMatch(/^target \/ parameter\s+5\.10\s+host$/m);
    expect(text).toMatch(/^task\s+✓\s+✓$/m);
    expect(text).toMatch(/^task_vma\s+not in this kernel \(5\.12\+\)\s+not run$/m);
    expect(text).toMatch(/^sockmap\s+not run\s+refused \(policy\)$/m);
    expect(matrixProblems(m)).toEqual(["5.10: target task with a task parameter (pid) failed"]);
  });

  it("renders a Markdown page with the kernels, their Node versions and no MDX-special text", () => {
    const page = matrixPage(m, "2026-12-02");
    expect(page).toContain("| 5.10 | `5.10.0-46-amd64` | v20.20.2 |");
    expect(page).toContain("| task_vma | not in this kernel (5.12+) | not run |");
    // MDX would read < and { as JSX.
    expect(page).not.toMatch(/[<{]/);
  });
});
