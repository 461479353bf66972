// Iterator fds made inside other network namespaces. The tcp, udp, unix,
// netlink and ipv6_route iterators walk the network namespace of the task
// that calls BPF_ITER_CREATE (the seq_file keeps current->nsproxy->net_ns).
// Entering a namespace from the event-loop thread would move every later
// socket of the process there; instead the addon makes the fds on a thread of
// its own that enters each namespace in turn (setns CLONE_NEWNET affects the
// calling thread only) and then ends.

import { BpfCmd } from "@ts-ebpf/spec/constants";
import { effectiveCapabilities } from "./caps.js";
import { Errno, errnoName } from "./errno.js";
import { BpfError } from "./errors.js";
import { checkNewFd } from "./fds.js";
import { ownFd } from "./handles/fd.js";
import { Link } from "./handles/link.js";
import { native } from "./native.js";
import * as v from "./validate.js";

/** setns() into a namespace failed: the namespace fd, errno and why. */
export class NamespaceError extends Error {
  readonly errno: number;
  /** e.g. "EPERM". */
  readonly code: string;
  /** The namespace fd that could not be entered. */
  readonly namespaceFd: number;

  constructor(namespaceFd: number, errno: number, options?: ErrorOptions) {
    const code = errnoName(errno);
    super(`setns(fd ${namespaceFd}, CLONE_NEWNET): ${code}: ${setnsHint(errno)}`, options);
    this.name = "NamespaceError";
    this.errno = errno;
    this.code = code;
    this.namespaceFd = namespaceFd;
  }
}

function setnsHint(errno: number): string {
  switch (errno) {
    case Errno.EPERM: {
      return effectiveCapabilities().includes("CAP_SYS_ADMIN")
        ? "entering the network namespace is not permitted (it belongs to a user namespace where this process lacks CAP_SYS_ADMIN)"
        : "entering a network namespace needs CAP_SYS_ADMIN, which this process lacks";
    }
    case Errno.EINVAL:
      return "the fd is not a network namespace (open /proc/<pid>/ns/net or /run/netns/<name>)";
    case Errno.EBADF:
      return "the fd is not open";
    default:
      return "the namespace could not be entered";
  }
}

/** One namespace's outcome: the new iterator fd (the caller owns it), or why not. */
export type NetnsIteratorFd =
  | { readonly fd: number; readonly error?: undefined }
  | { readonly fd?: undefined; readonly error: NamespaceError | BpfError };

/**
 * BPF_ITER_CREATE on `link` once per network namespace fd in `netnsFds`, each
 * from a thread that has entered that namespace: the reader of fd i walks
 * namespace i. The calling thread's namespaces never change. A namespace that
 * cannot be entered, or an iterator that cannot be made there, gives an error
 * in its slot, not a throw: the other namespaces are still made. Needs
 * CAP_SYS_ADMIN (setns) besides what BPF_ITER_CREATE needs.
 */
export function openIteratorFdsInNetns(
  link: Link | number,
  netnsFds: readonly number[],
): NetnsIteratorFd[] {
  if (!Array.isArray(netnsFds)) {
    throw new TypeError("netnsFds must be an array of network namespace fds");
  }
  if (netnsFds.length > 65536) {
    throw new RangeError(`netnsFds has ${netnsFds.length} entries, at most 65536`);
  }
  const fds = netnsFds.map((fd, i) => v.fd(`netnsFds[${i}]`, fd));
  let linkFd: number;
  if (link instanceof Link) linkFd = ownFd(link);
  else if (typeof link === "number") linkFd = v.fd("link fd", link);
  else throw new TypeError("link must be a Link or a link fd");
  const results = native().iterCreateInNetns(linkFd, fds);
  return results.map((r, i): NetnsIteratorFd => {
    if (r.fd !== undefined) return { fd: checkNewFd(BpfCmd.ITER_CREATE, r.fd) };
    const errno = r.errno ?? Errno.EINVAL;
    if (r.setns) return { error: new NamespaceError(fds[i]!, errno) };
    return { error: new BpfError(BpfCmd.ITER_CREATE, errno) };
  });
}

/**
 * BPF_ITER_CREATE on `link` inside the network namespace of `netnsFd`, from
 * a thread of its own: throws NamespaceError or BpfError. The caller owns the fd.
 */
export function openIteratorFdInNetns(link: Link | number, netnsFd: number): number {
  const [result] = openIteratorFdsInNetns(link, [netnsFd]);
  if (result!.error) throw result!.error;
  return result!.fd!;
}
