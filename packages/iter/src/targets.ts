// Iterator targets: the kernel that introduced each one and the link
// parameters it takes. Presence on the running kernel always comes from BTF
// (FUNC bpf_iter_<target>); the versions below only explain an absence.

export type ParamKind = "none" | "map" | "task" | "cgroup";

export interface TargetInfo {
  /** Target name as the kernel registers it (`bpf_iter_<name>`). */
  readonly name: string;
  /** First mainline kernel with this target. */
  readonly since: string;
  /** Which `union bpf_iter_link_info` member the target reads. */
  readonly params: ParamKind;
  /** First kernel accepting the parameters, when later than the target. */
  readonly paramsSince?: string;
  /** Whether the parameter is mandatory (bpf_map_elem without a map fails with EBADF). */
  readonly paramsRequired?: boolean;
}

export const TARGETS: readonly TargetInfo[] = [
  { name: "task", since: "5.8", params: "task", paramsSince: "6.1" },
  { name: "task_file", since: "5.8", params: "task", paramsSince: "6.1" },
  { name: "bpf_map", since: "5.8", params: "none" },
  { name: "netlink", since: "5.8", params: "none" },
  { name: "ipv6_route", since: "5.8", params: "none" },
  { name: "tcp", since: "5.9", params: "none" },
  { name: "udp", since: "5.9", params: "none" },
  { name: "bpf_map_elem", since: "5.9", params: "map", paramsRequired: true },
  { name: "bpf_sk_storage_map", since: "5.9", params: "map", paramsRequired: true },
  { name: "bpf_prog", since: "5.9", params: "none" },
  { name: "sockmap", since: "5.10", params: "map", paramsRequired: true },
  { name: "task_vma", since: "5.12", params: "task", paramsSince: "6.1" },
  { name: "unix", since: "5.15", params: "none" },
  { name: "bpf_link", since: "5.19", params: "none" },
  { name: "ksym", since: "6.0", params: "none" },
  { name: "cgroup", since: "6.1", params: "cgroup" },
  { name: "kmem_cache", since: "6.13", params: "none" },
  { name: "dmabuf", since: "6.16", params: "none" },
];

const byName = new Map(TARGETS.map((t) => [t.name, t]));

/** Facts about a target this package knows, or undefined for one it does not. */
export function targetInfo(name: string): TargetInfo | undefined {
  return byName.get(name);
}

/** Parameter kind of a target; targets unknown to this table take none. */
export function paramKind(name: string): ParamKind {
  return byName.get(name)?.params ?? "none";
}

export const TARGET_NAME = /^[a-z0-9_]{1,64}$/;

export function checkTargetName(target: unknown): string {
  if (typeof target !== "string") {
    throw new TypeError(`iterator target must be a string such as "task", got ${typeof target}`);
  }
  if (!TARGET_NAME.test(target)) {
    throw new TypeError(
      `invalid iterator target ${JSON.stringify(target)}: expected a name such as "task" or "bpf_map_elem"`,
    );
  }
  return target;
}
