// Program section names → program type, expected attach type and attach
// target, after libbpf's section_defs (the names C programs use with SEC()).
import { BpfAttachType as A, BpfProgLoadFlag, BpfProgType as P } from "@ts-ebpf/spec/constants";

/** What a section name says about its programs. */
export interface SectionKind {
  readonly type: number;
  readonly expectedAttachType?: number;
  readonly flags?: number;
  /**
   * How the attach BTF id is found, with the text after the prefix:
   * iter → FUNC bpf_iter_<target>; func → FUNC <name>; tp_btf → TYPEDEF
   * btf_trace_<name>; lsm → FUNC bpf_lsm_<name>.
   */
  readonly attach?: "iter" | "func" | "tp_btf" | "lsm";
  /** The part after the prefix (iterator target, function, tracepoint). */
  readonly target?: string;
}

interface Def {
  readonly name: string;
  /** "prefix/": matches "prefix/anything"; otherwise an exact name (or name/anything). */
  readonly type: number;
  readonly attachType?: number;
  readonly sleepable?: boolean;
  readonly attach?: SectionKind["attach"];
  readonly flags?: number;
}

const S = BpfProgLoadFlag.SLEEPABLE;

/** Sections of one program type with no expected attach type. */
function named(type: number, ...names: string[]): Def[] {
  return names.map((name) => ({ name, type }));
}

/** Sections of one program type, each name with its expected attach type. */
function attachTypes(type: number, byName: Readonly<Record<string, number>>): Def[] {
  return Object.entries(byName).map(([name, attachType]) => ({ name, type, attachType }));
}

