// BPF_OBJ_GET_INFO_BY_FD for maps, programs, links and BTF objects.
import { Attr, StructReader } from "../attr.js";
import { BpfCmd, BpfLinkType } from "../constants/enums.gen.js";
import { check } from "../errors.js";
import {
  BpfBtfInfoLayout,
  BpfLinkInfoLayout,
  BpfMapInfoLayout,
  BpfProgInfoLayout,
  type StructLayout,
} from "../layout/layouts.gen.js";
import { native } from "../native.js";
import * as v from "../validate.js";

/**
 * Raw BPF_OBJ_GET_INFO_BY_FD: the kernel fills `info` (input pointers inside
 * it must be set by the caller) → bytes it wrote (info_len).
 */
export function objGetInfoByFd(
  fd: number,
  info: Uint8Array,
  pointers: [number, Uint8Array][] = [],
): number {
  v.bytes("info", info);
  const attr = new Attr("info")
    .u32("bpf_fd", v.fd("fd", fd))
    .u32("info_len", info.byteLength)
    .ptr("info", info)
    .out("info_len");
  // Addresses of buffers the kernel fills through pointers inside `info`.
  const view = new DataView(info.buffer, info.byteOffset, info.byteLength);
  for (const [offset, buffer] of pointers) {
    view.setBigUint64(offset, native().address(buffer), true);
  }
  check(BpfCmd.OBJ_GET_INFO_BY_FD, attr.call(BpfCmd.OBJ_GET_INFO_BY_FD));
  return attr.readU32("info_len");
}

function fetch<L extends StructLayout>(
  fd: number,
  layout: L,
  setup?: (r: StructReader<L>) => [number, Uint8Array][],
) {
  const r = new StructReader(layout, new Uint8Array(layout.size));
  const pointers = setup ? setup(r) : [];
  const len = objGetInfoByFd(fd, r.bytes, pointers);
  return { r, len };
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

export function mapInfo(fd: number): MapInfo {
  const { r } = fetch(fd, BpfMapInfoLayout);
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

export function progInfo(fd: number): ProgInfo {
  // First call learns nr_map_ids; the second fetches the ids.
  const first = fetch(fd, BpfProgInfoLayout).r;
  const nrMapIds = first.u32("nr_map_ids");
  let r = first;
  let mapIds: number[] = [];
  if (nrMapIds > 0) {
    const ids = new Uint8Array(nrMapIds * 4);
    r = fetch(fd, BpfProgInfoLayout, (s) => {
      s.setU32("nr_map_ids", nrMapIds);
      return [[s.offsetOf("map_ids"), ids]];
    }).r;
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

const MAP_TARGETS = new Set(["bpf_map_elem", "bpf_sk_storage_map", "sockmap"]);
const TASK_TARGETS = new Set(["task", "task_file", "task_vma"]);

export function linkInfo(fd: number): LinkInfo {
  const targetName = new Uint8Array(64);
  const { r } = fetch(fd, BpfLinkInfoLayout, (s) => {
    s.setU32("iter.target_name_len", targetName.byteLength);
    return [[s.offsetOf("iter.target_name"), targetName]];
  });
  const type = r.u32("type");
  const out: LinkInfo = { type, id: r.u32("id"), progId: r.u32("prog_id") };
  if (type === BpfLinkType.ITER) {
    const end = targetName.indexOf(0);
    const name = Buffer.from(targetName.subarray(0, end < 0 ? targetName.length : end)).toString(
      "utf8",
    );
    const iter: IterLinkInfo = { targetName: name };
    if (MAP_TARGETS.has(name)) iter.mapId = r.u32("iter.map.map_id");
    if (name === "cgroup") {
      iter.cgroupId = r.u64("iter.cgroup.cgroup_id");
      iter.order = r.u32("iter.cgroup.order");
    }
    if (TASK_TARGETS.has(name)) {
      iter.tid = r.u32("iter.task.tid");
      iter.pid = r.u32("iter.task.pid");
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

export function btfInfo(fd: number, options: { withData?: boolean } = {}): BtfInfo {
  const name = new Uint8Array(64);
  const setName = (s: StructReader<typeof BpfBtfInfoLayout>): [number, Uint8Array][] => {
    s.setU32("name_len", name.byteLength);
    return [[s.offsetOf("name"), name]];
  };
  let { r } = fetch(fd, BpfBtfInfoLayout, setName);
  const size = r.u32("btf_size");
  let data: Uint8Array | undefined;
  if (options.withData && size > 0) {
    data = new Uint8Array(size);
    const buffer = data;
    r = fetch(fd, BpfBtfInfoLayout, (s) => {
      s.setU32("btf_size", buffer.byteLength);
      return [...setName(s), [s.offsetOf("btf"), buffer]];
    }).r;
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
