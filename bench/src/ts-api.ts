// What the TypeScript side of each scenario calls, in one place. Scenarios see
// optional capabilities: one that a checkout lacks (a package's API not there
// yet) goes in `missing` with the reason and shows as "not available yet"
// in the tables instead of failing the suite.

import { openSync, rmSync } from "node:fs";
import { parseBtf } from "@ts-ebpf/btf";
import {
  type Assembled,
  add,
  assemble,
  disassembleItems,
  encode,
  exit,
  type Item,
  isLabel,
  jeq,
  jgt,
  label,
  ldImm64,
  ldx,
  mov,
  parse,
  print,
  stx,
} from "@ts-ebpf/dsl";
import {
  builtinLink,
  builtinRecordSize,
  closeBuiltins,
  decodeMapElems,
  type IterableMap,
  IteratorReader,
  type MapElements,
  mapElems,
  mapElemsRaw,
  tasks,
} from "@ts-ebpf/iter";
import { BpfMap, codecs, mapLookupBatch, mapLookupElem } from "@ts-ebpf/syscall";
import { flatRecords, floorArray, floorBytes, floorRecords } from "./js-floors.js";
import type { Outcome } from "./measure.js";

/** The bench maps: u32 key -> u64 value, opened through the Map handle with codecs. */
export type BenchMap = BpfMap<number, bigint>;

/** What map-decode does with the records it read. */
export type DecodeMode =
  | "raw"
  | "raw-reused"
  | "raw-sync"
  | "records"
  | "records-each"
  | "bytes"
  | "bytes-each"
  | "array"
  | "columns"
  | "floor-records"
  | "flat-records"
  | "floor-bytes"
  | "floor-array";

/** A loaded task iterator reused across reads (the "warm" case). */
export interface WarmTasks extends Disposable {
  read(): Promise<Outcome>;
}

/** The DSL operations timed over one prepared program; items = instructions. */
export interface DslWork {
  assemble(): Outcome;
  /** encode() of the already-resolved instructions: the bare cost of writing the bytes. */
  encode(): Outcome;
  /** parse() of the program's text form (print() output). */
  parseText(): Outcome;
  disassemble(): Outcome;
}