// Longest match wins, so "kprobe.multi/" beats "kprobe/" and "cgroup/sock_release" beats "cgroup/sock".
const DEFS: readonly Def[] = [
  { name: "socket", type: P.SOCKET_FILTER },
  {
    name: "sk_reuseport/migrate",
    type: P.SK_REUSEPORT,
    attachType: A.SK_REUSEPORT_SELECT_OR_MIGRATE,
  },
  { name: "sk_reuseport", type: P.SK_REUSEPORT, attachType: A.SK_REUSEPORT_SELECT },
  ...named(P.KPROBE, "kprobe/", "uprobe/"),
  { name: "uprobe.s/", type: P.KPROBE, flags: S },
  ...named(P.KPROBE, "kretprobe/", "uretprobe/"),
  { name: "uretprobe.s/", type: P.KPROBE, flags: S },
  ...named(P.KPROBE, "ksyscall/", "kretsyscall/"),
  ...attachTypes(P.KPROBE, {
    "kprobe.multi/": A.TRACE_KPROBE_MULTI,
    "kretprobe.multi/": A.TRACE_KPROBE_MULTI,
    "uprobe.multi/": A.TRACE_UPROBE_MULTI,
    "uretprobe.multi/": A.TRACE_UPROBE_MULTI,
  }),
  ...named(P.SCHED_CLS, "tc", "classifier"),
  ...attachTypes(P.SCHED_CLS, {
    "tcx/ingress": A.TCX_INGRESS,
    "tcx/egress": A.TCX_EGRESS,
  }),
  { name: "action", type: P.SCHED_ACT },
  ...named(P.TRACEPOINT, "tracepoint/", "tp/"),
  ...named(P.RAW_TRACEPOINT, "raw_tracepoint/", "raw_tp/"),
  ...named(P.RAW_TRACEPOINT_WRITABLE, "raw_tracepoint.w/", "raw_tp.w/"),
  { name: "tp_btf/", type: P.TRACING, attachType: A.TRACE_RAW_TP, attach: "tp_btf" },
  { name: "fentry/", type: P.TRACING, attachType: A.TRACE_FENTRY, attach: "func" },
  { name: "fentry.s/", type: P.TRACING, attachType: A.TRACE_FENTRY, attach: "func", flags: S },
  { name: "fexit/", type: P.TRACING, attachType: A.TRACE_FEXIT, attach: "func" },
  { name: "fexit.s/", type: P.TRACING, attachType: A.TRACE_FEXIT, attach: "func", flags: S },
  { name: "fmod_ret/", type: P.TRACING, attachType: A.MODIFY_RETURN, attach: "func" },
  { name: "fmod_ret.s/", type: P.TRACING, attachType: A.MODIFY_RETURN, attach: "func", flags: S },
  { name: "iter/", type: P.TRACING, attachType: A.TRACE_ITER, attach: "iter" },
  { name: "iter.s/", type: P.TRACING, attachType: A.TRACE_ITER, attach: "iter", flags: S },
  { name: "lsm/", type: P.LSM, attachType: A.LSM_MAC, attach: "lsm" },
  { name: "lsm.s/", type: P.LSM, attachType: A.LSM_MAC, attach: "lsm", flags: S },
  { name: "xdp", type: P.XDP, attachType: A.XDP },
  { name: "xdp.frags", type: P.XDP, attachType: A.XDP, flags: BpfProgLoadFlag.XDP_HAS_FRAGS },
  ...attachTypes(P.XDP, {
    "xdp/devmap": A.XDP_DEVMAP,
    "xdp/cpumap": A.XDP_CPUMAP,
  }),
  { name: "perf_event", type: P.PERF_EVENT },
  { name: "lwt_in", type: P.LWT_IN },
  { name: "lwt_out", type: P.LWT_OUT },
  { name: "lwt_xmit", type: P.LWT_XMIT },
  { name: "lwt_seg6local", type: P.LWT_SEG6LOCAL },
  { name: "sockops", type: P.SOCK_OPS, attachType: A.CGROUP_SOCK_OPS },
  ...attachTypes(P.SK_SKB, {
    "sk_skb/stream_parser": A.SK_SKB_STREAM_PARSER,
    "sk_skb/stream_verdict": A.SK_SKB_STREAM_VERDICT,
    "sk_skb/verdict": A.SK_SKB_VERDICT,
  }),
  { name: "sk_skb", type: P.SK_SKB },
  { name: "sk_msg", type: P.SK_MSG, attachType: A.SK_MSG_VERDICT },
  { name: "lirc_mode2", type: P.LIRC_MODE2, attachType: A.LIRC_MODE2 },
  { name: "flow_dissector", type: P.FLOW_DISSECTOR, attachType: A.FLOW_DISSECTOR },
  ...attachTypes(P.CGROUP_SKB, {
    "cgroup_skb/ingress": A.CGROUP_INET_INGRESS,
    "cgroup_skb/egress": A.CGROUP_INET_EGRESS,
  }),
  { name: "cgroup/skb", type: P.CGROUP_SKB },
  ...attachTypes(P.CGROUP_SOCK, {
    "cgroup/sock_create": A.CGROUP_INET_SOCK_CREATE,
    "cgroup/sock_release": A.CGROUP_INET_SOCK_RELEASE,
    "cgroup/sock": A.CGROUP_INET_SOCK_CREATE,
    "cgroup/post_bind4": A.CGROUP_INET4_POST_BIND,
    "cgroup/post_bind6": A.CGROUP_INET6_POST_BIND,
  }),
  { name: "cgroup/dev", type: P.CGROUP_DEVICE, attachType: A.CGROUP_DEVICE },
  ...attachTypes(P.CGROUP_SOCK_ADDR, {
    "cgroup/bind4": A.CGROUP_INET4_BIND,
    "cgroup/bind6": A.CGROUP_INET6_BIND,
    "cgroup/connect4": A.CGROUP_INET4_CONNECT,
    "cgroup/connect6": A.CGROUP_INET6_CONNECT,
    "cgroup/sendmsg4": A.CGROUP_UDP4_SENDMSG,
    "cgroup/sendmsg6": A.CGROUP_UDP6_SENDMSG,
    "cgroup/recvmsg4": A.CGROUP_UDP4_RECVMSG,
    "cgroup/recvmsg6": A.CGROUP_UDP6_RECVMSG,
    "cgroup/getpeername4": A.CGROUP_INET4_GETPEERNAME,
    "cgroup/getpeername6": A.CGROUP_INET6_GETPEERNAME,
    "cgroup/getsockname4": A.CGROUP_INET4_GETSOCKNAME,
    "cgroup/getsockname6": A.CGROUP_INET6_GETSOCKNAME,
  }),
  { name: "cgroup/sysctl", type: P.CGROUP_SYSCTL, attachType: A.CGROUP_SYSCTL },
  ...attachTypes(P.CGROUP_SOCKOPT, {
    "cgroup/getsockopt": A.CGROUP_GETSOCKOPT,
    "cgroup/setsockopt": A.CGROUP_SETSOCKOPT,
  }),
  { name: "sk_lookup", type: P.SK_LOOKUP, attachType: A.SK_LOOKUP },
  { name: "syscall", type: P.SYSCALL, flags: S },
  { name: "netfilter", type: P.NETFILTER, attachType: A.NETFILTER },
];

/** The section kind of a program section name, or undefined when it is not one libbpf knows. */
export function sectionKind(section: string): SectionKind | undefined {
  let best: Def | undefined;
  for (const d of DEFS) {
    const prefix = d.name.endsWith("/");
    const hit = prefix
      ? section.startsWith(d.name) && section.length > d.name.length
      : section === d.name || section.startsWith(`${d.name}/`);
    if (hit && (!best || d.name.length > best.name.length)) best = d;
  }
  if (!best) return undefined;
  const target = best.name.endsWith("/") ? section.slice(best.name.length) : undefined;
  return {
    type: best.type,
    ...(best.attachType === undefined ? {} : { expectedAttachType: best.attachType }),
    ...(best.flags === undefined ? {} : { flags: best.flags }),
    ...(best.attach === undefined ? {} : { attach: best.attach }),
    ...(target === undefined ? {} : { target }),
  };
}

/** The kernel type a section's attach target is (FUNC, or TYPEDEF for tp_btf), by name. */
export function attachTargetName(kind: SectionKind): string | undefined {
  if (!kind.attach || !kind.target) return undefined;
  switch (kind.attach) {
    case "iter":
      return `bpf_iter_${kind.target}`;
    case "lsm":
      return `bpf_lsm_${kind.target}`;
    case "tp_btf":
      return `btf_trace_${kind.target}`;
    default:
      return kind.target;
  }
}
