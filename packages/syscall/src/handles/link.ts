// Link: owns a link fd. Iterator links come from createIteratorLink().
import { closeSync } from "node:fs";
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
import { objGet } from "../commands/obj.js";
import { BpfAttachType } from "../constants/enums.gen.js";
import * as v from "../validate.js";
import { FdHandle } from "./fd.js";
import type { Program } from "./program.js";

export class Link extends FdHandle {
  protected constructor(fd: number) {
    super(fd, `Link ${fd}`);
  }

  /** Takes ownership of a link fd. */
  static fromFd(fd: number): Link {
    v.fd("fd", fd);
    return new Link(fd);
  }

  static fromPinned(path: string): Link {
    const fd = objGet(path);
    try {
      linkInfo(fd); // EINVAL unless the pinned object is a link
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return new Link(fd);
  }

  static fromId(id: number): Link {
    return new Link(getFdById("link", id));
  }

  info(): LinkInfo {
    return linkInfo(this.fd);
  }

  /** BPF_LINK_UPDATE to another program (optionally only if `oldProgram` is attached). */
  update(program: Program | number, oldProgram?: Program | number): void {
    const options = oldProgram === undefined ? {} : { oldProgFd: fdOf(oldProgram) };
    linkUpdate(this.fd, fdOf(program), options);
  }

  /** BPF_LINK_DETACH: the link stays open but inert. */
  detach(): void {
    linkDetach(this.fd);
  }
}

function fdOf(x: Program | number): number {
  return typeof x === "number" ? v.fd("program fd", x) : x.fd;
}

/**
 * BPF_LINK_CREATE for an iterator program (attach type TRACE_ITER, target_fd 0),
 * with optional parameters (`union bpf_iter_link_info`).
 */
export function createIteratorLink(
  program: Program | number,
  params?: IterLinkParams | Uint8Array,
): Link {
  const iterInfo =
    params === undefined
      ? undefined
      : params instanceof Uint8Array
        ? params
        : encodeIterLinkInfo(params);
  return Link.fromFd(
    linkCreate({ progFd: fdOf(program), attachType: BpfAttachType.TRACE_ITER, iterInfo }),
  );
}

/** BPF_ITER_CREATE → a fresh fd to read() the iterator from; the caller closes it. */
export function openIteratorFd(link: Link | number): number {
  return iterCreate(typeof link === "number" ? v.fd("link fd", link) : link.fd);
}
