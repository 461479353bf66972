// Network namespaces for the per-namespace built-ins (tcp, udp, unix,
// netlink, ipv6_route). Those iterators walk the network namespace of the
// task that creates the iterator fd; for another namespace the fd is made by
// a native thread that entered it (@ts-ebpf/syscall openIteratorFdsInNetns),
// never by the event-loop thread. "all" finds every namespace in use: the
// tasks' (nsproxy->net_ns, from the task iterator), and those only a bind
// mount keeps alive (nsfs mounts in every mount namespace's mountinfo, and
// /run/netns), and those only an open nsfs file keeps (a task_file iterator
// finds the files). Every record carries the inode of the namespace it came
// from. Built-ins and queries walk namespaces alike (readInNetns).

import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
} from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { add, call, type Item, jeq, jne, ldx, mov } from "@ts-ebpf/dsl/assembler";
import { NamespaceError, openIteratorFdsInNetns, type Program } from "@ts-ebpf/syscall";
import { IteratorError } from "../errors.js";
import { createIterator, type IteratorLink, loadIteratorProgram } from "../link.js";
import { consumeOwnReader, readerOptionsSnapshot, readerOwning } from "../owned-fd.js";
import { IteratorReader, type ReaderOptions } from "../reader.js";
import type { Builtin } from "./builtin.js";
import { compileRecord, type RecordProgram } from "./record.js";

/**
 * Namespace and cgroup fields of the task built-in. The task's own pid
 * namespace is numbers[level] of its struct pid, an index no fixed path
 * reaches; nsproxy->pid_ns_for_children is that namespace, or a descendant
 * after unshare(CLONE_NEWPID) or setns() without a fork, `childLevel - level`
 * generations down: its parent and grandparent cover those cases.
 */
export const taskNamespaceFields = [
  { name: "netns", ctx: "task", path: "nsproxy.net_ns.ns.inum", kind: "u32" },
  { name: "mntns", ctx: "task", path: "nsproxy.mnt_ns.ns.inum", kind: "u32" },
  { name: "pidLevel", ctx: "task", path: "thread_pid.level", kind: "u32" },
  { name: "childLevel", ctx: "task", path: "nsproxy.pid_ns_for_children.level", kind: "u32" },
  { name: "childPidns", ctx: "task", path: "nsproxy.pid_ns_for_children.ns.inum", kind: "u32" },
  {
    name: "childPidns1",
    ctx: "task",
    path: "nsproxy.pid_ns_for_children.parent.ns.inum",
    kind: "u32",
  },
  {
    name: "childPidns2",
    ctx: "task",
    path: "nsproxy.pid_ns_for_children.parent.parent.ns.inum",
    kind: "u32",
  },
  /** Id of the task's cgroup v2 cgroup (its kernfs node id, the directory's inode). */
  { name: "cgroupId", ctx: "task", path: "cgroups.dfl_cgrp.kn.id", kind: "u64" },
] as const;

export interface TaskNamespaceRaw {
  readonly netns: number;
  readonly mntns: number;
  readonly pidLevel: number;
  readonly childLevel: number;
  readonly childPidns: number;
  readonly childPidns1: number;
  readonly childPidns2: number;
  readonly cgroupId: bigint;
}

/**
 * The inode of a task's own pid namespace (as `stat -L /proc/<pid>/ns/pid`
 * shows it) from the task built-in's raw fields; 0 for a task that is
 * exiting and has dropped its namespaces, or one 3+ levels above the
 * namespace its children get.
 */
export function pidnsOf(raw: TaskNamespaceRaw): number {
  return pidnsOfLevels(
    raw.netns,
    raw.pidLevel,
    raw.childLevel,
    raw.childPidns,
    raw.childPidns1,
    raw.childPidns2,
  );
}

/** pidnsOf from the fields themselves (what a reader of the record's bytes calls). */
export function pidnsOfLevels(
  netns: number,
  pidLevel: number,
  childLevel: number,
  childPidns: number,
  childPidns1: number,
  childPidns2: number,
): number {
  if (netns === 0) return 0;
  const down = childLevel - pidLevel;
  return down === 0 ? childPidns : down === 1 ? childPidns1 : down === 2 ? childPidns2 : 0;
}

