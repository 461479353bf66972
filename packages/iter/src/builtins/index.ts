// Built-in typed iterators: one program per target, compiled once per process
// from the running kernel's BTF, emitting fixed binary records decoded into
// plain objects. Each call opens a fresh iterator fd.

import { loadKernelBtf, type RecordLayout } from "@ts-ebpf/btf";
import type { Program } from "@ts-ebpf/syscall";
import { BpfLinkTypeName, BpfMapTypeName, BpfProgTypeName } from "@ts-ebpf/syscall/constants";
import { createIterator, type IteratorLink, loadIteratorProgram, targetBtfId } from "../link.js";
import { consumeOwnReader } from "../owned-fd.js";
import type { IteratorParams, MapFdOwner, TaskParams } from "../params.js";
import { decodeRecords, type ReaderOptions } from "../reader.js";
import {
  BPF_LINK,
  BPF_MAP,
  BPF_PROG,
  type BuiltinDef,
  CGROUP,
  KMEM_CACHE,
  KSYM,
  TASK,
  TASK_FILE,
  TASK_VMA,
  TCP,
  UDP,
  UNIX,
} from "./defs.js";
import { closeMapElemPrograms } from "./map-elems.js";
import { compileRecord, type RecordProgram } from "./record.js";

export * from "./map-elems.js";
export {
  compileRecord,
  type FieldDef,
  type FieldKind,
  iteratorSpec,
  type RecordProgram,
} from "./record.js";

export interface Task {
  tgid: number;
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  /** task_struct.flags (PF_*). */
  flags: number;
  /** task_struct.__state (TASK_* bits). */
  state: number;
  threads: number;
  /** Start time in ns since boot (CLOCK_MONOTONIC). */
  startTime: bigint;
  comm: string;
}

export interface TaskFile {
  tgid: number;
  pid: number;
  fd: number;
  flags: number;
  mode: number;
  ino: bigint;
  pos: bigint;
  comm: string;
}

export interface TaskVma {
  tgid: number;
  pid: number;
  start: bigint;
  end: bigint;
  flags: bigint;
  pgoff: bigint;
  /** Inode of the mapped file, 0n for anonymous memory. */
  ino: bigint;
  comm: string;
}

