// BPF iterator targets: the one table of what this project knows about each
// (the kernel that introduced it, the `union bpf_iter_link_info` member it
// reads, its context members). It lives here, the lowest layer that needs it
// (link info decodes the union by target); btf discovers what a kernel has,
// dsl, elf and iter read the facts from here. Presence on a running kernel
// always comes from its BTF (FUNC bpf_iter_<target>); `since` only explains
// an absence. The context members are checked against kernel BTF by
// iter/test/targets.kernel.test.ts.

/** Which `union bpf_iter_link_info` member a target reads. */
export type IterParamKind = "none" | "map" | "task" | "cgroup";

export interface IterTargetInfo {
  /** Target name as the kernel registers it (`bpf_iter_<name>`). */
  readonly name: string;
  /** First mainline kernel with this target. */
  readonly since: string;
  /** Which `union bpf_iter_link_info` member the target reads. */
  readonly params: IterParamKind;
  /** First kernel accepting the parameters, when later than the target. */
  readonly paramsSince?: string;
  /** Whether the parameter is mandatory (bpf_map_elem without a map fails with EBADF). */
  readonly paramsRequired?: boolean;
  /** Members of `struct bpf_iter__<name>` after `meta`, in order. */
  readonly context: readonly string[];
}

export const ITER_TARGETS: readonly IterTargetInfo[] = [
  { name: "task", since: "5.8", params: "task", paramsSince: "6.1", context: ["task"] },
  {
    name: "task_file",
    since: "5.8",
    params: "task",
    paramsSince: "6.1",
    context: ["task", "fd", "file"],
  },
  { name: "bpf_map", since: "5.8", params: "none", context: ["map"] },
  { name: "netlink", since: "5.8", params: "none", context: ["sk"] },
  { name: "ipv6_route", since: "5.8", params: "none", context: ["rt"] },
  { name: "tcp", since: "5.9", params: "none", context: ["sk_common", "uid"] },
  { name: "udp", since: "5.9", params: "none", context: ["udp_sk", "uid", "bucket"] },
  {
    name: "bpf_map_elem",
    since: "5.9",
    params: "map",
    paramsRequired: true,
    context: ["map", "key", "value"],
  },
  {
    name: "bpf_sk_storage_map",
    since: "5.9",
    params: "map",
    paramsRequired: true,
    context: ["map", "sk", "value"],
  },
  { name: "bpf_prog", since: "5.9", params: "none", context: ["prog"] },
  {
    name: "sockmap",
    since: "5.10",
    params: "map",
    paramsRequired: true,
    context: ["map", "key", "sk"],
  },
  {
    name: "task_vma",
    since: "5.12",
    params: "task",
    paramsSince: "6.1",
    context: ["task", "vma"],
  },
  { name: "unix", since: "5.15", params: "none", context: ["unix_sk", "uid"] },
  { name: "bpf_link", since: "5.19", params: "none", context: ["link"] },
  { name: "ksym", since: "6.0", params: "none", context: ["ksym"] },
  { name: "cgroup", since: "6.1", params: "cgroup", context: ["cgroup"] },
  { name: "kmem_cache", since: "6.13", params: "none", context: ["s"] },
  { name: "dmabuf", since: "6.16", params: "none", context: ["dmabuf"] },
];

const byName = new Map(ITER_TARGETS.map((t) => [t.name, t]));

/** Facts about a target this table knows, or undefined for one it does not. */
export function iterTargetInfo(name: string): IterTargetInfo | undefined {
  return byName.get(name);
}

/** Parameter kind of a target; targets unknown to the table take none. */
export function iterParamKind(name: string): IterParamKind {
  return byName.get(name)?.params ?? "none";
}

/** Prefix of the FUNC an iterator program attaches to: `bpf_iter_<target>`. */
export const ITER_FUNC_PREFIX = "bpf_iter_";

/** Name of the FUNC an iterator program for `target` attaches to (its attach_btf_id). */
export const iterFuncName = (target: string): string => `${ITER_FUNC_PREFIX}${target}`;

/** Name of the context struct of `target`'s programs: `bpf_iter__<target>`. */
export const iterContextStruct = (target: string): string => `bpf_iter__${target}`;

/** The target whose FUNC this is (`bpf_iter_task` → "task"), or undefined for another name. */
export function iterTargetOfFunc(funcName: string): string | undefined {
  if (!funcName.startsWith(ITER_FUNC_PREFIX) || funcName.startsWith("bpf_iter__")) return undefined;
  const name = funcName.slice(ITER_FUNC_PREFIX.length);
  return name === "" ? undefined : name;
}
