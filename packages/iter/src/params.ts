// Link parameters (`union bpf_iter_link_info`): checked against the target
// before any syscall, then encoded with the layout the running kernel's BTF
// describes.

import type { Btf } from "@ts-ebpf/btf";
import { BpfCgroupIterOrder } from "@ts-ebpf/spec/constants";
import type { IterLinkParams } from "@ts-ebpf/syscall";
import { IteratorParamError } from "./errors.js";
import { type ParamKind, paramKind, targetInfo } from "./targets.js";

/** Anything owning a map fd: a `Map` from @ts-ebpf/syscall, or `{ fd }`. */
export interface MapFdOwner {
  readonly fd: number;
}

export type CgroupOrder = "pre" | "post" | "up" | "self";

export interface MapParams {
  /** The map to walk (bpf_map_elem, bpf_sk_storage_map, sockmap). */
  map: MapFdOwner | number;
}

/** Exactly one of tid, pid, pidFd (task, task_file, task_vma; Linux 6.1+). */
export interface TaskParams {
  tid?: number;
  pid?: number;
  pidFd?: number;
}

/** cgroup by fd or id (not both; neither means the root), walk order (default "pre"). */
export interface CgroupParams {
  cgroupFd?: number;
  cgroupId?: bigint | number;
  order?: CgroupOrder;
}

export type IteratorParams = MapParams | TaskParams | CgroupParams;

/** Parameters after validation, ready to encode. */
export type LinkParams =
  | { readonly kind: "none" }
  | { readonly kind: "map"; readonly mapFd: number }
  | { readonly kind: "task"; readonly tid: number; readonly pid: number; readonly pidFd: number }
  | {
      readonly kind: "cgroup";
      readonly order: CgroupOrder;
      readonly cgroupFd: number;
      readonly cgroupId: bigint;
    };

const KEYS: Record<Exclude<ParamKind, "none">, readonly string[]> = {
  map: ["map"],
  task: ["tid", "pid", "pidFd"],
  cgroup: ["cgroupFd", "cgroupId", "order"],
};

function describeAccepted(target: string, kind: ParamKind): string {
  if (kind === "none") return `the ${target} iterator takes no parameters`;
  const keys = KEYS[kind];
  return `the ${target} iterator accepts ${keys.map((k) => `"${k}"`).join(", ")}`;
}

function kindOfKey(key: string): ParamKind | undefined {
  for (const [kind, keys] of Object.entries(KEYS)) if (keys.includes(key)) return kind as ParamKind;
  return undefined;
}

function u32(name: string, value: unknown, min = 0): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new IteratorParamError(`${name} must be an integer, got ${String(value)}`);
  }
  if (value < min || value > 0xffffffff) {
    throw new IteratorParamError(`${name} must be between ${min} and 4294967295, got ${value}`);
  }
  return value;
}

/** The largest fd number (the kernel's fds are ints). */
const MAX_FD = 0x7fffffff;

/**
 * An fd parameter. Fds 0-2 are a RangeError: stdin, stdout and stderr are no
 * map, cgroup or pidfd, and the kernel reads fd 0 as "not given" in these
 * fields (cgroup fd 0 would silently mean the root cgroup).
 */
function fdParam(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new IteratorParamError(`${name} must be an fd (an integer), got ${String(value)}`);
  }
  if (value >= 0 && value < 3) {
    throw new RangeError(
      `${name} is fd ${value}: fds 0-2 are stdin, stdout and stderr, and the kernel reads fd 0 ` +
        'as "not given" here; pass an fd of 3 or more (a handle\'s fd always is)',
    );
  }
  if (value < 0 || value > MAX_FD) {
    throw new IteratorParamError(`${name} must be an fd between 3 and ${MAX_FD}, got ${value}`);
  }
  return value;
}

function fdOf(name: string, value: unknown): number {
  if (typeof value === "number") return fdParam(name, value);
  if (typeof value === "object" && value !== null && "fd" in value) {
    const fd = (value as MapFdOwner).fd;
    if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0) {
      throw new IteratorParamError(`${name} is closed or has no valid fd (fd ${String(fd)})`);
    }
    return fdParam(`${name}.fd`, fd);
  }
  throw new IteratorParamError(`${name} must be a Map handle (with an fd) or an fd number`);
}

const ORDERS: readonly CgroupOrder[] = ["pre", "post", "up", "self"];

/**
 * Checks `params` against `target` and normalizes them. Throws
 * IteratorParamError (a TypeError) for a parameter the target does not take,
 * a missing mandatory one, or a malformed value.
 */
