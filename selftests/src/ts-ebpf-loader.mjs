// The ts-ebpf side of the selftest runner, with the libbpf loader's
// interface: node ts-ebpf-loader.mjs <object.o> <program> [--map-elem
// [--fill N]] [--pid N] [--cgroup-id N --order pre|post|up|self]. Loads that
// one program of the object (@ts-ebpf/elf), runs it as an iterator
// (@ts-ebpf/iter) with those link parameters, chosen and filled by the
// libbpf loader's rules (libbpf-loader.c), writes its output to stdout and
// the global data sections as "global <section> <hex>" lines to stderr; exit
// 1 with the error when ts-ebpf refuses.
import { readFileSync } from "node:fs";
import { loadCollectionSpec, parseCollection } from "../../packages/elf/dist/index.js";
import { createIterator } from "../../packages/iter/dist/index.js";
import { BpfMap, mapUpdateElem, possibleCpus } from "../../packages/syscall/dist/index.js";

const MAP_TYPE = {
  HASH: 1,
  ARRAY: 2,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  SOCKMAP: 15,
  SOCKHASH: 18,
  SK_STORAGE: 24,
};
const WALKS = {
  bpf_map_elem: ["HASH", "ARRAY", "PERCPU_HASH", "PERCPU_ARRAY", "LRU_HASH", "LRU_PERCPU_HASH"],
  bpf_sk_storage_map: ["SK_STORAGE"],
  sockmap: ["SOCKMAP", "SOCKHASH"],
};
const PERCPU = [MAP_TYPE.PERCPU_HASH, MAP_TYPE.PERCPU_ARRAY, MAP_TYPE.LRU_PERCPU_HASH];

function option(flag) {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** Elements 0..n-1 as libbpf-loader.c writes them. */
function fill(fd, type, keySize, valueSize, n) {
  const cpus = PERCPU.includes(type) ? possibleCpus() : 1;
  const stride = PERCPU.includes(type) ? Math.ceil(valueSize / 8) * 8 : valueSize;
  for (let i = 0; i < n; i++) {
    const key = new Uint8Array(keySize);
    for (let b = 0; b < Math.min(4, keySize); b++) key[b] = (i >>> (8 * b)) & 0xff;
    const value = new Uint8Array(cpus * stride);
    for (let c = 0; c < cpus; c++)
      for (let j = 0; j < valueSize; j++) value[c * stride + j] = (16 * (i + 1) + j) & 0xff;
    mapUpdateElem(fd, key, value);
  }
}

const [object, name] = process.argv.slice(2);
try {
  const spec = parseCollection(new Uint8Array(readFileSync(object)));
  const program = spec.programs[name];
  if (!program) throw new Error(`no program ${name}`);
  // No `using`: the guests' Node may predate it.
  const collection = loadCollectionSpec({ ...spec, programs: { [name]: program } });
  let ownMap;
  try {
    const loaded = collection.programs[name];
    let params;
    if (process.argv.includes("--map-elem")) {
      const walks = (WALKS[loaded.iterTarget] ?? []).map((t) => MAP_TYPE[t]);
      const pick = Object.keys(spec.maps)
        .filter((m) => !m.includes(".") && walks.includes(spec.maps[m].type))
        .sort()[0];
      const shape = pick
        ? spec.maps[pick]
        : { type: MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 8 };
      if (!pick) ownMap = BpfMap.create(shape);
      const map = pick ? collection.maps[pick] : ownMap;
      const n = Number(option("--fill") ?? 0);
      if (n > 0) fill(map.fd, shape.type, shape.keySize, shape.valueSize, n);
      params = { map };
    } else if (option("--pid") !== undefined) {
      params = { pid: Number(option("--pid")) };
    } else if (option("--cgroup-id") !== undefined) {
      params = { cgroupId: BigInt(option("--cgroup-id")), order: option("--order") ?? "pre" };
    }
    const link = createIterator(loaded, loaded.iterTarget, params);
    try {
      process.stdout.write(link.readAllSync());
    } finally {
      link.close();
    }
    process.stderr.write(`pid ${process.pid}\n`);
    for (const [mapName, map] of Object.entries(collection.maps)) {
      const section = mapName.slice(mapName.lastIndexOf("."));
      if (section !== ".bss" && section !== ".data") continue;
      const value = map.get(Buffer.alloc(4));
      if (value !== undefined)
        process.stderr.write(`global ${section} ${Buffer.from(value).toString("hex")}\n`);
    }
  } finally {
    ownMap?.close();
    collection.close();
  }
} catch (e) {
  process.stderr.write(`error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exitCode = 1;
}
