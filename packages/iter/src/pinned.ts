// What an open fd is, read from the kernel's view of the open file (never
// from a path looked up a second time): the kind of BPF object behind it, and
// whether it is a file on bpffs.
import { closeSync, constants, fstatSync, openSync, readlinkSync, statfsSync } from "node:fs";
import { IteratorError } from "./errors.js";

/** What an fd refers to: a BPF object kind, an iterator's read fd, or anything else. */
export type BpfFdKind = "map" | "prog" | "link" | "btf" | "iter" | "other";

// readlink of /proc/self/fd/N gives "anon_inode:<name>" with the names the
// kernel's bpf_map_new_fd, bpf_prog_new_fd, __btf_new_fd and bpf_iter_new_fd
// pass to anon_inode_getfd. Links have two: "bpf_link" from LINK_CREATE
// (bpf_link_prime), "bpf-link" from OBJ_GET and GET_FD_BY_ID (bpf_link_new_fd).
const ANON_INODE_KINDS: Record<string, BpfFdKind> = {
  "anon_inode:bpf-map": "map",
  "anon_inode:bpf-prog": "prog",
  "anon_inode:bpf_link": "link",
  "anon_inode:bpf-link": "link",
  "anon_inode:btf": "btf",
  "anon_inode:bpf_iter": "iter",
};

const KIND_PHRASE: Record<BpfFdKind, string> = {
  map: "a BPF map",
  prog: "a BPF program",
  link: "a BPF link",
  btf: "a BTF object",
  iter: "an iterator's read fd",
  other: "not a BPF object",
};

export function bpfFdKind(fd: number): BpfFdKind {
  return ANON_INODE_KINDS[readlinkSync(`/proc/self/fd/${fd}`)] ?? "other";
}

/** "a BPF map", "a BPF program", ... for messages. */
export function kindPhrase(kind: BpfFdKind): string {
  return KIND_PHRASE[kind];
}

/** bpffs's f_type (include/uapi/linux/magic.h BPF_FS_MAGIC). */
const BPF_FS_MAGIC = 0xcafe4a11;

/**
 * Opens `path` once for reading a pinned iterator and checks, on the opened
 * fd, that it is a regular file on bpffs; the caller owns the fd. O_NONBLOCK
 * so that a FIFO swapped in under the name cannot block the open (bpffs
 * iterators ignore the flag); statfs of /proc/self/fd/N is fstatfs: it
 * describes the open file, whatever the name points to by now.
 */
export function openPinnedFd(path: string): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
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
