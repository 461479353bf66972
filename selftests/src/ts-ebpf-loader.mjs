// The ts-ebpf side of the selftest runner, with the libbpf loader's
// interface: node ts-ebpf-loader.mjs <object.o> <program>. Loads that one
// program of the object (@ts-ebpf/elf), runs it as an iterator
// (@ts-ebpf/iter), writes its output to stdout and the global data sections
// as "global <section> <hex>" lines to stderr; exit 1 with the error when
// ts-ebpf refuses.
import { readFileSync } from "node:fs";
import { loadCollectionSpec, parseCollection } from "../../packages/elf/dist/index.js";
import { createIterator } from "../../packages/iter/dist/index.js";

const [object, name] = process.argv.slice(2);
try {
  const spec = parseCollection(new Uint8Array(readFileSync(object)));
  const program = spec.programs[name];
  if (!program) throw new Error(`no program ${name}`);
  // No `using`: the guests' Node may predate it.
  const collection = loadCollectionSpec({ ...spec, programs: { [name]: program } });
  try {
    const loaded = collection.programs[name];
    const link = createIterator(loaded, loaded.iterTarget);
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
    collection.close();
  }
} catch (e) {
  process.stderr.write(`error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exitCode = 1;
}
