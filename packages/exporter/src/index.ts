// @ts-ebpf/exporter: Prometheus / OpenMetrics metrics from BPF iterators (bpf-iter serve).
export { parseServeArgs, runCli, SERVE_USAGE, ServeUsageError, serveMain } from "./cli.js";
export {
  COLLECTORS,
  type CollectorName,
  cgroupPaths,
  Exporter,
  type ExporterOptions,
  type Format,
  OTHER_GROUP,
  type Scrape,
  type Sources,
} from "./exporter.js";
export {
  GROUP_BY,
  type GroupBy,
  type GroupContext,
  type Grouping,
  GroupingConfigError,
  groupBy,
  groupByRules,
  KERNEL_GROUP,
  KERNEL_THREADS,
  type KernelThreads,
  loadGroupingConfig,
  type MatchRule,
} from "./grouping.js";
export { decodeProcesses, ProcessDecoder, type ProcessSample, stateLetter } from "./processes.js";
export {
  EXE_LEN,
  MAX_FD_WORDS,
  type ProcessProgram,
  type ProcessProgramOptions,
  type ProcessRecordLayout,
  processProgram,
} from "./program.js";
export {
  parseListen,
  type RunningServer,
  type ServeOptions,
  serve,
  wantsOpenMetrics,
} from "./server.js";
