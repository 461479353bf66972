// `bpf-iter map <id|pinned-path>`: a map's elements, decoded by the map's BTF
// as bpftool prints them (structs as objects, enums by name, char arrays as
// strings, per-CPU values as one value per CPU), or as hex bytes without BTF.
// The elements come from the bpf_map_elem iterator; where the kernel refuses
// that target (a security policy), from a walk with the map syscalls.

import {
  BpfError,
  type BpfMap,
  isPerCpuMapType,
  mapBatchTokenSize,
  mapGetNextKey,
  mapLookupBatch,
  mapLookupElem,
} from "@ts-ebpf/syscall";
import { decodeMapElems, mapBtfCodecs, mapElemsRaw } from "../builtins/map-elems.js";
import { IteratorTargetRefusedError } from "../errors.js";
import { formatTable, jsonLine, type Row, write } from "./format.js";

/** Elements per MAP_LOOKUP_BATCH call of the syscall walk. */
const BATCH = 4096;

/**
 * The map's elements as the iterator writes them (key then value slot, back
 * to back), from the iterator or, where the kernel refuses it, the syscalls.
 */
export async function mapRecords(map: BpfMap): Promise<Uint8Array> {
  try {
    return await mapElemsRaw(map);
  } catch (e) {
    if (!(e instanceof IteratorTargetRefusedError)) throw e;
    return walkRecords(map);
  }
}

/** MAP_LOOKUP_BATCH over the whole map; GET_NEXT_KEY + LOOKUP_ELEM where batches are refused. */
export function walkRecords(map: BpfMap): Uint8Array {
  try {
    return batchRecords(map);
  } catch (e) {
    // Map types without batch operations (EINVAL, ENOTSUPP on older kernels).
    if (!(e instanceof BpfError)) throw e;
    return nextKeyRecords(map);
  }
}

function batchRecords(map: BpfMap): Uint8Array {
  const { keySize, valueSlotSize } = map;
  const size = keySize + valueSlotSize;
  let count = BATCH;
  let keys = new Uint8Array(keySize * count);
  let values = new Uint8Array(valueSlotSize * count);
  const token = mapBatchTokenSize(keySize);
  let inBatch: Uint8Array | null = null;
  const outBatch = new Uint8Array(token);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let r: { count: number; done: boolean };
    try {
      r = mapLookupBatch({ mapFd: map.fd, keys, values, count, inBatch, outBatch });
    } catch (e) {
      // A hash bucket holds more elements than the batch: a larger batch.
      if (e instanceof BpfError && e.code === "ENOSPC" && count < 1 << 20) {
        count *= 4;
        keys = new Uint8Array(keySize * count);
        values = new Uint8Array(valueSlotSize * count);
        continue;
      }
      throw e;
    }
    if (r.count > 0) {
      const part = new Uint8Array(r.count * size);
      for (let i = 0; i < r.count; i++) {
        part.set(keys.subarray(i * keySize, (i + 1) * keySize), i * size);
        part.set(values.subarray(i * valueSlotSize, (i + 1) * valueSlotSize), i * size + keySize);
      }
      parts.push(part);
      total += part.length;
    }
    if (r.done) break;
    inBatch = Uint8Array.from(outBatch);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function nextKeyRecords(map: BpfMap): Uint8Array {
  const { keySize, valueSlotSize } = map;
  const records: Uint8Array[] = [];
  let key: Uint8Array | null = null;
  const next = new Uint8Array(keySize);
  while (mapGetNextKey(map.fd, key, next)) {
    const record = new Uint8Array(keySize + valueSlotSize);
    record.set(next);
    // An element deleted between the two calls is skipped.
    if (mapLookupElem(map.fd, next, record.subarray(keySize))) records.push(record);
    key = Uint8Array.from(next);
  }
  const out = new Uint8Array(records.length * (keySize + valueSlotSize));
  for (const [i, r] of records.entries()) out.set(r, i * r.length);
  return out;
}

/**
 * One element as `--json` prints it: bpftool's "formatted" object
 * (`{ key, value }`, per-CPU `{ key, values: [{ cpu, value }] }`) for what
 * the map's BTF describes; hex strings of the bytes for what it does not.
 */
export function elementJson(key: unknown, value: unknown, perCpuValue: boolean): object {
  if (perCpuValue && Array.isArray(value)) {
    return { key, values: value.map((v, cpu) => ({ cpu, value: v })) };
  }
  return { key, value };
}

const spaced = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

/** A decoded key or value in a table cell: bytes as spaced hex, the rest as compact JSON. */
function cell(x: unknown): string {
  if (x instanceof Uint8Array) return spaced(x);
  if (typeof x === "string") return x;
  return jsonLine(x as object).trimEnd();
}

/** Prints the map's elements: a KEY/VALUE table, or one JSON object per element. */
export async function dumpMap(map: BpfMap, json: boolean): Promise<void> {
  const raw = await mapRecords(map);
  const typed = mapBtfCodecs(map);
  const elements = decodeMapElems<unknown, unknown>(
    {
      fd: map.fd,
      type: map.type,
      keySize: map.keySize,
      valueSize: map.valueSize,
      valueSlotSize: map.valueSlotSize,
      keyCodec: typed?.key,
      valueCodec: typed?.value,
    },
    raw,
  );
  // By type, not by size: on one CPU a per-CPU value's slot is the value's own size.
  const perCpuValue = typed?.value !== undefined && isPerCpuMapType(map.type);
  if (json) {
    let out = "";
    for (const [k, v] of elements) {
      out += jsonLine(elementJson(k, v, perCpuValue));
      // Chunks keep memory flat for large dumps.
      if (out.length > 1 << 20) {
        write(out);
        out = "";
      }
    }
    write(out);
    return;
  }
  const rows: Row[] = elements.map(([k, v]) => ({ key: cell(k), value: cell(v) }));
  write(formatTable(rows, [{ key: "key" }, { key: "value" }]));
}
