// BPF_OBJ_GET_INFO_BY_FD for maps, programs, links and BTF objects.
//
// The info structs hold pointers the kernel writes through (a program's
// map_ids, a link's target_name, a BTF object's data and name; a map's hash
// on newer kernels), and a union whose meaning depends on the link type: an
// iterator link's target_name is a kprobe_multi link's addrs array. So no
// caller bytes ever reach the kernel as an info struct: each call fills a
// zeroed struct of this module's, sets only the pointers it means (each with
// its count, from the buffer's size), and asks for them only after the first
// call has said what kind of object it is, on a private duplicate of the fd.
import { closeSync } from "node:fs";
import { BpfCmd, BpfLinkType, iterParamKind } from "@ts-ebpf/spec/constants";
import { Attr, StructReader } from "../attr.js";
import { Errno } from "../errno.js";
import { BpfError, check } from "../errors.js";
import { dupAbove2, FdError, fdKind, ObjectKindError } from "../fds.js";
import {
  BpfBtfInfoLayout,
  BpfLinkInfoLayout,
  BpfMapInfoLayout,
  BpfProgInfoLayout,
  type StructLayout,
} from "../layout/layouts.gen.js";
import { native } from "../native.js";
import * as v from "../validate.js";
import type { ObjectKind } from "./id.js";

/** A pointer field inside an info struct, with the count field the kernel sizes it by. */
interface InfoPointer<L extends StructLayout> {
  pointer: keyof L["fields"] & string;
  /** The field holding how many `unit`-byte items `buffer` has room for. */
  count: keyof L["fields"] & string;
  unit: number;
  buffer: Uint8Array;
}

/**
 * OBJ_GET_INFO_BY_FD into a fresh, zeroed struct with only `pointers` set,
 * each written together with its count. The buffers are this module's own,
 * and `fd` must be known to be of the struct's kind when pointers are given.
 */
function fetchInfo<L extends StructLayout>(
  fd: number,
  layout: L,
  pointers: InfoPointer<L>[] = [],
): StructReader<L> {
  const r = new StructReader(layout, new Uint8Array(layout.size));
  const addon = native();
  for (const p of pointers) {
    r.setU32(p.count, p.buffer.byteLength / p.unit);
    r.setU64(p.pointer, addon.address(p.buffer));
  }
  const attr = new Attr("info")
    .u32("bpf_fd", fd)
    .u32("info_len", r.bytes.byteLength)
    .ptr("info", r.bytes, r.bytes.byteLength)
    .out("info_len");
  check(BpfCmd.OBJ_GET_INFO_BY_FD, attr.call(BpfCmd.OBJ_GET_INFO_BY_FD));
  return r;
}

/** The kernel refuses info_len above a page (E2BIG). */
const MAX_INFO_LEN = 4096;

/**
 * BPF_OBJ_GET_INFO_BY_FD for any BPF object: fills `info` with the start of
 * its bpf_{map,prog,link,btf}_info → bytes the kernel wrote (info_len). The
 * kernel gets a zeroed private copy and so follows no pointer: array fields
 * come back as counts only (mapInfo, progInfo, linkInfo and btfInfo read them).
 */
export function objGetInfoByFd(fd: number, info: Uint8Array): number {
  const bpfFd = v.fd("fd", fd);
  const size = v.byteLength(v.bytes("info", info));
  if (size > MAX_INFO_LEN) {
    throw new RangeError(`info must be at most ${MAX_INFO_LEN} bytes, got ${size}`);
  }
  const scratch = new Uint8Array(size);
  const attr = new Attr("info")
    .u32("bpf_fd", bpfFd)
    .u32("info_len", size)
    .ptr("info", scratch, size)
    .out("info_len");
  check(BpfCmd.OBJ_GET_INFO_BY_FD, attr.call(BpfCmd.OBJ_GET_INFO_BY_FD));
  const written = Math.min(size, attr.readU32("info_len"));
  // The caller's buffer may have shrunk or been detached since (it is theirs).
  info.set(scratch.subarray(0, Math.min(written, v.byteLength(info))));
  return written;
}

/**
 * Runs `use` on a private duplicate of `fd` once it is known to be a BPF
 * object of `kind`: every call `use` makes reads that very object, even if
 * the caller's fd number is closed and reused meanwhile.
 */
