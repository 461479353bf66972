// Scenario 3: how the read() size changes the throughput of one large
// iterator dump, for the C reader and for mapElems.
import { formatBytes } from "../format.js";
import { runGroup, tsSampler, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { cSampler } from "../native.js";
import { MAP_RECORD_BYTES } from "../ts-api.js";
import { type Context, hashMap, needsMapElemIterator } from "./context.js";

export async function chunkSizes(ctx: Context): Promise<GroupResult[]> {
  const entries = ctx.mapSizes[ctx.mapSizes.length - 1]!;
  // Every variant reads a bpf_map_elem iterator: no map to fill when the kernel refuses them.
  const runnable = ctx.mapElemUnavailable === undefined;
  const map = runnable ? hashMap(ctx, entries) : { path: "" };
  const ts = ctx.ts;
  const handle = runnable ? ts.openPinnedMap?.(map.path) : undefined;
  const largest = ctx.chunkSizes[ctx.chunkSizes.length - 1]!;
  const specs: VariantSpec[] = [];
  for (const chunk of ctx.chunkSizes) {
    specs.push(
      needsMapElemIterator(ctx, {
        id: `c-${chunk}`,
        label: `C reader, ${formatBytes(chunk)} reads`,
        expectItems: entries,
        ...(chunk === largest ? { reference: true } : {}),
        sampler: cSampler(
          "iter_map_dump",
          (reps) => [map.path, chunk, reps, MAP_RECORD_BYTES],
          entries * MAP_RECORD_BYTES,
        ),
      }),
    );
  }
  for (const chunk of ctx.chunkSizes) {
    const id = `ts-${chunk}`;
    const label = `mapElems raw, ${formatBytes(chunk)} reads`;
    const read = ts.mapElemsRaw;
    if (!runnable) {
      specs.push(needsMapElemIterator(ctx, { id, label }));
      continue;
    }
    if (!read || !handle) {
      specs.push({
        id,
        label,
        unavailable: ts.missing.mapElemsRaw ?? ts.missing.openPinnedMap ?? "not available yet",
      });
      continue;
    }
    specs.push({
      id,
      label,
      expectItems: entries,
      sampler: tsSampler(() => read(handle, chunk)),
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
            `The ${entries.toLocaleString("en-US")}-entry map dumped with mapElems' program (12-byte records, ` +
            `${formatBytes(entries * MAP_RECORD_BYTES)} in all), read with different read() sizes, link and iterator fd created every time. ` +
            "Throughput is record bytes per second of the whole dump. One read() returns at most the iterator's seq buffer " +
            "(8 pages: 32,760 bytes of 12-byte records here), so sizes above 32 KiB only change how much is asked for.",
          unit: "throughput",
        },
        specs,
        ctx.reps,
      ),
    ];
  } finally {
    handle?.close();
  }
}
