// Per-call cost of MAP_LOOKUP_ELEM from TypeScript against the same loop in C,
// measured in one run. Not a test: prints figures and the ratio.
// Rounds alternate C and TypeScript and the fastest round of each counts, so
// load from other processes on the machine skews both sides alike.
// Run: pnpm --filter @ts-ebpf/syscall bench [N]   (root, gcc)
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
// The built package, through its own name (run `pnpm build` first).
import { BpfMap, BpfMapType, codecs, mapLookupElem } from "@ts-ebpf/syscall";

const N = Number(process.argv[2] ?? 500_000);
const ROUNDS = 5;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
// Compiled to bench/dist/lookup.js; the C source is bench/lookup.c.
const source = here("../lookup.c");
const binary = here("./lookup-c");

function tsRound(body: (key: number) => unknown): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) body(i & 1023);
  return Number(process.hrtime.bigint() - t0) / N;
}

function cRound(): number {
  const out = execFileSync(binary, [String(N)], { encoding: "utf8" });
  return Number(/ns_per_call ([\d.]+)/.exec(out)?.[1]);
}

execFileSync("gcc", ["-O2", "-o", binary, source]);

const map = BpfMap.create({
  type: BpfMapType.HASH,
  keySize: 4,
  valueSize: 8,
  maxEntries: 1024,
  key: codecs.u32,
  value: codecs.u64,
});
for (let k = 0; k < 1024; k++) map.set(k, BigInt(k) * 3n);
const rawKey = new Uint8Array(4);
const rawKeyView = new DataView(rawKey.buffer);
const rawValue = new Uint8Array(8);
let checksum = 0n;

const best = { c: Infinity, get: Infinity, command: Infinity };
for (let round = 0; round <= ROUNDS; round++) {
  const c = cRound();
  const get = tsRound((k) => {
    checksum += map.get(k) ?? 0n;
  });
  const command = tsRound((k) => {
    rawKeyView.setUint32(0, k, true);
    mapLookupElem(map.fd, rawKey, rawValue);
  });
  if (round === 0) continue; // warm-up
  best.c = Math.min(best.c, c);
  best.get = Math.min(best.get, get);
  best.command = Math.min(best.command, command);
}
map.close();

const row = (label: string, ns: number) =>
  console.log(`${label.padEnd(44)} ${ns.toFixed(1).padStart(8)} ns/call`);
console.log(
  `MAP_LOOKUP_ELEM × ${N} per round, ${ROUNDS} rounds, best round; 1024-entry hash map u32 → u64`,
);
row("C: syscall(__NR_bpf) loop", best.c);
row("TS: Map.get (u32/u64 codecs, preset attr)", best.get);
row("TS: mapLookupElem (command, attr per call)", best.command);
console.log(`ratio Map.get / C:        ${(best.get / best.c).toFixed(2)}x`);
console.log(`ratio mapLookupElem / C:  ${(best.command / best.c).toFixed(2)}x`);
console.log(`(checksum ${checksum})`);
