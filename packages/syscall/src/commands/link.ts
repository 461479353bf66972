// Links: LINK_CREATE (iterators among others), RAW_TRACEPOINT_OPEN, LINK_UPDATE, LINK_DETACH,
// ITER_CREATE.

import { BPF_F_REPLACE, BpfAttachType, BpfCmd } from "@ts-ebpf/spec/constants";
import { Attr, StructReader } from "../attr.js";
import { check } from "../errors.js";
import { checkNewFd, fdNotZero } from "../fds.js";
import { BpfIterLinkInfoLayout } from "../layout/layouts.gen.js";
import * as v from "../validate.js";

export interface LinkCreateOptions {
  progFd: number;
  /** BpfAttachType, e.g. TRACE_ITER. */
  attachType: number;
  /** 0 for iterators. */
  targetFd?: number;
  flags?: number;
  /** `union bpf_iter_link_info` bytes (see encodeIterLinkInfo); iterator links only. */
  iterInfo?: Uint8Array;
  /** iter_info_len, at most iterInfo's size (default: that size); for ABI tests. */
  iterInfoLen?: number;
  targetBtfId?: number;
}

/** BPF_LINK_CREATE → link fd. */
export function linkCreate(o: LinkCreateOptions): number {
  if (typeof o !== "object" || o === null)
    throw new TypeError("linkCreate options must be an object");
  // Each option is read once, and every size is taken after the last read.
  const progFd = v.fd("progFd", o.progFd);
  const targetFd = v.u32("targetFd", o.targetFd ?? 0);
  const attachType = v.u32("attachType", o.attachType);
  const flags = v.u32("flags", o.flags ?? 0);
  const iterInfo = o.iterInfo === undefined ? undefined : v.bytes("iterInfo", o.iterInfo);
  const iterInfoLen = o.iterInfoLen === undefined ? undefined : v.u32("iterInfoLen", o.iterInfoLen);
  const targetBtfId = o.targetBtfId === undefined ? undefined : v.u32("targetBtfId", o.targetBtfId);
  const attr = new Attr("link_create")
    .u32("prog_fd", progFd)
    .u32("target_fd", targetFd)
    .u32("attach_type", attachType)
    .u32("flags", flags);
  if (iterInfo !== undefined || iterInfoLen !== undefined) {
    // iter_info shares a union with other link types' pointers (kprobe_multi
    // syms, uprobe_multi path): it means iter_info only for iterator links.
    if (attachType !== BpfAttachType.TRACE_ITER) {
      throw new TypeError(
        `iterInfo is for iterator links (attachType TRACE_ITER = ${BpfAttachType.TRACE_ITER}), got attachType ${attachType}`,
      );
    }
    const size = iterInfo === undefined ? 0 : v.byteLength(iterInfo);
    const len = iterInfoLen ?? size;
    if (len > size) {
      throw new RangeError(
        `iterInfoLen must be at most ${size} bytes (the size of iterInfo), got ${len}`,
      );
    }
    attr.ptr("iter_info", iterInfo ?? null, len).u32("iter_info_len", len);
  } else if (targetBtfId !== undefined) {
    attr.u32("target_btf_id", targetBtfId);
  }
  return checkNewFd(BpfCmd.LINK_CREATE, attr.call(BpfCmd.LINK_CREATE));
}

/** Parameters of an iterator link (`union bpf_iter_link_info`). Give at most one group. */
export interface IterLinkParams {
  /** bpf_map_elem, bpf_sk_storage_map, sockmap: the map to walk. */
  mapFd?: number;
  /** cgroup (6.1+): the start cgroup by fd or id, and the walk order (BpfCgroupIterOrder). */
  cgroupFd?: number;
  cgroupId?: bigint | number;
  order?: number;
  /** task, task_file, task_vma (6.1+): one thread, one process, or a pidfd. */
  tid?: number;
  pid?: number;
  pidFd?: number;
}

