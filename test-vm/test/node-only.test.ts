import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NODE_ONLY_FILES, nodeOnlyElsewhere, otherNodeMajors } from "../src/node-only.js";
import { repoRoot } from "../src/paths.js";

describe("kernel-independent files", () => {
  it("names existing kernel test files, never the support matrix's or a BTF-dependent one", () => {
    expect(NODE_ONLY_FILES.length).toBeGreaterThan(0);
    for (const { file, why } of NODE_ONLY_FILES) {
      expect(existsSync(join(repoRoot, file)), file).toBe(true);
      expect(file).toMatch(/\.kernel\.test\.ts$/);
      expect(why.length).toBeGreaterThan(10);
      // A file that skips by what the kernel has, or compares with its BTF, depends on the kernel.
      const text = readFileSync(join(repoRoot, file), "utf8");
      expect(text, file).not.toMatch(
        /missingFromKernel|skipWithoutFeature|kernelFeature|loadKernelBtf|setpriv/,
      );
    }
    expect(NODE_ONLY_FILES.map((f) => f.file)).not.toContain(
      "packages/iter/test/support.kernel.test.ts",
    );
  });

  it("leaves them out where the host or an earlier guest runs the same Node major", () => {
    const guests = [
      { kernel: "5.10", nodeMajor: 20 },
      { kernel: "6.1", nodeMajor: 22 },
      { kernel: "6.12", nodeMajor: 24 },
      { kernel: "7.2", nodeMajor: 24 },
    ];
    expect(nodeOnlyElsewhere(guests, 20)).toEqual([
      "Node 20 runs them on the host",
      undefined,
      undefined,
      "Node 24 runs them in the 6.12 guest",
    ]);
    // One guest alone with another major than the host's runs them.
    expect(nodeOnlyElsewhere([{ kernel: "7.2", nodeMajor: 24 }], 20)).toEqual([undefined]);
  });

  it("leaves them out of every guest where the host runs the other majors too", () => {
    const guests = [
      { kernel: "5.10", nodeMajor: 20 },
      { kernel: "6.1", nodeMajor: 22 },
      { kernel: "6.12", nodeMajor: 24 },
      { kernel: "7.2", nodeMajor: 24 },
    ];
    expect(nodeOnlyElsewhere(guests, 20, true)).toEqual([
      "Node 20 runs them on the host",
      "Node 22 runs them on the host, beside the guests",
      "Node 24 runs them on the host, beside the guests",
      "Node 24 runs them on the host, beside the guests",
    ]);
    expect(otherNodeMajors(guests, 20)).toEqual([22, 24]);
  });
});
