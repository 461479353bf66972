// Scenario (issue 17): how long `bpf-iter tasks` takes from exec to exit,
// against bare `node -e ''` on the same Node, in interleaved (paired) runs.
// The goal is a difference: at most 40 ms of the CLI's own start-up and work.
// bpf-iter keeps its compiled built-in programs and V8's compiled code of its
// start bundle in a cache (a directory of the run's own here, filled by the
// warm-up run); "without its caches" is every run compiling the program from
// the kernel's BTF and the CLI's code from source, as the first run ever does.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandSampler } from "../child.js";
import type { VariantSpec } from "../measure.js";
import { runGroup } from "../measure.js";
import type { GroupResult } from "../model.js";
import { benchRoot } from "../paths.js";
import type { Context } from "./context.js";

const CLI = join(benchRoot, "../packages/iter/bin/bpf-iter.js");
/** The bin's entry: the bundle iter's `pnpm build` makes (scripts/bundle-cli.mjs). */
const ENTRY = join(benchRoot, "../packages/iter/dist/cli/start.js");

/** Refuses to time a CLI that is not the one users install (tsc's output alone, unbundled). */
function checkBundled(): void {
  if (!readFileSync(ENTRY, "utf8").startsWith("// bpf-iter CLI bundle")) {
    throw new Error(
      `${ENTRY} is tsc's output, not the bundle the package ships: run pnpm build in packages/iter`,
    );
  }
}

/** One run of `node args...` (with `env` added) to its exit, output discarded; items = 1. */
const processSampler = (args: string[], env?: Record<string, string>) =>
  commandSampler(process.execPath, args, env);

export async function cliStart(ctx: Context): Promise<GroupResult[]> {
  checkBundled();
  const reps = Math.max(ctx.reps, ctx.quick ? 3 : 11);
  const cacheDir = mkdtempSync(join(tmpdir(), "bench-bpf-iter-cache-"));
  const cached = { TS_EBPF_CACHE_DIR: join(cacheDir, "ts-ebpf") };
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
      note: "every task as a table, output discarded; the program and V8's code from bpf-iter's cache",
      sampler: processSampler([CLI, "tasks"], cached),
    },
    {
      id: "cli-tasks-uncached",
      label: "bpf-iter tasks, no caches",
      expectItems: 1,
      note: "TS_EBPF_CACHE=0: the program compiled from the kernel's BTF and the CLI from source, each run",
      sampler: processSampler([CLI, "tasks"], { TS_EBPF_CACHE: "0" }),
    },
    {
      id: "cli-list",
      label: "bpf-iter list",
      expectItems: 1,
      note: "no program loaded: start-up and the target list",
      sampler: processSampler([CLI, "list"], cached),
    },
  ];
  try {
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
            "bpf-iter takes its built-in's compiled program and V8's code cache of its start bundle from its cache " +
            "(filled by the untimed warm-up run); without them, every run reads and indexes the kernel's BTF, compiles " +
            "the program and compiles the CLI's code from source. The goal is the difference of the medians.",
          unit: "seconds",
        },
        specs,
        reps,
      ),
    ];
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
