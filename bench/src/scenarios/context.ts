// What every scenario gets: run mode, repetitions, progress display, the
// TypeScript capabilities available in this checkout, and the shared maps.
import { createPinnedHashMap, type PinnedHashMap } from "../maps.js";
import type { VariantSpec } from "../measure.js";
import type { Progress } from "../progress.js";
import type { TsApi } from "../ts-api.js";

export interface Context {
  quick: boolean;
  /** Timed repetitions per variant (slow variants may use fewer, never below 5 in a full run). */
  reps: number;
  progress: Progress;
  ts: TsApi;
  /** Hash map sizes the dump scenarios use, smallest first. */
  mapSizes: number[];
  /** Extra processes alive during the task scenario. */
  extraProcesses: number;
  /** Extra processes alive during the query scenario (issue 19: 1% of 10,000). */
  queryProcesses: number;
  /** Chunk sizes of the chunk-size scenario. */
  chunkSizes: number[];
  /** Single-element lookups per repetition in the per-call scenario. */
  lookupCalls: number;
  /** Instructions assembled per repetition in the DSL scenario. */
  dslInstructions: number;
  maps: Map<number, PinnedHashMap>;
  /**
   * Why this kernel cannot run bpf_map_elem iterator programs (probed once at
   * start), e.g. "this kernel refuses bpf_map_elem iterator programs (EPERM
   * as root: security policy)"; undefined when it can.
   */
  mapElemUnavailable?: string;
}

/**
 * `spec`, or, when the kernel cannot run bpf_map_elem iterator programs, the
 * same variant marked unavailable for that reason (C readers included).
 */
export function needsMapElemIterator(ctx: Context, spec: VariantSpec): VariantSpec {
  if (ctx.mapElemUnavailable === undefined) return spec;
  return {
    id: spec.id,
    label: spec.label,
    ...(spec.reference ? { reference: true } : {}),
    unavailable: ctx.mapElemUnavailable,
    missing: "kernel",
  };
}

/** The pinned map with `entries` elements, created on first use. */
export function hashMap(ctx: Context, entries: number): PinnedHashMap {
  let m = ctx.maps.get(entries);
  if (!m) {
    m = createPinnedHashMap(entries);
    ctx.maps.set(entries, m);
  }
  return m;
}

export const RECORD_SIZE = 16;
export const MIB = 1024 * 1024;