/** The iterator targets that walk one network namespace. */
export const NETNS_TARGETS: ReadonlySet<string> = new Set([
  "tcp",
  "udp",
  "unix",
  "netlink",
  "ipv6_route",
]);

/**
 * Which network namespace(s) to walk: a pid (its network namespace), a path
 * (`/proc/<pid>/ns/net`, `/run/netns/<name>`), `{ fd }` (an open namespace fd,
 * borrowed), or "all" (every namespace in use).
 */
export type NetnsSelector = number | string | { readonly fd: number } | "all";

/** A namespace that "all" found but could not walk (it vanished, or could not be entered). */
export interface SkippedNamespace {
  /** Its inode, when known. */
  readonly inode?: number;
  /** Where it was found: "/proc/<pid>/task/<tid>/ns/net", a mount point... */
  readonly source: string;
  readonly error: Error;
}

/** Options of the per-network-namespace built-ins. */
export interface NetnsOptions extends ReaderOptions {
  /** The namespace(s) to walk; default the caller's (the event-loop thread's). */
  readonly netns?: NetnsSelector;
  /**
   * Called for each namespace "all" skips (it vanished mid-walk, or setns
   * was refused). Without it each is reported with process.emitWarning.
   */
  readonly onSkipped?: (skipped: SkippedNamespace) => void;
}

/** What the namespace walk needs to know of each task (from the task built-in). */
export interface TaskNamespaces {
  readonly tgid: number;
  readonly pid: number;
  readonly netns: number;
  readonly mntns: number;
}

/** A network namespace found in use; `fd` is open when it is not the caller's own. */
export interface FoundNamespace {
  readonly inode: number;
  readonly source: string;
}

interface OpenNamespace extends FoundNamespace {
  /** Open nsfs fd, or undefined for the caller's own namespace. */
  fd: number | undefined;
  /** Whether this module opened `fd` (and closes it). */
  readonly owned: boolean;
}

/**
 * Flags to open a namespace file given by path: non-blocking, so that a FIFO
 * named by mistake (or malice) cannot block the event loop in open(2)
 * (libuv adds O_CLOEXEC).
 */
export const NS_OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Inode of the calling thread's network namespace (the one an iterator fd made here walks). */
export function ownNetnsInode(): number {
  return statSync("/proc/thread-self/ns/net").ino;
}

const NET_ROOT = /^net:\[(\d+)\]$/;

/** Octal escapes of mountinfo fields (\040 for a space...). */
const unescapeMountPath = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** nsfs mounts of network namespaces in one mountinfo: [inode, mount point]. */
export function netnsMounts(mountinfo: string): [number, string][] {
  const out: [number, string][] = [];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(" ")[0];
    if (fstype !== "nsfs") continue;
    const fields = line.slice(0, sep).split(" ");
    const root = NET_ROOT.exec(fields[3] ?? "");
    if (!root || fields[4] === undefined) continue;
    out.push([Number(root[1]), unescapeMountPath(fields[4])]);
  }
  return out;
}

/** open(2)'s O_PATH (Linux; not in Node's fs.constants): the file is found, not opened. */
const O_PATH = 0o10000000;

/**
 * Opens `path` and checks it is the namespace of `inode` (a pid, fd or mount
 * point reused in between is not): found with O_PATH first, so whatever the
 * path now names (a device, a FIFO) is never opened as such, and taken only
 * when it is that inode on nsfs (the device of our own namespace file: every
 * namespace file is on the one nsfs); then reopened through the O_PATH fd,
 * which holds that very inode.
 */
function openIfInode(path: string, inode: number): number | undefined {
  let found: number;
  try {
    found = openSync(path, O_PATH);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(found);
    if (st.ino !== inode || st.dev !== statSync("/proc/thread-self/ns/net").dev) return undefined;
    return openSync(`/proc/thread-self/fd/${found}`, NS_OPEN_FLAGS);
  } catch {
    return undefined; // gone meanwhile: not the namespace asked for
  } finally {
    closeSync(found);
  }
}

const NAMESPACE_FIELDS = [
  { name: "tgid", ctx: "task", path: "tgid", kind: "u32" },
  { name: "pid", ctx: "task", path: "pid", kind: "u32" },
  { name: "netns", ctx: "task", path: "nsproxy.net_ns.ns.inum", kind: "u32" },
  { name: "mntns", ctx: "task", path: "nsproxy.mnt_ns.ns.inum", kind: "u32" },
] as const;

