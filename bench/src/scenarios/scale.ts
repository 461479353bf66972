// Issue 17's scale scenarios, each beside the tool or /proc walk it replaces:
// - tasks at 10,000 and 50,000 threads: tasks() warm against the C task
//   iterator (and a /proc/<pid>/task scan), kernel.pid_max and
//   vm.max_map_count raised for the run when too low, and restored;
// - `bpf-iter tasks` against `ps -e` with 10,000 extra processes;
// - taskFiles() over 1,000,000 open fds against listing /proc/<pid>/fd
//   (and stat()ing every entry, as lsof does), the fds spread over as many
//   processes as the hard RLIMIT_NOFILE requires;
// - tcp() over 100,000 loopback TCP sockets against `ss -tan`.
// The load comes from C helpers (processes.ts) that undo it when the suite
// ends in any way: threads and processes killed, fds closed with their
// processes, sockets reset (SO_LINGER 0: no TIME_WAIT left behind).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { closeBuiltins, taskFiles, tasks, tcp } from "@ts-ebpf/iter";
import { commandSampler } from "../child.js";
import { runGroup, type Sampler, tsSampler, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { benchRoot } from "../paths.js";
import {
  type Helper,
  hardFdLimit,
  raiseSysctl,
  startHelper,
  startProcesses,
} from "../processes.js";
import type { Context } from "./context.js";
import { cTaskIterator, cTasksProgram, TASK_REPS_PER_SAMPLE } from "./tasks.js";
import { warmedTsSampler } from "./warm-sampler.js";

const CLI = join(benchRoot, "../packages/iter/bin/bpf-iter.js");
const PID_MAX = "/proc/sys/kernel/pid_max";
const MAX_MAP_COUNT = "/proc/sys/vm/max_map_count";

export interface ScaleSizes {
  threads: number[];
  cliProcesses: number;
  fds: number;
  connections: number;
}

export function scaleSizes(quick: boolean): ScaleSizes {
  return quick
    ? { threads: [1_000, 5_000], cliProcesses: 1_000, fds: 50_000, connections: 2_500 }
    : { threads: [10_000, 50_000], cliProcesses: 10_000, fds: 1_000_000, connections: 50_000 };
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** Tasks alive now (every thread of every process). */
function taskCount(): number {
  let n = 0;
  for (const pid of numericEntries("/proc")) {
    try {
      n += readdirSync(`/proc/${pid}/task`).length;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

function numericEntries(dir: string): string[] {
  return readdirSync(dir).filter((name) => {
    const c = name.charCodeAt(0);
    return c >= 48 && c <= 57;
  });
}

/** Reads /proc/<pid>/task/<tid>/stat of every thread, as `ps -eL` does; items = threads. */
function scanProcTasks(): number {
  let n = 0;
  for (const pid of numericEntries("/proc")) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        readFileSync(`/proc/${pid}/task/${tid}/stat`, "latin1");
        n++;
      } catch {
        // exited meanwhile
      }
    }
  }
  return n;
}

/** Lists /proc/<pid>/fd of every process; with `stat`, stat()s each entry (inode, mode) as lsof does. */
function scanProcFds(stat: boolean): number {
  let n = 0;
  for (const pid of numericEntries("/proc")) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited, or a kernel thread's
    }
    if (!stat) {
      n += fds.length;
      continue;
    }
    for (const fd of fds) {
      try {
        statSync(`/proc/${pid}/fd/${fd}`);
        n++;
      } catch {
        // closed meanwhile
      }
    }
  }
  return n;
}

/** The tasks() warm sampler: the program and link kept, a fresh iterator read per sample. */
function tasksWarmSampler(): () => Promise<Sampler> {
  return warmedTsSampler(
    async () => ({ items: (await tasks()).length }),
    () => closeBuiltins(),
    TASK_REPS_PER_SAMPLE,
  );
}

/** `specs` failing with `error`: the group's load could not be set up (the other groups still run). */
function failedSpecs(specs: VariantSpec[], error: unknown): VariantSpec[] {
  return specs.map((spec) => ({
    id: spec.id,
    label: spec.label,
    ...(spec.reference ? { reference: true } : {}),
    sampler: () => Promise.reject(error),
  }));
}

