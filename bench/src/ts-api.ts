// What the TypeScript side of each scenario calls, in one place. Scenarios see
// optional capabilities: one that a checkout lacks (a package's API not there
// yet) goes in `missing` with the reason and shows as "not available yet"
// in the tables instead of failing the suite.
import { parseBtf } from "@ts-ebpf/btf";
import {
  add,
  assemble,
  exit,
  type Item,
  isLabel,
  jeq,
  jgt,
  label,
  ldImm64,
  ldx,
  mov,
  stx,
} from "@ts-ebpf/dsl";
import { closeBuiltins, mapElems, mapElemsRaw, tasks } from "@ts-ebpf/iter";
import { BpfMap, codecs, mapLookupBatch, mapLookupElem } from "@ts-ebpf/syscall";
import type { Outcome } from "./measure.js";

/** The bench maps: u32 key -> u64 value, opened through the Map handle with codecs. */
export type BenchMap = BpfMap<number, bigint>;

/** A loaded task iterator reused across reads (the "warm" case). */
export interface WarmTasks extends Disposable {
  read(): Promise<Outcome>;
}

/** A check run once, untimed, before a variant's repetitions. */
export type Verify = () => Promise<void> | void;

export interface TsApi {
  openPinnedMap?: (path: string) => BenchMap;
  /** BPF_MAP_LOOKUP_BATCH through the command function, buffers reused: no decoding. */
  lookupBatchRaw?: (map: BenchMap, batch: number) => Outcome;
  /** Map.entriesBatch(batch): decoded [key, value] pairs. */
  lookupBatchDecoded?: (map: BenchMap, batch: number) => Outcome;
  /** Map.entries(): GET_NEXT_KEY + LOOKUP_ELEM per element, decoded. */
  nextKeyDump?: (map: BenchMap) => Outcome;
  /** `calls` Map.get() of keys 0..entries-1; items = calls. */
  lookupLoop?: (map: BenchMap, entries: number, calls: number) => Outcome;
  /** The same with mapLookupElem(fd, key, value) and preallocated buffers. */
  lookupLoopCommand?: (map: BenchMap, entries: number, calls: number) => Outcome;
  /** mapElems raw bytes: items = records, bytes = total. */
  mapElemsRaw?: (map: BenchMap, chunkSize: number) => Promise<Outcome>;
  /** mapElems decoded into [key, value] pairs. */
  mapElemsDecoded?: (map: BenchMap) => Promise<Outcome>;
  /** Checks mapElems' records against the values mapfill wrote. */
  verifyMapElems?: (map: BenchMap) => Promise<void>;
  /** tasks() from scratch: cached programs closed first, so load + link + read. */
  tasksCold?: () => Promise<Outcome>;
  /** tasks() with the program and link kept; each call reads a fresh iterator fd. */
  tasksWarm?: () => Promise<WarmTasks>;
  /** parseBtf(bytes): the type index; items = types. */
  parseBtf?: (bytes: Uint8Array) => Outcome;
  /** parseBtf(bytes) and decode every type. */
  parseBtfAllTypes?: (bytes: Uint8Array) => Outcome;
  /** Builds an n-instruction program, returns the timed assemble() call. */
  prepareAssembly?: (n: number) => () => Outcome;
  /** Why each missing capability is missing. */
  missing: Partial<Record<Exclude<keyof TsApi, "missing">, string>>;
}

// ---- @ts-ebpf/syscall ----------------------------------------------------

function openPinnedMap(path: string): BenchMap {
  return BpfMap.fromPinned(path, { key: codecs.u32, value: codecs.u64 });
}

function lookupBatchRaw(map: BenchMap, batch: number): Outcome {
  const keys = new Uint8Array(map.keySize * batch);
  const values = new Uint8Array(map.valueSize * batch);
  const outBatch = new Uint8Array(8);
  const inBatch = new Uint8Array(8);
  let items = 0;
  let first = true;
  for (;;) {
    const r = mapLookupBatch({
      mapFd: map.fd,
      keys,
      values,
      count: batch,
      inBatch: first ? null : inBatch,
      outBatch,
    });
    items += r.count;
    if (r.done) return { items };
    inBatch.set(outBatch);
    first = false;
  }
}

function lookupBatchDecoded(map: BenchMap, batch: number): Outcome {
  let items = 0;
  for (const _ of map.entriesBatch(batch)) items++;
  return { items };
}

