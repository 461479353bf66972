// Scenario 2: list tasks with thousands of extra processes alive. The /proc
// scan is what tasks() replaces; the C task iterator is the floor.

import { runGroup, type Sampler, tsSampler, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { cSampler } from "../native.js";
import { scanProc } from "../proc-scan.js";
import { startProcesses } from "../processes.js";
import { type Context, MIB } from "./context.js";

/** The reference of every task-listing group: the C task iterator (load + link + read). */
export function cTaskIterator(): VariantSpec {
  return {
    id: "c-task-iter",
    label: "C task iterator",
    reference: true,
    itemsMayVary: true,
    note: "load + link + read",
    sampler: cSampler("task_iter", (reps) => [MIB, reps]),
  };
}

export async function taskList(ctx: Context): Promise<GroupResult[]> {
  const n = ctx.extraProcesses;
  ctx.progress.heading(`starting ${n.toLocaleString("en-US")} extra processes`);
  using _procs = await startProcesses(n);
  const ts = ctx.ts;
  const specs: VariantSpec[] = [
    cTaskIterator(),
    ts.tasksCold
      ? {
          id: "ts-tasks-cold",
          label: "tasks(), cold (load + link + read)",
          itemsMayVary: true,
          note: "closeBuiltins() first",
          sampler: tsSampler(ts.tasksCold),
        }
      : {
          id: "ts-tasks-cold",
          label: "tasks(), cold (load + link + read)",
          unavailable: ts.missing.tasksCold ?? "",
        },
    ts.tasksWarm
      ? {
          id: "ts-tasks-warm",
          label: "tasks(), warm (read only)",
          itemsMayVary: true,
          sampler: async (): Promise<Sampler> => {
            const w = await ts.tasksWarm!();
            // The cold variant closes the cached program between samples: reload it untimed.
            return tsSampler(
              () => w.read(),
              () => w[Symbol.dispose](),
              () => w.read(),
            )();
          },
        }
      : {
          id: "ts-tasks-warm",
          label: "tasks(), warm (read only)",
          unavailable: ts.missing.tasksWarm ?? "",
        },
    {
      id: "ts-proc-scan",
      label: "TS /proc/<pid>/stat scan",
      itemsMayVary: true,
      note: "processes only (no threads)",
      sampler: tsSampler(() => ({ items: scanProc().length })),
    },
  ];
  return [
    await runGroup(
      ctx.progress,
      {
        id: "tasks",
        scenario: "tasks",
        title: `List tasks with ${n.toLocaleString("en-US")} extra processes`,
        description:
          `The suite keeps ${n.toLocaleString("en-US")} extra processes alive (a forking C helper) and lists ` +
          "every task. The iterators visit every thread (pid, tgid, comm per task); the /proc scan reads " +
          "`/proc/<pid>/stat` of every process, as ps(1) does. *Cold* includes loading the program and " +
          "creating the link; *warm* reuses them and only creates and reads a new iterator fd.",
        unit: "seconds",
      },
      specs,
      ctx.reps,
    ),
  ];
}
