// The shape of one benchmark run, as written to results/latest.json and read
// back by the report writers (and the website).
import type { Summary } from "./stats.js";

export type Status = "ok" | "unavailable" | "failed";

export interface VariantResult {
  /** Stable key within its group, e.g. "c-iter". */
  id: string;
  label: string;
  status: Status;
  /** Why a variant is unavailable or failed; otherwise optional context. */
  note?: string;
  /**
   * For "unavailable": what it lacks. "kernel": the running kernel cannot run it
   * (e.g. it refuses the iterator target the variant needs); "api": this checkout
   * lacks the TypeScript API. Absent (runs before this field) means "api".
   */
  missing?: "kernel" | "api";
  /** Seconds per repetition. */
  samples: number[];
  /** Elements (records, tasks, calls, instructions) handled per repetition. */
  items?: number;
  /** Bytes read per repetition, where throughput is meaningful. */
  bytes?: number;
  summary?: Summary;
  /** Process CPU seconds (user + system, all threads) of each sample. */
  cpuSamples?: number[];
  cpuSummary?: Summary;
  /** True for the variant every other one in the group is compared with. */
  reference?: boolean;
  /** median / reference median (same run); > 1 means slower than the reference. */
  ratio?: number;
  /** The same ratio of CPU-time medians: a cross-check that other load on the machine barely moves. */
  cpuRatio?: number;
}

export interface GroupResult {
  /** File-name safe key, e.g. "map-dump-1000000". */
  id: string;
  scenario: string;
  title: string;
  description: string;
  /** How the chart shows it: total seconds, time per item, or bytes per second. */
  unit: "seconds" | "per-item" | "throughput";
  variants: VariantResult[];
  /** Highest 1-minute load average seen while the group ran (start or end). */
  loadAverage?: number;
  /**
   * Other runnable tasks (the kernel's procs_running less this process) read
   * before every sample, averaged: CPU competition while the group ran. Unlike
   * the load average it leaves out tasks asleep in the kernel (D state) and
   * the minutes-long tail of an earlier group's spike (50,000 threads starting).
   */
  othersRunnable?: number;
}

/**
 * Whether other work competed for the CPU while the group ran: on average more
 * other runnable tasks than cores beside the one the suite runs on. Runs made
 * before othersRunnable existed are judged by the load average (above the cores).
 */
export function groupBusy(
  g: Pick<GroupResult, "loadAverage" | "othersRunnable">,
  cores: number,
): boolean {
  if (g.othersRunnable !== undefined) return g.othersRunnable > cores - 1;
  return (g.loadAverage ?? 0) > cores;
}

export interface GoalResult {
  id: string;
  text: string;
  /** Measured ratio of wall-time medians, oriented as the goal states it (see `comparison`). */
  ratio?: number;
  /** The same ratio of CPU-time medians. */
  cpuRatio?: number;
  /** The goal judged on each ratio. */
  wallMet?: boolean;
  cpuMet?: boolean;
  /**
   * What `met` is judged on: wall time when the machine was quiet; CPU time when
   * other work kept it busy (load average above its core count), because then the
   * scheduler, not the code, decides much of the wall time.
   */
  basis?: "wall" | "cpu";
  /** The goal is about CPU time (what a scrape costs): judged on it whatever the load. */
  cpuGoal?: boolean;
  comparison: "at-most" | "at-least";
  target: number;
  /** `ratio`, `cpuRatio` and `target` are differences in seconds (numerator − denominator). */
  difference?: boolean;
  /** null when a side is not available in this run. */
  met: boolean | null;
  /** How the ratio is formed, e.g. "C iterator / mapElems raw". */
  formula: string;
  /** A side of the ratio is flagged as noisy. */
  noisy?: boolean;
  /**
   * The same ratio (on the same basis) for the fastest hand-written JavaScript
   * doing the numerator's work, and the goal judged on it: false says the
   * goal is out of JavaScript's reach on this Node.
   */
  floorRatio?: number;
  floorMet?: boolean;
  note?: string;
}

/** Where a run inside a virtual machine (`pnpm bench --vm <kernel>`) ran. */
export interface VmInfo {
  /** "tcg": QEMU's software emulation (every guest instruction translated); "kvm": hardware virtualization. */
  accel: "tcg" | "kvm";
  /** kernels.json name of the guest kernel, e.g. "6.12". */
  kernelName: string;
  /** The CPU, cores and kernel of the host QEMU ran on. */
  hostCpu: string;
  hostCores: number;
  hostKernel: string;
  vcpus: number;
  memoryMiB: number;
  /**
   * The host's 1-minute load average while the guest ran (sampled every 10 s).
   * The guest cannot see it, yet other work on the host stretches both its wall
   * and its CPU times (the vCPU threads lose the host CPU).
   */
  hostLoadAverage?: { mean: number; max: number };
}

export interface MachineInfo {
  /** The CPU model; for a guest, "QEMU TCG guest on <host CPU>". */
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  /** `uname -r` of the kernel measured (the guest's in a VM). */
  kernel: string;
  node: string;
  os: string;
  /** Set when the run was measured inside a QEMU guest. */
  vm?: VmInfo;
}

export interface RunResult {
  suite: "ts-ebpf bench";
  version: 1;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  repetitions: number;
  /** The repository commit measured (with "+dirty" for local changes), when git knows it. */
  commit?: string;
  machine: MachineInfo;
  groups: GroupResult[];
  goals: GoalResult[];
}
