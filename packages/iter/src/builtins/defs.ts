// The built-in iterators, one definition each: the target, what each copies
// out of the kernel (BTF member paths resolved against the running kernel, see
// record.ts; `alt` lists the names a member had in other kernels), the
// converter to the public record (whose type is derived from it), and the
// bpf-iter command that shows it. Adding a built-in is adding one here.

import {
  BpfLinkTypeName,
  BpfMapType,
  BpfMapTypeName,
  BpfProgTypeName,
} from "@ts-ebpf/spec/constants";
import type { Column, Row } from "../cli/format.js";
import type { CgroupParams, IteratorParams, MapFdOwner, TaskParams } from "../params.js";
import type { ReaderOptions } from "../reader.js";
import { type Builtin, type BuiltinRecord, defineBuiltin, type RawRecord } from "./builtin.js";
import {
  type InNetns,
  type NetnsOptions,
  pidnsOf,
  pidnsOfLevels,
  readPerNetns,
  taskNamespaceFields,
} from "./namespaces.js";
import { inetFields, inetSocket, ipv6, udpSocket } from "./net.js";
import type { TaskViewFields, TaskViewQuery } from "./pidns.js";

const hex = (n: number | bigint) => `0x${n.toString(16)}`;
const lowerName = (names: Readonly<Record<number, string>>, value: number) =>
  (names[value] ?? String(value)).toLowerCase();

const taskIds = <const C extends string>(ctx: C) =>
  [
    { name: "tgid", ctx, path: "tgid", kind: "u32" },
    { name: "pid", ctx, path: "pid", kind: "u32" },
  ] as const;

const TASK = defineBuiltin({
  target: "task",
  object: "task",
  fields: [
    ...taskIds("task"),
    { name: "ppid", ctx: "task", path: "real_parent.tgid", kind: "u32" },
    { name: "uid", ctx: "task", path: "cred.uid.val", kind: "u32" },
    { name: "gid", ctx: "task", path: "cred.gid.val", kind: "u32" },
    /** task_struct.flags (PF_*). */
    { name: "flags", ctx: "task", path: "flags", kind: "u32" },
    /** task_struct.__state (TASK_* bits). */
    { name: "state", ctx: "task", path: "__state", alt: ["state"], kind: "u32" },
    { name: "threads", ctx: "task", path: "signal.nr_threads", kind: "u32" },
    /** Start time in ns since boot (CLOCK_MONOTONIC). */
    { name: "startTime", ctx: "task", path: "start_time", kind: "u64" },
    { name: "comm", ctx: "task", path: "comm", kind: "char", len: 16 },
    ...taskNamespaceFields,
  ],
  // Listed field by field: a spread of the raw record costs three times the decoding.
  convert: (t) => ({
    tgid: t.tgid,
    pid: t.pid,
    ppid: t.ppid,
    uid: t.uid,
    gid: t.gid,
    flags: t.flags,
    state: t.state,
    threads: t.threads,
    startTime: t.startTime,
    comm: t.comm,
    /** Inodes of the task's network, mount and pid namespaces (0 while it exits). */
    netns: t.netns,
    mntns: t.mntns,
    pidns: pidnsOf(t),
    /** Depth of its pid namespace (0 for the root's). */
    pidLevel: t.pidLevel,
    /** Its cgroup v2 cgroup (the directory's inode in cgroupfs). */
    cgroupId: t.cgroupId,
  }),
  // The same record read from the bytes in one step: tasks() at 50,000 threads.
  direct: [
    "tgid",
    "pid",
    "ppid",
    "uid",
    "gid",
    "flags",
    "state",
    "threads",
    "startTime",
    "comm",
    "netns",
    "mntns",
    {
      key: "pidns",
      from: ["netns", "pidLevel", "childLevel", "childPidns", "childPidns1", "childPidns2"],
      compute: pidnsOfLevels,
    },
    "pidLevel",
    "cgroupId",
  ],
  cli: {
    command: "tasks",
    help: "tasks (threads) of every process",
    columns: [
      { key: "tgid", right: true },
      { key: "pid", right: true },
      { key: "ppid", right: true },
      { key: "uid", right: true },
      { key: "threads", header: "THR", right: true },
      { key: "comm" },
    ],
    // The table's program reads 6 of the 18 fields, through 3 pointers instead of 13:
    // since 6.4 the verifier checks each pointer load with linear searches of vmlinux
    // BTF (on 6.18 it loads in 3.2 ms instead of 7.5).
    tableFromFields: true,
  },
});

