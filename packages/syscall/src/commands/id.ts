// Walking kernel objects by id: *_GET_NEXT_ID and *_GET_FD_BY_ID.

import { BpfCmd } from "@ts-ebpf/spec/constants";
import { Attr } from "../attr.js";
import { Errno } from "../errno.js";
import { BpfError, check } from "../errors.js";
import { checkNewFd } from "../fds.js";
import * as v from "../validate.js";

export type ObjectKind = "prog" | "map" | "link" | "btf";

const NEXT_ID: Record<ObjectKind, number> = {
  prog: BpfCmd.PROG_GET_NEXT_ID,
  map: BpfCmd.MAP_GET_NEXT_ID,
  link: BpfCmd.LINK_GET_NEXT_ID,
  btf: BpfCmd.BTF_GET_NEXT_ID,
};
const FD_BY_ID: Record<ObjectKind, number> = {
  prog: BpfCmd.PROG_GET_FD_BY_ID,
  map: BpfCmd.MAP_GET_FD_BY_ID,
  link: BpfCmd.LINK_GET_FD_BY_ID,
  btf: BpfCmd.BTF_GET_FD_BY_ID,
};

function kindOf(kind: unknown): ObjectKind {
  if (kind === "prog" || kind === "map" || kind === "link" || kind === "btf") return kind;
  throw new TypeError(`object kind must be "prog", "map", "link" or "btf", got ${String(kind)}`);
}

/** PROG/MAP/LINK/BTF_GET_NEXT_ID → the id after `startId`, or undefined at the end. */
export function getNextId(kind: ObjectKind, startId = 0): number | undefined {
  const cmd = NEXT_ID[kindOf(kind)];
  const attr = new Attr("get_id").u32("start_id", v.u32("startId", startId)).out("next_id");
  const r = attr.call(cmd);
  if (r === -Errno.ENOENT) return undefined;
  check(cmd, r);
  return attr.readU32("next_id");
}

/** Every id of a kind, in order. */
export function* ids(kind: ObjectKind): Generator<number> {
  let id = getNextId(kind, 0);
  while (id !== undefined) {
    yield id;
    id = getNextId(kind, id);
  }
}

/** PROG/MAP/LINK/BTF_GET_FD_BY_ID → fd (the caller owns it). */
export function getFdById(kind: ObjectKind, id: number, openFlags = 0): number {
  const cmd = FD_BY_ID[kindOf(kind)];
  const attr = new Attr("get_id")
    .u32("start_id", v.positiveU32("id", id))
    .u32("open_flags", v.u32("openFlags", openFlags));
  const r = attr.call(cmd);
  if (r === -Errno.ENOENT) {
    throw new BpfError(cmd, Errno.ENOENT, {
      hint: `no ${kind} with id ${id} (it may have been freed)`,
    });
  }
  return checkNewFd(cmd, r);
}
