// Ids as a pid namespace sees them. A task's struct pid holds one (nr, ns)
// pair per level from the root pid namespace down to its own: the id a
// container's /proc shows is numbers[L].nr, L being the container's level.
// The program below is compiled for one namespace (its level and inode): for
// each task it reads numbers[L] of the task's, its thread group's and its
// parent's struct pid, only when the pid reaches that level (numbers[] ends
// at pid->level) and its namespace there is the one asked for, with
// bpf_probe_read_kernel (so nothing past the object is dereferenced), and
// writes a record only for the tasks that namespace can see.

import {
  closeSync,
  type Dirent,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
} from "node:fs";
import { type Btf, loadKernelBtf, struct, u32 } from "@ts-ebpf/btf";
import {
  add,
  call,
  type Item,
  jeq,
  jlt,
  jne,
  jne32,
  label,
  ldx,
  mov,
  st,
  stx,
} from "@ts-ebpf/dsl/assembler";
import type { Program } from "@ts-ebpf/syscall";
import { IteratorError } from "../errors.js";
import { createIterator, loadIteratorProgram } from "../link.js";
import { consumeOwnReader } from "../owned-fd.js";
import type { ReaderOptions } from "../reader.js";
import { NS_OPEN_FLAGS } from "./namespaces.js";
import { iteratorSpec, writeRecordAndExit } from "./record.js";

/** A pid namespace: a pid (its pid namespace) or a path (/proc/<pid>/ns/pid, a bind mount). */
export type PidnsSelector = number | string;

