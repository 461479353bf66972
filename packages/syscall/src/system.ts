// What bpf(2) can do here: kernel version, BTF, capabilities, bpffs.
// Reads /proc and /sys only; no syscall, no addon.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { release } from "node:os";
import {
  type CapabilityName,
  effectiveCapabilities,
  effectiveCapabilityMask,
  missingBpfCapabilities,
} from "./caps.js";

export interface SystemInfo {
  kernel: { release: string; version: readonly [number, number, number] };
  btf: { vmlinux: boolean; path: string; modules: number };
  capabilities: {
    uid: number;
    /** bpf-relevant effective capabilities. */
    effective: CapabilityName[];
    /** What loading tracing programs still needs (empty when allowed). */
    missing: CapabilityName[];
  };
  bpffs: { mounted: boolean; path: string; mountPoints: string[] };
  /** /proc/sys/kernel/unprivileged_bpf_disabled (0 allowed, 1/2 disabled). */
  unprivilegedBpfDisabled: number | undefined;
}

export function kernelVersion(r = release()): readonly [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(r);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0];
}

function readOr<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

export function bpffsMountPoints(): string[] {
  const mounts = readOr(() => readFileSync("/proc/self/mounts", "utf8"), "");
  return mounts
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f[2] === "bpf")
    .map((f) => (f[1] ?? "").replace(/\\040/g, " "));
}

export function system(): SystemInfo {
  const mask = effectiveCapabilityMask();
  const mountPoints = bpffsMountPoints();
  const path = "/sys/kernel/btf/vmlinux";
  const disabled = readOr(
    () => Number(readFileSync("/proc/sys/kernel/unprivileged_bpf_disabled", "utf8").trim()),
    Number.NaN,
  );
  return {
    kernel: { release: release(), version: kernelVersion() },
    btf: {
      vmlinux: existsSync(path),
      path,
      modules: readOr(
        () => readdirSync("/sys/kernel/btf").filter((n) => n !== "vmlinux").length,
        0,
      ),
    },
    capabilities: {
      uid: process.getuid?.() ?? -1,
      effective: effectiveCapabilities(mask),
      missing: missingBpfCapabilities(mask),
    },
    bpffs: { mounted: mountPoints.includes("/sys/fs/bpf"), path: "/sys/fs/bpf", mountPoints },
    unprivilegedBpfDisabled: Number.isNaN(disabled) ? undefined : disabled,
  };
}
