// Lazy access to the addon: nothing native is loaded until the first syscall,
// so importing the package (or its constants) never touches a .node file.
//
// The addon is found as node-gyp-build finds it: a source build in
// build/Release (the monorepo, or a user who rebuilt), else the prebuild
// shipped in the tarball (prebuilds/linux-x64, prebuilds/linux-arm64, glibc). When neither loads, the
// error says why and which command of the user's package manager fixes it.
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface NativeBinding {
  /**
   * bpf(cmd, attr, size, [offset, buffer | null, length]...) → result ≥ 0 or
   * -errno. `length` is what the kernel reads or writes through the pointer;
   * a shorter buffer is refused with a RangeError right before the syscall.
   */
  bpf(
    cmd: number,
    attr: Uint8Array,
    size: number,
    ...pointers: (number | Uint8Array | null)[]
  ): number;
  /** Address of a buffer's first byte (for attrs prepared once and reused). */
  address(buffer: Uint8Array): bigint;
  /** fcntl(fd, F_DUPFD_CLOEXEC, 3): a new fd ≥ 3 for the same file, or -errno. */
  dupAbove2(fd: number): number;
  /** kcmp(KCMP_FILE): 0 when both fds are the same open file, 1 when not, or -errno. */
  sameFile(a: number, b: number): number;
  /**
   * BPF_ITER_CREATE(linkFd) once per network namespace fd, each from a thread
   * that entered that namespace: per namespace the new fd, or -errno with
   * `setns` telling whether entering the namespace failed.
   */
  iterCreateInNetns(
    linkFd: number,
    netnsFds: number[],
  ): { fd?: number; errno?: number; setns?: boolean }[];
  /**
   * setrlimit(RLIMIT_MEMLOCK) to infinity (0), else the soft limit to the
   * hard one (1), else -errno with the limit unchanged.
   */
  raiseMemlockLimit(): number;
  /** CRC-32 of the bytes (zlib's), for the CLI's code-cache check without loading zlib. */
  crc32(bytes: Uint8Array): number;
}

/** The addon could not be loaded; `message` says why and what to run. */
export class NativeAddonError extends Error {
  override name = "NativeAddonError";
  readonly code = "ERR_TS_EBPF_ADDON";
}

export type PackageManager = "npm" | "pnpm" | "yarn" | "bun";

/** What explainLoadFailure needs to know about the machine and the installed package. */
export interface LoadContext {
  platform: string;
  arch: string;
  /** "glibc" or "musl" on Linux. */
  libc: string;
  packageDir: string;
  /** Directory names under prebuilds/ ("linux-x64", ...). */
  prebuilds: string[];
  manager: PackageManager;
  /** Whether node-gyp-build found a file to load (and loading it failed). */
  found: boolean;
}

const PACKAGE = "@ts-ebpf/syscall";

/** The commands that build the addon from source with each package manager. */
export function rebuildCommand(manager: PackageManager): string {
  switch (manager) {
    case "pnpm":
      // pnpm 10 runs no dependency's install script unless the project allows it.
      return `pnpm approve-builds (select ${PACKAGE}), then pnpm rebuild ${PACKAGE}`;
    case "yarn":
      return `yarn rebuild ${PACKAGE}`;
    case "bun":
      return `bun pm trust ${PACKAGE} (or add it to "trustedDependencies"), then bun install`;
    default:
      return `npm rebuild ${PACKAGE}`;
  }
}

/** The message of a NativeAddonError: what failed, why, and what to run. */
export function explainLoadFailure(cause: unknown, ctx: LoadContext): string {
  const detail = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
  if (ctx.platform !== "linux") {
    return `${PACKAGE} calls bpf(2), which only Linux has; this is ${ctx.platform}. (${detail})`;
  }
  const target = `linux-${ctx.arch}`;
  const shipped = ctx.prebuilds.length > 0 ? ctx.prebuilds.join(", ") : "none";
  const compiler =
    "a C++ compiler, make and python3 (Debian/Ubuntu: apt-get install g++ make python3)";
  if (ctx.found) {
    const musl = ctx.libc === "musl" ? " The prebuilds are for glibc; this system uses musl." : "";
    return (
      `${PACKAGE}: the native addon failed to load: ${detail}.${musl} ` +
      `Build it for this system from source with ${compiler}: ${rebuildCommand(ctx.manager)}.`
    );
  }
  const has = ctx.prebuilds.includes(target);
  const why = has
    ? `the ${target} prebuild is for glibc and this system uses ${ctx.libc}`
    : `no prebuilt addon for ${target} ships in the package (it has: ${shipped})`;
  const pnpmNote =
    ctx.manager === "pnpm"
      ? " pnpm 10 skips dependencies' build scripts by default, so no source build ran at install."
      : " No source build was made at install.";
  return (
    `${PACKAGE}: no native addon to load: ${why}.${pnpmNote} ` +
    `Build it from source with ${compiler}: ${rebuildCommand(ctx.manager)}. ` +
    `(searched ${ctx.packageDir}/build/Release and ${ctx.packageDir}/prebuilds)`
  );
}

