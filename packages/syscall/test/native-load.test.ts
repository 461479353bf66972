// When the addon cannot load, the error must say why and which command of the
// user's package manager fixes it. The real failures (a pnpm install that
// skipped the build, a missing prebuild) are exercised by scripts/pack-install.sh;
// these tests pin the wording for each case without touching the addon.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import {
  commonAddonPath,
  detectPackageManager,
  explainLoadFailure,
  type LoadContext,
  nativeLoaded,
  rebuildCommand,
} from "../src/native.js";

const noBuild = new Error(
  "No native build was found for platform=linux arch=riscv64 runtime=node abi=115 uv=1 libc=glibc node=20.20.2\n    loaded from: /x\n",
);
const base: LoadContext = {
  platform: "linux",
  arch: "riscv64",
  libc: "glibc",
  packageDir: "/app/node_modules/@ts-ebpf/syscall",
  prebuilds: ["linux-arm64", "linux-x64"],
  manager: "npm",
  found: false,
};

afterAll(() => {
  expect(nativeLoaded()).toBe(false);
});

describe("explainLoadFailure", () => {
  it("names the missing platform, what ships, and npm's rebuild command", () => {
    const m = explainLoadFailure(noBuild, base);
    expect(m).toContain("no prebuilt addon for linux-riscv64");
    expect(m).toContain("it has: linux-arm64, linux-x64");
    expect(m).toContain("npm rebuild @ts-ebpf/syscall");
    expect(m).toContain("C++ compiler");
  });

  it("tells a pnpm user that pnpm skipped the build and how to allow it", () => {
    const m = explainLoadFailure(noBuild, { ...base, manager: "pnpm" });
    expect(m).toContain("pnpm 10 skips dependencies' build scripts");
    expect(m).toContain("pnpm approve-builds");
    expect(m).toContain("pnpm rebuild @ts-ebpf/syscall");
    expect(m).not.toMatch(/(^|[^p])npm rebuild/);
  });

  it("says the glibc prebuild does not fit a musl system", () => {
    const m = explainLoadFailure(noBuild, { ...base, arch: "x64", libc: "musl" });
    expect(m).toContain("the linux-x64 prebuild is for glibc and this system uses musl");
  });

  it("reports a file that was found but failed to load, with the loader's reason", () => {
    const dlopen = new Error("/lib/libc.so.6: version `GLIBC_2.28' not found");
    const m = explainLoadFailure(dlopen, { ...base, arch: "x64", found: true, manager: "yarn" });
    expect(m).toContain("failed to load: /lib/libc.so.6: version `GLIBC_2.28' not found");
    expect(m).toContain("yarn rebuild @ts-ebpf/syscall");
  });

  it("says bpf(2) is Linux only on another platform", () => {
    const m = explainLoadFailure(noBuild, { ...base, platform: "darwin" });
    expect(m).toMatch(/only Linux has; this is darwin/);
  });
});

describe("rebuildCommand", () => {
  it("has one command per package manager", () => {
    expect(rebuildCommand("npm")).toBe("npm rebuild @ts-ebpf/syscall");
    expect(rebuildCommand("pnpm")).toMatch(
      /^pnpm approve-builds .* pnpm rebuild @ts-ebpf\/syscall$/,
    );
    expect(rebuildCommand("yarn")).toBe("yarn rebuild @ts-ebpf/syscall");
    expect(rebuildCommand("bun")).toMatch(/^bun pm trust @ts-ebpf\/syscall/);
  });
});

describe("detectPackageManager", () => {
  const saved = process.env.npm_config_user_agent;
  const root = mkdtempSync(join(tmpdir(), "ts-ebpf-pm-"));
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    if (saved === undefined) delete process.env.npm_config_user_agent;
    else process.env.npm_config_user_agent = saved;
  });

  const project = (lockfile: string): string => {
    const dir = join(root, lockfile, "node_modules", "@ts-ebpf", "syscall");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(root, lockfile, lockfile), "");
    return dir;
  };

  it("reads the lockfile above the package, or pnpm's store layout", () => {
    delete process.env.npm_config_user_agent;
    expect(detectPackageManager(project("package-lock.json"))).toBe("npm");
    expect(detectPackageManager(project("yarn.lock"))).toBe("yarn");
    expect(detectPackageManager(project("bun.lock"))).toBe("bun");
    expect(detectPackageManager(project("pnpm-lock.yaml"))).toBe("pnpm");
    const store = join(
      root,
      "x",
      "node_modules",
      ".pnpm",
      "@ts-ebpf+syscall@0.1.0",
      "node_modules",
    );
    expect(detectPackageManager(join(store, "@ts-ebpf", "syscall"))).toBe("pnpm");
  });

  it("prefers the user agent of the running package manager", () => {
    process.env.npm_config_user_agent = "pnpm/10.34.9 npm/? node/v20.20.2 linux x64";
    expect(detectPackageManager(project("package-lock.json"))).toBe("pnpm");
  });
});

describe("commonAddonPath", () => {
  const nodeGypBuild = createRequire(import.meta.url)("node-gyp-build") as {
    resolve(dir: string): string;
  };
  const root = mkdtempSync(join(tmpdir(), "ts-ebpf-addon-path-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  /** A package directory holding `files` (paths relative to it). */
  const layout = (...files: string[]): string => {
    const dir = join(root, String(n++));
    mkdirSync(dir);
    for (const f of files) {
      mkdirSync(join(dir, f, ".."), { recursive: true });
      writeFileSync(join(dir, f), "");
    }
    return dir;
  };
  const prebuild = `prebuilds/linux-${process.arch}/@ts-ebpf+syscall.glibc.node`;

  it("picks the file node-gyp-build picks: Release, then Debug, then the prebuild", () => {
    for (const files of [
      ["build/Release/ts_ebpf_syscall.node", "build/Debug/ts_ebpf_syscall.node", prebuild],
      ["build/Release/obj/x.o", "build/Debug/ts_ebpf_syscall.node", prebuild],
      ["build/config.gypi", prebuild],
      [prebuild, "prebuilds/linux-other/@ts-ebpf+syscall.glibc.node"],
    ]) {
      const dir = layout(...files);
      const path = commonAddonPath(dir);
      expect(path, files.join(" ")).toBeDefined();
      expect(path).toBe(nodeGypBuild.resolve(dir));
    }
  });

  it("leaves anything else to node-gyp-build", () => {
    expect(commonAddonPath(layout("build/Release/x.o", "prebuilds/linux-x64/other.node"))).toBe(
      undefined,
    );
    const dir = layout("build/Release/ts_ebpf_syscall.node");
    for (const name of ["PREBUILDS_ONLY", "LIBC", "npm_config_arch", "npm_config_platform"]) {
      vi.stubEnv(name, "1");
      try {
        expect(commonAddonPath(dir), name).toBe(undefined);
      } finally {
        vi.unstubAllEnvs();
      }
    }
    expect(commonAddonPath(dir)).toBe(join(dir, "build/Release/ts_ebpf_syscall.node"));
  });
});