let namespaceProgram: { compiled: RecordProgram<TaskNamespaces>; loaded: Program } | undefined;

function namespaceProgramLoaded() {
  if (!namespaceProgram) {
    const btf = loadKernelBtf();
    const compiled = compileRecord<TaskNamespaces>(
      btf,
      "task",
      "task",
      NAMESPACE_FIELDS,
      "iter_task_ns",
    );
    namespaceProgram = { compiled, loaded: loadIteratorProgram(compiled.spec, "task", btf) };
  }
  return namespaceProgram;
}

/**
 * Every task's network and mount namespace, from a task iterator that
 * writes only those (16 bytes a task: the walk of a machine with 10,000
 * tasks costs little more than one of its processes' /proc reads).
 */
export async function taskNamespaces(options: ReaderOptions = {}): Promise<TaskNamespaces[]> {
  const { compiled, loaded } = namespaceProgramLoaded();
  const link = createIterator(loaded, "task");
  try {
    return await consumeOwnReader(link.open(options), (r) => r.readRecords(compiled.layout));
  } finally {
    link.close();
  }
}

/** Closes the programs taskNamespaces and netnsFiles loaded. */
export function closeNamespacePrograms(): void {
  namespaceProgram?.loaded.close();
  namespaceProgram = undefined;
  netnsFileProgram?.loaded.close();
  netnsFileProgram = undefined;
}

/** Tasks' namespaces from /proc, when the task iterator cannot be used. */
function tasksFromProc(): TaskNamespaces[] {
  const out: TaskNamespaces[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const netns = statSync(`/proc/${name}/ns/net`).ino;
      const mntns = statSync(`/proc/${name}/ns/mnt`).ino;
      out.push({ tgid: Number(name), pid: Number(name), netns, mntns });
    } catch {
      // exited, or its namespaces are unreadable (the sandbox's pid 1)
    }
  }
  return out;
}

/** Every task's network and mount namespace, without a promise (blocks for the walk). */
export function taskNamespacesSync(options: ReaderOptions = {}): TaskNamespaces[] {
  const { compiled, loaded } = namespaceProgramLoaded();
  const link = createIterator(loaded, "task");
  try {
    return compiled.layout.decodeAll(link.readAllSync(options));
  } finally {
    link.close();
  }
}

/**
 * An open file on nsfs of a network namespace (an fd from open() of
 * /proc/<pid>/ns/net, or one passed over a unix socket): it keeps the
 * namespace alive with no task in it and no mount.
 */
export interface NetnsFile {
  /** The process holding it and its task whose file table has it. */
  readonly tgid: number;
  readonly pid: number;
  readonly fd: number;
  /** The namespace's inode. */
  readonly ino: number;
}

/** super_block.s_magic of nsfs (include/uapi/linux/magic.h). */
export const NSFS_MAGIC = 0x6e736673;
/** The type of a network namespace in ns_common (ns_type, or ops->type before 6.18). */
const CLONE_NEWNET = 0x40000000;

const NETNS_FILE_FIELDS = [
  { name: "tgid", ctx: "task", path: "tgid", kind: "u32" },
  { name: "pid", ctx: "task", path: "pid", kind: "u32" },
  { name: "fd", ctx: "fd", kind: "u32" },
  { name: "ino", ctx: "file", path: "f_inode.i_ino", kind: "u64" },
] as const;

/**
 * The task_file program writing only open nsfs files of network namespaces:
 * the file's inode is on nsfs (s_magic), and the ns_common its i_private
 * points to is of type CLONE_NEWNET. i_private is a `void *` the verifier
 * does not follow, so its type is read with bpf_probe_read_kernel into the
 * 8 bytes below the record.
 */
