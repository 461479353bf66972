// Network namespaces for the per-namespace built-ins (tcp, udp, unix,
// netlink, ipv6_route). Those iterators walk the network namespace of the
// task that creates the iterator fd; for another namespace the fd is made by
// a native thread that entered it (@ts-ebpf/syscall openIteratorFdsInNetns),
// never by the event-loop thread. "all" finds every namespace in use: the
// tasks' (nsproxy->net_ns, from the task iterator), and those only a bind
// mount keeps alive (nsfs mounts in every mount namespace's mountinfo, and
// /run/netns). Every record carries the inode of the namespace it came from.

import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
} from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { NamespaceError, openIteratorFdsInNetns, type Program } from "@ts-ebpf/syscall";
import { IteratorError } from "../errors.js";
import { createIterator, loadIteratorProgram } from "../link.js";
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
  if (raw.netns === 0) return 0;
  const down = raw.childLevel - raw.pidLevel;
  return down === 0
    ? raw.childPidns
    : down === 1
      ? raw.childPidns1
      : down === 2
        ? raw.childPidns2
        : 0;
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

/** Opens `path` and checks it is the namespace of `inode` (a pid reused in between is not). */
function openIfInode(path: string, inode: number): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, NS_OPEN_FLAGS);
  } catch {
    return undefined;
  }
  try {
    if (fstatSync(fd).ino === inode) return fd;
  } catch {
    // fall through: not the namespace asked for
  }
  closeSync(fd);
  return undefined;
}

const NAMESPACE_FIELDS = [
  { name: "tgid", ctx: "task", path: "tgid", kind: "u32" },
  { name: "pid", ctx: "task", path: "pid", kind: "u32" },
  { name: "netns", ctx: "task", path: "nsproxy.net_ns.ns.inum", kind: "u32" },
  { name: "mntns", ctx: "task", path: "nsproxy.mnt_ns.ns.inum", kind: "u32" },
] as const;

let namespaceProgram: { compiled: RecordProgram<TaskNamespaces>; loaded: Program } | undefined;

/**
 * Every task's network and mount namespace, from a task iterator that
 * writes only those (16 bytes a task: the walk of a machine with 10,000
 * tasks costs little more than one of its processes' /proc reads).
 */
export async function taskNamespaces(options: ReaderOptions = {}): Promise<TaskNamespaces[]> {
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
  const link = createIterator(namespaceProgram.loaded, "task");
  try {
    return await consumeOwnReader(link.open(options), (r) =>
      r.readRecords(namespaceProgram!.compiled.layout),
    );
  } finally {
    link.close();
  }
}

