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

// Longest match wins, so "kprobe.multi/" beats "kprobe/" and "cgroup/sock_release" beats "cgroup/sock".
const DEFS: readonly Def[] = [
  { name: "socket", type: P.SOCKET_FILTER },
  {
    name: "sk_reuseport/migrate",
    type: P.SK_REUSEPORT,
    attachType: A.SK_REUSEPORT_SELECT_OR_MIGRATE,
  },
  { name: "sk_reuseport", type: P.SK_REUSEPORT, attachType: A.SK_REUSEPORT_SELECT },
  { name: "kprobe/", type: P.KPROBE },
  { name: "uprobe/", type: P.KPROBE },
  { name: "uprobe.s/", type: P.KPROBE, flags: S },
  { name: "kretprobe/", type: P.KPROBE },
  { name: "uretprobe/", type: P.KPROBE },
  { name: "uretprobe.s/", type: P.KPROBE, flags: S },
  { name: "ksyscall/", type: P.KPROBE },
  { name: "kretsyscall/", type: P.KPROBE },
  { name: "kprobe.multi/", type: P.KPROBE, attachType: A.TRACE_KPROBE_MULTI },
  { name: "kretprobe.multi/", type: P.KPROBE, attachType: A.TRACE_KPROBE_MULTI },
  { name: "uprobe.multi/", type: P.KPROBE, attachType: A.TRACE_UPROBE_MULTI },
  { name: "uretprobe.multi/", type: P.KPROBE, attachType: A.TRACE_UPROBE_MULTI },
  { name: "tc", type: P.SCHED_CLS },
  { name: "classifier", type: P.SCHED_CLS },
  { name: "tcx/ingress", type: P.SCHED_CLS, attachType: A.TCX_INGRESS },
  { name: "tcx/egress", type: P.SCHED_CLS, attachType: A.TCX_EGRESS },
  { name: "action", type: P.SCHED_ACT },
  { name: "tracepoint/", type: P.TRACEPOINT },
  { name: "tp/", type: P.TRACEPOINT },
  { name: "raw_tracepoint/", type: P.RAW_TRACEPOINT },
  { name: "raw_tp/", type: P.RAW_TRACEPOINT },
  { name: "raw_tracepoint.w/", type: P.RAW_TRACEPOINT_WRITABLE },
  { name: "raw_tp.w/", type: P.RAW_TRACEPOINT_WRITABLE },
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
  { name: "xdp/devmap", type: P.XDP, attachType: A.XDP_DEVMAP },
  { name: "xdp/cpumap", type: P.XDP, attachType: A.XDP_CPUMAP },
  { name: "perf_event", type: P.PERF_EVENT },
  { name: "lwt_in", type: P.LWT_IN },
  { name: "lwt_out", type: P.LWT_OUT },
  { name: "lwt_xmit", type: P.LWT_XMIT },
  { name: "lwt_seg6local", type: P.LWT_SEG6LOCAL },
  { name: "sockops", type: P.SOCK_OPS, attachType: A.CGROUP_SOCK_OPS },
  { name: "sk_skb/stream_parser", type: P.SK_SKB, attachType: A.SK_SKB_STREAM_PARSER },
  { name: "sk_skb/stream_verdict", type: P.SK_SKB, attachType: A.SK_SKB_STREAM_VERDICT },
  { name: "sk_skb/verdict", type: P.SK_SKB, attachType: A.SK_SKB_VERDICT },
  { name: "sk_skb", type: P.SK_SKB },
  { name: "sk_msg", type: P.SK_MSG, attachType: A.SK_MSG_VERDICT },
  { name: "lirc_mode2", type: P.LIRC_MODE2, attachType: A.LIRC_MODE2 },
  { name: "flow_dissector", type: P.FLOW_DISSECTOR, attachType: A.FLOW_DISSECTOR },
  { name: "cgroup_skb/ingress", type: P.CGROUP_SKB, attachType: A.CGROUP_INET_INGRESS },
  { name: "cgroup_skb/egress", type: P.CGROUP_SKB, attachType: A.CGROUP_INET_EGRESS },
  { name: "cgroup/skb", type: P.CGROUP_SKB },
  { name: "cgroup/sock_create", type: P.CGROUP_SOCK, attachType: A.CGROUP_INET_SOCK_CREATE },
  { name: "cgroup/sock_release", type: P.CGROUP_SOCK, attachType: A.CGROUP_INET_SOCK_RELEASE },
  { name: "cgroup/sock", type: P.CGROUP_SOCK, attachType: A.CGROUP_INET_SOCK_CREATE },
  { name: "cgroup/post_bind4", type: P.CGROUP_SOCK, attachType: A.CGROUP_INET4_POST_BIND },
  { name: "cgroup/post_bind6", type: P.CGROUP_SOCK, attachType: A.CGROUP_INET6_POST_BIND },
  { name: "cgroup/dev", type: P.CGROUP_DEVICE, attachType: A.CGROUP_DEVICE },
  { name: "cgroup/bind4", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET4_BIND },
  { name: "cgroup/bind6", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET6_BIND },
  { name: "cgroup/connect4", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET4_CONNECT },
  { name: "cgroup/connect6", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET6_CONNECT },
  { name: "cgroup/sendmsg4", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UDP4_SENDMSG },
  { name: "cgroup/sendmsg6", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UDP6_SENDMSG },
  { name: "cgroup/recvmsg4", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UDP4_RECVMSG },
  { name: "cgroup/recvmsg6", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UDP6_RECVMSG },
  { name: "cgroup/getpeername4", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET4_GETPEERNAME },
  { name: "cgroup/getpeername6", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET6_GETPEERNAME },
  { name: "cgroup/getsockname4", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET4_GETSOCKNAME },
  { name: "cgroup/getsockname6", type: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET6_GETSOCKNAME },
  { name: "cgroup/sysctl", type: P.CGROUP_SYSCTL, attachType: A.CGROUP_SYSCTL },
  { name: "cgroup/getsockopt", type: P.CGROUP_SOCKOPT, attachType: A.CGROUP_GETSOCKOPT },
  { name: "cgroup/setsockopt", type: P.CGROUP_SOCKOPT, attachType: A.CGROUP_SETSOCKOPT },
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
