// What each built-in iterator copies out of the kernel. Paths are BTF member
// paths resolved against the running kernel (see record.ts); `alt` lists the
// names a member had in other kernels.

import type { FieldDef } from "./record.js";

export interface BuiltinDef {
  /** Iterator target. */
  readonly target: string;
  /** Context member that is NULL at the end of the iteration. */
  readonly object: string;
  readonly fields: readonly FieldDef[];
}

const taskIds = (ctx: string): FieldDef[] => [
  { name: "tgid", ctx, path: "tgid", kind: "u32" },
  { name: "pid", ctx, path: "pid", kind: "u32" },
];

export const TASK: BuiltinDef = {
  target: "task",
  object: "task",
  fields: [
    ...taskIds("task"),
    { name: "ppid", ctx: "task", path: "real_parent.tgid", kind: "u32" },
    { name: "uid", ctx: "task", path: "cred.uid.val", kind: "u32" },
    { name: "gid", ctx: "task", path: "cred.gid.val", kind: "u32" },
    { name: "flags", ctx: "task", path: "flags", kind: "u32" },
    { name: "state", ctx: "task", path: "__state", alt: ["state"], kind: "u32" },
    { name: "threads", ctx: "task", path: "signal.nr_threads", kind: "u32" },
    { name: "startTime", ctx: "task", path: "start_time", kind: "u64" },
    { name: "comm", ctx: "task", path: "comm", kind: "char", len: 16 },
  ],
};

export const TASK_FILE: BuiltinDef = {
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
};

export const TASK_VMA: BuiltinDef = {
  target: "task_vma",
  object: "vma",
  fields: [
    ...taskIds("task"),
    { name: "start", ctx: "vma", path: "vm_start", kind: "u64" },
    { name: "end", ctx: "vma", path: "vm_end", kind: "u64" },
    { name: "flags", ctx: "vma", path: "vm_flags", alt: ["__vm_flags"], kind: "u64" },
    { name: "pgoff", ctx: "vma", path: "vm_pgoff", kind: "u64" },
    { name: "ino", ctx: "vma", path: "vm_file.f_inode.i_ino", kind: "u64" },
    { name: "comm", ctx: "task", path: "comm", kind: "char", len: 16 },
  ],
};

export const BPF_MAP: BuiltinDef = {
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
};

export const BPF_PROG: BuiltinDef = {
  target: "bpf_prog",
  object: "prog",
  fields: [
    { name: "id", ctx: "prog", path: "aux.id", kind: "u32" },
    { name: "type", ctx: "prog", path: "type", kind: "u32" },
    { name: "attachType", ctx: "prog", path: "expected_attach_type", kind: "u32" },
    { name: "insns", ctx: "prog", path: "len", kind: "u32" },
    { name: "jitedLen", ctx: "prog", path: "jited_len", kind: "u32" },
    { name: "loadTime", ctx: "prog", path: "aux.load_time", kind: "u64" },
    { name: "tag", ctx: "prog", path: "tag", kind: "bytes", len: 8 },
    { name: "name", ctx: "prog", path: "aux.name", kind: "char", len: 16 },
  ],
};

export const BPF_LINK: BuiltinDef = {
  target: "bpf_link",
  object: "link",
  fields: [
    { name: "id", ctx: "link", path: "id", kind: "u32" },
    { name: "type", ctx: "link", path: "type", kind: "u32" },
    { name: "progId", ctx: "link", path: "prog.aux.id", kind: "u32" },
  ],
};

const inet = (ctx: string, prefix: string): FieldDef[] => [
  { name: "family", ctx, path: `${prefix}skc_family`, kind: "u16" },
  { name: "state", ctx, path: `${prefix}skc_state`, kind: "u8" },
  { name: "sport", ctx, path: `${prefix}skc_num`, kind: "u16" },
  { name: "dport", ctx, path: `${prefix}skc_dport`, kind: "be16" },
  { name: "saddr4", ctx, path: `${prefix}skc_rcv_saddr`, kind: "bytes", len: 4 },
  { name: "daddr4", ctx, path: `${prefix}skc_daddr`, kind: "bytes", len: 4 },
  {
    name: "saddr6",
    ctx,
    path: `${prefix}skc_v6_rcv_saddr`,
    kind: "bytes",
    len: 16,
    optional: true,
  },
  { name: "daddr6", ctx, path: `${prefix}skc_v6_daddr`, kind: "bytes", len: 16, optional: true },
];

export const TCP: BuiltinDef = {
  target: "tcp",
  object: "sk_common",
  fields: [...inet("sk_common", ""), { name: "uid", ctx: "uid", kind: "u32" }],
};

export const UDP: BuiltinDef = {
  target: "udp",
  object: "udp_sk",
  fields: [
    ...inet("udp_sk", "inet.sk.__sk_common."),
    { name: "uid", ctx: "uid", kind: "u32" },
    { name: "bucket", ctx: "bucket", kind: "u32" },
  ],
};

export const UNIX: BuiltinDef = {
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
};

export const KSYM: BuiltinDef = {
  target: "ksym",
  object: "ksym",
  fields: [
    { name: "value", ctx: "ksym", path: "value", kind: "u64" },
    { name: "type", ctx: "ksym", path: "type", kind: "u8" },
    { name: "module", ctx: "ksym", path: "module_name", kind: "char", len: 56 },
    // KSYM_NAME_LEN is 512 since 6.1; longer names are cut to keep records small.
    { name: "name", ctx: "ksym", path: "name", kind: "char", len: 128 },
  ],
};

export const CGROUP: BuiltinDef = {
  target: "cgroup",
  object: "cgroup",
  fields: [
    { name: "id", ctx: "cgroup", path: "kn.id", kind: "u64" },
    { name: "level", ctx: "cgroup", path: "level", kind: "u32" },
    { name: "name", ctx: "cgroup", path: "kn.name", kind: "str", len: 128 },
  ],
};

export const KMEM_CACHE: BuiltinDef = {
  target: "kmem_cache",
  object: "s",
  fields: [
    { name: "size", ctx: "s", path: "size", kind: "u32" },
    { name: "objectSize", ctx: "s", path: "object_size", kind: "u32" },
    { name: "align", ctx: "s", path: "align", kind: "u32" },
    { name: "flags", ctx: "s", path: "flags", kind: "u32" },
    { name: "name", ctx: "s", path: "name", kind: "str", len: 64 },
  ],
};
