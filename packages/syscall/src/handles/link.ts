// Link: owns a link fd. Iterator links come from attachIterator(), which is
// package-internal (./internal): @ts-ebpf/iter's createIterator is the public
// way, checking the program's target against the target and its parameters.

import { BpfAttachType } from "@ts-ebpf/spec/constants";
import { getFdById } from "../commands/id.js";
import { type LinkInfo, linkInfo } from "../commands/info.js";
import {
  encodeIterLinkInfo,
  type IterLinkParams,
  iterCreate,
  linkCreate,
  linkDetach,
  linkUpdate,
} from "../commands/link.js";
import { expectKind } from "../fds.js";
import * as v from "../validate.js";
import { adopt, adoptDupOf, adoptPinned, FdHandle, ownFd } from "./fd.js";
import { type Program, programFdOf } from "./program.js";

/** The protected constructor, for attachIterator() in this module. */
let newLink: (fd: number) => Link;

export class Link extends FdHandle {
  protected constructor(fd: number) {
    super(fd, "link", `Link ${fd}`);
  }

  static {
    newLink = (fd) => new Link(fd);
  }

  /**
   * A handle on the link `fd` refers to. The handle works on its own duplicate:
   * `fd` stays the caller's (open, on success and on failure). An
   * ObjectKindError when `fd` is not a link; a RangeError for fds 0-2.
   */
  static fromFd(fd: number): Link {
    return adoptDupOf(fd, "link", (dup) => new Link(dup));
  }

  /** Opens a pinned link (BPF_OBJ_GET); an ObjectKindError when the pin is not a link. */
  static fromPinned(path: string): Link {
    return adoptPinned(path, "link", (fd) => new Link(fd));
  }

  static fromId(id: number): Link {
    return adopt(getFdById("link", id), (fd) => {
      expectKind(fd, "link", `link id ${id}`);
      return new Link(fd);
    });
  }

  info(): LinkInfo {
    return linkInfo(ownFd(this));
  }

  /** BPF_LINK_UPDATE to another program (optionally only if `oldProgram` is attached). */
  update(program: Program | number, oldProgram?: Program | number): void {
    const options = oldProgram === undefined ? {} : { oldProgFd: fdOf(oldProgram) };
    linkUpdate(ownFd(this), fdOf(program), options);
  }

  /** BPF_LINK_DETACH: the link stays open but inert. */
  detach(): void {
    linkDetach(ownFd(this));
  }
}

/** A program's fd for a command: a handle's private fd, or a caller's number. */
function fdOf(x: Program | number): number {
  return typeof x === "number" ? v.fd("program fd", x) : programFdOf(x);
}

/**
 * Attaches an iterator program: BPF_LINK_CREATE (attach type TRACE_ITER,
 * target_fd 0) with optional parameters (`union bpf_iter_link_info`).
 * Internal (exported through ./internal only): nothing here can tell which
 * target the program was verified for, so a task program given { mapFd }
 * would take the map's fd number as a tid; createIterator checks. Returns
 * the plain Link that owns the link fd; open readers with openIteratorFd
 * (@ts-ebpf/iter's createIterator returns an IteratorLink that does both).
 */
export function attachIterator(
  program: Program | number,
  params?: IterLinkParams | Uint8Array,
): Link {
  const iterInfo =
    params === undefined
      ? undefined
      : params instanceof Uint8Array
        ? params
        : encodeIterLinkInfo(params);
  const fd = linkCreate({ progFd: fdOf(program), attachType: BpfAttachType.TRACE_ITER, iterInfo });
  return adopt(fd, newLink);
}

/** BPF_ITER_CREATE → a fresh fd to read() the iterator from; the caller closes it. */
export function openIteratorFd(link: Link | number): number {
  return iterCreate(typeof link === "number" ? v.fd("link fd", link) : ownFd(link));
}
