// Scenario 4: the cost of one bpf(2) MAP_LOOKUP_ELEM from TypeScript
// (argument checks, attr encoding, the N-API crossing) against C.

import { runGroup, timeTs, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { runC } from "../native.js";
import { type Context, hashMap } from "./context.js";

export async function lookupElem(ctx: Context): Promise<GroupResult[]> {
  const entries = ctx.mapSizes[ctx.mapSizes.length - 1]!;
  const map = hashMap(ctx, entries);
  const calls = ctx.lookupCalls;
  const ts = ctx.ts;
  const handle = ts.openPinnedMap ? ts.openPinnedMap(map.path) : undefined;
  const lookup = ts.lookupLoop;
  const specs: VariantSpec[] = [
    {
      id: "c-lookup",
      label: "C MAP_LOOKUP_ELEM",
      reference: true,
      expectItems: calls,
      run: (reps, onSample) => runC("lookup_loop", [map.path, entries, calls, reps], onSample),
    },
    lookup && handle
      ? {
          id: "ts-lookup",
          label: "TS MAP_LOOKUP_ELEM",
          expectItems: calls,
          run: (reps, onSample) => timeTs(reps, () => lookup(handle, entries, calls), onSample),
        }
      : {
          id: "ts-lookup",
          label: "TS MAP_LOOKUP_ELEM",
          unavailable: ts.missing.lookupLoop ?? ts.missing.openPinnedMap ?? "not available yet",
        },
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
            `${calls.toLocaleString("en-US")} single-element lookups of existing keys in the ${entries.toLocaleString("en-US")}-entry hash map, one bpf(2) call each. ` +
            "Shown per call.",
          unit: "per-item",
        },
        specs,
        ctx.reps,
      ),
    ];
  } finally {
    handle?.[Symbol.dispose]();
  }
}