const TASK_FILE = defineBuiltin({
  target: "task_file",
  object: "file",
  fields: [
    ...taskIds("task"),
    { name: "fd", ctx: "fd", kind: "u32" },
    { name: "flags", ctx: "file", path: "f_flags", kind: "u32" },
    { name: "mode", ctx: "file", path: "f_inode.i_mode", kind: "u16" },
    { name: "ino", ctx: "file", path: "f_inode.i_ino", kind: "u64" },
    { name: "pos", ctx: "file", path: "f_pos", kind: "u64" },
    { name: "comm", ctx: "task", path: "comm", kind: "char", len: 16 },
  ],
  cli: {
    command: "files",
    help: "open files",
    columns: [
      { key: "tgid", right: true },
      { key: "fd", right: true },
      { key: "ino", right: true },
      { key: "mode" },
      { key: "flags" },
      { key: "pos", right: true },
      { key: "comm" },
    ],
  },
});

const TASK_VMA = defineBuiltin({
  target: "task_vma",
  object: "vma",
  fields: [
    ...taskIds("task"),
    { name: "start", ctx: "vma", path: "vm_start", kind: "u64" },
    { name: "end", ctx: "vma", path: "vm_end", kind: "u64" },
    { name: "flags", ctx: "vma", path: "vm_flags", alt: ["__vm_flags"], kind: "u64" },
    { name: "pgoff", ctx: "vma", path: "vm_pgoff", kind: "u64" },
    /** Inode of the mapped file, 0n for anonymous memory. */
    { name: "ino", ctx: "vma", path: "vm_file.f_inode.i_ino", kind: "u64" },
    { name: "comm", ctx: "task", path: "comm", kind: "char", len: 16 },
  ],
  cli: {
    command: "vmas",
    help: "memory maps",
    columns: [
      { key: "tgid", right: true },
      { key: "range" },
      { key: "flagsHex", header: "FLAGS" },
      { key: "pgoff", right: true },
      { key: "ino", right: true },
      { key: "comm" },
    ],
    extra: (v) => ({
      range: `${v.start.toString(16)}-${v.end.toString(16)}`,
      flagsHex: hex(v.flags),
    }),
  },
});

const BPF_MAP = defineBuiltin({
  target: "bpf_map",
  object: "map",
  fields: [
    { name: "id", ctx: "map", path: "id", kind: "u32" },
    { name: "type", ctx: "map", path: "map_type", kind: "u32" },
    { name: "keySize", ctx: "map", path: "key_size", kind: "u32" },
    { name: "valueSize", ctx: "map", path: "value_size", kind: "u32" },
    { name: "maxEntries", ctx: "map", path: "max_entries", kind: "u32" },
    { name: "flags", ctx: "map", path: "map_flags", kind: "u32" },
    { name: "name", ctx: "map", path: "name", kind: "char", len: 16 },
  ],
  convert: (m) => ({ ...m, typeName: lowerName(BpfMapTypeName, m.type) }),
  cli: {
    command: "maps",
    help: "BPF maps",
    columns: [
      { key: "id", right: true },
      { key: "typeName", header: "TYPE" },
      { key: "keySize", header: "KEY", right: true },
      { key: "valueSize", header: "VALUE", right: true },
      { key: "maxEntries", header: "MAX", right: true },
      { key: "name" },
    ],
  },
});

const BPF_PROG = defineBuiltin({
  target: "bpf_prog",
  object: "prog",
  fields: [
    { name: "id", ctx: "prog", path: "aux.id", kind: "u32" },
    { name: "type", ctx: "prog", path: "type", kind: "u32" },
    { name: "attachType", ctx: "prog", path: "expected_attach_type", kind: "u32" },
    { name: "insns", ctx: "prog", path: "len", kind: "u32" },
    { name: "jitedLen", ctx: "prog", path: "jited_len", kind: "u32" },
    /** Load time in ns since boot. */
    { name: "loadTime", ctx: "prog", path: "aux.load_time", kind: "u64" },
    { name: "tag", ctx: "prog", path: "tag", kind: "bytes", len: 8 },
    { name: "name", ctx: "prog", path: "aux.name", kind: "char", len: 16 },
  ],
  convert: (p) => ({
    ...p,
    typeName: lowerName(BpfProgTypeName, p.type),
    tag: Buffer.from(p.tag).toString("hex"),
  }),
  cli: {
    command: "progs",
    help: "BPF programs",
    columns: [
      { key: "id", right: true },
      { key: "typeName", header: "TYPE" },
      { key: "insns", right: true },
      { key: "tag" },
      { key: "name" },
    ],
  },
});