/** Encodes iterator parameters into `union bpf_iter_link_info` (layout from BTF). */
export function encodeIterLinkInfo(p: IterLinkParams): Uint8Array {
  if (typeof p !== "object" || p === null)
    throw new TypeError("iterator parameters must be an object");
  const info = new StructReader(BpfIterLinkInfoLayout, new Uint8Array(BpfIterLinkInfoLayout.size));
  const groups = [
    p.mapFd !== undefined,
    p.cgroupFd !== undefined || p.cgroupId !== undefined || p.order !== undefined,
    p.tid !== undefined || p.pid !== undefined || p.pidFd !== undefined,
  ].filter(Boolean).length;
  if (groups > 1)
    throw new TypeError("iterator parameters: give map, cgroup or task parameters, not several");
  if (p.mapFd !== undefined) info.setU32("map.map_fd", fdNotZero("mapFd", p.mapFd));
  if (p.order !== undefined) info.setU32("cgroup.order", v.u32("order", p.order));
  if (p.cgroupFd !== undefined) info.setU32("cgroup.cgroup_fd", fdNotZero("cgroupFd", p.cgroupFd));
  if (p.cgroupId !== undefined) info.setU64("cgroup.cgroup_id", v.u64("cgroupId", p.cgroupId));
  if (p.tid !== undefined) info.setU32("task.tid", v.u32("tid", p.tid));
  if (p.pid !== undefined) info.setU32("task.pid", v.u32("pid", p.pid));
  if (p.pidFd !== undefined) info.setU32("task.pid_fd", fdNotZero("pidFd", p.pidFd));
  return info.bytes;
}

/**
 * BPF_LINK_UPDATE: swaps the link's program. With `oldProgFd` the swap
 * happens only if that program is attached (BPF_F_REPLACE, else EPERM).
 */
export function linkUpdate(
  linkFd: number,
  newProgFd: number,
  options: { oldProgFd?: number; flags?: number } = {},
): void {
  const attr = new Attr("link_update")
    .u32("link_fd", v.fd("linkFd", linkFd))
    .u32("new_prog_fd", v.fd("newProgFd", newProgFd))
    .u32("flags", v.u32("flags", options.flags ?? 0));
  if (options.oldProgFd !== undefined) {
    attr
      .u32("old_prog_fd", v.fd("oldProgFd", options.oldProgFd))
      .u32("flags", v.u32("flags", options.flags ?? 0) | BPF_F_REPLACE);
  }
  check(BpfCmd.LINK_UPDATE, attr.call(BpfCmd.LINK_UPDATE));
}

/** BPF_LINK_DETACH: detaches while the fd stays open. */
export function linkDetach(linkFd: number): void {
  const attr = new Attr("link_detach").u32("link_fd", v.fd("linkFd", linkFd));
  check(BpfCmd.LINK_DETACH, attr.call(BpfCmd.LINK_DETACH));
}

/**
 * BPF_RAW_TRACEPOINT_OPEN → link fd. Attaches a raw tracepoint program to
 * the tracepoint `name`, or, without a name, a tracing program (fentry,
 * fexit, fmod_ret, tp_btf) or an LSM program to the target it was loaded
 * for (attach_btf_id). Every kernel with those programs takes it; LINK_CREATE
 * takes fentry/fexit only on later kernels (5.10 refuses it with EINVAL).
 */
export function rawTracepointOpen(o: { progFd: number; name?: string }): number {
  if (typeof o !== "object" || o === null)
    throw new TypeError("rawTracepointOpen options must be an object");
  const progFd = v.fd("progFd", o.progFd);
  const name = o.name === undefined ? undefined : v.cPath("name", o.name);
  const attr = new Attr("raw_tracepoint").u32("prog_fd", progFd);
  if (name !== undefined) attr.ptr("name", name, name.byteLength);
  return checkNewFd(BpfCmd.RAW_TRACEPOINT_OPEN, attr.call(BpfCmd.RAW_TRACEPOINT_OPEN));
}

/** BPF_ITER_CREATE → a new fd to read() the iterator's output from (single use). */
export function iterCreate(linkFd: number, flags = 0): number {
  const attr = new Attr("iter_create")
    .u32("link_fd", v.fd("linkFd", linkFd))
    .u32("flags", v.u32("flags", flags));
  return checkNewFd(BpfCmd.ITER_CREATE, attr.call(BpfCmd.ITER_CREATE));
}