/** The inode of the pid namespace `selector` names. */
export function pidnsInode(selector: PidnsSelector): number {
  let path: string;
  if (typeof selector === "number") {
    if (!Number.isSafeInteger(selector) || selector < 1) {
      throw new RangeError(`pidns: a pid must be a positive integer, got ${selector}`);
    }
    path = `/proc/${selector}/ns/pid`;
  } else if (typeof selector === "string" && selector !== "") {
    path = selector;
  } else {
    throw new TypeError("pidns must be a pid or a path such as /proc/<pid>/ns/pid");
  }
  let fd: number;
  try {
    fd = openSync(path, NS_OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new IteratorError(
      `pidns: ${code === "ENOENT" ? (typeof selector === "number" ? `no process ${selector}` : `${path} does not exist`) : `cannot open ${path}: ${code ?? String(err)}`}`,
      { cause: err },
    );
  }
  try {
    const st = fstatSync(fd);
    // Every namespace file is on the one nsfs superblock: another device is no namespace.
    if (st.dev !== statSync("/proc/self/ns/pid").dev) {
      throw new IteratorError(
        `pidns: ${path} is not a namespace file (/proc/<pid>/ns/pid or a bind mount of one)`,
      );
    }
    return st.ino;
  } finally {
    closeSync(fd);
  }
}

/** Ids of one task as the namespace sees them (0 for a parent outside it). */
export interface NsIds {
  /** Global thread id (task->pid as the caller's namespace... the root's numbering). */
  readonly tid: number;
  readonly nsPid: number;
  readonly nsTgid: number;
  readonly nsPpid: number;
}

const layout = struct({ tid: u32, nsPid: u32, nsTgid: u32, nsPpid: u32 }, { align: 4 });
const RECORD = -16; // the record, at r10-16
const SCRATCH_U32 = -24;
const SCRATCH_PTR = -32;
const PIDTYPE_TGID = 1;

interface Offsets {
  metaSeq: number;
  ctxMeta: number;
  ctxTask: number;
  taskPid: number;
  taskThreadPid: number;
  taskSignal: number;
  taskRealParent: number;
  signalTgidPid: number;
  pidLevel: number;
  pidNumbers: number;
  upidSize: number;
  upidNr: number;
  upidNs: number;
  pidnsInum: number;
}

function offsets(btf: Btf): Offsets {
  const off = (s: string, p: string) => {
    const loc = btf.memberOffset(s, p);
    if (loc.hops.length > 0) throw new IteratorError(`${s}.${p} goes through a pointer`);
    return loc.offset;
  };
  const upid = btf.findType("upid", "struct");
  if (!upid) throw new IteratorError("kernel BTF has no struct upid");
  return {
    metaSeq: off("struct bpf_iter_meta", "seq"),
    ctxMeta: off("struct bpf_iter__task", "meta"),
    ctxTask: off("struct bpf_iter__task", "task"),
    taskPid: off("struct task_struct", "pid"),
    taskThreadPid: off("struct task_struct", "thread_pid"),
    taskSignal: off("struct task_struct", "signal"),
    taskRealParent: off("struct task_struct", "real_parent"),
    signalTgidPid: off("struct signal_struct", "pids") + 8 * PIDTYPE_TGID,
    pidLevel: off("struct pid", "level"),
    pidNumbers: off("struct pid", "numbers"),
    upidSize: btf.sizeOf(upid.id),
    upidNr: off("struct upid", "nr"),
    upidNs: off("struct upid", "ns"),
    pidnsInum: off("struct pid_namespace", "ns.inum"),
  };
}

/**
 * Instructions writing the nr of the struct pid in r9 at `level` into the
 * record at `dest`, when the pid reaches that level and its namespace there
 * has inode `inode`; else the slot stays 0.
 */
function nrAt(o: Offsets, level: number, inode: number, dest: number, tag: string): Item[] {
  const skip = `skip_${tag}`;
  const upid = o.pidNumbers + level * o.upidSize;
  return [
    jeq("r9", 0, skip),
    mov("r1", "r10"),
    add("r1", SCRATCH_U32),
    mov("r2", 4),
    mov("r3", "r9"),
    add("r3", o.pidLevel),
    call("probe_read_kernel"),
    jne("r0", 0, skip),
    ldx("u32", "r1", "r10", SCRATCH_U32),
    jlt("r1", level, skip),
    mov("r1", "r10"),
    add("r1", SCRATCH_PTR),
    mov("r2", 8),
    mov("r3", "r9"),
    add("r3", upid + o.upidNs),
    call("probe_read_kernel"),
    jne("r0", 0, skip),
    ldx("u64", "r3", "r10", SCRATCH_PTR),
    jeq("r3", 0, skip),
    add("r3", o.pidnsInum),
    mov("r1", "r10"),
    add("r1", SCRATCH_U32),
    mov("r2", 4),
    call("probe_read_kernel"),
    jne("r0", 0, skip),
    ldx("u32", "r1", "r10", SCRATCH_U32),
    // The inode as a 32-bit immediate (inodes of nsfs are 32-bit).
    jne32("r1", inode | 0, skip),
    mov("r1", "r10"),
    add("r1", RECORD + dest),
    mov("r2", 4),
    mov("r3", "r9"),
    add("r3", upid + o.upidNr),
    call("probe_read_kernel"),
    label(skip),
  ];
}

function programBody(o: Offsets, level: number, inode: number): Item[] {
  return [
    mov("r6", "r1"),
    ldx("u64", "r7", "r6", o.ctxMeta),
    ldx("u64", "r7", "r7", o.metaSeq),
    ldx("u64", "r8", "r6", o.ctxTask),
    jeq("r8", 0, "out"),
    st("u64", "r10", RECORD, 0),
    st("u64", "r10", RECORD + 8, 0),
    st("u64", "r10", SCRATCH_U32, 0),
    st("u64", "r10", SCRATCH_PTR, 0),
    ldx("u32", "r1", "r8", o.taskPid),
    stx("u32", "r10", RECORD + layout.offsetOf("tid"), "r1"),
    // The task's own id: a task the namespace cannot see writes nothing.
    ldx("u64", "r9", "r8", o.taskThreadPid),
    ...nrAt(o, level, inode, layout.offsetOf("nsPid"), "pid"),
    ldx("u32", "r1", "r10", RECORD + layout.offsetOf("nsPid")),
    jeq("r1", 0, "out"),
    ldx("u64", "r9", "r8", o.taskSignal),
    jeq("r9", 0, "no_tgid"),
    ldx("u64", "r9", "r9", o.signalTgidPid),
    ...nrAt(o, level, inode, layout.offsetOf("nsTgid"), "tgid"),
    label("no_tgid"),
    ldx("u64", "r9", "r8", o.taskRealParent),
    jeq("r9", 0, "no_parent"),
    ldx("u64", "r9", "r9", o.taskSignal),
    jeq("r9", 0, "no_parent"),
    ldx("u64", "r9", "r9", o.signalTgidPid),
    ...nrAt(o, level, inode, layout.offsetOf("nsPpid"), "ppid"),
    ...writeRecordAndExit(RECORD, 16, "no_parent"),
  ];
}

/** Loaded programs by "level:inode" (one per namespace asked about, for the process). */
const loaded = new Map<string, Program>();

/**
 * Ids of every task the pid namespace with `inode` at `level` can see, as
 * it sees them (like /proc mounted inside it).
 */
export async function readNsIds(
  level: number,
  inode: number,
  options: ReaderOptions = {},
): Promise<NsIds[]> {
  if (!Number.isInteger(level) || level < 0 || level > 32) {
    throw new RangeError(`pid namespace level must be 0 to 32, got ${level}`);
  }
  if (!Number.isInteger(inode) || inode < 1 || inode > 0xffffffff) {
    throw new RangeError(`pid namespace inode must be a 32-bit inode number, got ${inode}`);
  }
  const key = `${level}:${inode}`;
  let program = loaded.get(key);
  if (!program) {
    const btf = loadKernelBtf();
    const spec = iteratorSpec(btf, "task", programBody(offsets(btf), level, inode), "iter_pidns");
    program = loadIteratorProgram(spec, "task", btf);
    loaded.set(key, program);
  }
  const link = createIterator(program, "task");
  try {
    return await consumeOwnReader(link.open(options), (r) => r.readRecords(layout));
  } finally {
    link.close();
  }
}

/** Closes the programs readNsIds loaded. */
export function closePidnsPrograms(): void {
  for (const p of loaded.values()) p.close();
  loaded.clear();
}

/** What `tasks()` can add to each task on request. */
export interface TaskViewQuery {
  /**
   * A pid namespace (a pid, or a path such as /proc/<pid>/ns/pid): only the
   * tasks it can see, with `nsPid`, `nsTgid` and `nsPpid` as /proc mounted
   * inside it shows them (`nsPpid` 0 for a parent outside it).
   */
  readonly pidns?: PidnsSelector;
  /** Adds `cgroupPath`: the task's cgroup v2 path ("/" for the root, "" when unknown). */
  readonly cgroupPath?: boolean;
}

/** The fields `tasks()` adds on request (see TaskViewQuery). */
export interface TaskViewFields {
  readonly nsPid?: number;
  readonly nsTgid?: number;
  readonly nsPpid?: number;
  readonly cgroupPath?: string;
}

interface TaskIdentity {
  readonly pid: number;
  readonly pidns: number;
  readonly pidLevel: number;
  readonly cgroupId: bigint;
}

/** Mount point of the cgroup v2 hierarchy in this mount namespace, if any. */
function cgroup2Mount(): string | undefined {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0 || line.slice(sep + 3).split(" ")[0] !== "cgroup2") continue;
    return line.slice(0, sep).split(" ")[4];
  }
  return undefined;
}

