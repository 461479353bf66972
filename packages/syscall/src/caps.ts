// Effective capabilities of this process, from /proc/self/status (CapEff).
import { readFileSync } from "node:fs";

/** Capability numbers (include/uapi/linux/capability.h) that matter to bpf(2). */
export const Capability = {
  CAP_NET_ADMIN: 12,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;
export type CapabilityName = keyof typeof Capability;

export function effectiveCapabilityMask(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

/** The bpf-relevant capabilities this process holds. */
export function effectiveCapabilities(mask = effectiveCapabilityMask()): CapabilityName[] {
  return (Object.keys(Capability) as CapabilityName[]).filter(
    (name) => (mask >> BigInt(Capability[name])) & 1n,
  );
}

/**
 * Capabilities missing for loading tracing programs and creating maps:
 * CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN which implies both.
 */
export function missingBpfCapabilities(mask = effectiveCapabilityMask()): CapabilityName[] {
  const has = (c: CapabilityName) => ((mask >> BigInt(Capability[c])) & 1n) === 1n;
  if (has("CAP_SYS_ADMIN")) return [];
  const missing: CapabilityName[] = [];
  if (!has("CAP_BPF")) missing.push("CAP_BPF");
  if (!has("CAP_PERFMON")) missing.push("CAP_PERFMON");
  return missing;
}