async function threadGroups(ctx: Context, sizes: ScaleSizes): Promise<GroupResult[]> {
  const groups: GroupResult[] = [];
  for (const n of sizes.threads) {
    const specs: VariantSpec[] = [
      cTaskIterator(),
      cTasksProgram(ctx),
      {
        id: "ts-tasks-warm",
        label: "tasks(), warm (read only)",
        itemsMayVary: true,
        note: `timed calls right after untimed ones, as the C readers time theirs; median of ${TASK_REPS_PER_SAMPLE} calls per sample`,
        sampler: tasksWarmSampler(),
      },
      {
        id: "ts-proc-task-scan",
        label: "TS /proc/<pid>/task/<tid>/stat scan",
        itemsMayVary: true,
        note: "every thread, as ps -eL reads them",
        sampler: tsSampler(() => ({ items: scanProcTasks() })),
      },
    ];
    const head = {
      id: `tasks-threads-${n}`,
      scenario: "tasks-scale",
      title: `List tasks with ${fmt(n)} extra threads`,
      description:
        `One helper process keeps ${fmt(n)} extra threads alive (kernel.pid_max and vm.max_map_count ` +
        "raised for the run when too low, then restored) and every task is listed: the C task iterator " +
        "(pid, tgid, comm per task; program load included), the C reader of tasks()' own program " +
        "(its link pinned: the same kernel work as tasks()), tasks() reusing its loaded program (a new " +
        "iterator fd per read), and reading `/proc/<pid>/task/<tid>/stat` of every thread.",
      unit: "seconds" as const,
    };
    // Every thread takes a pid, and two memory mappings (its stack and the
    // guard page below it): room for them and for what else runs.
    const restorePidMax = raiseSysctl(PID_MAX, Math.max(65_536, 2 * (taskCount() + n)));
    const restoreMapCount = raiseSysctl(MAX_MAP_COUNT, 4 * n + 65_530);
    let threads: Helper | undefined;
    try {
      ctx.progress.heading(`starting ${fmt(n)} extra threads`);
      let failed: unknown;
      threads = await startHelper("threads", [n]).catch((e: unknown) => {
        failed = e;
        return undefined;
      });
      const run = threads ? specs : failedSpecs(specs, failed);
      groups.push(await runGroup(ctx.progress, head, run, ctx.reps));
    } finally {
      threads?.stop();
      restoreMapCount();
      restorePidMax();
    }
  }
  return groups;
}

async function cliGroup(ctx: Context, sizes: ScaleSizes): Promise<GroupResult> {
  const n = sizes.cliProcesses;
  ctx.progress.heading(`starting ${fmt(n)} extra processes`);
  using _procs = await startProcesses(n);
  const specs: VariantSpec[] = [
    {
      id: "ps-e",
      label: "ps -e",
      reference: true,
      expectItems: 1,
      note: "reads /proc/<pid>/stat of every process; output discarded",
      sampler: commandSampler("ps", ["-e"]),
    },
    {
      id: "cli-tasks",
      label: "bpf-iter tasks",
      expectItems: 1,
      note: "every task as a table; output discarded",
      sampler: commandSampler(process.execPath, [CLI, "tasks"]),
    },
  ];
  // Awaited here: `using` ends the load when this function returns.
  return await runGroup(
    ctx.progress,
    {
      id: `cli-ps-${n}`,
      scenario: "tasks-scale",
      title: `bpf-iter tasks against ps -e with ${fmt(n)} extra processes`,
      description:
        `With ${fmt(n)} extra processes alive, spawn to exit of \`ps -e\` and of \`node bin/bpf-iter.js tasks\` ` +
        "(Node's start-up included), interleaved. CPU is the child's user + system time (10 ms ticks).",
      unit: "seconds",
    },
    specs,
    Math.max(ctx.reps, ctx.quick ? 3 : 7),
  );
}

