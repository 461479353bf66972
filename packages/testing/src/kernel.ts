// Decides whether kernel integration tests can run in this process.
// They need root or CAP_BPF + CAP_PERFMON, and kernel BTF. Without them the
// tests skip (one loud line from the global setup); with
// TS_EBPF_REQUIRE_KERNEL=1 (CI) a skip becomes a failure.
import { existsSync, readFileSync } from "node:fs";

const CAP_PERFMON = 38n;
const CAP_BPF = 39n;
const CAP_SYS_ADMIN = 21n;

export interface KernelAvailability {
  available: boolean;
  /** Why the kernel tests cannot run, when they cannot. */
  reason: string;
}

function effectiveCaps(): bigint {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

export function probeKernel(): KernelAvailability {
  if (process.platform !== "linux") return { available: false, reason: "not Linux" };
  if (!existsSync("/sys/kernel/btf/vmlinux")) {
    return { available: false, reason: "no kernel BTF at /sys/kernel/btf/vmlinux" };
  }
  const caps = effectiveCaps();
  const has = (c: bigint) => (caps >> c) & 1n;
  if (!(has(CAP_BPF) && has(CAP_PERFMON)) && !has(CAP_SYS_ADMIN)) {
    return {
      available: false,
      reason: "not root and missing CAP_BPF + CAP_PERFMON (run as root, or with setpriv)",
    };
  }
  return { available: true, reason: "" };
}

export const kernel: KernelAvailability = probeKernel();

export const kernelRequired = (): boolean => process.env.TS_EBPF_REQUIRE_KERNEL === "1";
