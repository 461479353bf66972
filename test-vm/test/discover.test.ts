import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelTestFiles, workspaceDirs } from "../src/discover.js";
import { DEBIAN_KEYRING, loadKernels, privateApt, sourceLine } from "../src/kernels.js";
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
  it("pins 5.10, 6.1, 6.12 and 7.2 with a sha256 each", () => {
    const kernels = loadKernels();
    expect(kernels.map((k) => k.name)).toEqual(
      expect.arrayContaining(["5.10", "6.1", "6.12", "7.2"]),
    );
    expect(new Set(kernels.map((k) => k.name)).size).toBe(kernels.length);
    for (const k of kernels) {
      expect(k.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(k.package).toMatch(/^linux-image-/);
      expect(k.suite).toMatch(/^[a-z]+(-[a-z]+)?$/);
      expect(k.component).toBe("main");
    }
  });

  it("builds the private apt's source lines from the host's own Debian mirrors", () => {
    const uris = ["https://mirror.invalid/debian", "https://mirror.invalid/debian-security/"];
    const entry = { suite: "bookworm-security", component: "main" };
    const signed = `[signed-by=${DEBIAN_KEYRING}]`;
    expect(sourceLine(entry, uris)).toBe(
      `deb ${signed} https://mirror.invalid/debian-security/ bookworm-security main`,
    );
    expect(sourceLine({ ...entry, suite: "sid" }, uris)).toBe(
      `deb ${signed} https://mirror.invalid/debian sid main`,
    );
    expect(() => sourceLine(entry, ["https://mirror.invalid/ubuntu"])).toThrow(/no Debian/);
  });

  it("writes the private apt under its own directory, never the host's", () => {
    const dir = mkdtempSync(join(tmpdir(), "test-vm-apt-"));
    try {
      const opts = privateApt([{ suite: "bullseye-security", component: "main" }], dir);
      const values = opts.filter((_, i) => i % 2 === 1);
      expect(values).toContain(`Dir::Etc::SourceList=${join(dir, "sources.list")}`);
      expect(values).toContain("Dir::Etc::SourceParts=/nonexistent");
      expect(values).toContain(`Dir::State::Lists=${join(dir, "lists")}`);
      for (const v of values.filter((v) => v.startsWith("Dir::"))) {
        const path = v.slice(v.indexOf("=") + 1);
        expect(path === "/nonexistent" || path.startsWith(dir), v).toBe(true);
      }
      expect(readFileSync(join(dir, "sources.list"), "utf8")).toMatch(
        /^deb \[signed-by=\S+debian-archive-keyring\.gpg\] \S+ bullseye-security main\n$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives every entry's split parts (7.x) and Node major valid shapes", () => {
    for (const k of loadKernels()) {
      for (const p of k.parts ?? []) expect(p.package).toMatch(/^linux-(binary|modules|base)-/);
      if (k.node !== undefined) expect(k.node).toBeGreaterThanOrEqual(20);
    }
  });
});