function onObject<T>(fd: number, kind: ObjectKind, use: (own: number) => T): T {
  const caller = v.fd("fd", fd);
  let own: number;
  try {
    own = dupAbove2(caller);
  } catch (e) {
    if (e instanceof FdError) {
      throw new BpfError(BpfCmd.OBJ_GET_INFO_BY_FD, e.errno, { hint: `fd ${caller} is not open` });
    }
    throw e;
  }
  try {
    const found = fdKind(own);
    if (found.kind !== kind) {
      if (found.kind === "other" || found.kind === "iter") {
        throw new BpfError(BpfCmd.OBJ_GET_INFO_BY_FD, Errno.EINVAL, {
          hint: `fd ${caller} is not a BPF object (it refers to ${found.target})`,
        });
      }
      throw new ObjectKindError(`fd ${caller}`, kind, found.kind, found.target);
    }
    return use(own);
  } finally {
    closeSync(own);
  }
}

/** Fields beyond what the running kernel wrote read as zero. */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  ifindex: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  mapExtra: bigint;
}

/** The map `fd` refers to (an ObjectKindError for another BPF object). */
export function mapInfo(fd: number): MapInfo {
  return onObject(fd, "map", mapInfoOf);
}

/**
 * MAP info of an fd without checking its kind first (a zeroed struct: safe on
 * any fd). For the element commands, which the kernel refuses on a non-map fd
 * anyway; not part of the public API.
 */
export function mapInfoOf(fd: number): MapInfo {
  const r = fetchInfo(fd, BpfMapInfoLayout);
  return {
    type: r.u32("type"),
    id: r.u32("id"),
    keySize: r.u32("key_size"),
    valueSize: r.u32("value_size"),
    maxEntries: r.u32("max_entries"),
    flags: r.u32("map_flags"),
    name: r.string("name"),
    ifindex: r.u32("ifindex"),
    btfId: r.u32("btf_id"),
    btfKeyTypeId: r.u32("btf_key_type_id"),
    btfValueTypeId: r.u32("btf_value_type_id"),
    mapExtra: r.u64("map_extra"),
  };
}

export interface ProgInfo {
  type: number;
  id: number;
  /** Hex of the 8-byte program tag (as bpftool prints it). */
  tag: string;
  name: string;
  /** Nanoseconds since boot. */
  loadTime: bigint;
  createdByUid: number;
  mapIds: number[];
  gplCompatible: boolean;
  btfId: number;
  jitedProgLen: number;
  xlatedProgLen: number;
  runTimeNs: bigint;
  runCnt: bigint;
  verifiedInsns: number;
  attachBtfObjId: number;
  attachBtfId: number;
}

/** The program `fd` refers to (an ObjectKindError for another BPF object). */
export function progInfo(fd: number): ProgInfo {
  return onObject(fd, "prog", progInfoOf);
}

function progInfoOf(fd: number): ProgInfo {
  // First call learns nr_map_ids; the second fetches the ids.
  const first = fetchInfo(fd, BpfProgInfoLayout);
  const nrMapIds = first.u32("nr_map_ids");
  let r = first;
  let mapIds: number[] = [];
  if (nrMapIds > 0) {
    const ids = new Uint8Array(nrMapIds * 4);
    r = fetchInfo(fd, BpfProgInfoLayout, [
      { pointer: "map_ids", count: "nr_map_ids", unit: 4, buffer: ids },
    ]);
    const view = new DataView(ids.buffer);
    mapIds = Array.from({ length: Math.min(nrMapIds, r.u32("nr_map_ids")) }, (_, i) =>
      view.getUint32(i * 4, true),
    );
  }
  return {
    type: r.u32("type"),
    id: r.u32("id"),
    tag: Buffer.from(r.raw("tag")).toString("hex"),
    name: r.string("name"),
    loadTime: r.u64("load_time"),
    createdByUid: r.u32("created_by_uid"),
    mapIds,
    gplCompatible: r.u32("gpl_compatible") === 1,
    btfId: r.u32("btf_id"),
    jitedProgLen: r.u32("jited_prog_len"),
    xlatedProgLen: r.u32("xlated_prog_len"),
    runTimeNs: r.u64("run_time_ns"),
    runCnt: r.u64("run_cnt"),
    verifiedInsns: r.u32("verified_insns"),
    attachBtfObjId: r.u32("attach_btf_obj_id"),
    attachBtfId: r.u32("attach_btf_id"),
  };
}

