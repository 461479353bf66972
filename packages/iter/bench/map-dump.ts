// Dump of a 1,000,000-entry hash map (u32 -> u64) through mapElems (the
// bpf_map_elem iterator), raw bytes and decoded, against MAP_LOOKUP_BATCH and
// the GET_NEXT_KEY + LOOKUP_ELEM loop from TypeScript, measured in the same run.
// Not a test: prints figures and ratios.
// Run (root): pnpm --filter @ts-ebpf/iter bench [entries]

import { closeBuiltins, mapElems, mapElemsRaw } from "@ts-ebpf/iter";
import { BpfMap, BpfMapType, codecs } from "@ts-ebpf/syscall";

const N = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(
  label: string,
  rounds: number,
  fn: () => Promise<number> | number,
): Promise<number> {
  const ms: number[] = [];
  let check = 0;
  for (let i = 0; i < rounds; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = process.hrtime.bigint();
    check = await fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const m = median(ms);
  console.log(
    `${label.padEnd(46)} ${m.toFixed(1).padStart(8)} ms  (min ${Math.min(...ms).toFixed(1)}, n=${rounds}, ${check} entries)`,
  );
  return m;
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

  const cold = await time("mapElems raw, first call (load + link + read)", 1, async () => {
    return (await mapElemsRaw(map)).length / 12;
  });
  const raw = await time("mapElems raw bytes (link + read)", ROUNDS, async () => {
    return (await mapElemsRaw(map)).length / 12;
  });
  const decoded = await time("mapElems decoded [number, bigint][]", ROUNDS, async () => {
    const e = await mapElems(map);
    let sum = 0n;
    for (const [, v] of e) sum += v;
    if (sum !== (7n * BigInt(N) * BigInt(N - 1)) / 2n) throw new Error("wrong values");
    return e.length;
  });
  const batch = await time("LOOKUP_BATCH x4096, decoded (TS)", 3, () => {
    let n = 0;
    for (const _ of map.entriesBatch(4096)) n++;
    return n;
  });
  const loop = await time("GET_NEXT_KEY + LOOKUP_ELEM loop (TS)", 1, () => {
    let n = 0;
    for (const _ of map.entries()) n++;
    return n;
  });
  console.log("");
  console.log(`ratio mapElems raw     / LOOKUP_BATCH : ${(raw / batch).toFixed(2)}x`);
  console.log(`ratio mapElems decoded / LOOKUP_BATCH : ${(decoded / batch).toFixed(2)}x`);
  console.log(
    `speed-up over the GET_NEXT_KEY loop   : raw ${(loop / raw).toFixed(1)}x, decoded ${(loop / decoded).toFixed(1)}x`,
  );
  console.log(`first call overhead (program load)    : ${(cold - raw).toFixed(1)} ms`);
  closeBuiltins();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
