// The one place that decides where bpf-iter's caches live and whether a
// directory is private enough to hold them. The caches (built-in programs,
// builtins/program-cache.ts; V8's code of the CLI's start bundle,
// cli/launch.ts; Node's compile cache, cli/compile-cache.ts) hold what root
// loads or runs, so a directory is used only when no one else can write it
// or swap it or anything above it, and a file in it is read only when it is
// ours, regular and writable by no one else. Node built-ins only: the CLI's
// launcher loads this before any other module of ours.

import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";

/** $TS_EBPF_CACHE_DIR, else $XDG_CACHE_HOME/ts-ebpf, else ~/.cache/ts-ebpf (undefined: nowhere). */
export function cacheBase(): string | undefined {
  const env = process.env;
  if (env.TS_EBPF_CACHE_DIR) return env.TS_EBPF_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : undefined);
  return base ? join(base, "ts-ebpf") : undefined;
}

/**
 * `given` when it is a directory of the effective user that no one else can
 * read or write (0700, no symlink), under directories that are root's or
 * ours and writable by no one else unless sticky (/tmp); else undefined.
 * With `create`, a missing directory is made 0700 first, but never below a
 * directory another user controls (sudo keeping the caller's HOME).
 */
export function privateDirectory(given: string, create: boolean): string | undefined {
  const uid = process.geteuid?.();
  if (uid === undefined || !given.startsWith("/")) return undefined;
  // Without a trailing slash (through which lstat follows a symlink) or "..":
  // the path checked below, component by component, is the path opened.
  const dir = resolve(given);
  try {
    if (create) {
      let existing = dir;
      while (!lstatSync(existing, { throwIfNoEntry: false })) {
        if (existing === "/") return undefined;
        existing = dirname(existing);
      }
      if (existing !== dir && !trustedFrom(existing, uid)) return undefined;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    const st = lstatSync(dir);
    // A symlink, another owner or any access for group/others: not ours to trust.
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return undefined;
    return trustedFrom(dirname(dir), uid) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether no one else could swap `path` or a directory above it for another:
 * each is a directory (no symlink), root's or ours, and writable by no one
 * else unless sticky (/tmp).
 */
function trustedFrom(path: string, uid: number): boolean {
  for (let up = path; ; up = dirname(up)) {
    const above = lstatSync(up);
    if (!above.isDirectory() || (above.uid !== 0 && above.uid !== uid)) return false;
    if ((above.mode & 0o022) !== 0 && (above.mode & 0o1000) === 0) return false;
    if (up === "/") return true;
  }
}

/**
 * The bytes of `path` when it is a regular file of the effective user that no
 * one else can write, 1 to `maxSize` bytes, read without following a symlink;
 * else undefined. The buffer is its own (offset 0 in its ArrayBuffer).
 */
export function readPrivateFile(path: string, maxSize: number): Buffer | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in the file's place must not block the open.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0) return undefined;
    if (st.size === 0 || st.size > maxSize) return undefined;
    const bytes = Buffer.alloc(st.size);
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) return undefined; // shrank under us
      at += n;
    }
    return bytes;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` to `path` (in a private directory) best effort: to a new 0600
 * file beside it (`<path>.<pid>.tmp`, O_EXCL, no symlink followed) renamed
 * into place, so a reader sees the old file or the new one. False when not written.
 */
export function writePrivateFile(path: string, data: string | Uint8Array): boolean {
  const temp = `${path}.${process.pid}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
    return true;
  } catch {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // not made
    }
    return false;
  }
}