const BPF_LINK = defineBuiltin({
  target: "bpf_link",
  object: "link",
  fields: [
    { name: "id", ctx: "link", path: "id", kind: "u32" },
    { name: "type", ctx: "link", path: "type", kind: "u32" },
    { name: "progId", ctx: "link", path: "prog.aux.id", kind: "u32" },
  ],
  convert: (l) => ({ ...l, typeName: lowerName(BpfLinkTypeName, l.type) }),
  cli: {
    command: "links",
    help: "BPF links",
    columns: [
      { key: "id", right: true },
      { key: "typeName", header: "TYPE" },
      { key: "progId", header: "PROG", right: true },
    ],
  },
});

const socketColumns: readonly Column[] = [
  { key: "stateName", header: "STATE" },
  { key: "local" },
  { key: "remote" },
  { key: "uid", right: true },
];

const hostPort = (a: string, p: number) => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);

function socketRow(s: ReturnType<typeof inetSocket>): Row {
  return {
    stateName: s.stateName,
    local: hostPort(s.localAddress, s.localPort),
    remote: hostPort(s.remoteAddress, s.remotePort),
    uid: s.uid,
  };
}

const TCP = defineBuiltin({
  target: "tcp",
  object: "sk_common",
  fields: [...inetFields("sk_common", ""), { name: "uid", ctx: "uid", kind: "u32" }],
  convert: inetSocket,
  cli: {
    command: "tcp",
    help: "TCP sockets of this network namespace",
    columns: socketColumns,
    tableRow: socketRow,
  },
});

const UDP = defineBuiltin({
  target: "udp",
  object: "udp_sk",
  fields: [
    ...inetFields("udp_sk", "inet.sk.__sk_common."),
    { name: "uid", ctx: "uid", kind: "u32" },
    { name: "bucket", ctx: "bucket", kind: "u32" },
  ],
  convert: udpSocket,
  cli: {
    command: "udp",
    help: "UDP sockets of this network namespace",
    columns: socketColumns,
    tableRow: socketRow,
  },
});

const SOCK_TYPES: Readonly<Record<number, "stream" | "dgram" | "seqpacket">> = {
  1: "stream",
  2: "dgram",
  5: "seqpacket",
};
const SUN_PATH_OFFSET = 2; // offsetof(struct sockaddr_un, sun_path)

const UNIX = defineBuiltin({
  target: "unix",
  object: "unix_sk",
  fields: [
    { name: "type", ctx: "unix_sk", path: "sk.sk_type", kind: "u16" },
    { name: "state", ctx: "unix_sk", path: "sk.__sk_common.skc_state", kind: "u8" },
    { name: "uid", ctx: "uid", kind: "u32" },
    { name: "ino", ctx: "unix_sk", path: "sk.sk_socket.file.f_inode.i_ino", kind: "u64" },
    { name: "addrLen", ctx: "unix_sk", path: "addr.len", kind: "u32" },
    { name: "path", ctx: "unix_sk", path: "addr.name[0].sun_path", kind: "bytes", len: 108 },
  ],
  convert: (r) => {
    const len = Math.max(0, Math.min(r.path.length, r.addrLen - SUN_PATH_OFFSET));
    let path = "";
    if (len > 0) {
      // "@name" for an abstract address, the filesystem path otherwise; "" when unbound.
      if (r.path[0] === 0) path = `@${Buffer.from(r.path.subarray(1, len)).toString("utf8")}`;
      else {
        const end = r.path.indexOf(0);
        path = Buffer.from(r.path.subarray(0, end < 0 || end > len ? len : end)).toString("utf8");
      }
    }
    return { type: SOCK_TYPES[r.type] ?? r.type, state: r.state, uid: r.uid, ino: r.ino, path };
  },
  cli: {
    command: "unix",
    help: "unix sockets of this network namespace",
    columns: [
      { key: "type" },
      { key: "state", right: true },
      { key: "uid", right: true },
      { key: "ino", right: true },
      { key: "path" },
    ],
  },
});

