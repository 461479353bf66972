// `bpf-iter serve` (and the ts-ebpf-exporter bin): options to ServeOptions,
// then serve until SIGINT or SIGTERM.

import { parseArgs } from "node:util";
import { COLLECTORS, type CollectorName } from "./exporter.js";
import {
  GROUP_BY,
  type GroupBy,
  type Grouping,
  groupBy,
  KERNEL_THREADS,
  type KernelThreads,
  loadGroupingConfig,
} from "./grouping.js";
import { type RunningServer, type ServeOptions, serve } from "./server.js";

export const SERVE_USAGE = `usage: bpf-iter serve [--listen host:port] [options]

Prometheus / OpenMetrics metrics read from BPF iterators on each scrape.

options:
  --listen host:port        address to serve on (default 127.0.0.1:9466; ":9466" for all)
  --path /metrics           path of the metrics
  --group-by comm|exe|cgroup|user
                            how processes are grouped (default comm)
  --config FILE             process-exporter config (process_names with comm/exe
                            matchers and a name template) instead of --group-by
  --kernel-threads group|comm|skip
                            kernel threads as one group "[kernel]" (default), by comm, or not at all
  --max-groups N            most process groups; later ones count in "[other]" (default 256)
  --max-ports N             most listening TCP ports with their own series (default 128)
  --max-bpf-objects N       most BPF programs/maps/links with an info series, each (default 256)
  --collectors LIST         comma-separated: ${COLLECTORS.join(",")} (default all)
  --interval SECONDS        read in the background every SECONDS and serve the last
                            result (default: read on each scrape)
  -h, --help                this text`;

/** A bad `bpf-iter serve` command line. */
export class ServeUsageError extends Error {
  override readonly name = "ServeUsageError";
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new ServeUsageError(`--${name} must be a positive integer, got "${value}"`);
  return Number(value);
}

/** ServeOptions from command-line arguments (after "serve"). */
export function parseServeArgs(argv: readonly string[]): ServeOptions | "help" {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      listen: { type: "string", default: "127.0.0.1:9466" },
      path: { type: "string" },
      "group-by": { type: "string" },
      config: { type: "string" },
      "kernel-threads": { type: "string" },
      "max-groups": { type: "string" },
      "max-ports": { type: "string" },
      "max-bpf-objects": { type: "string" },
      collectors: { type: "string" },
      interval: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  if (positionals.length > 0)
    throw new ServeUsageError(`serve takes no arguments, got "${positionals.join(" ")}"`);
  if (values.config !== undefined && values["group-by"] !== undefined) {
    throw new ServeUsageError("--config and --group-by exclude each other");
  }
  const by = values["group-by"] ?? "comm";
  if (!GROUP_BY.includes(by as GroupBy)) {
    throw new ServeUsageError(`--group-by must be one of ${GROUP_BY.join(", ")}, got "${by}"`);
  }
  const kernelThreads = values["kernel-threads"] ?? "group";
  if (!KERNEL_THREADS.includes(kernelThreads as KernelThreads)) {
    throw new ServeUsageError(
      `--kernel-threads must be one of ${KERNEL_THREADS.join(", ")}, got "${kernelThreads}"`,
    );
  }
  const grouping: Grouping =
    values.config !== undefined
      ? loadGroupingConfig(values.config)
      : groupBy(by as GroupBy, kernelThreads as KernelThreads);
  let collectors: CollectorName[] | undefined;
  if (values.collectors !== undefined) {
    collectors = values.collectors.split(",").map((c) => c.trim()) as CollectorName[];
    const bad = collectors.filter((c) => !COLLECTORS.includes(c));
    if (bad.length > 0)
      throw new ServeUsageError(
        `--collectors: unknown ${bad.join(", ")} (have ${COLLECTORS.join(", ")})`,
      );
  }
  let interval: number | undefined;
  if (values.interval !== undefined) {
    interval = Number(values.interval);
    if (!Number.isFinite(interval))
      throw new ServeUsageError(`--interval must be a number of seconds, got "${values.interval}"`);
  }
  const maxGroups = integer("max-groups", values["max-groups"]);
  const maxPorts = integer("max-ports", values["max-ports"]);
  const maxBpfObjects = integer("max-bpf-objects", values["max-bpf-objects"]);
  return {
    listen: values.listen,
    grouping,
    ...(values.path === undefined ? {} : { path: values.path }),
    ...(collectors === undefined ? {} : { collectors }),
    ...(interval === undefined ? {} : { interval }),
    ...(maxGroups === undefined ? {} : { maxGroups }),
    ...(maxPorts === undefined ? {} : { maxPorts }),
    ...(maxBpfObjects === undefined ? {} : { maxBpfObjects }),
  };
}

/**
 * Runs the exporter until SIGINT or SIGTERM; resolves with the exit code.
 * Usage errors are reported on stderr with the usage (code 2).
 */
export async function serveMain(argv: readonly string[]): Promise<number> {
  let options: ServeOptions | "help";
  try {
    options = parseServeArgs(argv);
  } catch (err) {
    process.stderr.write(`bpf-iter serve: ${(err as Error).message}\n\n${SERVE_USAGE}\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const running: RunningServer = await serve(options);
  // Load the programs now: a missing privilege shows at start, not at the first scrape.
  const first = await running.exporter.scrape();
  if (/bpf_iter_scrape_collector_success\{[^}]*\} 0/.test(first.body)) {
    process.stderr.write(
      "bpf-iter serve: some collectors failed at start (see above); serving anyway\n",
    );
  }
  process.stderr.write(`bpf-iter serve: serving ${running.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await running.close();
  return 0;
}

/** The bin's entry: serveMain with the process's exit code. */
export function runCli(argv: readonly string[]): void {
  serveMain(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bpf-iter serve: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