async function filesGroup(ctx: Context, sizes: ScaleSizes): Promise<GroupResult> {
  // A process may hold at most its hard RLIMIT_NOFILE fds (raising it takes
  // CAP_SYS_RESOURCE): spread them over enough holder processes.
  const perProcess = Math.max(1, Math.min(hardFdLimit() - 128, 250_000));
  const processes = Math.ceil(sizes.fds / perProcess);
  const each = Math.ceil(sizes.fds / processes);
  ctx.progress.heading(`opening ${fmt(processes * each)} fds in ${processes} processes`);
  using holders = await startHelper("fd_holder", [processes, each]);
  const holderPids = new Set(
    holders.lines.filter((l) => l.startsWith("pid ")).map((l) => Number(l.slice(4))),
  );
  const verify = async () => {
    // Every fd of every holder, none twice, as /proc lists them.
    const perPid = new Map<number, Set<number>>();
    for (const f of await taskFiles()) {
      if (!holderPids.has(f.tgid)) continue;
      let s = perPid.get(f.tgid);
      if (!s) {
        s = new Set();
        perPid.set(f.tgid, s);
      }
      if (s.has(f.fd)) throw new Error(`taskFiles(): fd ${f.fd} of ${f.tgid} twice`);
      s.add(f.fd);
    }
    for (const pid of holderPids) {
      const proc = readdirSync(`/proc/${pid}/fd`).length;
      const seen = perPid.get(pid)?.size ?? 0;
      if (seen !== proc) throw new Error(`taskFiles(): ${seen} fds of ${pid}, /proc lists ${proc}`);
    }
  };
  const specs: VariantSpec[] = [
    {
      id: "proc-fd-list",
      label: "TS /proc/<pid>/fd listing",
      reference: true,
      itemsMayVary: true,
      note: "readdir of every process's fd directory: fd numbers only",
      sampler: tsSampler(() => ({ items: scanProcFds(false) })),
    },
    {
      id: "proc-fd-stat",
      label: "TS /proc/<pid>/fd listing + stat() per fd",
      itemsMayVary: true,
      note: "inode and mode of every fd, as lsof reads them",
      reps: Math.min(ctx.reps, 5),
      sampler: tsSampler(() => ({ items: scanProcFds(true) })),
    },
    {
      id: "ts-task-files",
      label: "taskFiles(), warm",
      itemsMayVary: true,
      note: "fd, flags, mode, inode, position, comm of every fd; checked against /proc first",
      verify,
      sampler: tsSampler(
        async () => ({ items: (await taskFiles()).length }),
        () => closeBuiltins(),
      ),
    },
  ];
  // Awaited here: `using` ends the load when this function returns.
  return await runGroup(
    ctx.progress,
    {
      id: "task-files-scale",
      scenario: "files-scale",
      title: `List open files with ${fmt(processes * each)} extra fds`,
      description:
        `${processes} helper processes hold ${fmt(each)} fds each (dup()s of one /dev/null open), ` +
        `${fmt(processes * each)} in all, and every open fd of the machine is listed: taskFiles() (the task_file ` +
        "iterator: one record per fd, checked fd for fd against /proc before timing), a readdir of every " +
        "`/proc/<pid>/fd`, and the same with a stat() of every entry.",
      unit: "seconds",
    },
    specs,
    ctx.reps,
  );
}

async function tcpGroup(ctx: Context, sizes: ScaleSizes): Promise<GroupResult> {
  const perWorker = Math.max(1, Math.min(Math.floor((hardFdLimit() - 128) / 2), 12_500));
  ctx.progress.heading(`opening ${fmt(sizes.connections)} loopback TCP connections`);
  using pairs = await startHelper("tcp_pairs", [sizes.connections, perWorker]);
  const expected = pairs.count;
  const verify = async () => {
    const loopback = (await tcp()).filter((s) => s.localAddress === "127.0.0.1").length;
    if (loopback < expected)
      throw new Error(`tcp(): ${loopback} loopback sockets, expected ≥ ${expected}`);
  };
  const specs: VariantSpec[] = [
    {
      id: "ss-tan",
      label: "ss -tan",
      reference: true,
      expectItems: 1,
      note: "netlink sock_diag dump, printed; output discarded",
      sampler: commandSampler("ss", ["-tan"]),
    },
    {
      id: "ts-tcp",
      label: "tcp(), warm",
      itemsMayVary: true,
      note: "every TCP socket of the namespace decoded",
      verify,
      sampler: tsSampler(
        async () => ({ items: (await tcp()).length }),
        () => closeBuiltins(),
      ),
    },
  ];
  // Awaited here: `using` ends the load when this function returns.
  return await runGroup(
    ctx.progress,
    {
      id: "tcp-scale",
      scenario: "tcp-scale",
      title: `List TCP sockets with ${fmt(expected)} extra loopback sockets`,
      description:
        `Helper processes hold ${fmt(sizes.connections)} loopback connections to themselves (${fmt(expected)} ` +
        "sockets with the listeners; SO_LINGER 0, so nothing lingers in TIME_WAIT afterwards) and every TCP " +
        "socket is listed: `ss -tan` (spawn to exit, CPU from the child's ticks) and tcp() in this process.",
      unit: "seconds",
    },
    specs,
    ctx.reps,
  );
}

export async function tasksScale(ctx: Context): Promise<GroupResult[]> {
  const sizes = scaleSizes(ctx.quick);
  return [...(await threadGroups(ctx, sizes)), await cliGroup(ctx, sizes)];
}

/** The thread groups of tasks-scale alone (no 10,000 processes for the ps group). */
export async function tasksThreads(ctx: Context): Promise<GroupResult[]> {
  return threadGroups(ctx, scaleSizes(ctx.quick));
}

export async function filesScale(ctx: Context): Promise<GroupResult[]> {
  return [await filesGroup(ctx, scaleSizes(ctx.quick))];
}

export async function tcpScale(ctx: Context): Promise<GroupResult[]> {
  return [await tcpGroup(ctx, scaleSizes(ctx.quick))];
}
