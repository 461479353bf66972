// Scenario 1: dump a u32 -> u64 hash map of 10k, 100k and 1M entries, six
// ways. The reference is the C reader of the same bpf_map_elem iterator.

import { type Outcome, runGroup, timeTs, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { runC } from "../native.js";
import type { TsMap } from "../ts-api.js";
import { type Context, hashMap, MIB, RECORD_SIZE } from "./context.js";

export const BATCH_SIZE = 4096;

export async function mapDump(ctx: Context): Promise<GroupResult[]> {
  const groups: GroupResult[] = [];
  for (const entries of ctx.mapSizes) {
    ctx.progress.heading(`preparing a ${entries.toLocaleString("en-US")}-entry hash map`);
    const map = hashMap(ctx, entries);
    const ts = ctx.ts;
    let handle: TsMap | undefined;
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
      fn: ((m: TsMap) => Promise<Outcome> | Outcome) | undefined,
      missing: string | undefined,
      reps = ctx.reps,
    ): VariantSpec => {
      if (!fn) return { id, label, unavailable: missing ?? "not available yet" };
      if (!handle) return { id, label, unavailable: openError ?? "no map handle" };
      const h = handle;
      return {
        id,
        label,
        expectItems: entries,
        run: (_reps, onSample) => timeTs(reps, () => fn(h), onSample),
      };
    };
    const specs: VariantSpec[] = [
      {
        id: "c-iter",
        label: "C iterator reader",
        reference: true,
        expectItems: entries,
        note: "load + link + read, 1 MiB chunks",
        run: async (reps, onSample) => {
          const r = await runC("iter_map_dump", [map.path, MIB, reps], onSample);
          return { ...r, bytes: entries * RECORD_SIZE };
        },
      },
      tsSpec(
        "ts-map-elems-raw",
        "mapElems, raw bytes",
        ts.mapElemsRaw && ((m) => ts.mapElemsRaw!(m, MIB)),
        ts.missing.mapElemsRaw,
      ),
      tsSpec(
        "ts-map-elems-decoded",
        "mapElems, decoded records",
        ts.mapElemsDecoded,
        ts.missing.mapElemsDecoded,
      ),
      tsSpec(
        "ts-lookup-batch",
        `TS MAP_LOOKUP_BATCH (${BATCH_SIZE})`,
        ts.lookupBatchDump && ((m) => ts.lookupBatchDump!(m, BATCH_SIZE)),
        ts.missing.lookupBatchDump,
      ),
      tsSpec(
        "ts-next-key",
        "TS GET_NEXT_KEY + LOOKUP_ELEM",
        ts.nextKeyDump,
        ts.missing.nextKeyDump,
        slowReps,
      ),
      {
        id: "c-lookup-batch",
        label: `C MAP_LOOKUP_BATCH (${BATCH_SIZE})`,
        expectItems: entries,
        run: (reps, onSample) => runC("batch_dump", [map.path, reps, BATCH_SIZE], onSample),
      },
      {
        id: "c-next-key",
        label: "C GET_NEXT_KEY + LOOKUP_ELEM",
        expectItems: entries,
        run: (_reps, onSample) => runC("nextkey_dump", [map.path, slowReps], onSample),
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
              `Read every element of a \`BPF_MAP_TYPE_HASH\` with ${entries.toLocaleString("en-US")} entries. ` +
              "Iterator variants include loading the program and creating the link in every repetition; " +
              "the iterator writes one 16-byte record (key, padding, value) per element with `bpf_seq_write`. " +
              `Batch variants ask for ${BATCH_SIZE} elements per call.`,
            unit: "seconds",
          },
          specs,
          ctx.reps,
        ),
      );
    } finally {
      handle?.[Symbol.dispose]();
    }
  }
  return groups;
}
