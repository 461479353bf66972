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
   * "main"), fetched through a private apt: the mirror comes from the host's
   * own apt sources, so no host name is pinned here.
   */
  suite: string;
  component: string;
  /**
   * Further packages of the same version the kernel is split into (Debian 7.x:
   * linux-binary-*, linux-modules-*, linux-base-*), each pinned by sha256.
   */
  parts?: { package: string; sha256: string }[];
  /** Node major the guest runs the tests with (from the npm registry); default: the host's node. */
  node?: number;
}

export interface PreparedKernel {
  entry: KernelEntry;
  /** `uname -r` of the kernel, e.g. 6.1.0-50-amd64. */
  release: string;
  vmlinuz: string;
  /** The kernel's build configuration (the guest's /boot/config-<release>: __kconfig externs read it). */
  config: string;
  /** Uncompressed modules, in load order. */
  modules: { name: string; path: string }[];
  /** Modules loaded after those when they load (a failed insmod only warns), in load order. */
  optionalModules: { name: string; path: string }[];
}

/** Modules the guest needs when Debian builds them as modules (9p share, overlay). */
export const GUEST_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"];

/**
 * Modules tests use where the kernel has them, loaded after GUEST_MODULES; one
 * that is missing or fails to load is left out with a warning: nf_conntrack
 * registers bpf_xdp_ct_lookup, the module kfunc elf's kfunc-modules tests call
 * (crc32c_generic first: libcrc32c, which it needs, asks for crc32c at init).
 */
export const GUEST_OPTIONAL_MODULES = ["crc32c_generic", "nf_conntrack"];

