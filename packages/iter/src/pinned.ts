// Pinned iterators read through the file system: the path is opened once and
// everything after looks at the open file (never at a path looked up a
// second time). What a BPF fd is comes from @ts-ebpf/syscall's fdKind.
import { closeSync, constants, fstatSync, openSync, statfsSync } from "node:fs";
import { BPF_FS_MAGIC } from "@ts-ebpf/spec/constants";
import type { FdKind } from "@ts-ebpf/syscall";
import { ownedAbove2 } from "@ts-ebpf/syscall/internal";
import { IteratorError, IteratorReadError } from "./errors.js";

const KIND_PHRASE: Record<FdKind, string> = {
  map: "a BPF map",
  prog: "a BPF program",
  link: "a BPF link",
  btf: "a BTF object",
  iter: "an iterator's read fd",
  other: "not a BPF object",
};

/** "a BPF map", "a BPF program", ... for messages. */
export function kindPhrase(kind: FdKind): string {
  return KIND_PHRASE[kind];
}

/**
 * Opens `path` once for reading a pinned iterator and checks, on the opened
 * fd, that it is a regular file on bpffs; the caller owns the fd (≥ 3). O_NONBLOCK
 * so that a FIFO swapped in under the name cannot block the open (bpffs
 * iterators ignore the flag); statfs of /proc/self/fd/N is fstatfs: it
 * describes the open file, whatever the name points to by now.
 */
export function openPinnedFd(path: string): number {
  let opened: number;
  try {
    opened = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw openError(err, path);
  }
  // open(2) gives the lowest free number (0 with stdin closed): moved above 2.
  const fd = ownedAbove2(opened);
  try {
    const onBpffs = statfsSync(`/proc/self/fd/${fd}`).type === BPF_FS_MAGIC;
    if (!onBpffs || !fstatSync(fd).isFile()) {
      throw new IteratorError(
        `${path} is not a pinned iterator: ${onBpffs ? "not a file" : "not on a bpffs mount"}`,
      );
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Why open(2) of a pin failed, for the errnos a caller can do something about. */
const OPEN_ERRNO_REASONS: Record<string, string> = {
  ENOENT: "no such file",
  ENOTDIR: "a component of the path is not a directory",
  EACCES: "permission denied (reading a pinned iterator needs read permission on the pin)",
  EPERM: "permission denied (reading a pinned iterator needs read permission on the pin)",
  // bpffs opens iterator links only: a pinned map, program or other link is EIO.
  EIO: "not a pinned iterator (bpffs refuses to open pinned maps, programs and other links)",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "the path is too long",
  EISDIR: "a directory, not a pinned iterator",
};

/** open(2)'s failure as an IteratorReadError naming the path (errno kept); other errors as they are. */
function openError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string" || !/^E[A-Z0-9]+$/.test(code)) return err;
  const reason = OPEN_ERRNO_REASONS[code] ?? (err as Error).message;
  return new IteratorReadError(code, `cannot open ${path}: ${reason} (${code})`, { cause: err });
}
