// Issue 19: a selective query (1% of the tasks, by a tgid range) filtered in
// the kernel, against tasks() filtered in JavaScript and against reading
// /proc/<pid>/stat of every process, with 10,000 extra processes alive.

import { closeQueries, query, tasks } from "@ts-ebpf/iter";
import { runGroup, tsSampler, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { scanProc } from "../proc-scan.js";
import { startProcesses } from "../processes.js";
import type { Context } from "./context.js";

export async function selectiveQuery(ctx: Context): Promise<GroupResult[]> {
  const n = ctx.queryProcesses;
  ctx.progress.heading(`starting ${n.toLocaleString("en-US")} extra processes`);
  using _procs = await startProcesses(n);
  // A tgid range holding 1% of the processes alive now.
  const pids = scanProc()
    .map((p) => p.pid)
    .sort((a, b) => a - b);
  const share = Math.max(1, Math.floor(pids.length / 100));
  const from = pids[Math.floor(pids.length / 2)]!;
  const to = pids[Math.floor(pids.length / 2) + share - 1]!;
  const where = `tgid >= ${from} and tgid <= ${to} and pid == tgid`;
  const select = { pid: "tgid", ppid: "real_parent.tgid", comm: "comm" } as const;
  const inRange = (pid: number) => pid >= from && pid <= to;
  const specs: VariantSpec[] = [
    {
      id: "ts-query-where",
      label: "query() with where (filtered in the kernel), warm",
      reference: true,
      itemsMayVary: true,
      note: where,
      sampler: tsSampler(
        async () => ({ items: (await query("task", { select, where })).length }),
        () => closeQueries(),
      ),
    },
    {
      id: "ts-tasks-js-filter",
      label: "tasks() filtered in JavaScript, warm",
      itemsMayVary: true,
      sampler: tsSampler(async () => ({
        items: (await tasks()).filter((t) => t.pid === t.tgid && inRange(t.tgid)).length,
      })),
    },
    {
      id: "ts-proc-scan-filter",
      label: "/proc/<pid>/stat scan filtered in JavaScript",
      itemsMayVary: true,
      sampler: tsSampler(() => ({ items: scanProc().filter((p) => inRange(p.pid)).length })),
    },
  ];
  return [
    await runGroup(
      ctx.progress,
      {
        id: "query",
        scenario: "query",
        title: `A 1% query over ${n.toLocaleString("en-US")} extra processes`,
        description:
          `With ${n.toLocaleString("en-US")} extra processes alive, read pid, ppid and comm of the ` +
          "processes in a tgid range holding 1% of them. query() compiles the range into the iterator " +
          "program, so only matching tasks are written; tasks() copies every task and JavaScript filters; " +
          "the /proc scan reads /proc/<pid>/stat of every process.",
        unit: "seconds",
      },
      specs,
      ctx.reps,
    ),
  ];
}
