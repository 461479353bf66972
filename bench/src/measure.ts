// Taking samples and turning them into VariantResults.
//
// A group's variants are measured in interleaved rounds (one sample of each
// variant per round, the order rotating) rather than one variant after the
// other: on a shared machine the load changes over minutes, and interleaving
// exposes every variant to the same conditions, so the ratios between them
// stay meaningful even when the absolute times drift.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { formatRatio, formatSeconds } from "./format.js";
import type { GroupResult, VariantResult } from "./model.js";
import type { Progress } from "./progress.js";
import { unavailableText } from "./report.js";
import { summarize } from "./stats.js";

export interface Outcome {
  /** Elements handled (records, tasks, calls, instructions). */
  items: number;
  bytes?: number;
}

export interface Sample extends Outcome {
  /** Wall time. */
  seconds: number;
  /** CPU time of the whole process (all threads, user + system) over the same span. */
  cpuSeconds: number;
}

/**
 * The sample of median wall time among `samples` (an odd count gives the
 * middle one): one sample made of several back-to-back repetitions, so a
 * millisecond-long call is not judged by one run of it.
 */
export function medianSample(samples: readonly Sample[]): Sample {
  if (samples.length === 0) throw new Error("no samples to take the median of");
  return [...samples].sort((a, b) => a.seconds - b.seconds)[(samples.length - 1) >> 1]!;
}

/** Takes one timed sample per call; prepared once per variant and group. */
export interface Sampler {
  sample(): Promise<Sample>;
  close?(): void;
}

const gc = (globalThis as { gc?: () => void }).gc;
const SETTLE_MS = 50;

/** One call of `fn`, its wall and CPU time (user + system, all threads) with its outcome. */
export async function timedCall(fn: () => Promise<Outcome> | Outcome): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, ...out };
}

/**
 * Times `fn` in this process: one untimed warm-up when prepared (`fn` itself
 * unless a cheaper `warmup` is given); before each
 * sample, `before` (untimed, e.g. to restore a warm state another variant's
 * sample undid) and a full GC when --expose-gc is on.
 */
export function tsSampler(
  fn: () => Promise<Outcome> | Outcome,
  close?: () => void,
  before?: () => Promise<unknown> | unknown,
  warmup: () => Promise<unknown> | unknown = fn,
): () => Promise<Sampler> {
  return async () => {
    await warmup();
    return {
      async sample() {
        await before?.();
        gc?.();
        // Let V8's concurrent sweeping of the previous variant's garbage finish
        // outside the timed span: it would count in this sample's CPU time.
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        return timedCall(fn);
      },
      ...(close ? { close } : {}),
    };
  };
}

export interface VariantSpec {
  id: string;
  label: string;
  reference?: boolean;
  /** Set when the variant cannot run here: why (its package's API is missing, the kernel refuses what it needs). */
  unavailable?: string;
  /** What `unavailable` lacks: "kernel" (this kernel cannot run it) or "api" (the default). */
  missing?: "kernel" | "api";
  /** Items every correct sample must report (e.g. the map's entry count). */
  expectItems?: number;
  /** Allow the item count to differ between samples (tasks come and go). */
  itemsMayVary?: boolean;
  /** Fewer samples than the group's (slow variants); never below 5 in a full run. */
  reps?: number;
  note?: string;
  /** Checked once, untimed, before sampling (e.g. the decoded values are right). */
  verify?: () => Promise<void> | void;
  sampler?: () => Promise<Sampler>;
}

interface Running {
  spec: VariantSpec;
  sampler?: Sampler;
  samples: Sample[];
  error?: string;
  reps: number;
}

function checkSample(spec: VariantSpec, s: Sample, first: Sample | undefined): void {
  if (spec.expectItems !== undefined && s.items !== spec.expectItems) {
    throw new Error(`expected ${spec.expectItems} items, got ${s.items}`);
  }
  if (first && !spec.itemsMayVary && s.items !== first.items) {
    throw new Error(`item count changed between samples: ${first.items} then ${s.items}`);
  }
}

function toResult(r: Running): VariantResult {
  const { spec } = r;
  const base = {
    id: spec.id,
    label: spec.label,
    ...(spec.reference ? { reference: true } : {}),
  };
  if (spec.unavailable !== undefined || !spec.sampler) {
    return {
      ...base,
      status: "unavailable",
      note: spec.unavailable ?? "not available yet",
      missing: spec.missing ?? "api",
      samples: [],
    };
  }
  if (r.error !== undefined || r.samples.length === 0) {
    return { ...base, status: "failed", note: r.error ?? "no samples", samples: [] };
  }
  const samples = r.samples.map((s) => s.seconds);
  const bytes = r.samples[0]!.bytes;
  return {
    ...base,
    status: "ok",
    samples,
    items: summarize(r.samples.map((s) => s.items)).median,
    ...(bytes !== undefined ? { bytes } : {}),
    summary: summarize(samples),
    cpuSamples: r.samples.map((s) => s.cpuSeconds),
    cpuSummary: summarize(r.samples.map((s) => s.cpuSeconds)),
    ...(spec.note ? { note: spec.note } : {}),
  };
}

