// What the running kernel lets the suite do. Some kernels refuse programs for
// the iterator targets that read a map (bpf_map_elem among them) with EPERM
// even as root, by a security policy; the variants that need such a program
// are then reported unavailable, with the reason, instead of failing.
import { probeIteratorTarget, type TargetProbe } from "@ts-ebpf/iter";

/** Why `probe`'s target cannot be used, in one line; undefined when it loads. */
export function unavailableReason(probe: TargetProbe): string | undefined {
  if (probe.loadable) return undefined;
  const t = probe.target;
  switch (probe.error?.name) {
    case "IteratorTargetRefusedError":
      return `this kernel refuses ${t} iterator programs (EPERM as root: security policy)`;
    case "UnsupportedTargetError":
      return `this kernel has no ${t} iterator target`;
    default: {
      const why = (probe.error?.message ?? "unknown error").split("\n")[0];
      return `${t} iterator programs do not load here: ${why}`;
    }
  }
}

/**
 * Probes bpf_map_elem once. `requireFeatures` (TS_EBPF_REQUIRE_FEATURES=1, set
 * in the test-vm guests, whose kernels must allow it) keeps the variants in
 * the run so that they fail with the kernel's error rather than being skipped.
 */
export function probeMapElem(
  requireFeatures = process.env.TS_EBPF_REQUIRE_FEATURES === "1",
  probe: (target: string) => TargetProbe = probeIteratorTarget,
): { unavailable?: string; note?: string } {
  const reason = unavailableReason(probe("bpf_map_elem"));
  if (reason === undefined) return {};
  if (requireFeatures) {
    return { note: `${reason}; TS_EBPF_REQUIRE_FEATURES=1: running those variants anyway` };
  }
  return { unavailable: reason, note: `${reason}: the variants that need them are unavailable` };
}
