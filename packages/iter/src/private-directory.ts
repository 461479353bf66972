// The one place that decides where bpf-iter's caches live and whether a
// directory is private enough to hold them. Both caches (built-in programs,
// builtins/program-cache.ts, and V8's compile cache, cli/compile-cache.ts)
// hold what root loads or runs, so a directory is used only when no one else
// can write it or swap it or anything above it. Node built-ins only: the
// compile cache loads this before any other module of ours.

import { lstatSync, mkdirSync } from "node:fs";
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
