// The pinned Debian kernels: fetched with `apt-get download`, checked against
// kernels.json's sha256, unpacked once into test-vm/.cache/kernels/<name>/.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { run, runBuffer } from "./exec.js";
import { indexModules, moduleClosure } from "./modules.js";
import { cacheDir, kernelsFile } from "./paths.js";

export interface KernelEntry {
  /** Short name used on the command line and in the summary, e.g. "6.1". */
  name: string;
  /** Debian binary package, e.g. linux-image-6.1.0-50-amd64. */
  package: string;
  version: string;
  sha256: string;
  /**
   * Debian suite and component serving the package (e.g. "bookworm-security",
   * "main"), used when the host's apt lacks it: the mirror comes from the
   * host's own apt sources, so no host name is pinned here.
   */
  suite: string;
  component: string;
}

export interface PreparedKernel {
  entry: KernelEntry;
  /** `uname -r` of the kernel, e.g. 6.1.0-50-amd64. */
  release: string;
  vmlinuz: string;
  /** Uncompressed modules, in load order. */
  modules: { name: string; path: string }[];
}

/** Modules the guest needs when Debian builds them as modules (9p share, overlay). */
export const GUEST_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"];

export function loadKernels(file = kernelsFile): KernelEntry[] {
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { kernels?: unknown };
  if (!Array.isArray(parsed.kernels)) throw new TypeError(`${file}: expected a "kernels" array`);
  return parsed.kernels.map((k: Record<string, unknown>, i: number) => {
    for (const key of ["name", "package", "version", "sha256", "suite", "component"]) {
      if (typeof k[key] !== "string" || k[key] === "") {
        throw new TypeError(`${file}: kernels[${i}].${key} must be a non-empty string`);
      }
    }
    return k as unknown as KernelEntry;
  });
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Mirror URIs the host's apt is configured with (one-line and deb822 formats). */
export function hostAptUris(etc = "/etc/apt"): string[] {
  const files: string[] = [];
  if (existsSync(join(etc, "sources.list"))) files.push(join(etc, "sources.list"));
  const parts = join(etc, "sources.list.d");
  if (existsSync(parts)) {
    for (const f of readdirSync(parts).sort()) {
      if (f.endsWith(".list") || f.endsWith(".sources")) files.push(join(parts, f));
    }
  }
  const uris: string[] = [];
  for (const f of files) {
    for (const line of readFileSync(f, "utf8").split("\n")) {
      const oneLine = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
      const deb822 = /^URIs:\s*(.+)$/.exec(line);
      if (oneLine?.[1]) uris.push(oneLine[1]);
      if (deb822?.[1]) uris.push(...deb822[1].trim().split(/\s+/));
    }
  }
  return uris;
}

/** A sources.list line for the entry's suite on the host's Debian mirror. */
export function sourceLine(entry: KernelEntry, uris = hostAptUris()): string {
  const security = entry.suite.endsWith("-security");
  const debian = uris.filter((u) => /\/debian(-security)?\/?$/.test(u));
  const uri = debian.find((u) => /-security\/?$/.test(u) === security);
  if (!uri) {
    throw new Error(
      `no Debian ${security ? "security " : ""}mirror in the host's apt sources to fetch ${entry.suite} from`,
    );
  }
  return `deb ${uri} ${entry.suite} ${entry.component}`;
}

/** apt options that use a private sources list and state under the cache. */
function privateApt(entry: KernelEntry): string[] {
  const dir = join(cacheDir, "apt", entry.name);
  mkdirSync(join(dir, "lists", "partial"), { recursive: true });
  mkdirSync(join(dir, "archives", "partial"), { recursive: true });
  writeFileSync(join(dir, "sources.list"), `${sourceLine(entry)}\n`);
  return [
    "-o",
    `Dir::Etc::SourceList=${join(dir, "sources.list")}`,
    "-o",
    "Dir::Etc::SourceParts=/nonexistent",
    "-o",
    `Dir::State::Lists=${join(dir, "lists")}`,
    "-o",
    `Dir::Cache=${dir}`,
    "-o",
    "APT::Sandbox::User=root",
  ];
}

/** Returns the path of the verified .deb, downloading it when not cached. */
export function fetchDeb(entry: KernelEntry, log: (msg: string) => void): string {
  const debDir = join(cacheDir, "debs");
  mkdirSync(debDir, { recursive: true });
  const prefix = `${entry.package}_`;
  const cached = readdirSync(debDir).find((f) => f.startsWith(prefix) && f.endsWith(".deb"));
  if (cached) {
    const path = join(debDir, cached);
    if (sha256(path) === entry.sha256) return path;
    rmSync(path);
  }
  const tmp = join(debDir, `.download-${entry.name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const spec = `${entry.package}=${entry.version}`;
  try {
    log(`downloading ${spec}`);
    const sandbox = ["-o", "APT::Sandbox::User=root"];
    try {
      run("apt-get", [...sandbox, "download", "-q", spec], { cwd: tmp });
    } catch (first) {
      // The host's apt does not serve it (suite not configured): use the
      // entry's own source, without touching the host's apt configuration.
      log(
        `host apt cannot serve ${spec} (${(first as Error).message.split("\n")[0]}); using suite ${entry.suite}`,
      );
      const opts = privateApt(entry);
      run("apt-get", [...opts, "update", "-q"]);
      run("apt-get", [...opts, "download", "-q", spec], { cwd: tmp });
    }
    const file = readdirSync(tmp).find((f) => f.endsWith(".deb"));
    if (!file) throw new Error(`apt-get download ${spec} produced no .deb`);
    const got = sha256(join(tmp, file));
    if (got !== entry.sha256) {
      throw new Error(
        `sha256 mismatch for ${spec}: kernels.json pins ${entry.sha256}, the registry served ${got}`,
      );
    }
    renameSync(join(tmp, file), join(debDir, file));
    return join(debDir, file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Decompresses a module file (.ko, .ko.xz with busybox, .ko.zst with zstd). */
function loadModule(path: string): Buffer {
  if (path.endsWith(".xz")) return runBuffer("busybox", ["xzcat", path]);
  if (path.endsWith(".zst")) return runBuffer("zstd", ["-dc", path]);
  if (path.endsWith(".gz")) return runBuffer("busybox", ["zcat", path]);
  return readFileSync(path);
}

/** Fetches, verifies and unpacks a kernel; cached by package version. */
export function prepareKernel(entry: KernelEntry, log: (msg: string) => void): PreparedKernel {
  const dir = join(cacheDir, "kernels", entry.name);
  const stampFile = join(dir, "stamp.json");
  // The stamp records what the cache was unpacked from; any change re-unpacks.
  const stampKey = JSON.stringify([entry.package, entry.version, entry.sha256, GUEST_MODULES]);
  const fromStamp = (release: string, names: string[]): PreparedKernel => ({
    entry,
    release,
    vmlinuz: join(dir, "vmlinuz"),
    modules: names.map((name) => ({ name, path: join(dir, "modules", `${name}.ko`) })),
  });
  if (existsSync(stampFile)) {
    const stamp = JSON.parse(readFileSync(stampFile, "utf8")) as {
      key: string;
      release: string;
      modules: string[];
    };
    if (stamp.key === stampKey) return fromStamp(stamp.release, stamp.modules);
  }
  const deb = fetchDeb(entry, log);
  log(`unpacking ${entry.package}`);
  rmSync(dir, { recursive: true, force: true });
  const tmp = join(cacheDir, "kernels", `.unpack-${entry.name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    run("dpkg-deb", ["-x", deb, tmp]);
    const releases = readdirSync(join(tmp, "lib", "modules"));
    if (releases.length !== 1)
      throw new Error(`${deb}: expected one lib/modules/<release>, found ${releases.join(", ")}`);
    const release = releases[0]!;
    const modRoot = join(tmp, "lib", "modules", release);
    const index = indexModules(
      join(modRoot, "kernel"),
      readFileSync(join(modRoot, "modules.builtin"), "utf8"),
    );
    const closure = moduleClosure(GUEST_MODULES, index, loadModule);
    mkdirSync(join(dir, "modules"), { recursive: true });
    for (const m of closure) writeFileSync(join(dir, "modules", `${m.name}.ko`), m.elf);
    renameSync(join(tmp, "boot", `vmlinuz-${release}`), join(dir, "vmlinuz"));
    renameSync(join(tmp, "boot", `config-${release}`), join(dir, "config"));
    const names = closure.map((m) => m.name);
    writeFileSync(
      stampFile,
      `${JSON.stringify({ key: stampKey, release, modules: names }, null, 2)}\n`,
    );
    return fromStamp(release, names);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
