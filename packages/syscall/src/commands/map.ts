// Map commands: MAP_CREATE, element and batch operations, MAP_FREEZE.
import { Attr } from "../attr.js";
import { BpfCmd } from "../constants/enums.gen.js";
import { Errno } from "../errno.js";
import { BpfError, check } from "../errors.js";
import { checkNewFd } from "../fds.js";
import * as v from "../validate.js";

export interface MapCreateOptions {
  /** `enum bpf_map_type` (BpfMapType). */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* map flags (BpfMapFlag). */
  flags?: number;
  /** Up to 15 characters of [A-Za-z0-9_.]. */
  name?: string;
  innerMapFd?: number;
  numaNode?: number;
  mapIfindex?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: bigint | number;
}

/** BPF_MAP_CREATE → a new map fd (the caller owns it). */
export function mapCreate(o: MapCreateOptions): number {
  if (typeof o !== "object" || o === null)
    throw new TypeError("mapCreate options must be an object");
  const attr = new Attr("map_create")
    .u32("map_type", v.u32("type", o.type))
    .u32("key_size", v.u32("keySize", o.keySize))
    .u32("value_size", v.u32("valueSize", o.valueSize))
    .u32("max_entries", v.u32("maxEntries", o.maxEntries))
    .u32("map_flags", v.u32("flags", o.flags ?? 0))
    .u32("inner_map_fd", o.innerMapFd === undefined ? 0 : v.fd("innerMapFd", o.innerMapFd))
    .u32("numa_node", v.u32("numaNode", o.numaNode ?? 0))
    .chars("map_name", v.objName("name", o.name ?? ""))
    .u32("map_ifindex", v.u32("mapIfindex", o.mapIfindex ?? 0))
    .u32("btf_fd", o.btfFd === undefined ? 0 : v.fd("btfFd", o.btfFd))
    .u32("btf_key_type_id", v.u32("btfKeyTypeId", o.btfKeyTypeId ?? 0))
    .u32("btf_value_type_id", v.u32("btfValueTypeId", o.btfValueTypeId ?? 0))
    .u32("btf_vmlinux_value_type_id", v.u32("btfVmlinuxValueTypeId", o.btfVmlinuxValueTypeId ?? 0))
    .u64("map_extra", v.u64("mapExtra", o.mapExtra ?? 0));
  return checkNewFd(BpfCmd.MAP_CREATE, attr.call(BpfCmd.MAP_CREATE));
}

function elemAttr(mapFd: number, key: Uint8Array | null, value: Uint8Array | null, flags: number) {
  return new Attr("map_elem")
    .u32("map_fd", v.fd("mapFd", mapFd))
    .ptr("key", key)
    .ptr("value", value)
    .u64("flags", v.u64("flags", flags));
}

/** BPF_MAP_LOOKUP_ELEM: fills `value`; false when the key is absent (ENOENT). */
export function mapLookupElem(
  mapFd: number,
  key: Uint8Array,
  value: Uint8Array,
  flags = 0,
): boolean {
  v.bytes("key", key);
  v.bytes("value", value);
  const r = elemAttr(mapFd, key, value, flags).call(BpfCmd.MAP_LOOKUP_ELEM);
  if (r === -Errno.ENOENT) return false;
  check(BpfCmd.MAP_LOOKUP_ELEM, r);
  return true;
}

/** BPF_MAP_UPDATE_ELEM with BpfUpdateFlag ANY / NOEXIST / EXIST (| F_LOCK). */
export function mapUpdateElem(mapFd: number, key: Uint8Array, value: Uint8Array, flags = 0): void {
  v.bytes("key", key);
  v.bytes("value", value);
  check(BpfCmd.MAP_UPDATE_ELEM, elemAttr(mapFd, key, value, flags).call(BpfCmd.MAP_UPDATE_ELEM));
}

/** BPF_MAP_DELETE_ELEM; false when the key was absent (ENOENT). */
export function mapDeleteElem(mapFd: number, key: Uint8Array, flags = 0): boolean {
  v.bytes("key", key);
  const r = elemAttr(mapFd, key, null, flags).call(BpfCmd.MAP_DELETE_ELEM);
  if (r === -Errno.ENOENT) return false;
  check(BpfCmd.MAP_DELETE_ELEM, r);
  return true;
}

/**
 * BPF_MAP_GET_NEXT_KEY: writes the key after `key` (the first key when `key`
 * is null) into `nextKey`; false at the end.
 */
