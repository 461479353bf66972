// Timing TypeScript variants in this process, and turning any variant (C or
// TypeScript, available or not) into a VariantResult with a progress line.
import { formatRatio, formatSeconds } from "./format.js";
import type { GroupResult, VariantResult } from "./model.js";
import type { Progress } from "./progress.js";
import { summarize } from "./stats.js";

export interface Outcome {
  /** Elements handled (records, tasks, calls); checked to be the same every time. */
  items: number;
  bytes?: number;
}

export interface Timed {
  samples: number[];
  /** Items of each timed repetition. */
  itemCounts: number[];
  bytes?: number;
}

export type OnSample = (done: number, seconds: number) => void;

const gc = (globalThis as { gc?: () => void }).gc;

/** One untimed warm-up, then `reps` timed runs, each after a full GC (when exposed). */
export async function timeTs(
  reps: number,
  fn: () => Promise<Outcome> | Outcome,
  onSample?: OnSample,
  warmups = 1,
): Promise<Timed> {
  for (let i = 0; i < warmups; i++) await fn();
  const samples: number[] = [];
  const itemCounts: number[] = [];
  let bytes: number | undefined;
  for (let i = 0; i < reps; i++) {
    gc?.();
    const t0 = process.hrtime.bigint();
    const out = await fn();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    samples.push(seconds);
    itemCounts.push(out.items);
    bytes ??= out.bytes;
    onSample?.(i + 1, seconds);
  }
  return { samples, itemCounts, ...(bytes !== undefined ? { bytes } : {}) };
}

export interface VariantSpec {
  id: string;
  label: string;
  reference?: boolean;
  /** Set when the variant cannot run in this checkout (e.g. its package has not landed). */
  unavailable?: string;
  /** Items every correct run must report (e.g. the map's entry count). */
  expectItems?: number;
  /** Allow the item count to differ between repetitions (tasks come and go). */
  itemsMayVary?: boolean;
  note?: string;
  /** Checked once, untimed, before the repetitions (e.g. the decoded values are right). */
  verify?: () => Promise<void> | void;
  run?: (reps: number, onSample: OnSample) => Promise<Timed>;
}

export async function runVariant(
  progress: Progress,
  spec: VariantSpec,
  reps: number,
): Promise<VariantResult> {
  const base = {
    id: spec.id,
    label: spec.label,
    samples: [] as number[],
    ...(spec.reference ? { reference: true } : {}),
  };
  progress.start(spec.label, reps);
  if (spec.unavailable !== undefined || !spec.run) {
    const note = spec.unavailable ?? "not available yet";
    progress.finish(`not available yet (${note})`);
    return { ...base, status: "unavailable", note };
  }
  try {
    await spec.verify?.();
    const t = await spec.run(reps, (done, s) => progress.tick(done, s));
    const counts = [...new Set(t.itemCounts)];
    if (counts.length > 1 && !spec.itemsMayVary) {
      throw new Error(`item count changed between repetitions: ${counts.join(", ")}`);
    }
    const items = summarize(t.itemCounts).median;
    if (spec.expectItems !== undefined && items !== spec.expectItems) {
      throw new Error(`expected ${spec.expectItems} items, got ${items}`);
    }
    const summary = summarize(t.samples);
    progress.finish(
      `${formatSeconds(summary.median)} (min ${formatSeconds(summary.min)}, max ${formatSeconds(
        summary.max,
      )})${summary.noisy ? " NOISY" : ""}`,
    );
    return {
      ...base,
      status: "ok",
      samples: t.samples,
      items,
      ...(t.bytes !== undefined ? { bytes: t.bytes } : {}),
      summary,
      ...(spec.note ? { note: spec.note } : {}),
    };
  } catch (e) {
    const note = (e as Error).message.split("\n")[0]!;
    progress.finish(`FAILED: ${note}`);
    return { ...base, status: "failed", note };
  }
}

/** Fills in each variant's ratio to the group's reference (when both ran). */
export function withRatios(group: GroupResult): GroupResult {
  const ref = group.variants.find((v) => v.reference);
  if (!ref?.summary) return group;
  for (const v of group.variants) {
    if (v.summary) v.ratio = v.summary.median / ref.summary.median;
  }
  return group;
}

export async function runGroup(
  progress: Progress,
  head: Omit<GroupResult, "variants">,
  specs: VariantSpec[],
  reps: number,
): Promise<GroupResult> {
  progress.heading(head.title);
  const variants: VariantResult[] = [];
  for (const spec of specs) variants.push(await runVariant(progress, spec, reps));
  const group = withRatios({ ...head, variants });
  const ref = group.variants.find((v) => v.reference);
  for (const v of group.variants) {
    if (v !== ref && v.ratio !== undefined) {
      progress.note(`${v.label}: ${formatRatio(v.ratio)} the reference time`);
    }
  }
  return group;
}