/** Fills in each variant's wall and CPU ratios to the group's reference (when both ran). */
export function withRatios(group: GroupResult): GroupResult {
  const ref = group.variants.find((v) => v.reference);
  if (!ref?.summary) return group;
  for (const v of group.variants) {
    if (v.summary) v.ratio = v.summary.median / ref.summary.median;
    if (v.cpuSummary && ref.cpuSummary && ref.cpuSummary.median > 0) {
      v.cpuRatio = v.cpuSummary.median / ref.cpuSummary.median;
    }
  }
  return group;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}

/** Runnable tasks other than this process (procs_running of /proc/stat, less one), or undefined. */
export function othersRunnableNow(stat?: string): number | undefined {
  let text = stat;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/stat", "latin1");
    } catch {
      return undefined;
    }
  }
  const m = /^procs_running (\d+)$/m.exec(text);
  return m ? Math.max(0, Number(m[1]) - 1) : undefined;
}

export async function runGroup(
  progress: Progress,
  head: Omit<GroupResult, "variants">,
  specs: VariantSpec[],
  reps: number,
): Promise<GroupResult> {
  progress.heading(head.title);
  const loadBefore = loadavg()[0]!;
  const running: Running[] = specs.map((spec) => ({ spec, samples: [], reps: spec.reps ?? reps }));
  const total = running.reduce(
    (n, r) => n + (r.spec.sampler && !r.spec.unavailable ? r.reps : 0),
    0,
  );
  let done = 0;
  let othersSum = 0;
  let othersReads = 0;
  try {
    for (const r of running) {
      if (r.spec.unavailable !== undefined || !r.spec.sampler) continue;
      progress.status(`[0/${total}] ${r.spec.label}: checking and warming up`);
      try {
        await r.spec.verify?.();
        r.sampler = await r.spec.sampler();
      } catch (e) {
        r.error = firstLine(e);
      }
    }
    // No rounds when nothing can be sampled (every variant unavailable).
    const rounds = total === 0 ? 0 : Math.max(0, ...running.map((r) => r.reps));
    for (let round = 0; round < rounds; round++) {
      // Rotate the order so no variant always runs right after the same one.
      const order = running.map((_, i) => running[(i + round) % running.length]!);
      for (const r of order) {
        if (!r.sampler || r.error !== undefined || r.samples.length >= r.reps) continue;
        progress.status(`[${done}/${total}] round ${round + 1}/${rounds} ${r.spec.label} …`);
        const others = othersRunnableNow();
        if (others !== undefined) {
          othersSum += others;
          othersReads++;
        }
        try {
          const s = await r.sampler.sample();
          checkSample(r.spec, s, r.samples[0]);
          r.samples.push(s);
        } catch (e) {
          r.error = firstLine(e);
        }
        done++;
        const last = r.samples[r.samples.length - 1];
        if (last)
          progress.status(
            `[${done}/${total}] round ${round + 1}/${rounds} ${r.spec.label} ${formatSeconds(last.seconds)}`,
          );
      }
      progress.round(round + 1, rounds, done, total);
    }
  } finally {
    for (const r of running) r.sampler?.close?.();
  }
  const loadAverage = Math.round(Math.max(loadBefore, loadavg()[0]!) * 100) / 100;
  const othersRunnable =
    othersReads > 0 ? Math.round((othersSum / othersReads) * 100) / 100 : undefined;
  const group = withRatios({
    ...head,
    variants: running.map(toResult),
    loadAverage,
    ...(othersRunnable !== undefined ? { othersRunnable } : {}),
  });
  for (const v of group.variants) {
    if (v.status === "unavailable") progress.result(v.label, unavailableText(v));
    else if (v.status === "failed") progress.result(v.label, `FAILED: ${v.note}`);
    else {
      const s = v.summary!;
      const ratio = v.reference
        ? " · reference"
        : v.ratio !== undefined
          ? ` · ${formatRatio(v.ratio)}`
          : "";
      progress.result(
        v.label,
        `${formatSeconds(s.median)} (${formatSeconds(s.min)} – ${formatSeconds(s.max)}, n=${s.n})${ratio}${s.noisy ? " · NOISY" : ""}`,
      );
    }
  }
  return group;
}
