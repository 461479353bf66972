// Map commands: MAP_CREATE, element and batch operations, MAP_FREEZE.
//
// Every buffer is checked against the sizes the kernel will copy, read from
// the map itself (OBJ_GET_INFO_BY_FD on a private duplicate of the fd) right
// before the command: a RangeError names the argument, the size needed and
// the size given, and nothing reaches the kernel.
import { closeSync, readFileSync } from "node:fs";
import { BpfCmd, BpfMapType } from "@ts-ebpf/spec/constants";
import { Attr } from "../attr.js";
import { Errno } from "../errno.js";
import { BpfError, check } from "../errors.js";
import { checkNewFd, dupAbove2, FdError, fdKind, ObjectKindError } from "../fds.js";
import * as v from "../validate.js";
import { type MapInfo, mapInfoOf } from "./info.js";

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

/**
 * Map types whose values hold one slot per possible CPU in user space
 * (kernel/bpf/syscall.c bpf_map_value_size). The one list of them.
 */
const PER_CPU_MAP_TYPES: ReadonlySet<number> = new Set([
  BpfMapType.PERCPU_HASH,
  BpfMapType.PERCPU_ARRAY,
  BpfMapType.LRU_PERCPU_HASH,
  BpfMapType.PERCPU_CGROUP_STORAGE,
]);

/** Maps of fds: user space writes an fd and reads an id, a u32 either way (IS_FD_MAP). */
const FD_MAP_TYPES: ReadonlySet<number> = new Set([
  BpfMapType.PROG_ARRAY,
  BpfMapType.PERF_EVENT_ARRAY,
  BpfMapType.CGROUP_ARRAY,
  BpfMapType.ARRAY_OF_MAPS,
  BpfMapType.HASH_OF_MAPS,
]);

/** Whether a map type's values hold one slot per possible CPU. */
export function isPerCpuMapType(type: number): boolean {
  return PER_CPU_MAP_TYPES.has(type);
}

let possibleCpuCount: number | undefined;
/** Number of possible CPUs (per-CPU values hold one slot for each). */
export function possibleCpus(): number {
  if (possibleCpuCount === undefined) {
    let n = 0;
    for (const range of readFileSync("/sys/devices/system/cpu/possible", "utf8")
      .trim()
      .split(",")) {
      const [a, b] = range.split("-").map(Number);
      n += b === undefined ? 1 : (b as number) - (a as number) + 1;
    }
    possibleCpuCount = n;
  }
  return possibleCpuCount;
}

/**
 * Bytes of one value as the element and batch commands copy it to and from
 * user space: per-CPU maps round value_size up to 8 and hold one such slot per
 * possible CPU; maps of fds a u32; every other map value_size.
 */
export function mapValueSlotSize(type: number, valueSize: number): number {
  if (PER_CPU_MAP_TYPES.has(type)) return Math.ceil(valueSize / 8) * 8 * possibleCpus();
  if (FD_MAP_TYPES.has(type)) return 4;
  return valueSize;
}

/**
 * Bytes of a batch token (in_batch / out_batch): hash maps use a u32 bucket
 * index, the other maps (generic_map_lookup_batch) a key; the larger of the
 * two fits both.
 */
export function mapBatchTokenSize(keySize: number): number {
  return Math.max(4, keySize);
}

/** What the element and batch commands size their copies by, from the map itself. */
interface MapSizes {
  keySize: number;
  /** mapValueSlotSize(type, value_size). */
  valueSlotSize: number;
  /** Where valueSlotSize comes from, for messages. */
  valueWhat: string;
}

function mapSizes(info: MapInfo): MapSizes {
  const valueSlotSize = mapValueSlotSize(info.type, info.valueSize);
  let valueWhat = `the map's value_size`;
  if (PER_CPU_MAP_TYPES.has(info.type)) {
    valueWhat = `per-CPU map: value_size ${info.valueSize} rounded up to 8 × ${possibleCpus()} possible CPUs`;
  } else if (FD_MAP_TYPES.has(info.type)) {
    valueWhat = "a map of fds: a u32";
  }
  return { keySize: info.keySize, valueSlotSize, valueWhat };
}