export interface TsApi {
  openPinnedMap?: (path: string) => BenchMap;
  /** BPF_MAP_LOOKUP_BATCH through the command function, buffers reused: no decoding. */
  lookupBatchRaw?: (map: BenchMap, batch: number) => Outcome;
  /** Map.entriesBatch(batch): decoded [key, value] pairs. */
  lookupBatchDecoded?: (map: BenchMap, batch: number) => Outcome;
  /** Map.entries(): GET_NEXT_KEY + LOOKUP_ELEM per element, decoded; at most `limit` elements. */
  nextKeyDump?: (map: BenchMap, limit?: number) => Outcome;
  /** `calls` Map.get() of keys 0..entries-1; items = calls. */
  lookupLoop?: (map: BenchMap, entries: number, calls: number) => Outcome;
  /** The same with mapLookupElem(fd, key, value) and preallocated buffers. */
  lookupLoopCommand?: (map: BenchMap, entries: number, calls: number) => Outcome;
  /** mapElems raw bytes: items = records, bytes = total. */
  mapElemsRaw?: (map: BenchMap, chunkSize: number) => Promise<Outcome>;
  /** mapElems with u32/u64 codecs, every element visited. */
  mapElemsDecoded?: (map: BenchMap) => Promise<Outcome>;
  /** mapElems of the map without codecs (bytes), every element visited. */
  mapElemsBytes?: (map: BenchMap) => Promise<Outcome>;
  /** mapElems materialised: toArray() of [number, bigint] pairs. */
  mapElemsArray?: (map: BenchMap) => Promise<Outcome>;
  /** The map's elements as mapElems' records (key then value), through MAP_LOOKUP_BATCH. */
  captureRecords?: (map: BenchMap) => Uint8Array;
  /** Reads a records file like an iterator's output and decodes it (map-decode). */
  decodeRecordsFile?: (path: string, size: number, mode: DecodeMode) => Promise<Outcome>;
  /** Checks mapElems' records against the values mapfill wrote. */
  verifyMapElems?: (map: BenchMap) => Promise<void>;
  /** tasks() from scratch: cached programs closed first, so load + link + read. */
  tasksCold?: () => Promise<Outcome>;
  /** tasks() with the program and link kept; each call reads a fresh iterator fd. */
  tasksWarm?: () => Promise<WarmTasks>;
  /**
   * A link of tasks()' own program pinned at `path` (for the C reader of the
   * same program), and the bytes of its records; disposing unpins it.
   */
  pinTaskLink?: (path: string) => { recordSize: number } & Disposable;
  /** parseBtf(bytes): the type index; items = types. */
  parseBtf?: (bytes: Uint8Array) => Outcome;
  /** parseBtf(bytes) and decode every type. */
  parseBtfAllTypes?: (bytes: Uint8Array) => Outcome;
  /** parseBtf(bytes) and the first name lookup (which builds the name index). */
  parseBtfFindType?: (bytes: Uint8Array) => Outcome;
  /** Builds an n-instruction program once; the returned calls are what gets timed. */
  prepareDsl?: (n: number) => DslWork;
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

function nextKeyDump(map: BenchMap, limit = Number.POSITIVE_INFINITY): Outcome {
  let items = 0;
  for (const _ of map.entries()) if (++items >= limit) break;
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

function parseVmlinuxFindType(bytes: Uint8Array): Outcome {
  const btf = parseBtf(bytes);
  if (!btf.findType("task_struct")) throw new Error("vmlinux BTF has no task_struct");
  return { items: btf.typeCount - btf.firstId };
}

function prepareDsl(n: number): DslWork {
  const items = dslProgram(n);
  const assembled = assemble(items);
  const text = print(items);
  const count = assembled.instructions.length;
  const counted = (what: string, got: number): Outcome => {
    if (got !== count) throw new Error(`${what} gave ${got} instructions, expected ${count}`);
    return { items: got };
  };
  return {
    assemble: () => counted("assemble", assemble(items).instructions.length),
    encode: () =>
      counted("encode", encode(assembled.instructions).length / 8 - ldImm64Count(assembled)),
    parseText: () => counted("parse", parse(text).filter((i) => !isLabel(i)).length),
    disassemble: () =>
      counted("disassemble", disassembleItems(assembled.bytes).filter((i) => !isLabel(i)).length),
  };
}

/** ld_imm64 takes two 8-byte slots: bytes / 8 overcounts instructions by this much. */
function ldImm64Count(a: Assembled): number {
  return a.bytes.length / 8 - a.instructions.length;
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

/** The shape of the bench maps without codecs: mapElems gives bytes. */
function bytesShape(map: BenchMap): IterableMap {
  return {
    fd: map.fd,
    type: map.type,
    keySize: map.keySize,
    valueSize: map.valueSize,
    maxEntries: map.maxEntries,
  };
}

/** Every element visited: keys summed, values compared (no BigInt made by the visit itself). */
function visitRecords(elements: Iterable<[number, bigint]>): Outcome {
  let items = 0;
  let keys = 0;
  let big = 0n;
  for (const [k, v] of elements) {
    keys += k;
    if (v > big) big = v;
    items++;
  }
  if (items > 0 && big === 0n) throw new Error("every value decoded as 0");
  if (keys < 0) throw new Error("negative u32 key");
  return { items };
}

/** The same visit through forEach: key and value per element, no entry array or iterator result. */
function eachRecord(elements: MapElements<number, bigint>): Outcome {
  let items = 0;
  let keys = 0;
  let big = 0n;
  elements.forEach((k, v) => {
    keys += k;
    if (v > big) big = v;
    items++;
  });
  if (items > 0 && big === 0n) throw new Error("every value decoded as 0");
  if (keys < 0) throw new Error("negative u32 key");
  return { items };
}

function eachBytes(elements: MapElements<Uint8Array, Uint8Array>): Outcome {
  let items = 0;
  let sum = 0;
  elements.forEach((k, v) => {
    sum += k[0]! + v[0]!;
    items++;
  });
  if (sum < 0) throw new Error("unreachable");
  return { items };
}

function visitBytes(elements: Iterable<[Uint8Array, Uint8Array]>): Outcome {
  let items = 0;
  let sum = 0;
  for (const [k, v] of elements) {
    sum += k[0]! + v[0]!;
    items++;
  }
  if (sum < 0) throw new Error("unreachable");
  return { items };
}

function captureRecords(map: BenchMap): Uint8Array {
  const out = new Uint8Array(map.maxEntries * MAP_RECORD_BYTES);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const [k, v] of map.entriesBatch(4096)) {
    view.setUint32(off, k, true);
    view.setBigUint64(off + 4, v, true);
    off += MAP_RECORD_BYTES;
  }
  return out.subarray(0, off);
}

const u32u64Shape = (map: IterableMap): IterableMap<number, bigint> => ({
  ...map,
  keyCodec: codecs.u32,
  valueCodec: codecs.u64,
});

/** The buffer "raw-reused" reads into, kept across samples as a repeated dump would. */
let reusedBuffer: Uint8Array | undefined;

async function decodeRecordsFile(path: string, size: number, mode: DecodeMode): Promise<Outcome> {
  const reader = new IteratorReader(openSync(path, "r"), { chunkSize: 1 << 20 });
  if (mode === "raw-reused") {
    if (reusedBuffer?.length !== size) reusedBuffer = new Uint8Array(size);
    const raw = await reader.readAll({
      sizeHint: size,
      into: reusedBuffer,
      recordSize: MAP_RECORD_BYTES,
    });
    return { items: raw.length / MAP_RECORD_BYTES, bytes: raw.length };
  }
  if (mode === "raw-sync") {
    if (reusedBuffer?.length !== size) reusedBuffer = new Uint8Array(size);
    const raw = reader.readAllSync({ sizeHint: size, into: reusedBuffer });
    return { items: raw.length / MAP_RECORD_BYTES, bytes: raw.length };
  }
  const raw = await reader.readAll({ sizeHint: size, recordSize: MAP_RECORD_BYTES });
  const shape: IterableMap = { fd: -1, type: 1, keySize: 4, valueSize: 8 };
  switch (mode) {
    case "raw":
      return { items: raw.length / MAP_RECORD_BYTES, bytes: raw.length };
    case "records":
      return visitRecords(decodeMapElems(u32u64Shape(shape), raw));
    case "records-each":
      return eachRecord(decodeMapElems(u32u64Shape(shape), raw));
    case "bytes":
      return visitBytes(decodeMapElems(shape, raw));
    case "bytes-each":
      return eachBytes(decodeMapElems(shape, raw));
    case "array":
      return { items: decodeMapElems(u32u64Shape(shape), raw).toArray().length };
    case "floor-records":
      return floorRecords(raw);
    case "flat-records":
      return flatRecords(raw);
    case "floor-bytes":
      return floorBytes(raw);
    case "floor-array":
      return floorArray(raw);
    case "columns": {
      const elements = decodeMapElems(u32u64Shape(shape), raw);
      const keys = elements.keyColumn();
      const values = elements.valueColumn();
      if (keys.length !== values.length) throw new Error("columns disagree");
      return { items: keys.length };
    }
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
    mapElemsDecoded: async (map) => visitRecords(await mapElems(map)),
    mapElemsBytes: async (map) => visitBytes(await mapElems(bytesShape(map), { btf: false })),
    mapElemsArray: async (map) => ({ items: (await mapElems(map)).toArray().length }),
    captureRecords,
    decodeRecordsFile,
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
    pinTaskLink: (path) => {
      const link = builtinLink("task");
      try {
        link.pin(path);
      } finally {
        // The pin holds the link; the fd can go.
        link.close();
      }
      return { recordSize: builtinRecordSize("task"), [Symbol.dispose]: () => rmSync(path) };
    },
    parseBtf: parseVmlinux,
    parseBtfAllTypes: parseVmlinuxAllTypes,
    parseBtfFindType: parseVmlinuxFindType,
    prepareDsl,
    missing: {},
  };
}
