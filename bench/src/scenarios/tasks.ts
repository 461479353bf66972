// Scenario 2: list tasks with thousands of extra processes alive. The /proc
// scan is what tasks() replaces; the C task iterator is the floor.

import { pinPath } from "../maps.js";
import { runGroup, type Sampler, tsSampler, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { cSampler } from "../native.js";
import { scanProc } from "../proc-scan.js";
import { startProcesses } from "../processes.js";
import { type Context, MIB } from "./context.js";
import { warmedTsSampler } from "./warm-sampler.js";

/**
 * Timed runs that make one sample of the task-listing variants compared with
 * each other (their median): one listing takes 2-30 ms, and the median of
 * single runs swung tasks() warm / C between 1.04x and 1.74x in two runs of
 * the same build minutes apart.
 */
export const TASK_REPS_PER_SAMPLE = 5;

/** The reference of every task-listing group: the C task iterator (load + link + read). */
export function cTaskIterator(): VariantSpec {
  return {
    id: "c-task-iter",
    label: "C task iterator",
    reference: true,
    itemsMayVary: true,
    note: `load + link + read; median of ${TASK_REPS_PER_SAMPLE} runs per sample`,
    sampler: cSampler("task_iter", (reps) => [MIB, reps], undefined, TASK_REPS_PER_SAMPLE),
  };
}

let taskLinkPins = 0;

/**
 * The C reader of tasks()' own program, through a link of it pinned for the
 * run: an iterator fd, the whole output read and every record visited. The
 * same kernel work as tasks() warm (its records carry namespaces and a
 * cgroup id: four times the bytes of the C task iterator's, and more
 * structures visited per task), so tasks() warm against this is what
 * TypeScript itself costs.
 */
export function cTasksProgram(ctx: Context): VariantSpec {
  const spec = {
    id: "c-tasks-program",
    label: "C reader of tasks()' program (warm)",
    itemsMayVary: true,
  };
  const pin = ctx.ts.pinTaskLink;
  if (!pin) return { ...spec, unavailable: ctx.ts.missing.pinTaskLink ?? "not available" };
  return {
    ...spec,
    note: `tasks()' link, pinned: iterator fd + read + every 32-bit word of every record folded; median of ${TASK_REPS_PER_SAMPLE} runs per sample`,
    sampler: async (): Promise<Sampler> => {
      const path = pinPath(`task-link-${++taskLinkPins}`);
      const pinned = pin(path);
      try {
        const inner = await cSampler(
          "task_iter",
          (reps) => [MIB, reps, path, pinned.recordSize],
          undefined,
          TASK_REPS_PER_SAMPLE,
        )();
        return {
          sample: () => inner.sample(),
          close: () => {
            inner.close?.();
            pinned[Symbol.dispose]();
          },
        };
      } catch (err) {
        pinned[Symbol.dispose]();
        throw err;
      }
    },
  };
}

export async function taskList(ctx: Context): Promise<GroupResult[]> {
  const n = ctx.extraProcesses;
  ctx.progress.heading(`starting ${n.toLocaleString("en-US")} extra processes`);
  using _procs = await startProcesses(n);
  const ts = ctx.ts;
  const specs: VariantSpec[] = [
    cTaskIterator(),
    cTasksProgram(ctx),
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
          note: `timed calls right after untimed ones, as the C readers time theirs; median of ${TASK_REPS_PER_SAMPLE} calls per sample`,
          sampler: async (): Promise<Sampler> => {
            const w = await ts.tasksWarm!();
            // The cold variant closes the cached program between samples: the untimed
            // call before each timed one reloads it.
            return warmedTsSampler(
              () => w.read(),
              () => w[Symbol.dispose](),
              TASK_REPS_PER_SAMPLE,
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
          "every task. The iterators visit every thread: the C task iterator copies pid, tgid and comm " +
          "(24-byte records), tasks() fifteen fields through more kernel structures (namespaces, cgroup: " +
          "96-byte records); the C reader of tasks()' program reads tasks()' own link, so its kernel work " +
          "is tasks()' and the gap to it is TypeScript's own cost. The /proc scan reads " +
          "`/proc/<pid>/stat` of every process, as ps(1) does. *Cold* includes loading the program and " +
          "creating the link; *warm* reuses them and only creates and reads a new iterator fd.",
        unit: "seconds",
      },
      specs,
      ctx.reps,
    ),
  ];
}