const KSYM = defineBuiltin({
  target: "ksym",
  object: "ksym",
  fields: [
    { name: "value", ctx: "ksym", path: "value", kind: "u64" },
    { name: "type", ctx: "ksym", path: "type", kind: "u8" },
    { name: "module", ctx: "ksym", path: "module_name", kind: "char", len: 56 },
    // KSYM_NAME_LEN is 512 since 6.1; longer names are cut to keep records small.
    { name: "name", ctx: "ksym", path: "name", kind: "char", len: 128 },
  ],
  // type: the nm-style letter (T, t, D, ...); module: "" for the kernel itself.
  convert: (k) => ({
    value: k.value,
    type: String.fromCharCode(k.type),
    name: k.name,
    module: k.module,
  }),
  cli: {
    command: "ksyms",
    help: "kernel symbols",
    columns: [{ key: "address" }, { key: "type" }, { key: "name" }, { key: "module" }],
    extra: (k) => ({ address: k.value.toString(16).padStart(16, "0") }),
  },
});

const CGROUP = defineBuiltin({
  target: "cgroup",
  object: "cgroup",
  fields: [
    { name: "id", ctx: "cgroup", path: "kn.id", kind: "u64" },
    { name: "level", ctx: "cgroup", path: "level", kind: "u32" },
    { name: "name", ctx: "cgroup", path: "kn.name", kind: "str", len: 128 },
  ],
  cli: {
    command: "cgroups",
    help: "cgroups",
    columns: [{ key: "id", right: true }, { key: "level", right: true }, { key: "name" }],
  },
});

const KMEM_CACHE = defineBuiltin({
  target: "kmem_cache",
  object: "s",
  fields: [
    { name: "size", ctx: "s", path: "size", kind: "u32" },
    { name: "objectSize", ctx: "s", path: "object_size", kind: "u32" },
    { name: "align", ctx: "s", path: "align", kind: "u32" },
    { name: "flags", ctx: "s", path: "flags", kind: "u32" },
    { name: "name", ctx: "s", path: "name", kind: "str", len: 64 },
  ],
  cli: {
    command: "kmem-caches",
    help: "slab caches (Linux 6.13+)",
    columns: [
      { key: "size", right: true },
      { key: "objectSize", header: "OBJSIZE", right: true },
      { key: "align", right: true },
      { key: "name" },
    ],
  },
});

const RTF_GATEWAY = 0x2;

const IPV6_ROUTE = defineBuiltin({
  target: "ipv6_route",
  object: "rt",
  fields: [
    { name: "dst", ctx: "rt", path: "fib6_dst.addr", kind: "bytes", len: 16 },
    { name: "dstLen", ctx: "rt", path: "fib6_dst.plen", kind: "u32" },
    // Source routing (CONFIG_IPV6_SUBTREES) only.
    { name: "src", ctx: "rt", path: "fib6_src.addr", kind: "bytes", len: 16, optional: true },
    { name: "srcLen", ctx: "rt", path: "fib6_src.plen", kind: "u32", optional: true },
    // A route using a nexthop object (`ip nexthop`) has no fib6_nh of its own.
    { name: "nexthopObject", ctx: "rt", path: "nh", kind: "nonzero" },
    { name: "gatewayFamily", ctx: "rt", path: "fib6_nh[0].nh_common.nhc_gw_family", kind: "u8" },
    {
      name: "gateway",
      ctx: "rt",
      path: "fib6_nh[0].nh_common.nhc_gw.ipv6",
      kind: "bytes",
      len: 16,
    },
    { name: "device", ctx: "rt", path: "fib6_nh[0].nh_common.nhc_dev.name", kind: "char", len: 16 },
    { name: "metric", ctx: "rt", path: "fib6_metric", kind: "u32" },
    { name: "refs", ctx: "rt", path: "fib6_ref.refs.counter", kind: "u32" },
    { name: "flags", ctx: "rt", path: "fib6_flags", kind: "u32" },
    { name: "type", ctx: "rt", path: "fib6_type", kind: "u8" },
    { name: "protocol", ctx: "rt", path: "fib6_protocol", kind: "u8" },
    { name: "table", ctx: "rt", path: "fib6_table.tb6_id", kind: "u32" },
  ],
  convert: (r) => {
    const own = r.nexthopObject === 0;
    const gateway = own && r.gatewayFamily !== 0;
    return {
      destination: ipv6(r.dst),
      destinationLength: r.dstLen,
      source: ipv6(r.src),
      sourceLength: r.srcLen,
      // "" when the route has no gateway (or its nexthop object has it).
      gateway: gateway ? ipv6(r.gateway) : "",
      // "" for a route without its own device (a nexthop object's, or none).
      device: own ? r.device : "",
      metric: r.metric,
      refs: r.refs,
      // RTF_* as /proc/net/ipv6_route shows them (RTF_GATEWAY when there is a gateway).
      flags: gateway ? r.flags | RTF_GATEWAY : r.flags,
      type: r.type,
      protocol: r.protocol,
      table: r.table,
    };
  },
  cli: {
    command: "routes6",
    aliases: ["ipv6-routes"],
    help: "IPv6 routes of this network namespace (every table)",
    columns: [
      { key: "route" },
      { key: "via" },
      { key: "device", header: "DEV" },
      { key: "metric", right: true },
      { key: "table", right: true },
      { key: "flagsHex", header: "FLAGS" },
    ],
    extra: (r) => ({
      route: `${r.destination}/${r.destinationLength}`,
      via: r.gateway,
      flagsHex: hex(r.flags),
    }),
  },
});

