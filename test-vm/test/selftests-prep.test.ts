// Which test-vm runs prepare the kernel selftests on the host before a guest
// boots: those whose files include elf's kernel-selftests test.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../src/paths.js";
import { SELFTESTS_TEST, selftestsIncluded } from "../src/selftests-prep.js";

describe("selftestsIncluded", () => {
  it("a run with no filter, or one matching the test's path, includes the selftests", () => {
    expect(selftestsIncluded(undefined)).toBe(true);
    expect(selftestsIncluded("kernel-selftests")).toBe(true);
    expect(selftestsIncluded("packages/elf")).toBe(true);
    expect(selftestsIncluded(SELFTESTS_TEST)).toBe(true);
  });

  it("a filter naming other files leaves them out", () => {
    expect(selftestsIncluded("packages/iter")).toBe(false);
    expect(selftestsIncluded("support.kernel")).toBe(false);
  });

  it("a repository without the test includes nothing", () => {
    const empty = mkdtempSync(join(tmpdir(), "test-vm-selftests-"));
    try {
      expect(selftestsIncluded(undefined, empty)).toBe(false);
      expect(selftestsIncluded(undefined, repoRoot)).toBe(true);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
