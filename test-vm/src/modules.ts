// Kernel modules the guest needs, with their dependencies in load order.
// Debian's packages ship no modules.dep (depmod runs at install time), so the
// dependencies come from each module's own .modinfo section.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export interface ModuleIndex {
  /** Module name (underscores) → path of the .ko, .ko.xz or .ko.zst file. */
  files: Map<string, string>;
  /** Names built into the kernel image (modules.builtin). */
  builtin: Set<string>;
}

export const moduleName = (fileName: string): string =>
  fileName.replace(/\.ko(\.xz|\.zst|\.gz)?$/, "").replaceAll("-", "_");

export function indexModules(kernelDir: string, builtinList: string): ModuleIndex {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ko(\.xz|\.zst|\.gz)?$/.test(name)) files.set(moduleName(name), p);
    }
  };
  walk(kernelDir);
  const builtin = new Set(
    builtinList
      .split("\n")
      .filter(Boolean)
      .map((line) => moduleName(line.split("/").pop() ?? line)),
  );
  return { files, builtin };
}

/** Reads `key=value` strings from an ELF module's .modinfo section. */
export function readModinfo(elf: Buffer): Map<string, string[]> {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) {
    throw new Error("not a 64-bit ELF module");
  }
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const section = (i: number) => {
    const base = shoff + i * shentsize;
    return {
      name: elf.readUInt32LE(base),
      offset: Number(elf.readBigUInt64LE(base + 0x18)),
      size: Number(elf.readBigUInt64LE(base + 0x20)),
    };
  };
  const strtab = section(shstrndx);
  const out = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameEnd = elf.indexOf(0, strtab.offset + s.name);
    if (elf.toString("latin1", strtab.offset + s.name, nameEnd) !== ".modinfo") continue;
    for (const kv of elf.toString("latin1", s.offset, s.offset + s.size).split("\0")) {
      const eq = kv.indexOf("=");
      if (eq <= 0) continue;
      const key = kv.slice(0, eq);
      out.set(key, [...(out.get(key) ?? []), kv.slice(eq + 1)]);
    }
  }
  return out;
}

/**
 * The modules to load for `wanted`, dependencies first. Built-in names are
 * dropped; an unknown name is an error naming it.
 */
export function moduleClosure(
  wanted: string[],
  index: ModuleIndex,
  load: (path: string) => Buffer,
): { name: string; path: string; elf: Buffer }[] {
  const order: { name: string; path: string; elf: Buffer }[] = [];
  const seen = new Set<string>();
  const visit = (raw: string, chain: string[]) => {
    const name = raw.replaceAll("-", "_");
    if (seen.has(name) || index.builtin.has(name)) return;
    seen.add(name);
    const path = index.files.get(name);
    if (!path)
      throw new Error(
        `kernel module ${name} not found (needed by ${chain.join(" → ") || "the guest"})`,
      );
    const elf = load(path);
    const deps = (readModinfo(elf).get("depends") ?? [])
      .flatMap((d) => d.split(","))
      .filter(Boolean);
    for (const dep of deps) visit(dep, [...chain, name]);
    order.push({ name, path, elf });
  };
  for (const w of wanted) visit(w, []);
  return order;
}