export function compileNetnsFiles(btf = loadKernelBtf()): RecordProgram<NetnsFileRaw> {
  const off = (struct: string, path: string) => btf.memberOffset(struct, path).offset;
  const hasMember = (struct: string, member: string) =>
    btf.composite(struct).members.some((m) => m.name === member);
  const filter = (at: (name: string) => number): Item[] => {
    const scratch = at("tgid") - 8; // tgid is the record's first field: below it is free stack
    const readInto = (size: number): Item[] => [
      mov("r1", "r10"),
      add("r1", scratch),
      mov("r2", size),
      call("probe_read_kernel"),
    ];
    // r8 holds the context's file (the record program's object, NULL-checked).
    const code: Item[] = [
      ldx("u64", "r3", "r8", off("file", "f_inode")),
      jeq("r3", 0, "out"),
      ldx("u64", "r2", "r3", off("inode", "i_sb")),
      jeq("r2", 0, "out"),
      ldx("u64", "r0", "r2", off("super_block", "s_magic")),
      jne("r0", NSFS_MAGIC, "out"),
      ldx("u64", "r3", "r3", off("inode", "i_private")),
      jeq("r3", 0, "out"),
    ];
    if (hasMember("ns_common", "ns_type")) {
      code.push(add("r3", off("ns_common", "ns_type")), ...readInto(4));
    } else {
      code.push(
        add("r3", off("ns_common", "ops")),
        ...readInto(8),
        jne("r0", 0, "out"),
        ldx("u64", "r3", "r10", scratch),
        jeq("r3", 0, "out"),
        add("r3", off("proc_ns_operations", "type")),
        ...readInto(4),
      );
    }
    code.push(
      jne("r0", 0, "out"),
      ldx("u32", "r0", "r10", scratch),
      jne("r0", CLONE_NEWNET, "out"),
    );
    return code;
  };
  return compileRecord<NetnsFileRaw>(btf, "task_file", "file", NETNS_FILE_FIELDS, "iter_netns_fd", {
    filter,
  });
}

interface NetnsFileRaw {
  readonly tgid: number;
  readonly pid: number;
  readonly fd: number;
  readonly ino: bigint;
}

let netnsFileProgram: { compiled: RecordProgram<NetnsFileRaw>; loaded: Program } | undefined;

function netnsFileProgramLoaded() {
  if (!netnsFileProgram) {
    const btf = loadKernelBtf();
    const compiled = compileNetnsFiles(btf);
    netnsFileProgram = { compiled, loaded: loadIteratorProgram(compiled.spec, "task_file", btf) };
  }
  return netnsFileProgram;
}

const netnsFileOf = (r: NetnsFileRaw): NetnsFile => ({
  tgid: r.tgid,
  pid: r.pid,
  fd: r.fd,
  ino: Number(r.ino),
});

/**
 * Every open file of a network namespace (nsfs), from a task_file iterator
 * whose program keeps only those: what holds a namespace that no task is in
 * and no mount keeps.
 */
export async function netnsFiles(options: ReaderOptions = {}): Promise<NetnsFile[]> {
  const { compiled, loaded } = netnsFileProgramLoaded();
  const link = createIterator(loaded, "task_file");
  try {
    const bytes = await consumeOwnReader(link.open(options), (r) => r.readAll());
    return compiled.layout.decodeAll(bytes).map(netnsFileOf);
  } finally {
    link.close();
  }
}

/** netnsFiles without a promise (blocks for the walk). */
export function netnsFilesSync(options: ReaderOptions = {}): NetnsFile[] {
  const { compiled, loaded } = netnsFileProgramLoaded();
  const link = createIterator(loaded, "task_file");
  try {
    return compiled.layout.decodeAll(link.readAllSync(options)).map(netnsFileOf);
  } finally {
    link.close();
  }
}

/** Open nsfs files of network namespaces from /proc/<pid>/fd, when task_file cannot be used. */
function netnsFilesFromProc(): NetnsFile[] {
  const out: NetnsFile[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue; // exited, or not ours to read
    }
    for (const fd of fds) {
      try {
        const m = NET_ROOT.exec(readlinkSync(`/proc/${name}/fd/${fd}`));
        if (m)
          out.push({ tgid: Number(name), pid: Number(name), fd: Number(fd), ino: Number(m[1]) });
      } catch {
        // closed meanwhile
      }
    }
  }
  return out;
}

/** What keeps network namespaces in use: tasks in them and open nsfs files (mounts are read later). */
interface Holders {
  readonly tasks: readonly TaskNamespaces[];
  readonly files: readonly NetnsFile[];
}

