// The ts-ebpf side of the selftest runner, with the libbpf loader's
// interface: loads one program of an object (@ts-ebpf/elf), runs it as an
// iterator (@ts-ebpf/iter) with link parameters chosen and filled by the
// libbpf loader's rules (libbpf-loader.c), and returns its output and the
// global data sections (.bss, .data). The runner calls `runTsEbpf` in its
// own process: one Node start for every program instead of one each (a Node
// start costs seconds in an emulated guest). As a command:
//   node ts-ebpf-loader.mjs <object.o> <program> [--map-elem [--fill N]]
//       [--pid N] [--cgroup-id N --order pre|post|up|self]
// writes the output to stdout and "global <section> <hex>" lines to stderr;
// exit 1 with the error when ts-ebpf refuses.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
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

function option(args, flag) {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
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

/**
 * Loads program `name` of `object` and reads it as an iterator with the link
 * parameters of `args` (the libbpf loader's options). Returns
 * { ok, stdout: Buffer, globals: string[] ("global <section> <hex>"), error }.
 */
export function runTsEbpf(object, name, args) {
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
      if (args.includes("--map-elem")) {
        const walks = (WALKS[loaded.iterTarget] ?? []).map((t) => MAP_TYPE[t]);
        const pick = Object.keys(spec.maps)
          .filter((m) => !m.includes(".") && walks.includes(spec.maps[m].type))
          .sort()[0];
        const shape = pick
          ? spec.maps[pick]
          : { type: MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 8 };
        if (!pick) ownMap = BpfMap.create(shape);
        const map = pick ? collection.maps[pick] : ownMap;
        const n = Number(option(args, "--fill") ?? 0);
        if (n > 0) fill(map.fd, shape.type, shape.keySize, shape.valueSize, n);
        params = { map };
      } else if (option(args, "--pid") !== undefined) {
        params = { pid: Number(option(args, "--pid")) };
      } else if (option(args, "--cgroup-id") !== undefined) {
        params = {
          cgroupId: BigInt(option(args, "--cgroup-id")),
          order: option(args, "--order") ?? "pre",
        };
      }
      const link = createIterator(loaded, loaded.iterTarget, params);
      let stdout;
      try {
        stdout = Buffer.from(link.readAllSync());
      } finally {
        link.close();
      }
      const globals = [];
      for (const [mapName, map] of Object.entries(collection.maps)) {
        const section = mapName.slice(mapName.lastIndexOf("."));
        if (section !== ".bss" && section !== ".data") continue;
        const value = map.get(Buffer.alloc(4));
        if (value !== undefined)
          globals.push(`global ${section} ${Buffer.from(value).toString("hex")}`);
      }
      return { ok: true, stdout, globals, error: "" };
    } finally {
      ownMap?.close();
      collection.close();
    }
  } catch (e) {
    return {
      ok: false,
      stdout: Buffer.alloc(0),
      globals: [],
      error: `error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    };
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [object, name, ...args] = process.argv.slice(2);
  const r = runTsEbpf(object, name, args);
  process.stdout.write(r.stdout);
  process.stderr.write(`pid ${process.pid}\n`);
  for (const g of r.globals) process.stderr.write(`${g}\n`);
  if (!r.ok) {
    process.stderr.write(`${r.error}\n`);
    process.exitCode = 1;
  }
}
