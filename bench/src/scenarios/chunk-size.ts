// Scenario 3: how the read() size changes the throughput of one large
// iterator dump, for the C reader and for mapElems.

import { formatBytes } from "../format.js";
import { runGroup, timeTs, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { runC } from "../native.js";
import { type Context, hashMap, RECORD_SIZE } from "./context.js";

export async function chunkSizes(ctx: Context): Promise<GroupResult[]> {
  const entries = ctx.mapSizes[ctx.mapSizes.length - 1]!;
  const map = hashMap(ctx, entries);
  const ts = ctx.ts;
  const handle = ts.openPinnedMap ? ts.openPinnedMap(map.path) : undefined;
  const bytes = entries * RECORD_SIZE;
  const largest = ctx.chunkSizes[ctx.chunkSizes.length - 1]!;
  const specs: VariantSpec[] = [];
  for (const chunk of ctx.chunkSizes) {
    specs.push({
      id: `c-${chunk}`,
      label: `C reader, ${formatBytes(chunk)} reads`,
      expectItems: entries,
      ...(chunk === largest ? { reference: true } : {}),
      run: async (reps, onSample) => ({
        ...(await runC("iter_map_dump", [map.path, chunk, reps], onSample)),
        bytes,
      }),
    });
  }
  for (const chunk of ctx.chunkSizes) {
    const id = `ts-${chunk}`;
    const label = `mapElems raw, ${formatBytes(chunk)} reads`;
    if (!ts.mapElemsRaw || !handle) {
      specs.push({
        id,
        label,
        unavailable: ts.missing.mapElemsRaw ?? ts.missing.openPinnedMap ?? "not available yet",
      });
      continue;
    }
    const h = handle;
    const read = ts.mapElemsRaw;
    specs.push({
      id,
      label,
      expectItems: entries,
      run: (reps, onSample) => timeTs(reps, () => read(h, chunk), onSample),
    });
  }
  try {
    return [
      await runGroup(
        ctx.progress,
        {
          id: "chunk-size",
          scenario: "chunk-size",
          title: `Iterator read size: dumping ${entries.toLocaleString("en-US")} elements`,
          description:
            `The ${entries.toLocaleString("en-US")}-entry map dump (${formatBytes(bytes)} of records, program load and link included) ` +
            "read with different read() sizes. Throughput is record bytes per second of the whole dump.",
          unit: "throughput",
        },
        specs,
        ctx.reps,
      ),
    ];
  } finally {
    handle?.[Symbol.dispose]();
  }
}