const NETLINK = defineBuiltin({
  target: "netlink",
  object: "sk",
  fields: [
    { name: "protocol", ctx: "sk", path: "sk.sk_protocol", kind: "u16" },
    { name: "portid", ctx: "sk", path: "portid", kind: "u32" },
    { name: "dstPortid", ctx: "sk", path: "dst_portid", kind: "u32" },
    { name: "groups", ctx: "sk", path: "ngroups", kind: "u32" },
    { name: "uid", ctx: "sk", path: "sk.sk_uid.val", kind: "u32" },
    { name: "rmem", ctx: "sk", path: "sk.sk_backlog.rmem_alloc.counter", kind: "u32" },
    { name: "wmem", ctx: "sk", path: "sk.sk_wmem_alloc.refs.counter", kind: "u32" },
    { name: "refs", ctx: "sk", path: "sk.__sk_common.skc_refcnt.refs.counter", kind: "u32" },
    { name: "dumping", ctx: "sk", path: "cb_running", kind: "u8" },
  ],
  // wmem as /proc shows it: sk_wmem_alloc starts at 1 (the socket's own reference).
  convert: (r) => ({ ...r, wmem: Math.max(0, r.wmem - 1), dumping: r.dumping !== 0 }),
  cli: {
    command: "netlink",
    help: "netlink sockets of this network namespace",
    columns: [
      { key: "protocol", header: "PROTO", right: true },
      { key: "portid", header: "PORTID", right: true },
      { key: "groups", right: true },
      { key: "rmem", right: true },
      { key: "wmem", right: true },
      { key: "uid", right: true },
    ],
  },
});

/** What the built-ins over a map of sockets show of each socket (struct sock at `ctx`). */
const sockFields = <const C extends string>(ctx: C) =>
  [
    ...inetFields(ctx, "__sk_common."),
    { name: "type", ctx, path: "sk_type", kind: "u16" },
    { name: "protocol", ctx, path: "sk_protocol", kind: "u16" },
    { name: "uid", ctx, path: "sk_uid.val", kind: "u32" },
    /** Inode of the socket's file, as /proc/<pid>/fd shows it ("socket:[ino]"). */
    { name: "ino", ctx, path: "sk_socket.file.f_inode.i_ino", kind: "u64" },
  ] as const;

const AF_UNIX = 1;

/** A socket of a sockmap, sockhash or socket-local storage map. */
function mapSocket(r: RawRecord<ReturnType<typeof sockFields>>) {
  const inet = inetSocket(r);
  const isInet = typeof inet.family === "string";
  return {
    family: r.family === AF_UNIX ? ("unix" as const) : inet.family,
    type: SOCK_TYPES[r.type] ?? r.type,
    protocol: r.protocol,
    state: inet.state,
    stateName: inet.stateName,
    // Addresses and ports of inet sockets; "" and 0 for others (unix).
    localAddress: isInet ? inet.localAddress : "",
    localPort: isInet ? inet.localPort : 0,
    remoteAddress: isInet ? inet.remoteAddress : "",
    remotePort: isInet ? inet.remotePort : 0,
    uid: r.uid,
    ino: r.ino,
  };
}

