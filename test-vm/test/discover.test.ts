import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelTestFiles, workspaceDirs } from "../src/discover.js";
import { loadKernels, sourceLine } from "../src/kernels.js";
import { repoRoot, testVmDir } from "../src/paths.js";

describe("test discovery", () => {
  it("finds the workspace packages from pnpm-workspace.yaml", () => {
    const dirs = workspaceDirs(repoRoot).map((d) => relative(repoRoot, d));
    expect(dirs).toContain("packages/syscall");
    expect(dirs).toContain("test-vm");
  });

  it("finds *.kernel.test.ts files but not fixtures", () => {
    const files = kernelTestFiles(testVmDir).map((f) => relative(testVmDir, f));
    expect(files).toContain(join("test", "guest.kernel.test.ts"));
    expect(files.some((f) => f.includes("fixtures"))).toBe(false);
  });
});

describe("kernels.json", () => {
  it("pins 6.1 and 6.12 with a sha256 each", () => {
    const kernels = loadKernels();
    expect(kernels.map((k) => k.name)).toEqual(expect.arrayContaining(["6.1", "6.12"]));
    expect(new Set(kernels.map((k) => k.name)).size).toBe(kernels.length);
    for (const k of kernels) {
      expect(k.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(k.package).toMatch(/^linux-image-/);
      expect(k.suite).toMatch(/^[a-z]+(-[a-z]+)?$/);
      expect(k.component).toBe("main");
    }
  });

  it("builds a fallback source line from the host's own Debian mirrors", () => {
    const uris = ["https://mirror.invalid/debian", "https://mirror.invalid/debian-security/"];
    const entry = { ...loadKernels()[0]!, suite: "bookworm-security", component: "main" };
    expect(sourceLine(entry, uris)).toBe(
      "deb https://mirror.invalid/debian-security/ bookworm-security main",
    );
    expect(sourceLine({ ...entry, suite: "trixie" }, uris)).toBe(
      "deb https://mirror.invalid/debian trixie main",
    );
    expect(() => sourceLine(entry, ["https://mirror.invalid/ubuntu"])).toThrow(/no Debian/);
  });
});
