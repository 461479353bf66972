// processes(): what an agent snapshots at start, as one query over the task
// iterator (processes only by default: pid == tgid in the program), with the
// member names of the running kernel picked from BTF.

import { type Btf, loadKernelBtf } from "@ts-ebpf/btf";
import { cgroupPaths } from "../builtins/pidns.js";
import { processArgs } from "./argv.js";
import { QueryError } from "./errors.js";
import { exePaths } from "./exe.js";
import { resolvePath } from "./paths.js";
import { type QueryValue, query } from "./query.js";

export interface Process {
  /** Process id (the kernel's tgid). */
  readonly pid: number;
  /** Thread id (the kernel's pid); equal to pid for a process's main thread. */
  readonly tid: number;
  /** Parent's process id (real_parent). */
  readonly ppid: number;
  readonly uid: number;
  readonly gid: number;
  readonly comm: string;
  /**
   * The executable's path as /proc/<pid>/exe shows it ("" for kernel
   * threads): mm->exe_file walked up its dentries and mounts by a second
   * task iterator (exePaths), " (deleted)" added for an unlinked file or a
   * memfd, relative to the process's mount namespace root. A process the
   * second walk did not see (started in between), or one whose path is
   * deeper than MAX_EXE_DEPTH, gets what the walk could: the file name, or
   * the path's tail; so does every process where the kernel refuses the
   * walk's program (exePaths() then throws the reason).
   */
  readonly exe: string;
  /** State letter as in /proc/<pid>/stat: R S D T t X Z P I. */
  readonly state: string;
  /** Threads of the process (signal->nr_threads). */
  readonly threads: number;
  /**
   * Resident pages (file + anon + shmem), /proc/<pid>/statm's second field as
   * the kernel's percpu counters hold it without summing the CPUs' parts (off
   * by up to a counter batch per CPU; /proc sums them).
   */
  readonly rssPages: number;
  /** Start time in nanoseconds since boot (CLOCK_BOOTTIME). */
  readonly startTimeNs: bigint;
  /** Id of the task's cgroup v2 (the cgroup directory's inode number). */
  readonly cgroupId: bigint;
  /** The cgroup's path below the cgroup2 mount ("/" for the root), or undefined when not found. */
  readonly cgroupPath: string | undefined;
  /**
   * argv (with `{ argv: true }`; up to 256 bytes, a sleepable iterator with
   * bpf_copy_from_user_task, Linux 5.18): [] for kernel threads and processes
   * gone or not yet seen by the second pass.
   */
  readonly argv?: readonly string[];
}

export interface ProcessesOptions {
  /** Every thread instead of one row per process (default false). */
  readonly threads?: boolean;
  /**
   * A predicate ANDed with the processes-only one: the names of Process
   * (pid, tid, ppid, uid, gid, comm, threads, ...) stand for what they are
   * read from; any other task_struct path may be used too.
   */
  readonly where?: string;
  /** Also read argv (a second, sleepable iterator: Linux 5.18; QueryError naming it on older kernels). */
  readonly argv?: boolean;
}

const STATE_LETTERS = "RSDTtXZPI";
const TASK_REPORT = 0x7f;
const TASK_REPORT_IDLE = 0x80;
const TASK_IDLE = 0x402;

/** /proc's state letter from __state and exit_state (task_state_index()). */
export function stateLetter(state: number, exitState: number): string {
  let bits = (state | exitState) & TASK_REPORT;
  if (state === TASK_IDLE) bits = TASK_REPORT_IDLE;
  const index = bits === 0 ? 0 : 32 - Math.clz32(bits);
  return STATE_LETTERS[index] ?? "?";
}

/** The first of `paths` the kernel has. */
function firstPath(btf: Btf, what: string, paths: readonly string[]): string {
  for (const p of paths) {
    try {
      resolvePath(btf, "task", p);
      return p;
    } catch {
      // Not in this kernel: try the next spelling.
    }
  }
  throw new QueryError(`processes(): this kernel has none of ${paths.join(", ")} (${what})`);
}

