// Base of the handles: owns its fds; close() / [Symbol.dispose]; a
// FinalizationRegistry closes the fds of handles dropped without close() (a
// safety net, not a way to manage them).
//
// Ownership, by construction:
// - A handle runs every operation on a private fd that never leaves this
//   package. The public `fd` is a second fd (a dup made on first use) that the
//   handle also owns. Closing the public fd behind the handle's back, and the
//   number being reused by another object, cannot redirect the handle: its
//   preset attrs (BpfMap's element fast path) name the private fd. Before
//   handing out or closing the public fd the handle checks (kcmp) that the
//   number is still its own open file, so it never closes another's file
//   either. The cost is one extra fd per handle whose `fd` is read.
// - The finalizer is registered only once a handle is fully built (adopt()):
//   a constructor that throws leaves the fd to adopt(), which closes it once.
//   Both closers share one record whose fds are set to -1 when closed, so an
//   fd is never closed twice.
// - Every fd a handle owns is ≥ 3 (commands move fds 0-2 up, fromFd dups).
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  statfsSync,
} from "node:fs";
import { basename, dirname } from "node:path";
import { BPF_FS_MAGIC, BpfCmd } from "@ts-ebpf/spec/constants";
import type { ObjectKind } from "../commands/id.js";
import { objGet, objPinAt } from "../commands/obj.js";
import { BpfError } from "../errors.js";
import { dupAbove2, expectKind, fdAbove2, objectKind, sameOpenFile } from "../fds.js";
import * as v from "../validate.js";

/** The fds one handle owns; shared by the handle and its finalizer. */
class OwnedFds {
  /** The fd the handle's own operations use; never handed out. */
  own: number;
  /** The fd `handle.fd` hands out (-1 until first asked for). */
  shown = -1;

  constructor(own: number) {
    this.own = own;
  }

  /** The public fd, made on first use, made again if it was closed behind our back. */
  public(): number {
    if (this.shown >= 0 && !sameOpenFile(this.shown, this.own)) this.shown = -1;
    if (this.shown < 0) this.shown = dupAbove2(this.own);
    return this.shown;
  }

  close(): void {
    const { own, shown } = this;
    this.own = -1;
    this.shown = -1;
    // The public fd is closed only while it is still ours: closed and reused
    // behind our back, the number belongs to someone else now.
    try {
      if (shown >= 0 && own >= 0 && sameOpenFile(shown, own)) closeSync(shown);
    } finally {
      if (own >= 0) closeSync(own);
    }
  }
}

const registry = new FinalizationRegistry<OwnedFds>((fds) => {
  try {
    fds.close();
  } catch {
    // a finalizer has no one to report to
  }
});

/** Options of `pin()`. */
export interface PinOptions {
  /**
   * Permission bits of the pin file (default 0o600: the owner only). The
   * kernel creates pins with 0600 & ~umask; another mode is applied right after.
   */
  mode?: number;
}

/** O_PATH (Node has no constant for it); the same value on x86-64 and arm64. */
const O_PATH = 0o10000000;

/**
 * The fd adopt() is building a handle around, until the handle's constructor
 * takes it (the first thing FdHandle's constructor does). A constructor called
 * any other way (from JavaScript, where `protected` does not hold) would own an
 * fd nobody gave it: it throws instead. adopt()'s callers read every option of
 * the caller's (codecs, getters) before adopt(): no caller code runs while a
 * handle is being adopted.
 */
let adopting: number | undefined;

let registerFinalizer: (handle: FdHandle) => void;
let privateFd: (handle: FdHandle) => number;

export abstract class FdHandle {
  readonly #fds: OwnedFds;
  readonly #label: string;
  readonly #kind: ObjectKind;

