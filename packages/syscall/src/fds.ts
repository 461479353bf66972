// File descriptors of BPF objects. Every fd a command returns is ≥ 3 (as
// libbpf's ensure_good_fd: fds 0-2 are stdio, and the kernel reads fd 0 as
// "none" in several fields), and what an fd refers to is read from the kernel
// (/proc/self/fd), never assumed from its number.
import { closeSync, readFileSync, readlinkSync } from "node:fs";
import type { ObjectKind } from "./commands/id.js";
import { errnoName } from "./errno.js";
import { type BpfErrorOptions, check } from "./errors.js";
import { native } from "./native.js";
import * as v from "./validate.js";

/** An error of a plain fd operation (fcntl), shaped like Node's system errors. */
export class FdError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;

  constructor(syscall: string, fd: number, errno: number) {
    const code = errnoName(errno);
    super(`${syscall} on fd ${fd}: ${code}${errno === 9 ? " (the fd is not open)" : ""}`);
    this.name = "FdError";
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

/** A new close-on-exec fd ≥ 3 for the same open file (fcntl F_DUPFD_CLOEXEC); the caller owns it. */
export function dupAbove2(fd: number): number {
  const r = native().dupAbove2(v.fd("fd", fd));
  if (r < 0) throw new FdError("fcntl(F_DUPFD_CLOEXEC)", fd, -r);
  return r;
}

/**
 * `fd`, which the caller owns (a command's new fd, a file open(2) gave),
 * moved above 2 when it is 0, 1 or 2 (the lowest free number: 0 when stdin
 * is closed): a dup ≥ 3 replaces it and the low fd is closed. On failure
 * `fd` is closed too.
 */
export function ownedAbove2(fd: number): number {
  if (fd >= 3) return fd;
  try {
    return dupAbove2(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The result of a command that creates an fd: a BpfError for a negated errno,
 * else the fd, moved above 2 when the kernel gave 0, 1 or 2 (stdin closed).
 */
export function checkNewFd(cmd: number, result: number, options?: BpfErrorOptions): number {
  return ownedAbove2(check(cmd, result, options));
}

/**
 * A caller's fd number that a handle or reader will dup or read from: a
 * TypeError when it is not an integer, a RangeError for fds 0-2 (stdin,
 * stdout, stderr: never a BPF object or an iterator of this library, and fd 0
 * means "none" to the kernel in several fields) and for negative numbers.
 */
export function fdAbove2(name: string, value: unknown): number {
  const fd = v.fd(name, value);
  if (fd < 3) {
    throw new RangeError(`${name} must be 3 or more (0-2 are stdin, stdout and stderr), got ${fd}`);
  }
  return fd;
}

/** fdinfo lines that tell open files apart (not pos or counters that change). */
const IDENTITY_LINE = /^(flags|mnt_id|ino|\w+_type|\w+_id):/;

/**
 * Whether fds `a` and `b` are the same open file (a dup of one another):
 * kcmp(KCMP_FILE), or without it (no CONFIG_KCMP) their /proc/self/fdinfo
 * identity lines. False when either is not open.
 */
export function sameOpenFile(a: number, b: number): boolean {
  const r = native().sameFile(v.fd("a", a), v.fd("b", b));
  if (r >= 0) return r === 0;
  if (r === -9 /* EBADF */) return false;
  const identity = (fd: number) => {
    try {
      return readFileSync(`/proc/self/fdinfo/${fd}`, "utf8")
        .split("\n")
        .filter((line) => IDENTITY_LINE.test(line))
        .join("\n");
    } catch {
      return undefined;
    }
  };
  const ia = identity(a);
  return ia !== undefined && ia === identity(b);
}

/** What an fd can refer to: a BPF object kind, an iterator's read fd, or something else. */
export type FdKind = ObjectKind | "iter" | "other";

// The names the kernel gives its anonymous inodes (readlink of /proc/self/fd/N
// shows "anon_inode:<name>"), from kernel/bpf/syscall.c, btf.c, bpf_iter.c:
// bpf_map_new_fd "bpf-map", bpf_prog_new_fd "bpf-prog", __btf_new_fd "btf",
// bpf_iter_new_fd "bpf_iter", and two for links: "bpf_link" from
// bpf_link_prime (LINK_CREATE) but "bpf-link" from bpf_link_new_fd (OBJ_GET,
// LINK_GET_FD_BY_ID). Checked on 6.18.
const ANON_INODE_KINDS: Record<string, FdKind> = {
  "anon_inode:bpf-map": "map",
  "anon_inode:bpf-prog": "prog",
  "anon_inode:bpf_link": "link",
  "anon_inode:bpf-link": "link",
  "anon_inode:btf": "btf",
  "anon_inode:bpf_iter": "iter",
};

/** What `fd` refers to, and the target of its /proc/self/fd link (for messages). */
export function fdKind(fd: number): { kind: FdKind; target: string } {
  v.fd("fd", fd);
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FdError("readlink(/proc/self/fd)", fd, 9);
    throw e;
  }
  return { kind: ANON_INODE_KINDS[target] ?? "other", target };
}

/** The BPF object kind of `fd`, or undefined when it is none (an iterator, a file, a socket...). */
export function objectKind(fd: number): ObjectKind | undefined {
  const { kind } = fdKind(fd);
  return kind === "iter" || kind === "other" ? undefined : kind;
}

const EXPECTED: Record<ObjectKind, string> = {
  map: "map",
  prog: "program",
  link: "link",
  btf: "BTF object",
};
const ACTUAL: Record<Exclude<FdKind, "other">, string> = {
  map: "a BPF map",
  prog: "a BPF program",
  link: "a BPF link",
  btf: "a BTF object",
  iter: "a BPF iterator's read fd",
};

/** An fd or pin that refers to another kind of object than the call needs. */
export class ObjectKindError extends TypeError {
  /** The kind the call needs. */
  readonly expected: ObjectKind;
  /** What it is: another BPF kind, "iter" (an ITER_CREATE fd) or "other" (not BPF). */
  readonly actual: FdKind;
  /** The path or "fd N" the message names. */
  readonly subject: string;

  constructor(subject: string, expected: ObjectKind, actual: FdKind, target: string) {
    super(
      actual === "other"
        ? `${subject} is not a BPF ${EXPECTED[expected]} (it refers to ${target})`
        : `${subject} is ${ACTUAL[actual]}, not a ${EXPECTED[expected]}`,
    );
    this.name = "ObjectKindError";
    this.expected = expected;
    this.actual = actual;
    this.subject = subject;
  }
}

/** Throws ObjectKindError unless `fd` is a BPF object of `kind`; `subject` names it ("fd 7", a path). */
export function expectKind(fd: number, kind: ObjectKind, subject = `fd ${fd}`): void {
  const found = fdKind(fd);
  if (found.kind !== kind) throw new ObjectKindError(subject, kind, found.kind, found.target);
}

/**
 * An fd for a field where the kernel reads 0 as "not given" (attach_btf_obj_fd,
 * the iterator's cgroup_fd, pid_fd, map_fd): fd 0 would silently mean
 * something else (vmlinux, every cgroup, every task), so it is a RangeError.
 */
export function fdNotZero(name: string, value: unknown): number {
  const fd = v.fd(name, value);
  if (fd === 0) {
    throw new RangeError(
      `${name} is fd 0, which the kernel reads as "not given" in this field; leave it undefined, or dup the fd above 2`,
    );
  }
  return fd;
}