/** Iterator link parameters as the kernel reports them. */
export interface IterLinkInfo {
  /** Target without the bpf_iter_ prefix, e.g. "task", "bpf_map_elem". */
  targetName: string;
  mapId?: number;
  cgroupId?: bigint;
  order?: number;
  tid?: number;
  pid?: number;
}

export interface LinkInfo {
  type: number;
  id: number;
  progId: number;
  iter?: IterLinkInfo;
  tracing?: { attachType: number; targetObjId: number; targetBtfId: number };
}

/** The link `fd` refers to (an ObjectKindError for another BPF object). */
export function linkInfo(fd: number): LinkInfo {
  return onObject(fd, "link", linkInfoOf);
}

function linkInfoOf(fd: number): LinkInfo {
  // The union after prog_id means something else for every link type: learn
  // the type with no pointer set, then ask for an iterator's target name.
  let r = fetchInfo(fd, BpfLinkInfoLayout);
  const type = r.u32("type");
  const targetName = new Uint8Array(64);
  if (type === BpfLinkType.ITER) {
    r = fetchInfo(fd, BpfLinkInfoLayout, [
      { pointer: "iter.target_name", count: "iter.target_name_len", unit: 1, buffer: targetName },
    ]);
  }
  const out: LinkInfo = { type, id: r.u32("id"), progId: r.u32("prog_id") };
  if (type === BpfLinkType.ITER) {
    const end = targetName.indexOf(0);
    const name = Buffer.from(targetName.subarray(0, end < 0 ? targetName.length : end)).toString(
      "utf8",
    );
    const iter: IterLinkInfo = { targetName: name };
    // Which union member the kernel filled in depends on the target's parameter kind.
    switch (iterParamKind(name)) {
      case "map":
        iter.mapId = r.u32("iter.map.map_id");
        break;
      case "cgroup":
        iter.cgroupId = r.u64("iter.cgroup.cgroup_id");
        iter.order = r.u32("iter.cgroup.order");
        break;
      case "task":
        iter.tid = r.u32("iter.task.tid");
        iter.pid = r.u32("iter.task.pid");
        break;
    }
    out.iter = iter;
  } else if (type === BpfLinkType.TRACING) {
    out.tracing = {
      attachType: r.u32("tracing.attach_type"),
      targetObjId: r.u32("tracing.target_obj_id"),
      targetBtfId: r.u32("tracing.target_btf_id"),
    };
  }
  return out;
}

export interface BtfInfo {
  id: number;
  name: string;
  kernelBtf: boolean;
  btfSize: number;
  /** The raw BTF, when asked for. */
  btf?: Uint8Array;
}

/** The BTF object `fd` refers to, with its raw data when asked (an ObjectKindError for another BPF object). */
export function btfInfo(fd: number, options: { withData?: boolean } = {}): BtfInfo {
  const withData = options.withData === true;
  return onObject(fd, "btf", (own) => btfInfoOf(own, withData));
}

function btfInfoOf(fd: number, withData: boolean): BtfInfo {
  const name = new Uint8Array(64);
  let nameFields: InfoPointer<typeof BpfBtfInfoLayout>[] = [
    { pointer: "name", count: "name_len", unit: 1, buffer: name },
  ];
  let r: StructReader<typeof BpfBtfInfoLayout>;
  try {
    r = fetchInfo(fd, BpfBtfInfoLayout, nameFields);
  } catch (e) {
    // Before 5.11 bpf_btf_info ends at id: the kernel refuses a name pointer past
    // its struct (E2BIG). Such a BTF object has no name and is never the kernel's.
    if (!(e instanceof BpfError) || e.errno !== Errno.E2BIG) throw e;
    nameFields = [];
    r = fetchInfo(fd, BpfBtfInfoLayout);
  }
  const size = r.u32("btf_size");
  let data: Uint8Array | undefined;
  if (withData && size > 0) {
    data = new Uint8Array(size);
    r = fetchInfo(fd, BpfBtfInfoLayout, [
      ...nameFields,
      { pointer: "btf", count: "btf_size", unit: 1, buffer: data },
    ]);
  }
  const end = name.indexOf(0);
  const out: BtfInfo = {
    id: r.u32("id"),
    name: Buffer.from(name.subarray(0, end < 0 ? name.length : end)).toString("utf8"),
    kernelBtf: r.u32("kernel_btf") === 1,
    btfSize: size,
  };
  if (data) out.btf = data;
  return out;
}
