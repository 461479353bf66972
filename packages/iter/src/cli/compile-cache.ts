// Node's compile cache for the CLI (Node ≥ 22.1, module.enableCompileCache):
// the modules a run loads are compiled from cached code instead of parsed
// again. The launcher (launch.ts) calls it before it imports main.js, since
// only modules loaded after the call use the cache; the start bundle has a
// code cache of the launcher's own, on every Node.
//
// The cache is code that V8 runs, and bpf-iter usually runs as root: it goes
// only in a directory no one else can write or swap, the same rules as the
// program cache's (builtins/program-cache.ts), never Node's default of
// $TMPDIR/node-compile-cache (another user could make that directory first).
// TS_EBPF_CACHE=0 keeps it off too; NODE_COMPILE_CACHE / NODE_DISABLE_COMPILE_CACHE
// keep Node's own meaning (Node reads them before we run).

import module from "node:module";
import { join } from "node:path";
import { cacheBase, privateDirectory } from "../private-directory.js";

/** `dir` when private to us (made 0700 when missing), else undefined: see private-directory.ts. */
export function privateCacheDirectory(dir: string): string | undefined {
  return privateDirectory(dir, true);
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
