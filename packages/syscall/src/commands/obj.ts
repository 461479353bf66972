// bpffs: OBJ_PIN and OBJ_GET.
import { Attr } from "../attr.js";
import { BpfCmd } from "../constants/enums.gen.js";
import { Errno } from "../errno.js";
import { BpfError, check } from "../errors.js";
import * as v from "../validate.js";

function pinHint(errno: number, path: string): string | undefined {
  if (errno === Errno.ENOENT)
    return `${path}: no such file, or its directory is not on a bpffs mount`;
  if (errno === Errno.EEXIST) return `${path} already exists`;
  if (errno === Errno.EPERM && !path.startsWith("/sys/fs/bpf")) {
    return `${path} is not on a bpffs mount (mount -t bpf bpf /sys/fs/bpf)`;
  }
  return undefined;
}

/** BPF_OBJ_PIN: pins a map, program or link fd at a bpffs path. */
export function objPin(fd: number, path: string, fileFlags = 0): void {
  const cpath = v.cPath("path", path);
  const attr = new Attr("obj")
    .ptr("pathname", cpath)
    .u32("bpf_fd", v.fd("fd", fd))
    .u32("file_flags", v.u32("fileFlags", fileFlags));
  const r = attr.call(BpfCmd.OBJ_PIN);
  if (r < 0) {
    const hint = pinHint(-r, path);
    throw new BpfError(BpfCmd.OBJ_PIN, -r, hint ? { hint } : {});
  }
}

/** BPF_OBJ_GET: opens a pinned object → fd. `fileFlags`: BpfFileFlag.RDONLY / WRONLY. */
export function objGet(path: string, fileFlags = 0): number {
  const cpath = v.cPath("path", path);
  const attr = new Attr("obj")
    .ptr("pathname", cpath)
    .u32("file_flags", v.u32("fileFlags", fileFlags));
  const r = attr.call(BpfCmd.OBJ_GET);
  if (r < 0) {
    const hint = pinHint(-r, path);
    throw new BpfError(BpfCmd.OBJ_GET, -r, hint ? { hint } : {});
  }
  return check(BpfCmd.OBJ_GET, r);
}