/**
 * Runs a map command on a private duplicate of `mapFd` with the sizes of the
 * map it refers to, as the kernel reports them: `prepare` checks the
 * arguments against the sizes (RangeErrors), and only then is the command it
 * returns run. The duplicate keeps the object fixed between the two syscalls
 * even if the caller's fd number is closed and reused meanwhile.
 */
function onMap<T>(cmd: number, mapFd: number, prepare: (sizes: MapSizes) => (fd: number) => T): T {
  let own: number;
  try {
    own = dupAbove2(mapFd);
  } catch (e) {
    if (e instanceof FdError) throw new BpfError(cmd, e.errno, { hint: `fd ${mapFd} is not open` });
    throw e;
  }
  try {
    let info: MapInfo;
    try {
      info = mapInfoOf(own);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      const { target } = fdKind(own);
      throw new BpfError(cmd, e.errno, {
        hint: `fd ${mapFd} is not a BPF map (it refers to ${target})`,
      });
    }
    let run: (fd: number) => T;
    try {
      run = prepare(mapSizes(info));
    } catch (e) {
      // Sizes read from another kind of BPF object mean nothing: say what it is.
      const found = fdKind(own);
      if (e instanceof RangeError && found.kind !== "map" && found.kind !== "other") {
        throw new ObjectKindError(`fd ${mapFd}`, "map", found.kind, found.target);
      }
      throw e;
    }
    return run(own);
  } finally {
    closeSync(own);
  }
}

/** A key argument: key_size bytes, or null (or empty) for maps without keys (key_size 0). */
function keyArg(name: string, key: Uint8Array | null, m: MapSizes): Uint8Array | null {
  if (m.keySize === 0) {
    if (key !== null) v.bytes(name, key, 0, "the map has no keys: key_size 0; pass null");
    return null;
  }
  if (key === null) {
    throw new RangeError(`${name} must be ${m.keySize} bytes (the map's key_size), got null`);
  }
  return v.bytes(name, key, m.keySize, "the map's key_size");
}

function valueArg(name: string, value: Uint8Array, m: MapSizes): Uint8Array {
  return v.bytes(name, value, m.valueSlotSize, m.valueWhat);
}

function keyOrNull(name: string, key: unknown): Uint8Array | null {
  return key === null || key === undefined ? null : v.bytes(name, key);
}

function elemAttr(
  fd: number,
  m: MapSizes,
  key: Uint8Array | null,
  value: Uint8Array | null,
  flags: bigint,
) {
  return new Attr("map_elem")
    .u32("map_fd", fd)
    .ptr("key", key, m.keySize)
    .ptr("value", value, m.valueSlotSize)
    .u64("flags", flags);
}

/**
 * An element command taking a key and a value (LOOKUP, UPDATE), its
 * arguments checked against the map's sizes: the kernel's return value.
 */
function keyValueElem(
  cmd: number,
  mapFd: number,
  key: Uint8Array | null,
  value: Uint8Array,
  flags: number | bigint,
): number {
  const fd = v.fd("mapFd", mapFd);
  const k = keyOrNull("key", key);
  const val = v.bytes("value", value);
  const f = v.u64("flags", flags);
  return onMap(cmd, fd, (m) => {
    const keyBytes = keyArg("key", k, m);
    valueArg("value", val, m);
    return (own) => elemAttr(own, m, keyBytes, val, f).call(cmd);
  });
}

/**
 * BPF_MAP_LOOKUP_ELEM: fills `value`; false when the key is absent (ENOENT).
 * `key` must be the map's key_size and `value` its value size (per-CPU maps:
 * mapValueSlotSize), both read from the map first; `key` is null for maps
 * without keys (queue, stack, bloom filter).
 */
export function mapLookupElem(
  mapFd: number,
  key: Uint8Array | null,
  value: Uint8Array,
  flags: number | bigint = 0,
): boolean {
  const r = keyValueElem(BpfCmd.MAP_LOOKUP_ELEM, mapFd, key, value, flags);
  if (r === -Errno.ENOENT) return false;
  check(BpfCmd.MAP_LOOKUP_ELEM, r);
  return true;
}

