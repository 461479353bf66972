// Btf: owns a BTF object fd (BTF_LOAD, BTF_GET_FD_BY_ID), as Map, Program and
// Link own theirs. Pass it where an fd of the program's BTF is wanted
// (loadProgram's `btf` option takes it as is; MAP_CREATE's btfFd: `btf.fd`).
import { type BtfLoadOptions, btfLoad } from "../commands/btf.js";
import { getFdById } from "../commands/id.js";
import { type BtfInfo, btfInfo } from "../commands/info.js";
import { expectKind } from "../fds.js";
import { adopt, adoptDupOf, FdHandle, ownFd, type PinOptions } from "./fd.js";

export class Btf extends FdHandle {
  /** The kernel's BTF log, when loaded with logLevel > 0 (or after a rejection). */
  readonly log: string;

  protected constructor(fd: number, log: string) {
    super(fd, "btf", `BTF ${fd}`);
    this.log = log;
  }

  /** BPF_BTF_LOAD of a raw BTF blob; a rejection is a VerifierError with the kernel's log. */
  static load(btf: Uint8Array, options: BtfLoadOptions = {}): Btf {
    const { fd, log } = btfLoad(btf, options);
    return adopt(fd, (owned) => new Btf(owned, log));
  }

  /**
   * A handle on the BTF object `fd` refers to. The handle works on its own
   * duplicate: `fd` stays the caller's (open, on success and on failure). An
   * ObjectKindError when `fd` is not a BTF object; a RangeError for fds 0-2.
   */
  static fromFd(fd: number): Btf {
    return adoptDupOf(fd, "btf", (dup) => new Btf(dup, ""));
  }

  /** BTF_GET_FD_BY_ID (vmlinux is id 1 on most kernels; modules have their own). */
  static fromId(id: number): Btf {
    return adopt(getFdById("btf", id), (fd) => {
      expectKind(fd, "btf", `BTF id ${id}`);
      return new Btf(fd, "");
    });
  }

  /** Id, name, size, whether it is kernel BTF; `withData` also fetches the raw BTF. */
  info(options: { withData?: boolean } = {}): BtfInfo {
    return btfInfo(ownFd(this), options);
  }

  /** BTF objects cannot be pinned: bpffs holds maps, programs and links (a TypeError). */
  override pin(path: string, _options?: PinOptions): never {
    throw new TypeError(
      `cannot pin ${String(path)}: BTF objects cannot be pinned (bpffs holds maps, programs and links)`,
    );
  }
}
