// Scenario 4: the cost of one bpf(2) MAP_LOOKUP_ELEM from TypeScript
// (argument checks, attr encoding, the N-API crossing) against C.
import { type Outcome, runGroup, tsSampler, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { cSampler } from "../native.js";
import type { BenchMap } from "../ts-api.js";
import { type Context, hashMap } from "./context.js";

export async function lookupElem(ctx: Context): Promise<GroupResult[]> {
  const entries = ctx.mapSizes[ctx.mapSizes.length - 1]!;
  const map = hashMap(ctx, entries);
  const calls = ctx.lookupCalls;
  const ts = ctx.ts;
  const handle = ts.openPinnedMap?.(map.path);
  const tsSpec = (
    id: string,
    label: string,
    fn: ((m: BenchMap, entries: number, calls: number) => Outcome) | undefined,
    missing: string | undefined,
    note: string,
  ): VariantSpec =>
    fn && handle
      ? {
          id,
          label,
          note,
          expectItems: calls,
          sampler: tsSampler(() => fn(handle, entries, calls)),
        }
      : { id, label, unavailable: missing ?? ts.missing.openPinnedMap ?? "not available yet" };
  const specs: VariantSpec[] = [
    {
      id: "c-lookup",
      label: "C MAP_LOOKUP_ELEM",
      reference: true,
      expectItems: calls,
      sampler: cSampler("lookup_loop", (reps) => [map.path, entries, calls, reps]),
    },
    tsSpec(
      "ts-lookup",
      "TS Map.get()",
      ts.lookupLoop,
      ts.missing.lookupLoop,
      "u32 key codec, u64 value codec (bigint)",
    ),
    tsSpec(
      "ts-lookup-command",
      "TS mapLookupElem()",
      ts.lookupLoopCommand,
      ts.missing.lookupLoopCommand,
      "command function, caller's buffers",
    ),
  ];
  try {
    return [
      await runGroup(
        ctx.progress,
        {
          id: "lookup-elem",
          scenario: "lookup-elem",
          title: "Per-call syscall cost: MAP_LOOKUP_ELEM",
          description:
            `${calls.toLocaleString("en-US")} single-element lookups of existing keys in the ${entries.toLocaleString("en-US")}-entry hash map, one bpf(2) call each, ` +
            "shown per call.",
          unit: "per-item",
        },
        specs,
        ctx.reps,
      ),
    ];
  } finally {
    handle?.close();
  }
}