/** BPF_MAP_UPDATE_ELEM with BpfUpdateFlag ANY / NOEXIST / EXIST (| F_LOCK); sizes as mapLookupElem. */
export function mapUpdateElem(
  mapFd: number,
  key: Uint8Array | null,
  value: Uint8Array,
  flags: number | bigint = 0,
): void {
  check(BpfCmd.MAP_UPDATE_ELEM, keyValueElem(BpfCmd.MAP_UPDATE_ELEM, mapFd, key, value, flags));
}

/** BPF_MAP_DELETE_ELEM; false when the key was absent (ENOENT). */
export function mapDeleteElem(mapFd: number, key: Uint8Array, flags: number | bigint = 0): boolean {
  const fd = v.fd("mapFd", mapFd);
  const k = keyOrNull("key", key);
  const f = v.u64("flags", flags);
  return onMap(BpfCmd.MAP_DELETE_ELEM, fd, (m) => {
    const keyBytes = keyArg("key", k, m);
    return (own) => {
      const r = elemAttr(own, m, keyBytes, null, f).call(BpfCmd.MAP_DELETE_ELEM);
      if (r === -Errno.ENOENT) return false;
      check(BpfCmd.MAP_DELETE_ELEM, r);
      return true;
    };
  });
}

/**
 * BPF_MAP_GET_NEXT_KEY: writes the key after `key` (the first key when `key`
 * is null) into `nextKey`; false at the end. Both are the map's key_size.
 */
export function mapGetNextKey(mapFd: number, key: Uint8Array | null, nextKey: Uint8Array): boolean {
  const fd = v.fd("mapFd", mapFd);
  const k = keyOrNull("key", key);
  const next = v.bytes("nextKey", nextKey);
  return onMap(BpfCmd.MAP_GET_NEXT_KEY, fd, (m) => {
    const keyBytes = k === null ? null : keyArg("key", k, m);
    v.bytes("nextKey", next, m.keySize, "the map's key_size");
    return (own) => {
      const attr = new Attr("map_elem")
        .u32("map_fd", own)
        .ptr("key", keyBytes, m.keySize)
        .ptr("next_key", next, m.keySize);
      const r = attr.call(BpfCmd.MAP_GET_NEXT_KEY);
      if (r === -Errno.ENOENT) return false;
      check(BpfCmd.MAP_GET_NEXT_KEY, r);
      return true;
    };
  });
}

/** BPF_MAP_FREEZE: no more writes from user space. */
export function mapFreeze(mapFd: number): void {
  const attr = new Attr("map_elem").u32("map_fd", v.fd("mapFd", mapFd));
  check(BpfCmd.MAP_FREEZE, attr.call(BpfCmd.MAP_FREEZE));
}

export interface BatchOptions {
  mapFd: number;
  /** count × key_size bytes. */
  keys: Uint8Array;
  /** count × the value size (mapValueSlotSize) bytes. */
  values?: Uint8Array;
  /** Elements offered (in) → processed (out). */
  count: number;
  elemFlags?: number | bigint;
  flags?: number | bigint;
}

export interface LookupBatchOptions extends BatchOptions {
  values: Uint8Array;
  /** Token from the previous call's outBatch; null starts at the beginning. */
  inBatch: Uint8Array | null;
  /** Receives the token for the next call: at least mapBatchTokenSize(key_size) bytes. */
  outBatch: Uint8Array;
}

export interface BatchResult {
  /** Elements copied by this call. */
  count: number;
  /** No elements remain (the kernel answered ENOENT). */
  done: boolean;
}

type BatchKind = "lookup" | "update" | "delete";

/** A batch command's options, each read once (getters run once, before any call). */
interface BatchArgs {
  mapFd: number;
  keys: Uint8Array;
  values: Uint8Array | undefined;
  count: number;
  elemFlags: bigint;
  flags: bigint;
  inBatch: Uint8Array | null;
  outBatch: Uint8Array | undefined;
}