/** Where "all" learns of tasks' namespaces and open namespace files (tests replace them). */
export interface NamespaceSources {
  readonly tasks?: () => Promise<readonly TaskNamespaces[]>;
  readonly files?: () => Promise<readonly NetnsFile[]>;
}

async function holders(sources: NamespaceSources): Promise<Holders> {
  let tasks: readonly TaskNamespaces[];
  try {
    tasks = await (sources.tasks ?? taskNamespaces)();
  } catch {
    tasks = tasksFromProc();
  }
  let files: readonly NetnsFile[];
  try {
    files = await (sources.files ?? netnsFiles)();
  } catch {
    files = netnsFilesFromProc();
  }
  return { tasks, files };
}

function holdersSync(): Holders {
  let tasks: readonly TaskNamespaces[];
  try {
    tasks = taskNamespacesSync();
  } catch {
    tasks = tasksFromProc();
  }
  let files: readonly NetnsFile[];
  try {
    files = netnsFilesSync();
  } catch {
    files = netnsFilesFromProc();
  }
  return { tasks, files };
}

/**
 * Every network namespace in use, opened: those of tasks (one task per
 * namespace is enough to open it), those kept alive by an nsfs bind mount in
 * any mount namespace (`ip netns add` mounts at /run/netns/<name>), and those
 * only an open nsfs file keeps (reopened through /proc/<pid>/task/<tid>/fd/<fd>).
 * Namespaces that vanish before they are opened are reported in `skipped`.
 * The caller's own namespace comes first, with no fd.
 */
function openAllNamespaces(held: Holders, skipped: SkippedNamespace[]): OpenNamespace[] {
  const own = ownNetnsInode();
  const found = new Map<number, OpenNamespace>();
  found.set(own, { inode: own, source: "/proc/thread-self/ns/net", fd: undefined, owned: false });
  const byNetns = new Map<number, TaskNamespaces[]>();
  const byMntns = new Map<number, TaskNamespaces>();
  for (const t of held.tasks) {
    if (t.netns !== 0) {
      const group = byNetns.get(t.netns);
      if (group) group.push(t);
      else byNetns.set(t.netns, [t]);
    }
    if (t.mntns !== 0 && !byMntns.has(t.mntns)) byMntns.set(t.mntns, t);
  }
  /** Namespaces seen but not opened: reported at the end unless another holder had them. */
  const lost = new Map<number, SkippedNamespace>();
  const cleanup = () => {
    for (const ns of found.values()) if (ns.owned && ns.fd !== undefined) closeSync(ns.fd);
  };
  try {
    for (const [inode, group] of byNetns) {
      if (found.has(inode)) continue;
      let opened: OpenNamespace | undefined;
      for (const t of group) {
        const source = `/proc/${t.tgid}/task/${t.pid}/ns/net`;
        const fd = openIfInode(source, inode);
        if (fd !== undefined) {
          opened = { inode, source, fd, owned: true };
          break;
        }
      }
      if (opened) found.set(inode, opened);
      else {
        lost.set(inode, {
          inode,
          source: `/proc/${group[0]!.tgid}/task/${group[0]!.pid}/ns/net`,
          error: new IteratorError(
            `network namespace ${inode}: every task in it exited before it could be opened`,
          ),
        });
      }
    }
    // Namespaces only a bind mount keeps alive: in our mount namespace, then
    // in each other one through a task of it (/proc/<pid>/root resolves there).
    const ownMntns = statSync("/proc/self/ns/mnt").ino;
    const views: [string, string][] = [["/proc/self/mountinfo", ""]];
    for (const [mntns, t] of byMntns) {
      if (mntns !== ownMntns) views.push([`/proc/${t.tgid}/mountinfo`, `/proc/${t.tgid}/root`]);
    }
    for (const [mountinfo, root] of views) {
      let text: string;
      try {
        text = readFileSync(mountinfo, "utf8");
      } catch {
        continue; // the task exited: its mounts are seen through another task, or gone
      }
      for (const [inode, mountPoint] of netnsMounts(text)) {
        if (found.has(inode)) continue;
        const source = `${root}${mountPoint}`;
        const fd = openIfInode(source, inode);
        if (fd === undefined) continue;
        found.set(inode, { inode, source, fd, owned: true });
      }
    }
    let names: string[] = [];
    try {
      names = readdirSync("/run/netns");
    } catch {
      // no named namespaces
    }
    for (const name of names) {
      const source = `/run/netns/${name}`;
      let inode: number;
      try {
        inode = statSync(source).ino;
      } catch {
        continue;
      }
      if (found.has(inode)) continue;
      const fd = openIfInode(source, inode);
      if (fd !== undefined) found.set(inode, { inode, source, fd, owned: true });
    }
    // Namespaces only an open file keeps (no task in them, no mount): the
    // file is reopened through /proc, which checks ptrace access to its holder.
    for (const f of held.files) {
      if (found.has(f.ino)) continue;
      const source = `/proc/${f.tgid}/task/${f.pid}/fd/${f.fd}`;
      const fd = openIfInode(source, f.ino);
      if (fd !== undefined) found.set(f.ino, { inode: f.ino, source, fd, owned: true });
      else if (!lost.has(f.ino)) {
        lost.set(f.ino, {
          inode: f.ino,
          source,
          error: new IteratorError(
            `network namespace ${f.ino}: the fd holding it was closed (or its process exited) before it could be opened`,
          ),
        });
      }
    }
  } catch (err) {
    cleanup();
    throw err;
  }
  for (const [inode, s] of lost) if (!found.has(inode)) skipped.push(s);
  return [...found.values()];
}