export function checkParams(target: string, params: unknown): LinkParams {
  const kind = paramKind(target);
  if (params === undefined || params === null) {
    // The kernel has no default order (ORDER_UNSPEC is EINVAL): walk from the root, pre-order.
    if (kind === "cgroup") return { kind: "cgroup", order: "pre", cgroupFd: 0, cgroupId: 0n };
    if (targetInfo(target)?.paramsRequired) {
      throw new IteratorParamError(
        `the ${target} iterator needs { map }: the map whose elements it walks`,
      );
    }
    return { kind: "none" };
  }
  if (typeof params !== "object" || Array.isArray(params)) {
    throw new IteratorParamError(`iterator parameters must be an object, got ${typeof params}`);
  }
  const entries = Object.entries(params as Record<string, unknown>).filter(
    ([, v]) => v !== undefined,
  );
  for (const [key] of entries) {
    const keyKind = kindOfKey(key);
    if (keyKind === undefined) {
      throw new IteratorParamError(
        `unknown iterator parameter "${key}": ${describeAccepted(target, kind)}`,
      );
    }
    if (keyKind !== kind) {
      throw new IteratorParamError(
        `parameter "${key}" does not apply to the ${target} iterator (it is for ${
          keyKind === "map"
            ? "bpf_map_elem, bpf_sk_storage_map and sockmap"
            : keyKind === "task"
              ? "task, task_file and task_vma"
              : "cgroup"
        }); ${describeAccepted(target, kind)}`,
      );
    }
  }
  const p = Object.fromEntries(entries);
  switch (kind) {
    case "none":
      return { kind: "none" };
    case "map": {
      if (!("map" in p)) {
        throw new IteratorParamError(`the ${target} iterator needs { map }`);
      }
      return { kind: "map", mapFd: fdOf("map", p.map) };
    }
    case "task": {
      const given = KEYS.task.filter((k) => k in p);
      if (given.length === 0) return { kind: "none" };
      if (given.length > 1) {
        throw new IteratorParamError(
          `give only one of tid, pid, pidFd to the ${target} iterator, got ${given.join(" and ")}`,
        );
      }
      return {
        kind: "task",
        tid: "tid" in p ? u32("tid", p.tid, 1) : 0,
        pid: "pid" in p ? u32("pid", p.pid, 1) : 0,
        pidFd: "pidFd" in p ? fdParam("pidFd", p.pidFd) : 0,
      };
    }
    case "cgroup": {
      if ("cgroupFd" in p && "cgroupId" in p) {
        throw new IteratorParamError(
          "give either cgroupFd or cgroupId to the cgroup iterator, not both",
        );
      }
      const order = p.order ?? "pre";
      if (!ORDERS.includes(order as CgroupOrder)) {
        throw new IteratorParamError(
          `cgroup order must be one of ${ORDERS.map((o) => `"${o}"`).join(", ")}, got ${String(order)}`,
        );
      }
      let cgroupId = 0n;
      if ("cgroupId" in p) {
        const id = p.cgroupId;
        if (typeof id === "number" && Number.isSafeInteger(id) && id > 0) cgroupId = BigInt(id);
        else if (typeof id === "bigint" && id > 0n && id < 1n << 64n) cgroupId = id;
        else throw new IteratorParamError(`cgroupId must be a positive u64, got ${String(id)}`);
      }
      return {
        kind: "cgroup",
        order: order as CgroupOrder,
        cgroupFd: "cgroupFd" in p ? fdParam("cgroupFd", p.cgroupFd) : 0,
        cgroupId,
      };
    }
  }
}

/**
 * The parameters in the shape @ts-ebpf/syscall encodes into `union
 * bpf_iter_link_info` (whose layout it generates from kernel BTF), or
 * undefined when there is nothing to pass (then neither iter_info nor its
 * length goes to the kernel).
 */
export function toIterLinkParams(params: LinkParams): IterLinkParams | undefined {
  switch (params.kind) {
    case "none":
      return undefined;
    case "map":
      return { mapFd: params.mapFd };
    case "task":
      if (params.tid) return { tid: params.tid };
      if (params.pid) return { pid: params.pid };
      return { pidFd: params.pidFd };
    case "cgroup": {
      const out: IterLinkParams = { order: CGROUP_ORDERS[params.order] };
      if (params.cgroupFd) out.cgroupFd = params.cgroupFd;
      if (params.cgroupId) out.cgroupId = params.cgroupId;
      return out;
    }
  }
}

/** `enum bpf_cgroup_iter_order` values by the names this package uses. */
export const CGROUP_ORDERS: Readonly<Record<CgroupOrder, number>> = {
  self: BpfCgroupIterOrder.SELF_ONLY,
  pre: BpfCgroupIterOrder.DESCENDANTS_PRE,
  post: BpfCgroupIterOrder.DESCENDANTS_POST,
  up: BpfCgroupIterOrder.ANCESTORS_UP,
};

/**
 * Checks that the running kernel's `union bpf_iter_link_info` has the member
 * these parameters need (task and cgroup parameters arrived in 6.1).
 */
export function checkKernelParams(btf: Btf, target: string, params: LinkParams): void {
  if (params.kind === "none") return;
  const union = btf.findType("bpf_iter_link_info", "union");
  const has = (name: string) => union?.members.some((m) => m.name === name) ?? false;
  if (!has(params.kind)) {
    const since = targetInfo(target)?.paramsSince ?? targetInfo(target)?.since ?? "6.1";
    throw new IteratorParamError(
      `the running kernel's union bpf_iter_link_info has no "${params.kind}" member: ` +
        `parameters for the ${target} iterator need Linux ${since} or newer`,
    );
  }
}
