// The guest's initramfs: busybox, the host's node with the shared libraries it
// and the repository's native addons need, the kernel's modules, and the init
// script. The repository itself is not packed: the guest mounts it over 9p.
import { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { CpioArchive } from "./cpio.js";
import { run } from "./exec.js";
import type { PreparedKernel } from "./kernels.js";
import { cacheDir, repoRoot, testVmDir } from "./paths.js";

/** Where node lives in the guest (vitest forks workers with process.execPath). */
export const GUEST_NODE = "/usr/bin/node";

/**
 * Host tools the kernel tests call, copied into the guest at their host paths
 * (with their libraries) when installed. util-linux's setpriv and unshare,
 * and iproute2's ip (netns) and ss sit in /usr/bin and /usr/sbin, ahead of
 * busybox's reduced ones in /bin and /sbin (the namespace tests need them).
 * Only for commands found through PATH: the guest's sh is BusyBox ash, which
 * runs its own applet of a name first, so `sh -c "setpriv ..."` gets BusyBox's
 * setpriv (no --reuid); a shell command names these tools by absolute path.
 */
export const GUEST_TOOLS = ["bpftool", "setpriv", "strace", "unshare", "ip", "ss"];

function which(cmd: string): string {
  const found = findOnPath(cmd);
  if (!found) throw new Error(`${cmd} not found on PATH (install busybox-static)`);
  return found;
}

function findOnPath(cmd: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin"]) {
    const p = join(dir, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/** Shared libraries `ldd` lists for `file`, including the dynamic loader. */
export function sharedLibraries(file: string): string[] {
  let out: string;
  try {
    out = run("ldd", [file]);
  } catch (e) {
    if (/not a dynamic executable/.test((e as Error).message)) return [];
    throw e;
  }
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    if (/not found/.test(line)) throw new Error(`ldd ${file}: ${line.trim()}`);
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/** Native addons (`*.node`) in the repository, whose libraries the guest also needs. */
export function nativeAddons(root = repoRoot): string[] {
  const found: string[] = [];
  // Real directories only: pnpm links every package into node_modules/.pnpm,
  // which is walked directly, so symlinks are not followed.
  const walk = (dir: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      if (name.name === ".git" || name.name === ".cache") continue;
      const p = join(dir, name.name);
      if (name.isDirectory()) walk(p);
      else if (name.isFile() && name.name.endsWith(".node")) found.push(p);
    }
  };
  walk(root);
  return found;
}

export interface GuestImageOptions {
  kernel: PreparedKernel;
  /** The node binary the guest runs (default: this process's). */
  node?: string;
  /** Extra files to place in the image, e.g. a fixture. */
  extra?: { path: string; data: Buffer; mode?: number }[];
}

/** Builds the initramfs for one kernel; returns its path. */
export function buildInitramfs({
  kernel,
  node: nodeBinary = process.execPath,
  extra = [],
}: GuestImageOptions): string {
  const img = new CpioArchive();
  for (const d of [
    "dev",
    "proc",
    "sys",
    "tmp",
    "run",
    "root",
    "mnt",
    "etc",
    "bin",
    "sbin",
    "usr/bin",
    "usr/sbin",
  ]) {
    img.dir(d);
  }
  img.file("bin/busybox", { hostPath: which("busybox") }, 0o755);
  if (sharedLibraries(which("busybox")).length > 0) {
    throw new Error(`${which("busybox")} is not statically linked (install busybox-static)`);
  }
  img.file("init", readFileSync(join(testVmDir, "guest", "init.sh")), 0o755);

  const node = realpathSync(nodeBinary);
  img.file(GUEST_NODE.slice(1), { hostPath: node }, 0o755);
  const libs = new Set(sharedLibraries(node));
  // Tools the kernel tests compare against, when the host has them.
  for (const tool of GUEST_TOOLS) {
    const path = findOnPath(tool);
    if (!path) continue;
    img.file(path, { hostPath: realpathSync(path) }, 0o755);
    for (const lib of sharedLibraries(path)) libs.add(lib);
  }
  for (const addon of nativeAddons()) for (const lib of sharedLibraries(addon)) libs.add(lib);
  for (const lib of libs) img.file(lib, { hostPath: realpathSync(lib) }, 0o755);

  // Where libbpf and @ts-ebpf/elf look for the config when the kernel has no
  // /proc/config.gz (Debian's do not): __kconfig externs (CONFIG_HZ...) resolve from it.
  img.file(`boot/config-${kernel.release}`, { hostPath: kernel.config });
  const modDir = `lib/modules/${kernel.release}`;
  for (const m of [...kernel.modules, ...kernel.optionalModules]) {
    img.file(`${modDir}/${m.name}.ko`, { hostPath: m.path });
  }

  img.file("etc/passwd", Buffer.from("root:x:0:0:root:/root:/bin/sh\n"));
  img.file("etc/group", Buffer.from("root:x:0:\n"));
  img.file("etc/hosts", Buffer.from("127.0.0.1 localhost\n"));
  const env = [
    `REPO='${repoRoot}'`,
    `RELEASE='${kernel.release}'`,
    `MODULES='${kernel.modules.map((m) => m.name).join(" ")}'`,
    `OPTIONAL_MODULES='${kernel.optionalModules.map((m) => m.name).join(" ")}'`,
  ];
  img.file("etc/ts-ebpf-vm.env", Buffer.from(`${env.join("\n")}\n`));
  for (const e of extra) img.file(e.path, e.data, e.mode);

  const outDir = join(cacheDir, "initramfs");
  mkdirSync(outDir, { recursive: true });
  const out = resolve(outDir, `${kernel.entry.name}.cpio`);
  const tmp = `${out}.${process.pid}.tmp`;
  img.write(tmp);
  renameSync(tmp, out);
  return out;
}