/** Which package manager installed the package at `dir`, from its path and the lockfiles above it. */
export function detectPackageManager(dir: string): PackageManager {
  const agent = process.env.npm_config_user_agent?.split("/")[0];
  if (agent === "pnpm" || agent === "yarn" || agent === "bun") return agent;
  if (dir.includes("/node_modules/.pnpm/")) return "pnpm";
  const lockfiles: [string, PackageManager][] = [
    ["pnpm-lock.yaml", "pnpm"],
    ["yarn.lock", "yarn"],
    ["bun.lock", "bun"],
    ["bun.lockb", "bun"],
    ["package-lock.json", "npm"],
  ];
  for (let d = dir; ; d = dirname(d)) {
    for (const [file, manager] of lockfiles) if (existsSync(join(d, file))) return manager;
    if (dirname(d) === d) return "npm";
  }
}

function libc(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } };
  return report?.header?.glibcVersionRuntime ? "glibc" : "musl";
}

function listPrebuilds(dir: string): string[] {
  try {
    return readdirSync(join(dir, "prebuilds")).sort();
  } catch {
    return [];
  }
}

/** The prebuild's file name in prebuilds/linux-<arch> (scripts/prebuilds.mjs makes it). */
const PREBUILD_FILE = "@ts-ebpf+syscall.glibc.node";

/**
 * The file node-gyp-build picks in the common cases, found without loading
 * it (its module, os and our package.json: ~3 ms of a CLI run's start-up):
 * a source build in build/Release or build/Debug, else the glibc prebuild
 * for this arch. Undefined when its environment overrides are set, on musl
 * (Alpine, as node-gyp-build tells it) or when neither is there: then
 * node-gyp-build itself resolves (and explains).
 */
export function commonAddonPath(packageDir: string): string | undefined {
  const env = process.env;
  // node-gyp-build's own variables (the second is its <PACKAGE NAME>_PREBUILD).
  const overrides = ["PREBUILDS_ONLY", "@TS_EBPF/SYSCALL_PREBUILD", "LIBC", "npm_config_arch"];
  if (overrides.some((name) => env[name]) || env.npm_config_platform) return undefined;
  for (const dir of ["build/Release", "build/Debug"]) {
    let names: string[];
    try {
      names = readdirSync(join(packageDir, dir));
    } catch {
      continue;
    }
    const addon = names.find((name) => name.endsWith(".node"));
    if (addon !== undefined) return join(packageDir, dir, addon);
  }
  if (process.platform !== "linux" || existsSync("/etc/alpine-release")) return undefined;
  const prebuild = join(packageDir, "prebuilds", `linux-${process.arch}`, PREBUILD_FILE);
  return existsSync(prebuild) ? prebuild : undefined;
}

type NodeGypBuild = ((dir: string) => NativeBinding) & { resolve(dir: string): string };

let binding: NativeBinding | undefined;

export function native(): NativeBinding {
  if (binding === undefined) {
    const require = createRequire(import.meta.url);
    // src/native.ts and dist/native.js both sit one level below the package root.
    const packageDir = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
    let found = false;
    try {
      const file =
        commonAddonPath(packageDir) ??
        (require("node-gyp-build") as NodeGypBuild).resolve(packageDir);
      found = true;
      binding = require(file) as NativeBinding;
    } catch (cause) {
      const ctx: LoadContext = {
        platform: process.platform,
        arch: process.arch,
        libc: process.platform === "linux" ? libc() : "",
        packageDir,
        prebuilds: listPrebuilds(packageDir),
        manager: detectPackageManager(packageDir),
        found,
      };
      throw new NativeAddonError(explainLoadFailure(cause, ctx), { cause });
    }
  }
  return binding;
}

/** Set once native() failed in addonCrc32. */
let addonMissing = false;

/**
 * CRC-32 of `bytes` computed by the addon (bpf-iter's code-cache check);
 * undefined when the addon does not load or is a build from before crc32.
 */
export function addonCrc32(bytes: Uint8Array): number | undefined {
  if (addonMissing) return undefined;
  let addon: NativeBinding;
  try {
    addon = native();
  } catch {
    // Explaining the failure costs ~6 ms (process.report): not again for the cache's write.
    addonMissing = true;
    return undefined;
  }
  return typeof addon.crc32 === "function" ? addon.crc32(bytes) : undefined;
}

/** Whether the addon has been loaded (for tests of lazy loading). */
export const nativeLoaded = (): boolean => binding !== undefined;