export function loadKernels(file = kernelsFile): KernelEntry[] {
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { kernels?: unknown };
  if (!Array.isArray(parsed.kernels)) throw new TypeError(`${file}: expected a "kernels" array`);
  return parsed.kernels.map((k: Record<string, unknown>, i: number) => {
    for (const key of ["name", "package", "version", "sha256", "suite", "component"]) {
      if (typeof k[key] !== "string" || k[key] === "") {
        throw new TypeError(`${file}: kernels[${i}].${key} must be a non-empty string`);
      }
    }
    if (
      k.parts !== undefined &&
      !(
        Array.isArray(k.parts) &&
        k.parts.every(
          (p: { package?: unknown; sha256?: unknown }) =>
            typeof p.package === "string" &&
            typeof p.sha256 === "string" &&
            /^[0-9a-f]{64}$/.test(p.sha256),
        )
      )
    ) {
      throw new TypeError(`${file}: kernels[${i}].parts must be [{ package, sha256 }]`);
    }
    if (k.node !== undefined && !(Number.isInteger(k.node) && (k.node as number) >= 18)) {
      throw new TypeError(`${file}: kernels[${i}].node must be a Node major (an integer >= 18)`);
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

/** Debian's archive keyring (package debian-archive-keyring): what the private apt trusts. */
export const DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

/** A sources.list line for a suite on the host's Debian mirror, signed by Debian's keyring. */
export function sourceLine(
  entry: Pick<KernelEntry, "suite" | "component">,
  uris = hostAptUris(),
): string {
  const security = entry.suite.endsWith("-security");
  const debian = uris.filter((u) => /\/debian(-security)?\/?$/.test(u));
  const uri = debian.find((u) => /-security\/?$/.test(u) === security);
  if (!uri) {
    throw new Error(
      `no Debian ${security ? "security " : ""}mirror in the host's apt sources to fetch ${entry.suite} from`,
    );
  }
  return `deb [signed-by=${DEBIAN_KEYRING}] ${uri} ${entry.suite} ${entry.component}`;
}

/**
 * apt options for a private apt under test-vm/.cache/apt: its own sources
 * list (one line per suite the entries name, on the host's mirror), lists,
 * cache and state, so the host's sources, lists and pins are neither read nor
 * changed. Writes the sources list; returns the options.
 */
export function privateApt(
  suites: Pick<KernelEntry, "suite" | "component">[],
  dir = join(cacheDir, "apt"),
): string[] {
  if (!existsSync(DEBIAN_KEYRING)) {
    throw new Error(`${DEBIAN_KEYRING} is missing (apt-get install debian-archive-keyring)`);
  }
  mkdirSync(join(dir, "lists", "partial"), { recursive: true });
  mkdirSync(join(dir, "cache", "archives", "partial"), { recursive: true });
  const lines = [...new Set(suites.map((s) => sourceLine(s)))].sort();
  writeFileSync(join(dir, "sources.list"), `${lines.join("\n")}\n`);
  const status = join(dir, "status");
  if (!existsSync(status)) writeFileSync(status, "");
  return [
    "-o",
    `Dir::Etc::SourceList=${join(dir, "sources.list")}`,
    "-o",
    "Dir::Etc::SourceParts=/nonexistent",
    "-o",
    "Dir::Etc::Preferences=/nonexistent",
    "-o",
    "Dir::Etc::PreferencesParts=/nonexistent",
    "-o",
    `Dir::State=${dir}`,
    "-o",
    `Dir::State::Lists=${join(dir, "lists")}`,
    "-o",
    `Dir::State::status=${status}`,
    "-o",
    `Dir::Cache=${join(dir, "cache")}`,
    "-o",
    "APT::Sandbox::User=root",
  ];
}

/** Updates the private apt's lists, at most once per process. */
let privateAptUpdated = false;
export function privateAptUpdate(opts: string[], log: (msg: string) => void): void {
  if (privateAptUpdated) return;
  log("apt-get update (private apt under test-vm/.cache/apt)");
  run("apt-get", [...opts, "update", "-q"]);
  privateAptUpdated = true;
}

/** One pinned .deb: a package at a version with its sha256. */
export interface PinnedDeb {
  package: string;
  version: string;
  sha256: string;
}

/** The .debs a kernel is unpacked from: its image package, then its parts. */
export const debsOf = (entry: KernelEntry): PinnedDeb[] => [
  { package: entry.package, version: entry.version, sha256: entry.sha256 },
  ...(entry.parts ?? []).map((p) => ({ ...p, version: entry.version })),
];

/** Returns the path of the verified .deb, downloading it when not cached. */
export function fetchDeb(
  deb: PinnedDeb,
  log: (msg: string) => void,
  suites: Pick<KernelEntry, "suite" | "component">[],
): string {
  const debDir = join(cacheDir, "debs");
  mkdirSync(debDir, { recursive: true });
  const prefix = `${deb.package}_`;
  const cached = readdirSync(debDir).find((f) => f.startsWith(prefix) && f.endsWith(".deb"));
  if (cached) {
    const path = join(debDir, cached);
    if (sha256(path) === deb.sha256) return path;
    rmSync(path);
  }
  const tmp = join(debDir, `.download-${deb.package}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const spec = `${deb.package}=${deb.version}`;
  try {
    // Always the private apt: the result does not depend on what the host's
    // sources list, and the host's apt state is never touched.
    const opts = privateApt(suites);
    privateAptUpdate(opts, log);
    log(`downloading ${spec}`);
    run("apt-get", [...opts, "download", "-q", spec], { cwd: tmp });
    const file = readdirSync(tmp).find((f) => f.endsWith(".deb"));
    if (!file) throw new Error(`apt-get download ${spec} produced no .deb`);
    const got = sha256(join(tmp, file));
    if (got !== deb.sha256) {
      throw new Error(
        `sha256 mismatch for ${spec}: kernels.json pins ${deb.sha256}, the registry served ${got}`,
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
export function prepareKernel(
  entry: KernelEntry,
  log: (msg: string) => void,
  all: KernelEntry[] = [entry],
): PreparedKernel {
  const dir = join(cacheDir, "kernels", entry.name);
  const stampFile = join(dir, "stamp.json");
  // The stamp records what the cache was unpacked from; any change re-unpacks.
  const stampKey = JSON.stringify([debsOf(entry), GUEST_MODULES, GUEST_OPTIONAL_MODULES]);
  const modulePaths = (names: string[]) =>
    names.map((name) => ({ name, path: join(dir, "modules", `${name}.ko`) }));
  const fromStamp = (release: string, names: string[], optional: string[]): PreparedKernel => ({
    entry,
    release,
    vmlinuz: join(dir, "vmlinuz"),
    config: join(dir, "config"),
    modules: modulePaths(names),
    optionalModules: modulePaths(optional),
  });
  if (existsSync(stampFile)) {
    const stamp = JSON.parse(readFileSync(stampFile, "utf8")) as {
      key: string;
      release: string;
      modules: string[];
      optionalModules?: string[];
    };
    if (stamp.key === stampKey)
      return fromStamp(stamp.release, stamp.modules, stamp.optionalModules ?? []);
  }
  const suites = all.map((k) => ({ suite: k.suite, component: k.component }));
  const debs = debsOf(entry).map((d) => fetchDeb(d, log, suites));
  log(`unpacking ${debs.length} package(s) of ${entry.package}`);
  rmSync(dir, { recursive: true, force: true });
  const tmp = join(cacheDir, "kernels", `.unpack-${entry.name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    for (const deb of debs) run("dpkg-deb", ["-x", deb, tmp]);
    // Debian through 6.x: lib/modules/<release>/ and boot/{vmlinuz,config}-<release>;
    // since 7.x (split linux-binary/-modules/-base packages): everything in usr/lib/modules/<release>/.
    const modulesDir = ["usr/lib/modules", "lib/modules"]
      .map((d) => join(tmp, d))
      .find((d) => existsSync(d));
    if (!modulesDir) throw new Error(`${entry.package}: no lib/modules in ${debs.join(", ")}`);
    const releases = readdirSync(modulesDir);
    if (releases.length !== 1)
      throw new Error(
        `${entry.package}: expected one lib/modules/<release>, found ${releases.join(", ")}`,
      );
    const release = releases[0]!;
    const modRoot = join(modulesDir, release);
    const index = indexModules(
      join(modRoot, "kernel"),
      readFileSync(join(modRoot, "modules.builtin"), "utf8"),
    );
    const closure = moduleClosure(GUEST_MODULES, index, loadModule);
    const optional: typeof closure = [];
    const taken = new Set(closure.map((m) => m.name));
    for (const wanted of GUEST_OPTIONAL_MODULES) {
      let more: typeof closure;
      try {
        more = moduleClosure([wanted], index, loadModule);
      } catch {
        continue; // built in, or not in this kernel
      }
      for (const m of more) {
        if (taken.has(m.name)) continue;
        taken.add(m.name);
        optional.push(m);
      }
    }
    mkdirSync(join(dir, "modules"), { recursive: true });
    for (const m of [...closure, ...optional]) {
      writeFileSync(join(dir, "modules", `${m.name}.ko`), m.elf);
    }
    const firstOf = (...paths: string[]) => {
      const found = paths.find((p) => existsSync(p));
      if (!found) throw new Error(`${entry.package}: none of ${paths.join(", ")}`);
      return found;
    };
    renameSync(
      firstOf(join(tmp, "boot", `vmlinuz-${release}`), join(modRoot, "vmlinuz")),
      join(dir, "vmlinuz"),
    );
    renameSync(
      firstOf(join(tmp, "boot", `config-${release}`), join(modRoot, "config")),
      join(dir, "config"),
    );
    const names = closure.map((m) => m.name);
    const optionalNames = optional.map((m) => m.name);
    writeFileSync(
      stampFile,
      `${JSON.stringify({ key: stampKey, release, modules: names, optionalModules: optionalNames }, null, 2)}\n`,
    );
    return fromStamp(release, names, optionalNames);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
