// V8's compile cache for the CLI (Node ≥ 22.1, module.enableCompileCache):
// the modules a run loads are compiled from cached code instead of parsed
// again. bin/bpf-iter.js calls it before it imports any other of our modules,
// since only modules loaded after the call use the cache.
//
// The cache is code that V8 runs, and bpf-iter usually runs as root: it goes
// only in a directory no one else can write or swap, the same rules as the
// program cache's (builtins/program-cache.ts), never Node's default of
// $TMPDIR/node-compile-cache (another user could make that directory first).
// TS_EBPF_CACHE=0 keeps it off too; NODE_COMPILE_CACHE / NODE_DISABLE_COMPILE_CACHE
// keep Node's own meaning (Node reads them before we run).

import { lstatSync, mkdirSync } from "node:fs";
import module from "node:module";
import { dirname, join, resolve } from "node:path";

/** $TS_EBPF_CACHE_DIR, else $XDG_CACHE_HOME/ts-ebpf, else ~/.cache/ts-ebpf: the program cache's base. */
function cacheBase(): string | undefined {
  const env = process.env;
  if (env.TS_EBPF_CACHE_DIR) return env.TS_EBPF_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : undefined);
  return base ? join(base, "ts-ebpf") : undefined;
}

/**
 * `dir`, made 0700 when missing, when it is a directory of the effective user
 * that no one else can write, under directories that are root's or ours and
 * writable by no one else unless sticky; else undefined.
 */
export function privateCacheDirectory(given: string): string | undefined {
  const uid = process.geteuid?.();
  if (uid === undefined || !given.startsWith("/")) return undefined;
  const dir = resolve(given); // no trailing slash (lstat would follow a symlink) nor ".."
  try {
    // Nothing is made below a directory another user controls (sudo keeping the
    // caller's HOME): the part of the path that exists is checked first.
    let existing = dir;
    while (!lstatSync(existing, { throwIfNoEntry: false })) {
      if (existing === "/") return undefined;
      existing = dirname(existing);
    }
    if (existing !== dir && !trustedFrom(existing, uid)) return undefined;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return undefined;
    return trustedFrom(dirname(dir), uid) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** `path` and every directory above it: root's or ours, no symlink, writable by no one else unless sticky. */
function trustedFrom(path: string, uid: number): boolean {
  for (let up = path; ; up = dirname(up)) {
    const above = lstatSync(up);
    if (!above.isDirectory() || (above.uid !== 0 && above.uid !== uid)) return false;
    if ((above.mode & 0o022) !== 0 && (above.mode & 0o1000) === 0) return false;
    if (up === "/") return true;
  }
}

/** Turns V8's compile cache on where Node has it and a private directory exists; the directory used, else undefined. */
export function enableCliCompileCache(): string | undefined {
  const enable = (module as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
  if (typeof enable !== "function" || process.env.TS_EBPF_CACHE === "0") return undefined;
  if (process.env.NODE_COMPILE_CACHE || process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  const base = cacheBase();
  const dir =
    base === undefined ? undefined : privateCacheDirectory(join(base, "node-compile-cache"));
  if (dir === undefined) return undefined;
  try {
    enable(dir);
    return dir;
  } catch {
    return undefined; // the cache only saves time: a run without it is the same run
  }
}