function mapSocketRow(s: ReturnType<typeof mapSocket>): Row {
  const inet = s.family === "inet" || s.family === "inet6";
  return {
    family: String(s.family),
    type: String(s.type),
    stateName: s.stateName,
    local: inet ? hostPort(s.localAddress, s.localPort) : "",
    remote: inet ? hostPort(s.remoteAddress, s.remotePort) : "",
    ino: s.ino,
  };
}

const mapSocketColumns: readonly Column[] = [
  { key: "family" },
  { key: "type" },
  { key: "stateName", header: "STATE" },
  { key: "local" },
  { key: "remote" },
  { key: "ino", right: true },
];

const spacedHex = (b: Uint8Array) =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

const SOCKMAP = defineBuiltin({
  target: "sockmap",
  object: "sk",
  fields: [{ name: "key", ctx: "key", kind: "bytes" }, ...sockFields("sk")],
  // key: the map's key_size bytes; empty slots of a sockmap (no socket) are left out.
  map: { types: [BpfMapType.SOCKMAP, BpfMapType.SOCKHASH], sized: { key: "keySize" } },
  convert: (r) => ({ key: r.key, ...mapSocket(r) }),
  cli: {
    command: "sockmap",
    aliases: ["sockhash"],
    help: "sockets of a sockmap or sockhash, with their keys",
    columns: [{ key: "key" }, ...mapSocketColumns],
    tableRow: (s) => ({ key: spacedHex(s.key), ...mapSocketRow(s) }),
  },
});

const SK_STORAGE = defineBuiltin({
  target: "bpf_sk_storage_map",
  object: "sk",
  fields: [...sockFields("sk"), { name: "value", ctx: "value", kind: "bytes" }],
  // value: the map's value_size bytes, the storage of that socket.
  map: { types: [BpfMapType.SK_STORAGE], sized: { value: "valueSize" } },
  convert: (r) => ({ ...mapSocket(r), value: r.value }),
  cli: {
    command: "sk-storage",
    aliases: ["sk_storage"],
    help: "sockets with storage in a socket-local storage map, and the value",
    columns: [...mapSocketColumns, { key: "value" }],
    tableRow: (s) => ({ ...mapSocketRow(s), value: spacedHex(s.value) }),
  },
});

// ------------------------------------------------------- record types

export type Task = BuiltinRecord<typeof TASK>;
export type TaskFile = BuiltinRecord<typeof TASK_FILE>;
export type TaskVma = BuiltinRecord<typeof TASK_VMA>;
export type BpfMapRecord = BuiltinRecord<typeof BPF_MAP>;
export type BpfProgRecord = BuiltinRecord<typeof BPF_PROG>;
export type BpfLinkRecord = BuiltinRecord<typeof BPF_LINK>;
export type InetSocket = InNetns<BuiltinRecord<typeof TCP>>;
export type UdpSocket = InNetns<BuiltinRecord<typeof UDP>>;
export type UnixSocket = InNetns<BuiltinRecord<typeof UNIX>>;
export type Ksym = BuiltinRecord<typeof KSYM>;
export type Cgroup = BuiltinRecord<typeof CGROUP>;
export type KmemCache = BuiltinRecord<typeof KMEM_CACHE>;
export type Ipv6Route = InNetns<BuiltinRecord<typeof IPV6_ROUTE>>;
export type NetlinkSocket = InNetns<BuiltinRecord<typeof NETLINK>>;
export type SockmapSocket = BuiltinRecord<typeof SOCKMAP>;
export type SkStorageEntry = BuiltinRecord<typeof SK_STORAGE>;

// ------------------------------------------------------- functions

/** Options of every built-in: reader options plus the target's parameters where it has some. */
export type BuiltinOptions = ReaderOptions;

/** The function giving every record of a built-in that takes no parameters. */
const readAll =
  <R extends object>(builtin: Builtin<R>) =>
  async (options: ReaderOptions = {}): Promise<R[]> =>
    builtin.read(undefined, options);

function taskParams(p: TaskParams | undefined): IteratorParams | undefined {
  if (!p) return undefined;
  const { tid, pid, pidFd } = p;
  if (tid === undefined && pid === undefined && pidFd === undefined) return undefined;
  return { tid, pid, pidFd };
}

