// What the loader reads from the running kernel for externs: its config
// (`__kconfig`) and /proc/kallsyms (typeless `__ksym`).
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";

/**
 * The running kernel's config (`CONFIG_*` → value as written: "y", "m",
 * "123", "\"str\""), from /proc/config.gz or /boot/config-$(uname -r);
 * undefined when neither is readable.
 */
export function readKernelConfig(): Record<string, string> | undefined {
  let text: string | undefined;
  try {
    text = gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
  } catch {
    try {
      text = readFileSync(`/boot/config-${release()}`, "utf8");
    } catch {
      return undefined;
    }
  }
  const out: Record<string, string> = Object.create(null);
  for (const line of text.split("\n")) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** A lookup of kernel symbol addresses in /proc/kallsyms, read on its first use. */
export function kallsymsLookup(): (name: string) => bigint | undefined {
  let map: Map<string, bigint> | undefined;
  return (name) => {
    if (!map) {
      map = new Map();
      let text = "";
      try {
        text = readFileSync("/proc/kallsyms", "utf8");
      } catch {
        // No kallsyms: every typeless ksym is missing.
      }
      for (const line of text.split("\n")) {
        const [addr, , sym] = line.split(/\s+/);
        if (sym && addr && !map.has(sym)) map.set(sym, BigInt(`0x${addr}`));
      }
    }
    return map.get(name);
  };
}

export { release as kernelRelease };