export function mapGetNextKey(mapFd: number, key: Uint8Array | null, nextKey: Uint8Array): boolean {
  if (key !== null) v.bytes("key", key);
  v.bytes("nextKey", nextKey);
  const attr = new Attr("map_elem")
    .u32("map_fd", v.fd("mapFd", mapFd))
    .ptr("key", key)
    .ptr("next_key", nextKey);
  const r = attr.call(BpfCmd.MAP_GET_NEXT_KEY);
  if (r === -Errno.ENOENT) return false;
  check(BpfCmd.MAP_GET_NEXT_KEY, r);
  return true;
}

/** BPF_MAP_FREEZE: no more writes from user space. */
export function mapFreeze(mapFd: number): void {
  const attr = new Attr("map_elem").u32("map_fd", v.fd("mapFd", mapFd));
  check(BpfCmd.MAP_FREEZE, attr.call(BpfCmd.MAP_FREEZE));
}

export interface BatchOptions {
  mapFd: number;
  /** keys × count bytes (key_size each). */
  keys: Uint8Array;
  /** values × count bytes (value size each). */
  values?: Uint8Array;
  /** Elements offered (in) → processed (out). */
  count: number;
  elemFlags?: number;
  flags?: number;
}

export interface LookupBatchOptions extends BatchOptions {
  values: Uint8Array;
  /** Token from the previous call's outBatch; null starts at the beginning. */
  inBatch: Uint8Array | null;
  /** Receives the token for the next call (at least key_size bytes; 4 for hash maps). */
  outBatch: Uint8Array;
}

export interface BatchResult {
  /** Elements copied by this call. */
  count: number;
  /** No elements remain (the kernel answered ENOENT). */
  done: boolean;
}

function batchAttr(o: BatchOptions) {
  if (typeof o !== "object" || o === null) throw new TypeError("batch options must be an object");
  v.bytes("keys", o.keys);
  if (o.values !== undefined) v.bytes("values", o.values);
  return new Attr("batch")
    .u32("map_fd", v.fd("mapFd", o.mapFd))
    .ptr("keys", o.keys)
    .ptr("values", o.values ?? null)
    .u32("count", v.u32("count", o.count))
    .out("count")
    .u64("elem_flags", v.u64("elemFlags", o.elemFlags ?? 0))
    .u64("flags", v.u64("flags", o.flags ?? 0));
}

function lookupBatch(cmd: number, o: LookupBatchOptions): BatchResult {
  const attr = batchAttr(o);
  if (o.inBatch !== null) v.bytes("inBatch", o.inBatch);
  v.bytes("outBatch", o.outBatch);
  attr.ptr("in_batch", o.inBatch).ptr("out_batch", o.outBatch);
  const r = attr.call(cmd);
  const count = attr.readU32("count");
  if (r === -Errno.ENOENT) return { count, done: true };
  check(cmd, r);
  return { count, done: false };
}

/** BPF_MAP_LOOKUP_BATCH. */
export function mapLookupBatch(o: LookupBatchOptions): BatchResult {
  return lookupBatch(BpfCmd.MAP_LOOKUP_BATCH, o);
}

/** BPF_MAP_LOOKUP_AND_DELETE_BATCH. */
export function mapLookupAndDeleteBatch(o: LookupBatchOptions): BatchResult {
  return lookupBatch(BpfCmd.MAP_LOOKUP_AND_DELETE_BATCH, o);
}

/** Thrown by update/delete batches: how many elements were processed before the error. */
export class BatchError extends BpfError {
  constructor(
    cmd: number,
    errno: number,
    readonly processed: number,
  ) {
    super(cmd, errno, { hint: `${processed} elements processed before the error` });
    this.name = "BatchError";
  }
}

/** BPF_MAP_UPDATE_BATCH → elements written. */
export function mapUpdateBatch(o: BatchOptions & { values: Uint8Array }): number {
  const attr = batchAttr(o);
  const r = attr.call(BpfCmd.MAP_UPDATE_BATCH);
  if (r < 0) throw new BatchError(BpfCmd.MAP_UPDATE_BATCH, -r, attr.readU32("count"));
  return attr.readU32("count");
}

/** BPF_MAP_DELETE_BATCH → elements deleted. */
export function mapDeleteBatch(o: BatchOptions): number {
  const attr = batchAttr({ ...o, values: undefined });
  const r = attr.call(BpfCmd.MAP_DELETE_BATCH);
  if (r < 0) throw new BatchError(BpfCmd.MAP_DELETE_BATCH, -r, attr.readU32("count"));
  return attr.readU32("count");
}
