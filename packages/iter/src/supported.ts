// What the running kernel offers, from its BTF.
import { type Btf, loadKernelBtf } from "@ts-ebpf/btf";
import { TARGETS, type TargetInfo, targetInfo } from "./targets.js";

export interface SupportedTarget {
  readonly name: string;
  /** First kernel with the target, when this package knows it. */
  readonly since?: string;
  readonly params: TargetInfo["params"];
  /** Members of `struct bpf_iter__<name>` after meta, with their C types. */
  readonly context: readonly { name: string; type: string; offset: number }[];
}

/** Every iterator target of the running kernel (FUNC bpf_iter_<name> in BTF), sorted by name. */
export function supportedTargets(btf: Btf = loadKernelBtf()): SupportedTarget[] {
  return btf.iteratorTargets().map((t) => {
    const info = targetInfo(t.name);
    return {
      name: t.name,
      ...(info ? { since: info.since } : {}),
      params: info?.params ?? "none",
      context: t.members
        .filter((m) => m.name !== "meta")
        .map((m) => ({ name: m.name, type: m.typeName, offset: m.offset })),
    };
  });
}

/** Known targets the running kernel lacks, with the kernel each needs. */
export function missingTargets(btf: Btf = loadKernelBtf()): TargetInfo[] {
  const have = new Set(btf.iteratorTargets().map((t) => t.name));
  return TARGETS.filter((t) => !have.has(t.name));
}
