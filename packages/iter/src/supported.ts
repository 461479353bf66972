// What the running kernel offers, from its BTF.
import { type Btf, loadKernelBtf } from "@ts-ebpf/btf";
import { exit, mov } from "@ts-ebpf/dsl";
import { iteratorSpec } from "./builtins/record.js";
import { loadIteratorProgram, targetBtfId } from "./link.js";
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

/** Whether the running kernel loads programs for one iterator target. */
export interface TargetProbe {
  readonly target: string;
  readonly loadable: boolean;
  /** Why not, when not: UnsupportedTargetError, IteratorTargetRefusedError or a BpfError. */
  readonly error?: Error;
}

const probes = new Map<string, TargetProbe>();

/**
 * Loads (and closes) the smallest program for `target` — `r0 = 0; exit` — and
 * reports whether the kernel took it. Needs the BPF capabilities. The answer
 * is cached per target for the life of the process.
 */
export function probeIteratorTarget(target: string, btf: Btf = loadKernelBtf()): TargetProbe {
  const cached = probes.get(target);
  if (cached) return cached;
  let probe: TargetProbe;
  try {
    targetBtfId(target, btf); // UnsupportedTargetError when the kernel lacks it
    const spec = iteratorSpec(btf, target, [mov("r0", 0), exit()], "probe_iter");
    loadIteratorProgram(spec, target, btf).close();
    probe = { target, loadable: true };
  } catch (err) {
    probe = { target, loadable: false, error: err as Error };
  }
  probes.set(target, probe);
  return probe;
}
