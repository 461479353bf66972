// Reading the running kernel's BTF from /sys/kernel/btf (Node only; the rest
// of the package works on bytes and runs anywhere).
import { readFileSync } from "node:fs";
import { Btf } from "./btf.js";
import { BtfError } from "./errors.js";

export const KERNEL_BTF_DIR = "/sys/kernel/btf";

export interface LoadKernelBtfOptions {
  /** A kernel module name: its split BTF, on top of vmlinux. */
  module?: string;
  /** Directory holding vmlinux and module BTF (default /sys/kernel/btf). */
  dir?: string;
}

const cache = new Map<string, Btf>();

function readBtfFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new BtfError(`cannot read ${path}: ${code} (${(e as Error).message})`);
  }
}

/**
 * The running kernel's BTF (vmlinux), parsed once per process; with
 * `{ module }` the module's split BTF on top of it.
 */
export function loadKernelBtf(options: LoadKernelBtfOptions = {}): Btf {
  const dir = options.dir ?? KERNEL_BTF_DIR;
  const vmlinuxKey = `${dir}/vmlinux`;
  let vmlinux = cache.get(vmlinuxKey);
  if (!vmlinux) {
    vmlinux = new Btf(readBtfFile(vmlinuxKey));
    cache.set(vmlinuxKey, vmlinux);
  }
  if (options.module === undefined) return vmlinux;
  const name = options.module;
  if (!/^[A-Za-z0-9_-]+$/.test(name) || name === "vmlinux") {
    throw new TypeError(`loadKernelBtf: bad module name ${JSON.stringify(name)}`);
  }
  const key = `${dir}/${name}`;
  let mod = cache.get(key);
  if (!mod) {
    mod = new Btf(readBtfFile(key), vmlinux);
    cache.set(key, mod);
  }
  return mod;
}

/** A kernel module's BTF, split on top of vmlinux (same as `loadKernelBtf({ module })`). */
export function loadModuleBtf(
  name: string,
  options: Omit<LoadKernelBtfOptions, "module"> = {},
): Btf {
  return loadKernelBtf({ ...options, module: name });
}

/** Drops the per-process cache (for tests, or after loading a module). */
export function clearKernelBtfCache(): void {
  cache.clear();
}
