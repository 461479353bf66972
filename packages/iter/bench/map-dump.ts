// Dump of a 1,000,000-entry hash map (u32 -> u64) through mapElems (the
// bpf_map_elem iterator), raw bytes and decoded, against MAP_LOOKUP_BATCH and
// the GET_NEXT_KEY + LOOKUP_ELEM loop from TypeScript, measured in the same run.
// Not a test: prints figures and ratios.
// Run (root): pnpm --filter @ts-ebpf/iter bench [entries]

import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { closeBuiltins, decodeMapElems, mapElems, mapElemsRaw } from "@ts-ebpf/iter";
import { BpfMap, BpfMapType, codecs } from "@ts-ebpf/syscall";

const N = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = 7;
// The C reference reader of the benchmark suite (bench/c/iter_map_dump.c), when built:
// the same two-seq_write program, program load included, 1 MiB reads.
const C_READER = fileURLToPath(new URL("../../../../bench/build/c/iter_map_dump", import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  using map = BpfMap.create({
    type: BpfMapType.HASH,
    keySize: 4,
    valueSize: 8,
    maxEntries: N,
    name: "bench_map_dump",
    key: codecs.u32,
    value: codecs.u64,
  });
  const entries: Array<[number, bigint]> = [];
  for (let i = 0; i < N; i++) entries.push([i, BigInt(i) * 7n]);
  map.updateBatch(entries);
  console.log(`map: hash u32 -> u64, ${N} entries; node ${process.version}`);

  const timeOnce = async (fn: () => Promise<number> | number): Promise<[number, number]> => {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = process.hrtime.bigint();
    const n = await fn();
    return [Number(process.hrtime.bigint() - t0) / 1e6, n];
  };
  const raw = async () => (await mapElemsRaw(map)).length / 12;
  const decoded = async () => {
    const e = await mapElems(map);
    let sum = 0n;
    for (const [, v] of e) sum += v;
    if (sum !== (7n * BigInt(N) * BigInt(N - 1)) / 2n) throw new Error("wrong values");
    return e.length;
  };
  const batch = () => {
    let n = 0;
    for (const _ of map.entriesBatch(4096)) n++;
    return n;
  };
  const [cold] = await timeOnce(raw);
  // Interleaved rounds: each round times every method once, so a load spike on
  // this shared machine hits all of them and the per-round ratios stay sound.
  const t = {
    raw: [] as number[],
    decoded: [] as number[],
    batch: [] as number[],
    decode: [] as number[],
    c: [] as number[],
  };
  const sample = await mapElemsRaw(map);
  const pin = `/sys/fs/bpf/ts_ebpf_bench_${process.pid}`;
  const haveC = existsSync(C_READER);
  if (haveC) map.pin(pin);
  const cOnce = () => {
    const out = execFileSync(C_READER, [pin, String(1 << 20), "1", "12"], { encoding: "utf8" });
    const m = /^sample (\S+) (\d+)/m.exec(out);
    if (!m || Number(m[2]) !== N) throw new Error(`C reader: ${out}`);
    return Number(m[1]) * 1000;
  };
  const ratios = {
    raw: [] as number[],
    decoded: [] as number[],
    rawC: [] as number[],
    decodedC: [] as number[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    const [r, nr] = await timeOnce(raw);
    const [d, nd] = await timeOnce(decoded);
    const [b, nb] = await timeOnce(batch);
    t.decode.push((await timeOnce(() => decodeMapElems(map, sample).length))[0]);
    if (nr !== N || nd !== N || nb !== N) throw new Error(`counts ${nr} ${nd} ${nb}, want ${N}`);
    t.raw.push(r);
    t.decoded.push(d);
    t.batch.push(b);
    ratios.raw.push(r / b);
    ratios.decoded.push(d / b);
    if (haveC) {
      const c = cOnce();
      t.c.push(c);
      ratios.rawC.push(r / c);
      ratios.decodedC.push(d / c);
    }
  }
  if (haveC) rmSync(pin);
  const [loop] = await timeOnce(() => {
    let n = 0;
    for (const _ of map.entries()) n++;
    return n;
  });
  const row = (label: string, xs: number[]) =>
    console.log(
      `${label.padEnd(44)} median ${median(xs).toFixed(1).padStart(7)} ms  min ${Math.min(...xs)
        .toFixed(1)
        .padStart(7)} ms`,
    );
  console.log(`mapElems raw, first call (BTF, load, link, read): ${cold.toFixed(1)} ms`);
  row("mapElems raw bytes (link + read, 12 MB)", t.raw);
  row("mapElems decoded [number, bigint][]", t.decoded);
  row("  of which decoding 12 MB into pairs", t.decode);
  row("MAP_LOOKUP_BATCH x4096 decoded (TS)", t.batch);
  console.log(
    `${"GET_NEXT_KEY + LOOKUP_ELEM loop (TS)".padEnd(44)} once   ${loop.toFixed(1).padStart(7)} ms`,
  );
  if (haveC) row("C reader (load + link + read, same program)", t.c);
  console.log("");
  if (haveC) {
    console.log(
      `median per-round ratio raw / C reader         : ${median(ratios.rawC).toFixed(2)}x`,
    );
    console.log(
      `median per-round ratio decoded / C reader     : ${median(ratios.decodedC).toFixed(2)}x`,
    );
  } else {
    console.log(`(no C reference: build bench/c/iter_map_dump with the benchmark suite)`);
  }
  console.log(`median per-round ratio raw / LOOKUP_BATCH     : ${median(ratios.raw).toFixed(2)}x`);
  console.log(
    `median per-round ratio decoded / LOOKUP_BATCH : ${median(ratios.decoded).toFixed(2)}x`,
  );
  console.log(
    `speed-up over the GET_NEXT_KEY loop           : raw ${(loop / median(t.raw)).toFixed(1)}x, decoded ${(loop / median(t.decoded)).toFixed(1)}x`,
  );
  console.log(
    `load average: ${(await import("node:os"))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  closeBuiltins();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
