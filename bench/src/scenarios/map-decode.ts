// Scenario (issue 17): the decode half of a map dump, judged where the kernel
// refuses bpf_map_elem programs. The largest map's elements are captured once
// (MAP_LOOKUP_BATCH, in the kernel's order) as the records mapElems' program
// writes (u32 key then u64 value, 12 bytes) into a file on tmpfs; C and
// TypeScript then read that file the way they read an iterator (one buffer
// sized for the whole output, 1 MiB reads) and visit every element. The page
// cache stands in for the kernel producing the records, which costs far more
// in a real dump: these ratios are stricter than the dump's.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runGroup, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { cSampler } from "../native.js";
import type { BenchMap, DecodeMode } from "../ts-api.js";
import { type Context, hashMap, MIB } from "./context.js";
import { BATCH_SIZE } from "./map-dump.js";
import { warmedTsSampler } from "./warm-sampler.js";

export async function mapDecode(ctx: Context): Promise<GroupResult[]> {
  const entries = ctx.mapSizes[ctx.mapSizes.length - 1]!;
  const ts = ctx.ts;
  ctx.progress.heading(
    `capturing the records of a ${entries.toLocaleString("en-US")}-entry hash map`,
  );
  const map = hashMap(ctx, entries);
  if (!ts.openPinnedMap || !ts.captureRecords || !ts.decodeRecordsFile) {
    ctx.progress.note("map-decode: the TypeScript side is not available in this checkout");
    return [];
  }
  const handle: BenchMap = ts.openPinnedMap(map.path);
  const dir = mkdtempSync(join("/dev/shm", "ts-ebpf-bench-decode-"));
  try {
    const file = join(dir, "records.bin");
    const records = ts.captureRecords(handle);
    if (records.length !== entries * 12) {
      throw new Error(`captured ${records.length / 12} records, the map holds ${entries}`);
    }
    writeFileSync(file, records);
    const decode = ts.decodeRecordsFile;
    const ts1 = (id: string, label: string, mode: DecodeMode, note: string): VariantSpec => ({
      id,
      label,
      expectItems: entries,
      note,
      sampler: warmedTsSampler(() => decode(file, records.length, mode)),
    });
    const specs: VariantSpec[] = [
      {
        id: "c-decode",
        label: "C: read + visit every element",
        reference: true,
        expectItems: entries,
        note: "one buffer, 1 MiB read()s, key and value of each record folded into a checksum",
        sampler: cSampler("decode_records", (reps) => [file, MIB, reps]),
      },
      ts1(
        "ts-decode-raw",
        "raw bytes",
        "raw",
        "IteratorReader.readAll({ sizeHint }): mapElemsRaw's path",
      ),
      ts1(
        "ts-decode-raw-reused",
        "raw bytes, buffer reused",
        "raw-reused",
        "readAll({ into }): mapElemsRaw(map, { into: earlier.bytes })",
      ),
      ts1(
        "ts-decode-raw-sync",
        "raw bytes, buffer reused, read synchronously",
        "raw-sync",
        "readAllSync({ into }): mapElemsRawSync(map, { into }), read() on this thread as C does",
      ),
      ts1(
        "ts-decode-records",
        "u32/u64 records, every element visited",
        "records",
        "for (const [k, v] of decodeMapElems(map, raw)): mapElems' path",
      ),
      ts1(
        "ts-decode-records-each",
        "u32/u64 records, forEach((k, v) => ...)",
        "records-each",
        "the same visit through MapElements.forEach: no [k, v] array or iterator result per element",
      ),
      ts1(
        "ts-decode-bytes",
        "no codecs (bytes), every element visited",
        "bytes",
        "views of the shared buffer, first byte of key and value read",
      ),
      ts1(
        "ts-decode-bytes-each",
        "no codecs (bytes), forEach((k, v) => ...)",
        "bytes-each",
        "the same visit through MapElements.forEach",
      ),
      ts1("ts-decode-array", "materialised [key, value][]", "array", ".toArray()"),
      // The floors: the same read, then the fastest hand-written loop for the same values.
      ts1(
        "js-floor-records",
        "JS floor: for (const [k, v] of ...), smallest iterator",
        "floor-records",
        "no library code: a class whose next() reads key and value with DataView getters (BigInt of the low word first on V8 < 13)",
      ),
      ts1(
        "js-flat-records",
        "JS without an API: one flat loop",
        "flat-records",
        "no library code, no iterator: keys from a Uint32Array, values through BigUint64Array views (the records copied once, 4 bytes on); V8 keeps most bigints unboxed, which no API handing out values allows",
      ),
      ts1(
        "js-floor-bytes",
        "JS floor: two Uint8Array views per element",
        "floor-bytes",
        "no library code: new Uint8Array(buffer, offset, length) for key and value, first byte of each read",
      ),
      ts1(
        "js-floor-array",
        "JS floor: a pre-sized [number, bigint][]",
        "floor-array",
        "no library code: one pair per element, values as in the records floor",
      ),
      ts1("ts-decode-columns", "typed-array columns", "columns", "keyColumn() + valueColumn()"),
      ts.lookupBatchDecoded
        ? {
            id: "ts-lookup-batch",
            label: `TS Map.entriesBatch(${BATCH_SIZE}), decoded`,
            expectItems: entries,
            note: "from the map itself (kernel work included)",
            sampler: warmedTsSampler(() => ts.lookupBatchDecoded!(handle, BATCH_SIZE)),
          }
        : { id: "ts-lookup-batch", label: "TS Map.entriesBatch", unavailable: "not available" },
    ];
    return [
      await runGroup(
        ctx.progress,
        {
          id: "map-decode",
          scenario: "map-decode",
          title: `Decode a captured ${entries.toLocaleString("en-US")}-element dump (u32 → u64)`,
          description:
            `The records of the ${entries.toLocaleString("en-US")}-entry hash map as mapElems' program writes them (12 bytes each), ` +
            "captured once into a file on tmpfs and read back like an iterator's output (one buffer, 1 MiB reads), then every element visited. " +
            "This judges the decode goals on kernels that refuse bpf_map_elem programs: the page cache replaces the kernel's " +
            "iteration, which costs more in a real dump, so these ratios are stricter than a dump's. Map.entriesBatch reads the map itself. " +
            "The JS floors read the same way, then make the same values in the fastest hand-written loop, without library code: " +
            "what any JavaScript API handing out those values pays at least, on this Node. " +
            "Each TypeScript sample is timed right after an untimed call, as the C reader times a repetition right after its warm-up.",
          unit: "seconds",
        },
        specs,
        ctx.reps,
      ),
    ];
  } finally {
    handle.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