/**
 * Checks the form of a namespace selector (not that it exists) and returns
 * it: a TypeError or RangeError naming `netns` before anything reaches the kernel.
 */
export function checkNetnsSelector(selector: unknown): NetnsSelector {
  if (selector === "all") return selector;
  if (typeof selector === "number") {
    if (!Number.isSafeInteger(selector) || selector < 1) {
      throw new RangeError(`netns: a pid must be a positive integer, got ${selector}`);
    }
    return selector;
  }
  if (typeof selector === "string") {
    if (selector === "") throw new TypeError("netns: the path must not be empty");
    return selector;
  }
  if (typeof selector === "object" && selector !== null && "fd" in selector) {
    const fd = (selector as { fd: unknown }).fd;
    if (typeof fd !== "number" || !Number.isSafeInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw new RangeError(`netns: fd must be an open file descriptor, got ${String(fd)}`);
    }
    return { fd };
  }
  throw new TypeError(
    'netns must be a pid, a path (/proc/<pid>/ns/net, /run/netns/<name>), { fd } or "all"',
  );
}

/** Opens the one namespace a selector other than "all" names. */
function openOneNamespace(given: NetnsSelector): OpenNamespace {
  const selector = checkNetnsSelector(given);
  if (typeof selector === "number") {
    return openNamespacePath(`/proc/${selector}/ns/net`, `no process ${selector}`);
  }
  if (typeof selector === "string") {
    return openNamespacePath(selector, `${selector} does not exist`);
  }
  const fd = selector.fd;
  let inode: number;
  try {
    inode = fstatSync(fd).ino;
  } catch (err) {
    throw new IteratorError(`netns: fd ${fd} is not open`, { cause: err });
  }
  return own(inode) ?? { inode, source: `fd ${fd}`, fd, owned: false };
}

/** The caller's own namespace needs no setns (nor CAP_SYS_ADMIN). */
function own(inode: number): OpenNamespace | undefined {
  if (inode !== ownNetnsInode()) return undefined;
  return { inode, source: "/proc/thread-self/ns/net", fd: undefined, owned: false };
}

