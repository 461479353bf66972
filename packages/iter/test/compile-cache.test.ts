// bpf-iter's V8 compile cache: only in a directory no one else can write or
// swap (the cache is code run as root), off with TS_EBPF_CACHE=0, and where
// Node has module.enableCompileCache a run of the bin fills it.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import module from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { privateCacheDirectory } from "../src/cli/compile-cache.js";

const BIN = fileURLToPath(new URL("../bin/bpf-iter.js", import.meta.url));
const HAS_COMPILE_CACHE =
  typeof (module as { enableCompileCache?: unknown }).enableCompileCache === "function";

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "bpf-iter-compile-cache-"));
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

describe("privateCacheDirectory", () => {
  it("makes a missing directory 0700 and takes it", () => {
    const dir = join(base, "a", "cache");
    expect(privateCacheDirectory(dir)).toBe(dir);
    expect(existsSync(dir)).toBe(true);
  });

  it("refuses a directory others can write, a symlink, a relative path, a writable parent", () => {
    const open = join(base, "open");
    mkdirSync(open, { mode: 0o700 });
    chmodSync(open, 0o770);
    expect(privateCacheDirectory(open)).toBeUndefined();

    const real = join(base, "real");
    mkdirSync(real, { mode: 0o700 });
    const link = join(base, "link");
    symlinkSync(real, link);
    expect(privateCacheDirectory(link)).toBeUndefined();

    expect(privateCacheDirectory("relative/cache")).toBeUndefined();

    const shared = join(base, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o777); // writable by all, not sticky: the child could be swapped
    expect(privateCacheDirectory(join(shared, "cache"))).toBeUndefined();
    // Nothing is made there (sudo keeping the caller's HOME: no root-owned ~/.cache in it).
    expect(privateCacheDirectory(join(shared, ".cache", "ts-ebpf", "node-compile-cache"))).toBe(
      undefined,
    );
    expect(readdirSync(shared)).toEqual([]);
  });
});

describe("bpf-iter's compile cache", () => {
  function runBin(env: Record<string, string>): void {
    // --help runs main.js: every module of the CLI is loaded, nothing reaches the kernel.
    const { NODE_COMPILE_CACHE, NODE_DISABLE_COMPILE_CACHE, ...inherited } = process.env;
    const run = spawnSync(process.execPath, [BIN, "--help"], {
      env: { ...inherited, ...env },
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
  }

  it.runIf(HAS_COMPILE_CACHE)("is written under the cache directory", () => {
    runBin({ TS_EBPF_CACHE_DIR: join(base, "ts-ebpf") });
    const dir = join(base, "ts-ebpf", "node-compile-cache");
    const [version] = readdirSync(dir);
    expect(version).toMatch(new RegExp(`^${process.version}-`));
    expect(readdirSync(join(dir, version as string)).length).toBeGreaterThan(10);
  });

  it("stays off with TS_EBPF_CACHE=0, and where Node has no compile cache", () => {
    runBin({ TS_EBPF_CACHE_DIR: join(base, "ts-ebpf"), TS_EBPF_CACHE: "0" });
    expect(existsSync(join(base, "ts-ebpf", "node-compile-cache"))).toBe(false);
    if (!HAS_COMPILE_CACHE) {
      runBin({ TS_EBPF_CACHE_DIR: join(base, "ts-ebpf") });
      expect(existsSync(join(base, "ts-ebpf", "node-compile-cache"))).toBe(false);
    }
  });
});