/** The function giving every record of a task built-in, or those of one task or process. */
const readTasks =
  <R extends object>(builtin: Builtin<R>) =>
  async (filter?: TaskParams, options: ReaderOptions = {}): Promise<R[]> =>
    builtin.read(taskParams(filter), options);

/** What tasks() takes: one task or process (6.1+), a pid namespace's view, cgroup paths. */
export type TaskQuery = TaskParams & TaskViewQuery;

/**
 * Every task (thread) of the caller's pid namespace, with its namespaces'
 * inodes and cgroup id; `{ pid }` limits to one process (6.1+); `{ pidns }`
 * gives only the tasks that pid namespace sees, with ids as it sees them;
 * `{ cgroupPath: true }` adds cgroup paths.
 */
export async function tasks(
  query?: TaskQuery,
  options: ReaderOptions = {},
): Promise<(Task & TaskViewFields)[]> {
  const records = await TASK.read(taskParams(query), options);
  if (query?.pidns === undefined && !query?.cgroupPath) return records;
  // Loaded only here: bpf-iter tasks and a plain tasks() never need it.
  const { taskViews } = await import("./pidns.js");
  return taskViews(records, query, options, () => TASK.read(undefined, options));
}

export function tasksSync(filter?: TaskParams, options: ReaderOptions = {}): Task[] {
  return TASK.readSync(taskParams(filter), options);
}

/** Open files of every process (or of one with `{ pid }`). */
export const taskFiles = readTasks(TASK_FILE);

/** Memory mappings of every process (or of one with `{ pid }`). */
export const taskVmas = readTasks(TASK_VMA);

export const bpfMaps = readAll(BPF_MAP);

export const bpfProgs = readAll(BPF_PROG);

export const bpfLinks = readAll(BPF_LINK);

/** The function giving every record of a per-network-namespace built-in, in `{ netns }`. */
const readNetns =
  <R extends object>(builtin: Builtin<R>) =>
  (options: NetnsOptions = {}): Promise<InNetns<R>[]> =>
    readPerNetns(builtin, options);

/**
 * TCP sockets (IPv4 and IPv6) of the caller's network namespace, or of
 * `{ netns }`: a pid, a path (/run/netns/<name>), `{ fd }`, or "all"; each
 * record carries its namespace's inode (`netns`).
 */
export const tcp = readNetns(TCP);

/** UDP sockets of the caller's network namespace, or of `{ netns }` (see tcp). */
export const udp = readNetns(UDP);

/** Unix sockets of the caller's network namespace, or of `{ netns }` (see tcp). */
export const unix = readNetns(UNIX);

/** Kernel symbols (like /proc/kallsyms); names longer than 127 bytes are cut. */
export const ksyms = readAll(KSYM);

/** cgroups from the root (or `{ cgroupFd | cgroupId }`) in `order` (default "pre"). */
export async function cgroups(
  params?: CgroupParams,
  options: ReaderOptions = {},
): Promise<Cgroup[]> {
  return CGROUP.read(params, options);
}

/** Slab caches (Linux 6.13+). */
export const kmemCaches = readAll(KMEM_CACHE);

/**
 * IPv6 routes of the caller's network namespace (or of `{ netns }`, see
 * tcp), every table (like /proc/net/ipv6_route).
 */
export const ipv6Routes = readNetns(IPV6_ROUTE);

/** Netlink sockets of the caller's network namespace, or of `{ netns }` (like /proc/net/netlink). */
export const netlinkSockets = readNetns(NETLINK);

/** The function giving every record of a built-in over the elements of a map. */
const readMap =
  <R extends object>(builtin: Builtin<R>) =>
  async (map: MapFdOwner | number, options: ReaderOptions = {}): Promise<R[]> =>
    builtin.read({ map }, options);

/**
 * Every socket of a sockmap or sockhash (Linux 5.10+) with its key (the map's
 * key_size bytes; a sockmap's is its u32 index). Empty sockmap slots are left out.
 */
export const sockmapSockets = readMap(SOCKMAP);

/**
 * Every socket with storage in a socket-local storage map
 * (BPF_MAP_TYPE_SK_STORAGE, Linux 5.9+), and its value (value_size bytes).
 */
export const skStorage = readMap(SK_STORAGE);
