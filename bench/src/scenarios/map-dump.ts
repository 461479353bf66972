// Scenario 1: dump a u32 -> u64 hash map of 10k, 100k and 1M entries, every
// way there is. The reference is the C reader of a bpf_map_elem iterator.
import { type Outcome, runGroup, tsSampler, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { cSampler } from "../native.js";
import type { BenchMap } from "../ts-api.js";
import { type Context, hashMap, MIB, needsMapElemIterator } from "./context.js";

export const BATCH_SIZE = 4096;

export async function mapDump(ctx: Context): Promise<GroupResult[]> {
  const groups: GroupResult[] = [];
  for (const entries of ctx.mapSizes) {
    ctx.progress.heading(`preparing a ${entries.toLocaleString("en-US")}-entry hash map`);
    const map = hashMap(ctx, entries);
    const ts = ctx.ts;
    let handle: BenchMap | undefined;
    let openError = ts.missing.openPinnedMap;
    if (ts.openPinnedMap) {
      try {
        handle = ts.openPinnedMap(map.path);
      } catch (e) {
        openError = `opening the pinned map failed: ${(e as Error).message}`;
      }
    }
    // The per-element loops take seconds at 1M entries: 5 repetitions are enough there.
    const slowReps = entries >= 1_000_000 ? Math.min(ctx.reps, 5) : ctx.reps;
    const tsSpec = (
      id: string,
      label: string,
      fn: ((m: BenchMap) => Promise<Outcome> | Outcome) | undefined,
      missing: string | undefined,
      extra: Partial<VariantSpec> = {},
    ): VariantSpec => {
      if (!fn) return { id, label, unavailable: missing ?? "not available yet" };
      if (!handle) return { id, label, unavailable: openError ?? "no map handle" };
      const h = handle;
      return { id, label, expectItems: entries, sampler: tsSampler(() => fn(h)), ...extra };
    };
    const verifyElems = ts.verifyMapElems;
    // The iterator variants need bpf_map_elem programs, which some kernels refuse.
    const iter = (spec: VariantSpec) => needsMapElemIterator(ctx, spec);
    const specs: VariantSpec[] = [
      iter({
        id: "c-iter",
        label: "C iterator reader",
        reference: true,
        expectItems: entries,
        note: "16-byte records, 1 MiB reads",
        sampler: cSampler("iter_map_dump", (reps) => [map.path, MIB, reps, 16]),
      }),
      iter({
        id: "c-iter-12",
        label: "C reader, mapElems' program",
        expectItems: entries,
        note: "two bpf_seq_write per element (12-byte records), 1 MiB reads",
        sampler: cSampler("iter_map_dump", (reps) => [map.path, MIB, reps, 12]),
      }),
      iter(
        tsSpec(
          "ts-map-elems-raw",
          "mapElems, raw bytes",
          ts.mapElemsRaw && ((m) => ts.mapElemsRaw!(m, MIB)),
          ts.missing.mapElemsRaw,
          {
            note: "mapElemsRaw(map, { chunkSize: 1 MiB })",
            ...(verifyElems && handle ? { verify: () => verifyElems(handle!) } : {}),
          },
        ),
      ),
      iter(
        tsSpec(
          "ts-map-elems-decoded",
          "mapElems, decoded records",
          ts.mapElemsDecoded,
          ts.missing.mapElemsDecoded,
          { note: "for (const [k, v] of await mapElems(map)): u32/u64 codecs, decoded as visited" },
        ),
      ),
      iter(
        tsSpec(
          "ts-map-elems-bytes",
          "mapElems, no codecs (bytes)",
          ts.mapElemsBytes,
          ts.missing.mapElemsBytes,
          { note: "a map opened without codecs: keys and values are views of one buffer" },
        ),
      ),
      iter(
        tsSpec(
          "ts-map-elems-array",
          "mapElems, materialised array",
          ts.mapElemsArray,
          ts.missing.mapElemsArray,
          { note: "(await mapElems(map)).toArray(): [number, bigint][]" },
        ),
      ),
      tsSpec(
        "ts-lookup-batch-raw",
        `TS MAP_LOOKUP_BATCH (${BATCH_SIZE}), raw`,
        ts.lookupBatchRaw && ((m) => ts.lookupBatchRaw!(m, BATCH_SIZE)),
        ts.missing.lookupBatchRaw,
        { note: "mapLookupBatch(), buffers reused, not decoded" },
      ),
      tsSpec(
        "ts-lookup-batch",
        `TS MAP_LOOKUP_BATCH (${BATCH_SIZE}), decoded`,
        ts.lookupBatchDecoded && ((m) => ts.lookupBatchDecoded!(m, BATCH_SIZE)),
        ts.missing.lookupBatchDecoded,
        { note: "Map.entriesBatch(4096)" },
      ),
      ts.nextKeyDump && handle
        ? {
            id: "ts-next-key",
            label: "TS GET_NEXT_KEY + LOOKUP_ELEM",
            expectItems: entries,
            reps: slowReps,
            note: "Map.entries()",
            // Warming up on part of the map is enough; a full walk takes seconds.
            sampler: tsSampler(
              () => ts.nextKeyDump!(handle!),
              undefined,
              undefined,
              () => ts.nextKeyDump!(handle!, 100_000),
            ),
          }
        : tsSpec(
            "ts-next-key",
            "TS GET_NEXT_KEY + LOOKUP_ELEM",
            undefined,
            ts.missing.nextKeyDump ?? openError,
          ),
      {
        id: "c-lookup-batch",
        label: `C MAP_LOOKUP_BATCH (${BATCH_SIZE})`,
        expectItems: entries,
        sampler: cSampler("batch_dump", (reps) => [map.path, reps, BATCH_SIZE]),
      },
      {
        id: "c-next-key",
        label: "C GET_NEXT_KEY + LOOKUP_ELEM",
        expectItems: entries,
        reps: slowReps,
        sampler: cSampler("nextkey_dump", (reps) => [map.path, reps]),
      },
    ];
    try {
      groups.push(
        await runGroup(
          ctx.progress,
          {
            id: `map-dump-${entries}`,
            scenario: "map-dump",
            title: `Dump a ${entries.toLocaleString("en-US")}-entry hash map (u32 → u64)`,
            description:
              `Read every element of a \`BPF_MAP_TYPE_HASH\` with ${entries.toLocaleString("en-US")} entries (u32 key, u64 value). ` +
              "Iterator variants create a link and an iterator fd in every repetition; the C readers also load their program every time, " +
              "mapElems loads its program once per process. The C reference writes one 16-byte record (key, padding, value) per element with " +
              "one `bpf_seq_write`; mapElems' program writes the key and the value with two (12 bytes). " +
              `Batch variants ask for ${BATCH_SIZE} elements per call. *Decoded* variants produce JavaScript numbers and bigints.`,
            unit: "seconds",
          },
          specs,
          ctx.reps,
        ),
      );
    } finally {
      handle?.close();
    }
  }
  return groups;
}