  static {
    registerFinalizer = (h) => registry.register(h, h.#fds, h.#fds);
    privateFd = (h) => {
      const fd = h.#fds.own;
      if (fd < 0) throw new TypeError(`${h.#label} is closed`);
      return fd;
    };
  }

  /**
   * `fd` becomes the handle's private fd. Build handles through adopt(), which
   * registers the finalizer once the constructor has succeeded.
   */
  protected constructor(fd: number, kind: ObjectKind, label: string) {
    if (adopting === undefined || adopting !== fd) {
      throw new TypeError(
        "handles are made by their static methods (create, load, fromFd, fromPinned, fromId), not with new",
      );
    }
    // One handle per adoption: the token is used up before anything else runs,
    // so code running later in a subclass constructor cannot build a second
    // handle around the same fd.
    adopting = undefined;
    this.#fds = new OwnedFds(fd);
    this.#kind = kind;
    this.#label = label;
  }

  /**
   * An fd for passing this object to other calls. The handle owns it (close()
   * closes it); it is not the fd the handle itself uses, so closing it does not
   * affect the handle, and if it was closed (its number reused by another
   * file) the next read of `fd` gives a fresh one. A TypeError once closed.
   */
  get fd(): number {
    privateFd(this); // a TypeError once closed
    return this.#fds.public();
  }

  get closed(): boolean {
    return this.#fds.own < 0;
  }

  /**
   * Pins the object at a bpffs path (the pin outlives the handle), with
   * `mode` (default 0o600).
   *
   * The parent directory is opened once and the pin is made relative to it
   * (bpffs is often mode 1777: other users can swap directories and symlinks
   * under a path). When the mode must change, the new pin is opened
   * O_PATH|O_NOFOLLOW relative to the same directory, checked to be ours (a
   * regular file on bpffs, owned by this user, one link, holding this very
   * object) and chmod'ed through /proc/self/fd, so a swapped name is never
   * followed to another file.
   */
  pin(path: string, options: PinOptions = {}): void {
    v.cPath("path", path);
    if (typeof options !== "object" || options === null)
      throw new TypeError("pin options must be an object");
    const mode = options.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
      throw new RangeError(
        `mode must be permission bits between 0 and 0o777, got ${typeof mode === "number" ? `0o${mode.toString(8)}` : v.describe(mode)}`,
      );
    }
    const name = basename(path);
    if (name === "" || name === "." || name === ".." || path.endsWith("/")) {
      throw new RangeError(`path must name a file to create, got ${path}`);
    }
    const own = privateFd(this);
    const dirFd = openDir(dirname(path), path);
    try {
      objPinAt(own, dirFd, name, path);
      setPinModeAt(dirFd, name, path, mode, own, this.#kind);
    } finally {
      closeSync(dirFd);
    }
  }

  close(): void {
    if (this.#fds.own < 0) return;
    registry.unregister(this.#fds);
    this.#fds.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The fd a handle's own operations use (package-internal: never exported from the index). */
export function ownFd(handle: FdHandle): number {
  return privateFd(handle);
}

/**
 * Builds a handle around `fd`, which the caller owns until then: on success the
 * handle owns it (and the finalizer is registered), on failure it is closed.
 */
export function adopt<T extends FdHandle>(fd: number, build: (fd: number) => T): T {
  let handle: T;
  const outer = adopting;
  adopting = fd;
  try {
    handle = build(fd);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // nothing more to do
    }
    throw e;
  } finally {
    adopting = outer;
  }
  registerFinalizer(handle);
  return handle;
}

/**
 * Opens what a caller lends: a dup ≥ 3 of `fd` (the caller keeps `fd`, on
 * success and on failure) checked to be of `kind`, handed to `build`.
 */
export function adoptDupOf<T extends FdHandle>(
  fd: number,
  kind: ObjectKind,
  build: (fd: number) => T,
): T {
  fdAbove2("fd", fd);
  return adopt(dupAbove2(fd), (dup) => {
    expectKind(dup, kind, `fd ${fd}`);
    return build(dup);
  });
}

/** Opens a pin (BPF_OBJ_GET) and checks it holds an object of `kind`. */
export function adoptPinned<T extends FdHandle>(
  path: string,
  kind: ObjectKind,
  build: (fd: number) => T,
  fileFlags = 0,
): T {
  return adopt(objGet(path, fileFlags), (fd) => {
    expectKind(fd, kind, path);
    return build(fd);
  });
}

function openDir(dir: string, path: string): number {
  try {
    return openSync(dir, O_PATH | constants.O_DIRECTORY);
  } catch (e) {
    const errno = -((e as NodeJS.ErrnoException).errno ?? 0);
    if (errno > 0) {
      throw new BpfError(BpfCmd.OBJ_PIN, errno, {
        hint: `${path}: cannot open its directory ${dir} (${(e as Error).message})`,
      });
    }
    throw e;
  }
}

/**
 * Gives the pin `name` in the directory open as `dirFd` the permission bits
 * `mode`, if it still is the pin of `own` just made (package-internal; pin()
 * calls it). Anything else at the name is left alone: an OBJ_PIN EPERM.
 */
export function setPinModeAt(
  dirFd: number,
  name: string,
  path: string,
  mode: number,
  own: number,
  kind: ObjectKind,
): void {
  const refused = (why: string) =>
    new BpfError(BpfCmd.OBJ_PIN, 1 /* EPERM */, {
      hint: `${path} was pinned, but ${why}; its mode was left as the kernel made it`,
    });
  // /proc/self/fd/<dirFd>/<name> resolves through the directory opened above.
  let pinFd: number;
  try {
    pinFd = openSync(`/proc/self/fd/${dirFd}/${name}`, O_PATH | constants.O_NOFOLLOW);
  } catch (e) {
    throw refused(`opening it again failed (${(e as Error).message})`);
  }
  try {
    const st = fstatSync(pinFd);
    if ((st.mode & 0o7777) === mode) return;
    if (!st.isFile()) throw refused("the name now refers to something that is not a pin");
    if (statfsSync(`/proc/self/fd/${pinFd}`).type !== BPF_FS_MAGIC)
      throw refused("the name now refers to a file outside bpffs");
    if (st.uid !== process.geteuid?.()) throw refused(`the file there is owned by uid ${st.uid}`);
    if (st.nlink !== 1) throw refused("the file there has other hard links");
    // The very object pinned: open the file just checked and compare ids.
    const again = objGet(`/proc/self/fd/${pinFd}`);
    try {
      if (objectKind(again) !== kind || objectId(again, kind) !== objectId(own, kind))
        throw refused("the name now refers to another object");
    } finally {
      closeSync(again);
    }
    chmodSync(`/proc/self/fd/${pinFd}`, mode);
  } finally {
    closeSync(pinFd);
  }
}

/** The kernel id of a BPF object fd, from /proc/self/fdinfo (map_id, prog_id, link_id, btf_id). */
function objectId(fd: number, kind: ObjectKind): number {
  const field = `${kind}_id`;
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  const m = new RegExp(`^${field}:\\s*(\\d+)$`, "m").exec(info);
  if (!m) throw new TypeError(`fd ${fd}: no ${field} in /proc/self/fdinfo`);
  return Number(m[1]);
}