/** Closes the program taskNamespaces loaded. */
export function closeNamespacePrograms(): void {
  namespaceProgram?.loaded.close();
  namespaceProgram = undefined;
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

/**
 * Every network namespace in use, opened: those of tasks (one task per
 * namespace is enough to open it), and those kept alive by an nsfs bind
 * mount in any mount namespace (`ip netns add` mounts at /run/netns/<name>).
 * Namespaces that vanish before they are opened are reported in `skipped`.
 * The caller's own namespace comes first, with no fd.
 */
async function openAllNamespaces(
  tasks: () => Promise<readonly TaskNamespaces[]> = taskNamespaces,
  skipped: SkippedNamespace[],
): Promise<OpenNamespace[]> {
  const own = ownNetnsInode();
  const found = new Map<number, OpenNamespace>();
  found.set(own, { inode: own, source: "/proc/thread-self/ns/net", fd: undefined, owned: false });
  let list: readonly TaskNamespaces[];
  try {
    list = await tasks();
  } catch {
    list = tasksFromProc();
  }
  const byNetns = new Map<number, TaskNamespaces[]>();
  const byMntns = new Map<number, TaskNamespaces>();
  for (const t of list) {
    if (t.netns !== 0) {
      const group = byNetns.get(t.netns);
      if (group) group.push(t);
      else byNetns.set(t.netns, [t]);
    }
    if (t.mntns !== 0 && !byMntns.has(t.mntns)) byMntns.set(t.mntns, t);
  }
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
        // May still be held by a mount: reported below unless a mount has it.
        skipped.push({
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
  } catch (err) {
    cleanup();
    throw err;
  }
  // A namespace whose tasks exited but that a mount keeps is not skipped.
  for (let i = skipped.length - 1; i >= 0; i--) {
    const inode = skipped[i]!.inode;
    if (inode !== undefined && found.has(inode)) skipped.splice(i, 1);
  }
  return [...found.values()];
}

/** Opens the one namespace a selector other than "all" names. */
function openOneNamespace(selector: NetnsSelector): OpenNamespace {
  if (typeof selector === "number") {
    if (!Number.isSafeInteger(selector) || selector < 1) {
      throw new RangeError(`netns: a pid must be a positive integer, got ${selector}`);
    }
    return openNamespacePath(`/proc/${selector}/ns/net`, `no process ${selector}`);
  }
  if (typeof selector === "string") {
    if (selector === "") throw new TypeError("netns: the path must not be empty");
    return openNamespacePath(selector, `${selector} does not exist`);
  }
  if (typeof selector === "object" && selector !== null && "fd" in selector) {
    const fd = selector.fd;
    if (!Number.isSafeInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw new RangeError(`netns: fd must be an open file descriptor, got ${String(fd)}`);
    }
    let inode: number;
    try {
      inode = fstatSync(fd).ino;
    } catch (err) {
      throw new IteratorError(`netns: fd ${fd} is not open`, { cause: err });
    }
    return own(inode) ?? { inode, source: `fd ${fd}`, fd, owned: false };
  }
  throw new TypeError(
    'netns must be a pid, a path (/proc/<pid>/ns/net, /run/netns/<name>), { fd } or "all"',
  );
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
 * Every record of `builtin` in the namespace(s) `options.netns` names
 * (default: the caller's own), each tagged with its namespace's inode.
 * `tasks` lists the tasks' namespaces for "all" (default: taskNamespaces).
 */
export async function readPerNetns<R extends object>(
  builtin: Builtin<R>,
  options: NetnsOptions = {},
  tasks: () => Promise<readonly TaskNamespaces[]> = taskNamespaces,
): Promise<InNetns<R>[]> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  const { netns, onSkipped } = options;
  if (onSkipped !== undefined && typeof onSkipped !== "function") {
    throw new TypeError("onSkipped must be a function");
  }
  const snapshot = readerOptionsSnapshot(options);
  const tag = (records: R[], inode: number): InNetns<R>[] =>
    records.map((r) => ({ ...r, netns: inode }));
  if (netns === undefined) {
    return tag(await builtin.read(undefined, snapshot), ownNetnsInode());
  }
  const skipped: SkippedNamespace[] = [];
  const namespaces =
    netns === "all" ? await openAllNamespaces(tasks, skipped) : [openOneNamespace(netns)];
  try {
    const all = netns === "all";
    const link = builtin.link();
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
              (fd) => new IteratorReader(fd, { ...snapshot, target: builtin.target }),
            ),
          );
      }
      for (const ns of namespaces) {
        if (ns.fd === undefined) {
          readers.push([ns, link.open({ ...snapshot, target: builtin.target })]);
          continue;
        }
        const r = byInode.get(ns.inode)!;
        if (r instanceof Error) {
          if (!all) throw namespaceError(ns, r);
          skipped.push({ inode: ns.inode, source: ns.source, error: namespaceError(ns, r) });
          readers.push([ns, undefined]);
        } else readers.push([ns, r]);
      }
      // Readers run on the thread pool, several at once.
      const outputs = await Promise.all(
        readers.map(async ([ns, reader]) =>
          reader === undefined
            ? []
            : tag(builtin.decode(await consumeOwnReader(reader, (rd) => rd.readAll())), ns.inode),
        ),
      );
      return outputs.flat();
    } finally {
      for (const reader of byInode.values()) if (!(reader instanceof Error)) reader.close();
      for (const [, reader] of readers) reader?.close();
      link.close();
    }
  } finally {
    for (const ns of namespaces) if (ns.owned && ns.fd !== undefined) closeSync(ns.fd);
    for (const s of skipped) report(options, s);
  }
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
 * Every network namespace in use (what `{ netns: "all" }` walks): the tasks'
 * and those only a bind mount keeps alive, with where each was found.
 * Namespaces that vanished while they were looked for are left out.
 */
export async function networkNamespaces(
  tasks: () => Promise<readonly TaskNamespaces[]> = taskNamespaces,
): Promise<FoundNamespace[]> {
  const namespaces = await openAllNamespaces(tasks, []);
  for (const ns of namespaces) if (ns.owned && ns.fd !== undefined) closeSync(ns.fd);
  return namespaces.map(({ inode, source }) => ({ inode, source }));
}