/**
 * Paths of the cgroup v2 cgroups by id: a cgroup's id is its directory's
 * inode number in cgroupfs (kernfs), so one walk of the hierarchy maps them.
 */
export function cgroupPaths(): Map<bigint, string> {
  const out = new Map<bigint, string>();
  const root = cgroup2Mount();
  if (root === undefined) return out;
  const walk = (dir: string, path: string) => {
    try {
      out.set(statSync(dir, { bigint: true }).ino, path);
    } catch {
      return; // removed meanwhile
    }
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory())
        walk(`${dir}/${e.name}`, path === "/" ? `/${e.name}` : `${path}/${e.name}`);
    }
  };
  walk(root, "/");
  return out;
}

/**
 * Adds what `query` asks for to task records: ids as a pid namespace sees
 * them (keeping only the tasks it sees), and cgroup paths.
 */
export async function taskViews<T extends TaskIdentity>(
  records: readonly T[],
  query: TaskViewQuery | undefined,
  options: ReaderOptions,
  allTasks: () => Promise<readonly T[]>,
): Promise<(T & TaskViewFields)[]> {
  let out: (T & TaskViewFields)[] = [...records];
  if (query?.pidns !== undefined) {
    const inode = pidnsInode(query.pidns);
    // The namespace's level is that of any task living in it.
    let level = records.find((t) => t.pidns === inode)?.pidLevel;
    if (level === undefined) level = (await allTasks()).find((t) => t.pidns === inode)?.pidLevel;
    if (level === undefined) return []; // no task lives in it: it sees none
    const ids = new Map((await readNsIds(level, inode, options)).map((r) => [r.tid, r]));
    out = [];
    for (const t of records) {
      const seen = ids.get(t.pid);
      if (seen) out.push({ ...t, nsPid: seen.nsPid, nsTgid: seen.nsTgid, nsPpid: seen.nsPpid });
    }
  }
  if (query?.cgroupPath) {
    const paths = cgroupPaths();
    out = out.map((t) => ({ ...t, cgroupPath: paths.get(t.cgroupId) ?? "" }));
  }
  return out;
}