export interface BpfMapRecord {
  id: number;
  type: number;
  typeName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

export interface BpfProgRecord {
  id: number;
  type: number;
  typeName: string;
  attachType: number;
  insns: number;
  jitedLen: number;
  /** Load time in ns since boot. */
  loadTime: bigint;
  tag: string;
  name: string;
}

export interface BpfLinkRecord {
  id: number;
  type: number;
  typeName: string;
  progId: number;
}

export interface InetSocket {
  family: "inet" | "inet6" | number;
  state: number;
  stateName: string;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  uid: number;
}

export interface UdpSocket extends InetSocket {
  bucket: number;
}

export interface UnixSocket {
  type: "stream" | "dgram" | "seqpacket" | number;
  state: number;
  uid: number;
  ino: bigint;
  /** Filesystem path, "@name" for an abstract address, "" when unbound. */
  path: string;
}

export interface Ksym {
  value: bigint;
  /** nm-style type letter (T, t, D, ...). */
  type: string;
  name: string;
  /** Module name, "" for the kernel itself. */
  module: string;
}

export interface Cgroup {
  id: bigint;
  level: number;
  name: string;
}

export interface KmemCache {
  name: string;
  size: number;
  objectSize: number;
  align: number;
  flags: number;
}

/** Options of every built-in: reader options plus the target's parameters where it has some. */
export type BuiltinOptions = ReaderOptions;

interface Compiled<R> {
  readonly program: RecordProgram<Record<string, unknown>>;
  readonly convert: (raw: Record<string, unknown>) => R;
  /** Loaded once per process, shared by every link of this built-in. */
  loaded?: Program;
  /** Link without parameters, created on first use and kept for the process. */
  link?: IteratorLink;
}

const compiled = new Map<string, Compiled<unknown>>();

function builtin<R>(def: BuiltinDef, convert: (raw: Record<string, unknown>) => R): Compiled<R> {
  let c = compiled.get(def.target) as Compiled<R> | undefined;
  if (!c) {
    const btf = loadKernelBtf();
    targetBtfId(def.target, btf);
    const program = compileRecord(btf, def.target, def.object, def.fields);
    c = { program, convert };
    compiled.set(def.target, c as Compiled<unknown>);
  }
  return c;
}

function linkFor<R>(
  c: Compiled<R>,
  target: string,
  params: IteratorParams | undefined,
): IteratorLink {
  if (params === undefined && c.link) return c.link;
  c.loaded ??= loadIteratorProgram(c.program.spec, target);
  const link = createIterator(c.loaded, target, params);
  if (params === undefined) c.link = link;
  return link;
}

async function run<R>(
  c: Compiled<R>,
  target: string,
  params: IteratorParams | undefined,
  options: ReaderOptions,
): Promise<R[]> {
  const layout = c.program.layout as RecordLayout<Record<string, unknown>>;
  const link = linkFor(c, target, params);
  try {
    const records = await consumeOwnReader(link.open(options), (r) => r.readRecords(layout));
    return records.map(c.convert);
  } finally {
    if (link !== c.link) link.close();
  }
}

function runSync<R>(
  c: Compiled<R>,
  target: string,
  params: IteratorParams | undefined,
  options: ReaderOptions,
): R[] {
  const layout = c.program.layout as RecordLayout<Record<string, unknown>>;
  const link = linkFor(c, target, params);
  try {
    return link.open(options).readRecordsSync(layout).map(c.convert);
  } finally {
    if (link !== c.link) link.close();
  }
}

const DEFS: Record<string, BuiltinDef> = Object.fromEntries(
  [
    TASK,
    TASK_FILE,
    TASK_VMA,
    BPF_MAP,
    BPF_PROG,
    BPF_LINK,
    TCP,
    UDP,
    UNIX,
    KSYM,
    CGROUP,
    KMEM_CACHE,
  ].map((d) => [d.target, d]),
);

const convertMap = (r: Record<string, unknown>): BpfMapRecord => {
  const m = r as unknown as BpfMapRecord;
  return { ...m, typeName: (BpfMapTypeName[m.type] ?? String(m.type)).toLowerCase() };
};

const convertProg = (r: Record<string, unknown>): BpfProgRecord => {
  const p = r as unknown as Omit<BpfProgRecord, "tag"> & { tag: Uint8Array };
  return {
    ...p,
    typeName: (BpfProgTypeName[p.type] ?? String(p.type)).toLowerCase(),
    tag: Buffer.from(p.tag).toString("hex"),
  };
};

const convertLink = (r: Record<string, unknown>): BpfLinkRecord => {
  const l = r as unknown as BpfLinkRecord;
  return { ...l, typeName: (BpfLinkTypeName[l.type] ?? String(l.type)).toLowerCase() };
};

const convertUdp = (r: Record<string, unknown>): UdpSocket => {
  const s = inetSocket(r);
  // UDP has no TCP state machine; 7 (TCP_CLOSE) means unconnected.
  return {
    ...s,
    stateName: s.state === 1 ? "ESTABLISHED" : "UNCONN",
    bucket: r.bucket as number,
  };
};

const convertUnix = (r: Record<string, unknown>): UnixSocket => {
  const raw = r.path as Uint8Array;
  const len = Math.max(0, Math.min(raw.length, (r.addrLen as number) - SUN_PATH_OFFSET));
  let path = "";
  if (len > 0) {
    if (raw[0] === 0) path = `@${Buffer.from(raw.subarray(1, len)).toString("utf8")}`;
    else {
      const end = raw.indexOf(0);
      path = Buffer.from(raw.subarray(0, end < 0 || end > len ? len : end)).toString("utf8");
    }
  }
  const type = r.type as number;
  return {
    type: SOCK_TYPES[type] ?? type,
    state: r.state as number,
    uid: r.uid as number,
    ino: r.ino as bigint,
    path,
  };
};

const convertKsym = (r: Record<string, unknown>): Ksym => ({
  value: r.value as bigint,
  type: String.fromCharCode(r.type as number),
  name: r.name as string,
  module: r.module as string,
});

const CONVERTERS: Record<string, (raw: Record<string, unknown>) => unknown> = {
  bpf_map: convertMap,
  bpf_prog: convertProg,
  bpf_link: convertLink,
  tcp: (r) => inetSocket(r),
  udp: convertUdp,
  unix: convertUnix,
  ksym: convertKsym,
};

function builtinFor(target: string): Compiled<unknown> {
  const def = DEFS[target];
  if (!def) {
    throw new TypeError(
      `no built-in iterator for "${target}"; built-ins: ${Object.keys(DEFS).join(", ")}`,
    );
  }
  return compiled.get(target) ?? builtin(def, CONVERTERS[target] ?? same);
}

/** A new link running the built-in program of `target` (the caller closes it). */
export function builtinLink(target: string, params?: IteratorParams): IteratorLink {
  const c = builtinFor(target);
  c.loaded ??= loadIteratorProgram(c.program.spec, target);
  return createIterator(c.loaded, target, params);
}

/** Bytes per record of the built-in of `target`. */
export function builtinRecordSize(target: string): number {
  return builtinFor(target).program.layout.size;
}

/** Record layout (decoder) of the built-in of `target`, e.g. to read a pinned one. */
export function builtinLayout(target: string): RecordLayout<Record<string, unknown>> {
  return builtinFor(target).program.layout;
}

/** Decodes the output of a built-in program (e.g. read from a pinned one) into typed objects. */
export function decodeBuiltin(target: string, bytes: Uint8Array): unknown[] {
  const c = builtinFor(target);
  return decodeRecords(bytes, c.program.layout as RecordLayout<Record<string, unknown>>).map(
    c.convert,
  );
}

/** Closes the cached programs and links of the built-ins (they are reloaded on next use). */
export function closeBuiltins(): void {
  for (const c of compiled.values()) {
    c.link?.close();
    c.loaded?.close();
  }
  compiled.clear();
  closeMapElemPrograms();
}

const same = <T>(raw: Record<string, unknown>): T => raw as T;

function taskParams(p: TaskParams | undefined): IteratorParams | undefined {
  if (!p) return undefined;
  const { tid, pid, pidFd } = p;
  if (tid === undefined && pid === undefined && pidFd === undefined) return undefined;
  return { tid, pid, pidFd };
}

/** Every task (thread) of the caller's pid namespace; `{ pid }` limits to one process (6.1+). */
export async function tasks(filter?: TaskParams, options: ReaderOptions = {}): Promise<Task[]> {
  return run(builtin(TASK, same<Task>), "task", taskParams(filter), options);
}

export function tasksSync(filter?: TaskParams, options: ReaderOptions = {}): Task[] {
  return runSync(builtin(TASK, same<Task>), "task", taskParams(filter), options);
}

/** Open files of every process (or of one with `{ pid }`). */
export async function taskFiles(
  filter?: TaskParams,
  options: ReaderOptions = {},
): Promise<TaskFile[]> {
  return run(builtin(TASK_FILE, same<TaskFile>), "task_file", taskParams(filter), options);
}

/** Memory mappings of every process (or of one with `{ pid }`). */
export async function taskVmas(
  filter?: TaskParams,
  options: ReaderOptions = {},
): Promise<TaskVma[]> {
  return run(builtin(TASK_VMA, same<TaskVma>), "task_vma", taskParams(filter), options);
}

export async function bpfMaps(options: ReaderOptions = {}): Promise<BpfMapRecord[]> {
  return run(builtin(BPF_MAP, convertMap), "bpf_map", undefined, options);
}

export async function bpfProgs(options: ReaderOptions = {}): Promise<BpfProgRecord[]> {
  return run(builtin(BPF_PROG, convertProg), "bpf_prog", undefined, options);
}

export async function bpfLinks(options: ReaderOptions = {}): Promise<BpfLinkRecord[]> {
  return run(builtin(BPF_LINK, convertLink), "bpf_link", undefined, options);
}

const AF_INET = 2;
const AF_INET6 = 10;
const TCP_STATES = [
  "",
  "ESTABLISHED",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "TIME_WAIT",
  "CLOSE",
  "CLOSE_WAIT",
  "LAST_ACK",
  "LISTEN",
  "CLOSING",
  "NEW_SYN_RECV",
  "BOUND_INACTIVE",
];

function ipv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

function ipv6(b: Uint8Array | undefined): string {
  if (!b) return "";
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const words = Array.from({ length: 8 }, (_, i) => v.getUint16(i * 2, false));
  // ::ffff:a.b.c.d for IPv4-mapped addresses
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${ipv4(b.subarray(12))}`;
  }
  // Longest run of zero words becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

function inetSocket(r: Record<string, unknown>): InetSocket {
  const family = r.family as number;
  const v6 = family === AF_INET6;
  const state = r.state as number;
  return {
    family: family === AF_INET ? "inet" : v6 ? "inet6" : family,
    state,
    stateName: TCP_STATES[state] ?? String(state),
    localAddress: v6 ? ipv6(r.saddr6 as Uint8Array | undefined) : ipv4(r.saddr4 as Uint8Array),
    localPort: r.sport as number,
    remoteAddress: v6 ? ipv6(r.daddr6 as Uint8Array | undefined) : ipv4(r.daddr4 as Uint8Array),
    remotePort: r.dport as number,
    uid: r.uid as number,
  };
}

/** TCP sockets (IPv4 and IPv6) of the caller's network namespace. */
export async function tcp(options: ReaderOptions = {}): Promise<InetSocket[]> {
  return run(builtin(TCP, inetSocket), "tcp", undefined, options);
}

export async function udp(options: ReaderOptions = {}): Promise<UdpSocket[]> {
  return run(builtin(UDP, convertUdp), "udp", undefined, options);
}

const SOCK_TYPES: Record<number, UnixSocket["type"]> = { 1: "stream", 2: "dgram", 5: "seqpacket" };
const SUN_PATH_OFFSET = 2; // offsetof(struct sockaddr_un, sun_path)

export async function unix(options: ReaderOptions = {}): Promise<UnixSocket[]> {
  return run(builtin(UNIX, convertUnix), "unix", undefined, options);
}

/** Kernel symbols (like /proc/kallsyms); names longer than 127 bytes are cut. */
export async function ksyms(options: ReaderOptions = {}): Promise<Ksym[]> {
  return run(builtin(KSYM, convertKsym), "ksym", undefined, options);
}

/** cgroups from the root (or `{ cgroupFd | cgroupId }`) in `order` (default "pre"). */
export async function cgroups(
  params?: {
    cgroupFd?: number;
    cgroupId?: bigint | number;
    order?: "pre" | "post" | "up" | "self";
  },
  options: ReaderOptions = {},
): Promise<Cgroup[]> {
  return run(builtin(CGROUP, same<Cgroup>), "cgroup", params, options);
}

/** Slab caches (Linux 6.13+). */
export async function kmemCaches(options: ReaderOptions = {}): Promise<KmemCache[]> {
  return run(builtin(KMEM_CACHE, same<KmemCache>), "kmem_cache", undefined, options);
}

export type { MapFdOwner };