let selectCache: Record<string, string> | undefined;

function processSelect(btf: Btf): Record<string, string> {
  if (selectCache) return selectCache;
  selectCache = {
    pid: "tgid",
    tid: "pid",
    ppid: "real_parent.tgid",
    uid: "cred.uid.val",
    gid: "cred.gid.val",
    comm: "comm",
    exe: "mm.exe_file.f_path.dentry.d_name.name",
    state: firstPath(btf, "task state", ["__state", "state"]),
    exitState: "exit_state",
    threads: "signal.nr_threads",
    // Since 6.2 rss_stat is an array of percpu_counter (count: the summed value).
    rssFile: firstPath(btf, "rss", ["mm.rss_stat[0].count", "mm.rss_stat.count[0].counter"]),
    rssAnon: firstPath(btf, "rss", ["mm.rss_stat[1].count", "mm.rss_stat.count[1].counter"]),
    rssShmem: firstPath(btf, "rss", ["mm.rss_stat[3].count", "mm.rss_stat.count[3].counter"]),
    startTimeNs: firstPath(btf, "start time", ["start_boottime", "real_start_time"]),
    // The process's (its leader's) start time: with pid, the key of its exe path.
    leaderStartNs: `group_leader.${firstPath(btf, "start time", ["start_boottime", "real_start_time"])}`,
    cgroupId: "cgroups.dfl_cgrp.kn.id",
  };
  return selectCache;
}

const num = (v: QueryValue | undefined) => (typeof v === "bigint" ? Number(v) : Number(v ?? 0));

/**
 * Every process (or thread, with `{ threads: true }`) with what agents
 * snapshot at start, read in one pass of the task iterator.
 */
export async function processes(options: ProcessesOptions = {}): Promise<Process[]> {
  if (options === null || typeof options !== "object")
    throw new TypeError("options must be an object");
  if (options.where !== undefined && typeof options.where !== "string") {
    throw new TypeError("options.where must be a string");
  }
  const btf = loadKernelBtf();
  const select = processSelect(btf);
  const clauses = [options.threads ? "" : "tid == pid", options.where ? `(${options.where})` : ""];
  const where = clauses.filter(Boolean).join(" and ");
  const rows = await query("task", { select, ...(where ? { where } : {}), stringLength: 32 });
  // Keyed by pid and start time: a pid reused between the two walks is another process.
  const exes = new Map<string, string>();
  try {
    for (const e of await exePaths()) {
      exes.set(`${e.pid} ${e.startTimeNs}`, `${e.path}${e.deleted ? " (deleted)" : ""}`);
    }
  } catch {
    // A kernel that refuses the path walk's program still gets the file names (below).
  }
  const paths = cgroupPaths();
  const argvs = options.argv
    ? new Map((await processArgs()).map((a) => [a.pid, a.strings] as const))
    : undefined;
  return rows.map((r) => {
    const cgroupId = BigInt(r.cgroupId as bigint);
    const rss = num(r.rssFile) + num(r.rssAnon) + num(r.rssShmem);
    return {
      pid: r.pid as number,
      tid: r.tid as number,
      ppid: r.ppid as number,
      uid: r.uid as number,
      gid: r.gid as number,
      comm: r.comm as string,
      exe: exes.get(`${r.pid} ${BigInt(r.leaderStartNs as bigint)}`) ?? (r.exe as string),
      state: stateLetter(num(r.state), num(r.exitState)),
      threads: num(r.threads),
      // percpu counters can read slightly negative between folds.
      rssPages: Math.max(0, rss),
      startTimeNs: BigInt(r.startTimeNs as bigint),
      cgroupId,
      cgroupPath: paths.get(cgroupId),
      ...(argvs ? { argv: argvs.get(r.pid as number) ?? [] } : {}),
    };
  });
}