function nextKeyDump(map: BenchMap): Outcome {
  let items = 0;
  for (const _ of map.entries()) items++;
  return { items };
}

function lookupLoop(map: BenchMap, entries: number, calls: number): Outcome {
  let sum = 0n;
  for (let i = 0; i < calls; i++) sum += map.get(i % entries) ?? 0n;
  if (sum === 0n) throw new Error("Map.get returned no values");
  return { items: calls };
}

function lookupLoopCommand(map: BenchMap, entries: number, calls: number): Outcome {
  const key = new Uint8Array(4);
  const keyView = new DataView(key.buffer);
  const value = new Uint8Array(8);
  let found = 0;
  for (let i = 0; i < calls; i++) {
    keyView.setUint32(0, i % entries, true);
    if (mapLookupElem(map.fd, key, value)) found++;
  }
  if (found !== calls) throw new Error(`mapLookupElem found ${found} of ${calls} keys`);
  return { items: calls };
}

// ---- @ts-ebpf/btf and @ts-ebpf/dsl -----------------------------------------

// typeCount is one past the last id; base BTF starts at 1 (0 is void).
function parseVmlinux(bytes: Uint8Array): Outcome {
  const btf = parseBtf(bytes);
  return { items: btf.typeCount - btf.firstId };
}

function parseVmlinuxAllTypes(bytes: Uint8Array): Outcome {
  const btf = parseBtf(bytes);
  for (let id = btf.firstId; id < btf.typeCount; id++) btf.type(id);
  return { items: btf.typeCount - btf.firstId };
}

/** A long, valid-looking listing: loads, stores, ALU, 64-bit immediates, jumps to labels. */
export function dslProgram(n: number): Item[] {
  const items: Item[] = [mov("r0", 0)];
  let count = 1;
  let block = 0;
  while (count < n - 1) {
    const name = `b${block++}`;
    const body: Item[] = [
      ldx("u64", "r2", "r10", -8),
      add("r2", 1),
      stx("u64", "r10", -8, "r2"),
      ldImm64("r3", 0x1234_5678_9abcn),
      jgt("r2", "r3", name),
      mov("r4", "r2"),
      jeq("r4", 7, name),
      label(name),
    ];
    for (const it of body) {
      if (count >= n - 1) break;
      items.push(it);
      if (!isLabel(it)) count++;
    }
  }
  items.push(exit());
  return items;
}

function prepareAssembly(n: number): () => Outcome {
  const items = dslProgram(n);
  return () => ({ items: assemble(items).instructions.length });
}

// ---- @ts-ebpf/iter ---------------------------------------------------------

export const MAP_RECORD_BYTES = 12; // mapElems: key (4) then value (8), no padding

async function verifyMapElems(map: BenchMap): Promise<void> {
  const pairs = await mapElems(map);
  if (pairs.length !== map.maxEntries) {
    throw new Error(`mapElems gave ${pairs.length} elements, the map holds ${map.maxEntries}`);
  }
  for (const [k, v] of pairs) {
    if (v !== BigInt(k) * 3n + 1n) throw new Error(`mapElems: key ${k} has value ${v}`);
  }
  const raw = await mapElemsRaw(map);
  if (raw.length !== pairs.length * MAP_RECORD_BYTES) {
    throw new Error(`mapElemsRaw gave ${raw.length} bytes for ${pairs.length} elements`);
  }
}

export function loadTsApi(): TsApi {
  return {
    openPinnedMap,
    lookupBatchRaw,
    lookupBatchDecoded,
    nextKeyDump,
    lookupLoop,
    lookupLoopCommand,
    mapElemsRaw: async (map, chunkSize) => {
      const raw = await mapElemsRaw(map, { chunkSize });
      return { items: raw.length / MAP_RECORD_BYTES, bytes: raw.length };
    },
    mapElemsDecoded: async (map) => ({ items: (await mapElems(map)).length }),
    verifyMapElems,
    tasksCold: async () => {
      closeBuiltins();
      return { items: (await tasks()).length };
    },
    tasksWarm: async () => {
      await tasks(); // loads the program and keeps the link
      return {
        read: async () => ({ items: (await tasks()).length }),
        [Symbol.dispose]: () => closeBuiltins(),
      };
    },
    parseBtf: parseVmlinux,
    parseBtfAllTypes: parseVmlinuxAllTypes,
    prepareAssembly,
    missing: {},
  };
}