function readBatchOptions(o: BatchOptions, kind: BatchKind): BatchArgs {
  if (typeof o !== "object" || o === null) throw new TypeError("batch options must be an object");
  const l = o as Partial<LookupBatchOptions>;
  const args: BatchArgs = {
    mapFd: v.fd("mapFd", o.mapFd),
    keys: v.bytes("keys", o.keys),
    values: undefined,
    count: v.u32("count", o.count),
    elemFlags: v.u64("elemFlags", o.elemFlags ?? 0),
    flags: v.u64("flags", o.flags ?? 0),
    inBatch: null,
    outBatch: undefined,
  };
  if (kind !== "delete") args.values = v.bytes("values", o.values);
  if (kind === "lookup") {
    args.inBatch = l.inBatch === null ? null : v.bytes("inBatch", l.inBatch);
    args.outBatch = v.bytes("outBatch", l.outBatch);
  }
  return args;
}

/** Checks a batch's buffers against the map and builds its attr. */
function batchAttr(a: BatchArgs, m: MapSizes, kind: BatchKind) {
  const keysSize = a.count * m.keySize;
  v.bytes("keys", a.keys, keysSize, `count ${a.count} × key_size ${m.keySize}`);
  const valuesSize = a.count * m.valueSlotSize;
  if (a.values !== undefined) {
    v.bytes("values", a.values, valuesSize, `count ${a.count} × value size ${m.valueSlotSize}`);
  }
  const token = mapBatchTokenSize(m.keySize);
  if (kind === "lookup") {
    if (a.inBatch !== null) v.bytesAtLeast("inBatch", a.inBatch, token, "a batch token");
    v.bytesAtLeast("outBatch", a.outBatch, token, "a batch token");
  }
  return (fd: number) => {
    const attr = new Attr("batch")
      .u32("map_fd", fd)
      .ptr("keys", a.keys, keysSize)
      .ptr("values", a.values ?? null, valuesSize)
      .u32("count", a.count)
      .out("count")
      .u64("elem_flags", a.elemFlags)
      .u64("flags", a.flags);
    if (kind === "lookup")
      attr.ptr("in_batch", a.inBatch, token).ptr("out_batch", a.outBatch, token);
    return attr;
  };
}

function lookupBatch(cmd: number, o: LookupBatchOptions): BatchResult {
  const a = readBatchOptions(o, "lookup");
  return onMap(cmd, a.mapFd, (m) => {
    const build = batchAttr(a, m, "lookup");
    return (own) => {
      const attr = build(own);
      const r = attr.call(cmd);
      const count = attr.readU32("count");
      if (r === -Errno.ENOENT) return { count, done: true };
      check(cmd, r);
      return { count, done: false };
    };
  });
}

/** BPF_MAP_LOOKUP_BATCH: buffers sized from the map (keys, values: count × size; tokens: mapBatchTokenSize). */
export function mapLookupBatch(o: LookupBatchOptions): BatchResult {
  return lookupBatch(BpfCmd.MAP_LOOKUP_BATCH, o);
}

/** BPF_MAP_LOOKUP_AND_DELETE_BATCH (buffers as mapLookupBatch). */
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

function writeBatch(cmd: number, o: BatchOptions, kind: "update" | "delete"): number {
  const a = readBatchOptions(o, kind);
  return onMap(cmd, a.mapFd, (m) => {
    const build = batchAttr(a, m, kind);
    return (own) => {
      const attr = build(own);
      const r = attr.call(cmd);
      if (r < 0) throw new BatchError(cmd, -r, attr.readU32("count"));
      return attr.readU32("count");
    };
  });
}

/** BPF_MAP_UPDATE_BATCH → elements written (keys: count × key_size, values: count × value size). */
export function mapUpdateBatch(o: BatchOptions & { values: Uint8Array }): number {
  return writeBatch(BpfCmd.MAP_UPDATE_BATCH, o, "update");
}

/** BPF_MAP_DELETE_BATCH → elements deleted (keys: count × key_size; `values` is not used). */
export function mapDeleteBatch(o: BatchOptions): number {
  return writeBatch(BpfCmd.MAP_DELETE_BATCH, o, "delete");
}
