// bpf-iter's launcher: bin/bpf-iter.js requires it (as dist/cli/launch.cjs,
// the bundle scripts/bundle-cli.mjs makes of it) and it runs the CLI: the
// built-ins' fast path (start.ts) first, the whole CLI (main.ts) when that
// declines the command line.
//
// Compiling the start bundle (dist/cli/start.js, ~200 KiB: parsing it, then
// each function as it first runs) was ~15 ms of CPU of a `bpf-iter tasks` run
// on Node 20, which has no compile cache of its own (module.enableCompileCache
// is Node ≥ 22.1). So the launcher compiles it
// itself with node:vm and V8's code cache: after a built-in's successful run
// the cache is made from the compiled script (so it holds every function the
// run compiled, not only the top level) and kept in the CLI's private cache
// directory; later runs compile from it. Node's compile cache (compile-cache.ts)
// still serves main.js where Node has one.
//
// The code cache is code V8 runs, and bpf-iter usually runs as root: it is read
// only from a directory that is private to us (private-directory.ts, as the
// program cache), from a file of ours that no one else can write (no symlink
// followed), and only when its header names this bundle (its build id, size,
// mtime and inode), this Node (version, V8, arch) and its CRC-32 matches its
// bytes (V8 checks only the lengths and its own version and flags: damaged
// bytes could crash it). Anything else is ignored, and rewritten after the run.

import { lstatSync, readdirSync, readFileSync, type Stats, statSync, unlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { uptime } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Script } from "node:vm";
// The addon loader alone (not ./internal, whose modules would triple the launcher).
import { addonCrc32 } from "@ts-ebpf/syscall/internal/native";
import {
  cacheBase,
  privateDirectory,
  readPrivateFile,
  writePrivateFile,
} from "../private-directory.js";
import { enableCliCompileCache } from "./compile-cache.js";

/** The first line of the start bundle, with its build id (scripts/bundle-cli.mjs). */
const BUNDLE_BANNER = /^\/\/ bpf-iter CLI bundle ([0-9a-f]{16}),/;
/** The code cache file's first bytes; bumped with its layout. */
const MAGIC = "bpf-iter code cache 1\n";
/** Largest code cache read (the start bundle's is about 350 KiB). */
const MAX_CODE_CACHE = 16 << 20;
/** Longest header (the key) read. */
const MAX_KEY = 1024;

type StartModule = { runBuiltinCommand(argv: readonly string[]): Promise<boolean> };

/** Runs bpf-iter with `argv` (the arguments after the script's name). */
export async function launch(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const cliDir = dirname(fileURLToPath(import.meta.url));
  if (await runStart(join(cliDir, "start.js"), argv)) return;
  enableCliCompileCache();
  await import(pathToFileURL(join(cliDir, "main.js")).href);
}

/** Runs start.js's fast path; false when it declines the command line. */
async function runStart(path: string, argv: readonly string[]): Promise<boolean> {
  const source = readText(path);
  const id = source === undefined ? undefined : BUNDLE_BANNER.exec(source)?.[1];
  if (source === undefined || id === undefined) {
    // tsc's output, not bundled (a development build): an ES module.
    const start = (await import(pathToFileURL(path).href)) as StartModule;
    return start.runBuiltinCommand(argv);
  }
  const cache = codeCacheOf(path, id, source.length);
  const cachedData = cache && readCodeCache(cache);
  // The bundle is CommonJS-shaped (rolldown's cjs format): run as a function of
  // what a CommonJS module gets, lines unchanged for its source map.
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    { filename: path, cachedData },
  );
  const module = { exports: {} as StartModule };
  script.runInThisContext()(module.exports, createRequire(path), module, path, dirname(path));
  const handled = await module.exports.runBuiltinCommand(argv);
  if (handled && cache && (cachedData === undefined || script.cachedDataRejected)) {
    // After the run (every function it needed compiled), only when it succeeded.
    process.once("exit", (code) => {
      if (code === 0) writeCodeCache(cache, script.createCachedData());
    });
  }
  return handled;
}

/** The bundle's text (the package's own file: not a cache, no ownership asked). */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export interface CodeCache {
  /** Its directory (used only when private to us: checked at each read and write). */
  readonly dir: string;
  /** The cache file. */
  readonly file: string;
  /** What the cached code was made from: compared in full. */
  readonly key: string;
}

/**
 * Where the code cache of the bundle at `path` (build `id`, `length` UTF-16
 * units) is kept, and its key; undefined when there is no cache directory,
 * or caches are off (TS_EBPF_CACHE=0, NODE_DISABLE_COMPILE_CACHE).
 */
