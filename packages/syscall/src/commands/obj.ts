// bpffs: OBJ_PIN and OBJ_GET.
import { statfsSync, statSync } from "node:fs";
import { BPF_FS_MAGIC, BpfCmd, BpfFileFlag } from "@ts-ebpf/spec/constants";
import { Attr } from "../attr.js";
import { Errno } from "../errno.js";
import { BpfError } from "../errors.js";
import { checkNewFd } from "../fds.js";
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

/**
 * OBJ_GET's EACCES covers both "no BPF object there" (a directory, a file
 * outside bpffs) and a pin this user may not open: say which, as bpftool
 * does. Looked up after the fact for the message only; nothing is decided
 * on it.
 */
function notAnObjectHint(path: string): string | undefined {
  try {
    const st = statSync(path);
    const what = st.isDirectory()
      ? "a directory"
      : st.isFile()
        ? "a regular file"
        : st.isCharacterDevice()
          ? "a character device"
          : st.isBlockDevice()
            ? "a block device"
            : st.isFIFO()
              ? "a FIFO"
              : st.isSocket()
                ? "a socket"
                : "not a pin";
    if (st.isDirectory()) return `${path} is not a BPF object (a directory)`;
    if (statfsSync(path).type !== BPF_FS_MAGIC) {
      return `${path} is not a BPF object (${what} outside bpffs)`;
    }
    if (!st.isFile()) return `${path} is not a BPF object (${what})`;
    return `${path}: permission denied (BPF_OBJ_GET needs read and write permission on the pin; read only with fileFlags RDONLY)`;
  } catch {
    return undefined;
  }
}

/** BPF_OBJ_PIN: pins a map, program or link fd at a bpffs path. */
export function objPin(fd: number, path: string, fileFlags = 0): void {
  const cpath = v.cPath("path", path);
  const attr = new Attr("obj")
    .ptr("pathname", cpath, cpath.byteLength)
    .u32("bpf_fd", v.fd("fd", fd))
    .u32("file_flags", v.u32("fileFlags", fileFlags));
  const r = attr.call(BpfCmd.OBJ_PIN);
  if (r < 0) {
    const hint = pinHint(-r, path);
    throw new BpfError(BpfCmd.OBJ_PIN, -r, hint ? { hint } : {});
  }
}

/**
 * BPF_OBJ_PIN of `name` relative to the directory open as `dirFd`, so the
 * directory is looked up once by whoever opened it: BPF_F_PATH_FD (6.5+), or
 * on older kernels (EINVAL / E2BIG for the flag) the path
 * /proc/self/fd/<dirFd>/<name>, which resolves through the same open
 * directory. `path` names the pin in errors.
 */
export function objPinAt(fd: number, dirFd: number, name: string, path = name): void {
  const cname = v.cPath("name", name);
  const attr = new Attr("obj")
    .ptr("pathname", cname, cname.byteLength)
    .u32("bpf_fd", v.fd("fd", fd))
    .u32("file_flags", BpfFileFlag.PATH_FD)
    .u32("path_fd", v.fd("dirFd", dirFd));
  let r = attr.call(BpfCmd.OBJ_PIN);
  if (r === -Errno.EINVAL || r === -Errno.E2BIG) {
    const procPath = v.cPath("name", `/proc/self/fd/${dirFd}/${name}`);
    const viaProc = new Attr("obj")
      .ptr("pathname", procPath, procPath.byteLength)
      .u32("bpf_fd", fd);
    r = viaProc.call(BpfCmd.OBJ_PIN);
  }
  if (r < 0) {
    const hint = pinHint(-r, path);
    throw new BpfError(BpfCmd.OBJ_PIN, -r, hint ? { hint } : {});
  }
}

/** BPF_OBJ_GET: opens a pinned object → fd. `fileFlags`: BpfFileFlag.RDONLY / WRONLY. */
export function objGet(path: string, fileFlags = 0): number {
  const cpath = v.cPath("path", path);
  const attr = new Attr("obj")
    .ptr("pathname", cpath, cpath.byteLength)
    .u32("file_flags", v.u32("fileFlags", fileFlags));
  const r = attr.call(BpfCmd.OBJ_GET);
  if (r < 0) {
    const hint = -r === Errno.EACCES ? notAnObjectHint(path) : pinHint(-r, path);
    throw new BpfError(BpfCmd.OBJ_GET, -r, hint ? { hint } : {});
  }
  return checkNewFd(BpfCmd.OBJ_GET, r);
}
