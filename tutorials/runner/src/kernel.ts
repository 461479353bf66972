// Whether this process may run the chapters that load BPF programs: root or CAP_BPF +
// CAP_PERFMON, and kernel BTF. (The same rule as @ts-ebpf/testing's probe, which vitest
// loads from TypeScript source and plain node cannot import.)
import { existsSync, readFileSync } from "node:fs";

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

export function kernelUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (!existsSync("/sys/kernel/btf/vmlinux")) return "no kernel BTF at /sys/kernel/btf/vmlinux";
  let caps = 0n;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) caps = BigInt(`0x${m[1]}`);
  } catch {
    // Treated as no capabilities.
  }
  const has = (c: bigint) => ((caps >> c) & 1n) === 1n;
  if ((has(CAP_BPF) && has(CAP_PERFMON)) || has(CAP_SYS_ADMIN)) return undefined;
  return "not root and missing CAP_BPF + CAP_PERFMON";
}
