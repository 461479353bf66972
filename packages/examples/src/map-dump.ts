// Dumps a map's contents with the bpf_map_elem iterator: one read() instead
// of a GET_NEXT_KEY + LOOKUP_ELEM syscall pair per element.
//
//   node packages/examples/dist/map-dump.js <map id | pinned path>
//   node packages/examples/dist/map-dump.js            (creates a demo map)

import { existsSync } from "node:fs";
import { mapElems } from "@ts-ebpf/iter";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfMap, codecs } from "@ts-ebpf/syscall";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export function openMap(arg: string): BpfMap {
  if (/^\d+$/.test(arg)) return BpfMap.fromId(Number(arg));
  if (existsSync(arg)) return BpfMap.fromPinned(arg);
  throw new Error(`"${arg}" is neither a map id nor a pinned path`);
}

/** A demo map: squares of 0..9 (u32 → u64). */
export function demoMap(): BpfMap<number, bigint> {
  const map = BpfMap.create({
    type: BpfMapType.HASH,
    keySize: 4,
    valueSize: 8,
    maxEntries: 16,
    name: "demo_squares",
    key: codecs.u32,
    value: codecs.u64,
  });
  for (let i = 0; i < 10; i++) map.set(i, BigInt(i * i));
  return map;
}

async function main(arg: string | undefined): Promise<void> {
  if (arg === undefined) {
    using map = demoMap();
    const entries = (await mapElems(map)).toArray();
    entries.sort((a, b) => a[0] - b[0]);
    for (const [k, v] of entries) console.log(`${k} -> ${v}`);
    return;
  }
  using map = openMap(arg);
  // Bytes even where the map's BTF describes its types (bpf-iter map decodes those).
  for (const [k, v] of await mapElems(map, { btf: false })) {
    console.log(`key: ${hex(k)}  value: ${hex(v)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv[2]).catch((err: unknown) => {
    console.error(`map-dump: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
