// Scenario (issue 17): how long `bpf-iter tasks` takes from exec to exit,
// against bare `node -e ''` on the same Node, in interleaved (paired) runs.
// The goal is a difference: at most 40 ms of the CLI's own start-up and work.
import { join } from "node:path";
import { commandSampler } from "../child.js";
import type { VariantSpec } from "../measure.js";
import { runGroup } from "../measure.js";
import type { GroupResult } from "../model.js";
import { benchRoot } from "../paths.js";
import type { Context } from "./context.js";

const CLI = join(benchRoot, "../packages/iter/bin/bpf-iter.js");

/** One run of `node args...` to its exit, output discarded; items = 1. */
const processSampler = (args: string[]) => commandSampler(process.execPath, args);

export async function cliStart(ctx: Context): Promise<GroupResult[]> {
  const reps = Math.max(ctx.reps, ctx.quick ? 3 : 11);
  const specs: VariantSpec[] = [
    {
      id: "node-bare",
      label: "node -e ''",
      reference: true,
      expectItems: 1,
      sampler: processSampler(["-e", ""]),
    },
    {
      id: "cli-tasks",
      label: "bpf-iter tasks",
      expectItems: 1,
      note: "every task as a table, output discarded",
      sampler: processSampler([CLI, "tasks"]),
    },
    {
      id: "cli-list",
      label: "bpf-iter list",
      expectItems: 1,
      note: "no program loaded: start-up and the target list",
      sampler: processSampler([CLI, "list"]),
    },
  ];
  return [
    await runGroup(
      ctx.progress,
      {
        id: "cli-start",
        scenario: "cli-start",
        title: "CLI start-up: bpf-iter tasks against bare node",
        description:
          "Wall time from spawn to exit of `node bin/bpf-iter.js tasks` and of `node -e ''` on the same Node, sampled in " +
          "interleaved rounds (paired runs). CPU is the child's user + system time (clock ticks: 10 ms resolution). " +
          "The goal is the difference of the medians.",
        unit: "seconds",
      },
      specs,
      reps,
    ),
  ];
}