export function codeCacheOf(path: string, id: string, length: number): CodeCache | undefined {
  const env = process.env;
  if (env.TS_EBPF_CACHE === "0" || env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  const base = cacheBase();
  if (base === undefined) return undefined;
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  const v = process.versions;
  const key = JSON.stringify([
    path,
    id,
    length,
    st.size,
    st.mtimeMs,
    st.ino,
    process.version,
    v.v8,
    process.arch,
  ]);
  // Its own directory in the cache's: the program cache's files are alone in theirs.
  const dir = join(base, "code-cache");
  // One file per Node version: alternating between two Nodes rewrites none.
  return { dir, file: join(dir, `cli-${id}-${process.version}.bin`), key };
}

/**
 * CRC-32 of `bytes` (zlib's): computed by @ts-ebpf/syscall's addon (~0.15 ms
 * for the ~300 KiB of a code cache; a built-in's run loads the addon anyway),
 * else by zlib.crc32, whose module loads node:stream, ~3.5 ms of start-up
 * that a built-in's run otherwise skips. Undefined where neither exists.
 */
export function checksum(bytes: Uint8Array): number | undefined {
  const sum = addonCrc32(bytes);
  if (sum !== undefined) return sum;
  const { crc32 } = process.getBuiltinModule("node:zlib") as {
    crc32?: (data: Uint8Array) => number;
  };
  return typeof crc32 === "function" ? crc32(bytes) : undefined;
}

/*
 * The file: MAGIC, then u32 key length, u32 data length, u32 CRC-32 of the
 * data (little-endian), the key (UTF-8), the data (V8's code cache).
 */
const HEADER = MAGIC.length + 12;

/** The cached code of `cache`, or undefined when the file is missing, not ours, or not exactly what we wrote. */
export function readCodeCache(cache: CodeCache): Buffer | undefined {
  if (privateDirectory(cache.dir, false) === undefined) return undefined;
  const bytes = readPrivateFile(cache.file, MAX_CODE_CACHE);
  if (bytes === undefined || bytes.length < HEADER) return undefined;
  if (bytes.toString("latin1", 0, MAGIC.length) !== MAGIC) return undefined;
  const keyLength = bytes.readUInt32LE(MAGIC.length);
  const dataLength = bytes.readUInt32LE(MAGIC.length + 4);
  const sum = bytes.readUInt32LE(MAGIC.length + 8);
  if (keyLength > MAX_KEY) return undefined;
  const dataStart = HEADER + keyLength;
  if (dataLength === 0 || bytes.length !== dataStart + dataLength) return undefined;
  if (bytes.toString("utf8", HEADER, HEADER + keyLength) !== cache.key) return undefined;
  const data = bytes.subarray(dataStart);
  return checksum(data) === sum ? data : undefined;
}

/** Writes `data` as the code cache of `cache` (best effort), and removes earlier boots' other ones. */
export function writeCodeCache(cache: CodeCache, data: Uint8Array): void {
  const key = Buffer.from(cache.key, "utf8");
  if (data.length === 0 || data.length > MAX_CODE_CACHE || key.length > MAX_KEY) return;
  const sum = checksum(data);
  if (sum === undefined || privateDirectory(cache.dir, true) === undefined) return;
  const file = Buffer.alloc(HEADER + key.length + data.length);
  file.write(MAGIC, 0, "latin1");
  file.writeUInt32LE(key.length, MAGIC.length);
  file.writeUInt32LE(data.length, MAGIC.length + 4);
  key.copy(file, HEADER);
  file.set(data, HEADER + key.length);
  file.writeUInt32LE(sum, MAGIC.length + 8);
  if (writePrivateFile(cache.file, file)) pruneOtherCodeCaches(cache.file);
}

/** Code caches and their temporary files; other builds' and Nodes' are removed once from before this boot. */
const CODE_CACHE_FILE = /^cli-[0-9a-f]{16}-v[0-9a-z.-]+\.bin(\.\d+\.tmp)?$/;

/** Removes other code caches written before this boot (each upgrade of the CLI or Node would otherwise add one). */
function pruneOtherCodeCaches(kept: string): void {
  const dir = dirname(kept);
  const booted = Date.now() - uptime() * 1000;
  try {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!CODE_CACHE_FILE.test(name) || path === kept) continue;
      try {
        const st = lstatSync(path);
        if (st.isFile() && st.mtimeMs < booted) unlinkSync(path);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // best effort
  }
}