function openNamespacePath(path: string, missing: string): OpenNamespace {
  let fd: number;
  try {
    fd = openSync(path, NS_OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new IteratorError(
      `netns: ${code === "ENOENT" ? missing : `cannot open ${path}: ${code ?? String(err)}`}`,
      { cause: err },
    );
  }
  try {
    const inode = fstatSync(fd).ino;
    const mine = own(inode);
    if (mine) {
      closeSync(fd);
      return mine;
    }
    return { inode, source: path, fd, owned: true };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function report(options: NetnsOptions, skipped: SkippedNamespace): void {
  if (options.onSkipped) options.onSkipped(skipped);
  else {
    process.emitWarning(
      `skipped network namespace ${skipped.inode ?? "?"} (${skipped.source}): ${skipped.error.message}`,
      "NetnsSkipped",
    );
  }
}

/** A record of a per-namespace built-in, with the inode of the network namespace it came from. */
export type InNetns<R> = R & { readonly netns: number };

/**
 * An iterator whose objects live in a network namespace (a built-in, a
 * query): what walking it in other namespaces needs.
 */
export interface NetnsSource<R> {
  /** A per-network-namespace target (NETNS_TARGETS). */
  readonly target: string;
  /** A new link running the program (the caller closes it). */
  link(): IteratorLink;
  /** The objects of one run's output. */
  decode(bytes: Uint8Array): R[];
}

/** The options readInNetns acts on, checked and read once. */
function checkNetnsOptions(options: NetnsOptions): ReaderOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  if (options.onSkipped !== undefined && typeof options.onSkipped !== "function") {
    throw new TypeError("onSkipped must be a function");
  }
  return readerOptionsSnapshot(options);
}

/**
 * One reader per namespace (undefined for one "all" could not enter), made
 * by `source`'s link: ours by open(), the others' by a native thread in each.
 * On a throw nothing made stays open.
 */
function openReaders(
  source: NetnsSource<unknown>,
  link: IteratorLink,
  namespaces: readonly OpenNamespace[],
  all: boolean,
  skipped: SkippedNamespace[],
  snapshot: ReaderOptions,
): [OpenNamespace, IteratorReader | undefined][] {
  const readers: [OpenNamespace, IteratorReader | undefined][] = [];
  const byInode = new Map<number, IteratorReader | Error>();
  try {
    const others = namespaces.filter((ns) => ns.fd !== undefined);
    const made =
      others.length === 0
        ? []
        : openIteratorFdsInNetns(
            link.fd,
            others.map((ns) => ns.fd!),
          );
    // Every fd made is owned by a reader at once (closed with it), whatever fails later.
    for (let i = 0; i < others.length; i++) {
      const r = made[i]!;
      if (r.error) byInode.set(others[i]!.inode, r.error);
      else
        byInode.set(
          others[i]!.inode,
          readerOwning(
            r.fd,
            (fd) => new IteratorReader(fd, { ...snapshot, target: source.target }),
          ),
        );
    }
    for (const ns of namespaces) {
      if (ns.fd === undefined) {
        readers.push([ns, link.open({ ...snapshot, target: source.target })]);
        continue;
      }
      const r = byInode.get(ns.inode)!;
      if (r instanceof Error) {
        if (!all) throw namespaceError(ns, r);
        skipped.push({ inode: ns.inode, source: ns.source, error: namespaceError(ns, r) });
        readers.push([ns, undefined]);
      } else readers.push([ns, r]);
    }
    return readers;
  } catch (err) {
    for (const reader of byInode.values()) if (!(reader instanceof Error)) reader.close();
    for (const [, reader] of readers) reader?.close();
    throw err;
  }
}

const tagged = <R extends object>(records: R[], inode: number): InNetns<R>[] =>
  records.map((r) => ({ ...r, netns: inode }));

/**
 * One walk of `source` over `namespaces`: its link and a reader per namespace
 * (undefined where the namespace vanished), and close(), which closes the
 * readers, the link and the namespace fds it owns, then reports what was
 * skipped. When opening fails part-way, what was opened is closed before the
 * error leaves.
 */
function openNetnsWalk<R extends object>(
  source: NetnsSource<R>,
  options: NetnsOptions,
  namespaces: OpenNamespace[],
  skipped: SkippedNamespace[],
  snapshot: ReturnType<typeof checkNetnsOptions>,
) {
  const closeNamespaces = () => {
    for (const ns of namespaces) if (ns.owned && ns.fd !== undefined) closeSync(ns.fd);
    for (const s of skipped) report(options, s);
  };
  let link: ReturnType<NetnsSource<R>["link"]>;
  try {
    link = source.link();
  } catch (e) {
    closeNamespaces();
    throw e;
  }
  let readers: ReturnType<typeof openReaders>;
  try {
    readers = openReaders(source, link, namespaces, options.netns === "all", skipped, snapshot);
  } catch (e) {
    try {
      link.close();
    } finally {
      closeNamespaces();
    }
    throw e;
  }
  return {
    readers,
    close() {
      try {
        for (const [, reader] of readers) reader?.close();
      } finally {
        try {
          link.close();
        } finally {
          closeNamespaces();
        }
      }
    },
  };
}

/** The namespaces `netns` names, opened (for "all": those `holders` lists). */
function namespacesFor(
  netns: NetnsOptions["netns"],
  all: () => ReturnType<typeof holdersSync>,
  skipped: SkippedNamespace[],
): OpenNamespace[] {
  return netns === "all"
    ? openAllNamespaces(all(), skipped)
    : netns === undefined
      ? [own(ownNetnsInode())!]
      : [openOneNamespace(netns)];
}

/**
 * Every object of `source` in the namespace(s) `options.netns` names
 * (default: the caller's own), each tagged with its namespace's inode.
 */
export async function readInNetns<R extends object>(
  source: NetnsSource<R>,
  options: NetnsOptions = {},
  sources: NamespaceSources = {},
): Promise<InNetns<R>[]> {
  const snapshot = checkNetnsOptions(options);
  const skipped: SkippedNamespace[] = [];
  const everyHolder = options.netns === "all" ? await holders(sources) : undefined;
  const namespaces = namespacesFor(options.netns, () => everyHolder!, skipped);
  const walk = openNetnsWalk(source, options, namespaces, skipped, snapshot);
  try {
    // Readers run on the thread pool, several at once.
    const outputs = await Promise.all(
      walk.readers.map(async ([ns, reader]) =>
        reader === undefined
          ? []
          : tagged(source.decode(await consumeOwnReader(reader, (rd) => rd.readAll())), ns.inode),
      ),
    );
    return outputs.flat();
  } finally {
    walk.close();
  }
}

/** readInNetns without a promise: the walks run one after another on this thread. */
export function readInNetnsSync<R extends object>(
  source: NetnsSource<R>,
  options: NetnsOptions = {},
): InNetns<R>[] {
  const snapshot = checkNetnsOptions(options);
  const skipped: SkippedNamespace[] = [];
  const namespaces = namespacesFor(options.netns, holdersSync, skipped);
  const walk = openNetnsWalk(source, options, namespaces, skipped, snapshot);
  try {
    return walk.readers.flatMap(([ns, reader]) =>
      reader === undefined ? [] : tagged(source.decode(reader.readAllSync()), ns.inode),
    );
  } finally {
    walk.close();
  }
}

/**
 * Every record of `builtin` in the namespace(s) `options.netns` names
 * (default: the caller's own), each tagged with its namespace's inode.
 * `tasks` lists the tasks' namespaces for "all" (default: taskNamespaces),
 * `files` the open namespace files (default: netnsFiles).
 */
export async function readPerNetns<R extends object>(
  builtin: Builtin<R>,
  options: NetnsOptions = {},
  tasks: () => Promise<readonly TaskNamespaces[]> = taskNamespaces,
  files: () => Promise<readonly NetnsFile[]> = netnsFiles,
): Promise<InNetns<R>[]> {
  if (typeof options === "object" && options !== null && options.netns === undefined) {
    // The caller's own namespace: the built-in's cached link, no namespace fd.
    const snapshot = checkNetnsOptions(options);
    return tagged(await builtin.read(undefined, snapshot), ownNetnsInode());
  }
  return readInNetns(
    { target: builtin.target, link: () => builtin.link(), decode: (b) => builtin.decode(b) },
    options,
    { tasks, files },
  );
}

function namespaceError(ns: OpenNamespace, err: Error): Error {
  if (err instanceof NamespaceError) {
    return new IteratorError(`network namespace ${ns.inode} (${ns.source}): ${err.message}`, {
      cause: err,
    });
  }
  return err;
}

/**
 * Every network namespace in use (what `{ netns: "all" }` walks): the tasks',
 * those only a bind mount keeps alive, and those only an open nsfs file
 * keeps, with where each was found. Namespaces that vanished while they were
 * looked for are left out.
 */
export async function networkNamespaces(
  tasks: () => Promise<readonly TaskNamespaces[]> = taskNamespaces,
  files: () => Promise<readonly NetnsFile[]> = netnsFiles,
): Promise<FoundNamespace[]> {
  const namespaces = openAllNamespaces(await holders({ tasks, files }), []);
  for (const ns of namespaces) if (ns.owned && ns.fd !== undefined) closeSync(ns.fd);
  return namespaces.map(({ inode, source }) => ({ inode, source }));
}
