// On-disk cache of the built-ins' compiled programs, for the bpf-iter CLI:
// compiling a built-in reads and indexes the kernel's whole vmlinux BTF
// (5 MB read from sysfs a page per read(2), then parsed), which is most of
// a CLI run's own time. A compiled program depends only on the kernel's BTF
// and on the compiler, so it is kept per (kernel, compiler, definition).
//
// Package-internal (not exported from the index); the CLI turns it on
// (enableProgramCache), the library API never reads it.
//
// Never trusted blindly. The kernel's identity is the boot (boot_id: the
// vmlinux BTF cannot change while a kernel runs) with the BTF file's size and
// times; the compiler's is a hash of its sources; the definition's is its
// fields. A file is used only when the directory is ours and private (0700,
// owned by the effective uid, no symlink; every directory above it root's or
// ours and writable by no one else unless sticky, so none can be swapped),
// the file is ours, regular and not writable by others, and its contents
// check out: format, key, digest, every value in range, the instructions
// decode and the layout rebuilt from the definition has the recorded offsets. Anything else is a miss: the caller
// compiles from BTF and rewrites the file. The link made from a cached
// program is checked once more against the kernel (its link info names the
// target) before it is used.

import { lstatSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { uptime } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RecordLayout } from "@ts-ebpf/btf";
import { decode, encode, type ProgramSpec } from "@ts-ebpf/spec";
import { BpfAttachType, BpfProgType } from "@ts-ebpf/spec/constants";
import {
  cacheBase,
  privateDirectory,
  readPrivateFile,
  writePrivateFile,
} from "../private-directory.js";
import { type FieldDef, type RecordProgram, recordLayout } from "./record.js";

/**
 * A 64-bit hash (two 32-bit multiply-xorshift lanes), as 16 hex digits: names
 * files and catches damaged ones. Not a defence against a writer, which the
 * ownership checks keep out; node:crypto alone would cost 10 ms of start-up.
 */
export function hash64(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const x = bytes[i]!;
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b = Math.imul(b ^ a, 0xc2b2ae35);
  b ^= b >>> 16;
  a = Math.imul(a ^ b, 0x27d4eb2f);
  a ^= a >>> 15;
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** Bumped when the file's shape or meaning changes. */
const FORMAT = 1;
/** Largest cache file read (a built-in's is a few KiB). */
const MAX_FILE = 256 << 10;
/** Most instructions a cached program may have (the built-ins have a few hundred). */
const MAX_INSNS = 4096;
const MAX_RECORD = 448;

let directory: string | undefined;

/**
 * Turns the cache on for this process, in `dir` (made 0700 when missing), or
 * in $TS_EBPF_CACHE_DIR, else $XDG_CACHE_HOME/ts-ebpf, else ~/.cache/ts-ebpf.
 * TS_EBPF_CACHE=0 keeps it off.
 */
export function enableProgramCache(dir?: string): void {
  if (process.env.TS_EBPF_CACHE === "0") return;
  directory = dir ?? cacheBase();
}

/** Turns the cache off again (tests). */
export function disableProgramCache(): void {
  directory = undefined;
  kernelIdentity = undefined;
}

/** The cache directory when the cache is on and the directory is private to us. */
function cacheDirectory(create: boolean): string | undefined {
  return directory === undefined ? undefined : privateDirectory(directory, create);
}

let kernelIdentity: string | undefined;

/** What identifies the running kernel's BTF without reading it (undefined: no cache). */
function kernelId(): string | undefined {
  if (kernelIdentity !== undefined) return kernelIdentity;
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const release = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
    const btf = statSync("/sys/kernel/btf/vmlinux", { bigint: true });
    if (!/^[0-9a-f-]{36}$/.test(boot) || btf.size === 0n) return undefined;
    kernelIdentity = [boot, release, btf.size, btf.mtimeNs, btf.ctimeNs, btf.ino].join(" ");
  } catch {
    return undefined;
  }
  return kernelIdentity;
}

let compilerIdentity: string | undefined | null;

/**
 * The packages whose code a compiled program comes from besides record.js
 * (its imports: member offsets, the assembler, the encoding).
 */
const COMPILER_PACKAGES = ["@ts-ebpf/btf", "@ts-ebpf/dsl", "@ts-ebpf/spec"];

/**
 * iter's package.json and each compiler package's, as Node finds it from
 * here (node_modules up from iter's directory; not Node's resolver, whose
 * first use costs ~5 ms of start-up), with its version: upgrading any of
 * them misses, within a boot too. Undefined where one is not found that way.
 */
function packageIds(): string[] | undefined {
  const own = fileURLToPath(new URL("../../", import.meta.url));
  const found: string[] = [];
  const versionAt = (path: string): string | undefined => {
    try {
      const { version } = JSON.parse(readFileSync(path, "utf8")) as { version?: unknown };
      return typeof version === "string" ? `${path}@${version}` : undefined;
    } catch {
      return undefined;
    }
  };
  const self = versionAt(join(own, "package.json"));
  if (self === undefined) return undefined;
  found.push(self);
  for (const name of COMPILER_PACKAGES) {
    let id: string | undefined;
    for (let dir = own; id === undefined; dir = dirname(dir)) {
      id = versionAt(join(dir, "node_modules", name, "package.json"));
      if (dir === "/") break;
    }
    if (id === undefined) return undefined;
    found.push(id);
  }
  return found;
}

/**
 * Set in the bpf-iter CLI's bundles (scripts/bundle-cli.mjs) to a hash of the
 * bundle, which holds the compiler and the packages it compiles with.
 */
declare const __TS_EBPF_CLI_BUNDLE_ID__: string | undefined;

/**
 * A hash of the compiler's own source (record.js next to this file) and the
 * packages it compiles with: a rebuilt compiler or an upgraded package misses.
 * In the CLI's bundle, the bundle's hash (no file read or hashed at run time).
 */
function compilerId(): string | undefined {
  if (compilerIdentity !== undefined) return compilerIdentity ?? undefined;
  if (typeof __TS_EBPF_CLI_BUNDLE_ID__ === "string") {
    compilerIdentity = `bundle ${__TS_EBPF_CLI_BUNDLE_ID__}`;
    return compilerIdentity;
  }
  compilerIdentity = null;
  let source: Buffer | undefined;
  for (const name of ["record.js", "record.ts"]) {
    try {
      source = readFileSync(new URL(`./${name}`, import.meta.url));
      break;
    } catch {
      // the other name (sources run by a test runner), else no cache
    }
  }
  const packages = source && packageIds();
  if (source === undefined || packages === undefined) return undefined;
  compilerIdentity = `${source.length}:${hash64(source)} ${packages.join(" ")}`;
  return compilerIdentity;
}

/** The key of a definition's program on this kernel with this compiler, or undefined (no cache). */
export function programCacheKey(
  target: string,
  object: string,
  fields: readonly FieldDef[],
): string | undefined {
  if (directory === undefined) return undefined;
  const kernel = kernelId();
  const compiler = compilerId();
  if (kernel === undefined || compiler === undefined) return undefined;
  return JSON.stringify([FORMAT, kernel, compiler, target, object, fields]);
}

interface Payload {
  readonly name: string;
  readonly attachBtfId: number;
  /** The instructions, base64 of their bytes. */
  readonly insns: string;
  /** Per field (in definition order): offset and size in the record. */
  readonly offsets: readonly number[];
  readonly sizes: readonly number[];
  readonly missing: readonly string[];
  readonly marks: readonly (readonly [string, number])[];
}

const digestOf = (key: string, payload: string) => hash64(`${key}\n${payload}`);

/** The file of a key (the whole key is in the file, and compared). */
const fileOf = (dir: string, key: string) => join(dir, `prog-${hash64(key)}.json`);

const isCount = (v: unknown, max: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;

/**
 * The cached program of `key` for `fields`, or undefined when there is none
 * or it does not check out in every respect.
 */
export function readCachedProgram<T>(
  key: string,
  fields: readonly FieldDef[],
): RecordProgram<T> | undefined {
  const dir = cacheDirectory(false);
  if (dir === undefined) return undefined;
  const bytes = readPrivateFile(fileOf(dir, key), MAX_FILE);
  if (bytes === undefined) return undefined;
  try {
    const file = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
    if (file.format !== FORMAT || file.key !== key || typeof file.payload !== "object") return;
    const p = file.payload as Payload;
    if (file.digest !== digestOf(key, JSON.stringify(p))) return undefined;
    if (typeof p.name !== "string" || p.name.length > 15 || !/^[A-Za-z0-9_.]*$/.test(p.name))
      return undefined;
    if (!isCount(p.attachBtfId, 0x7fffffff) || p.attachBtfId === 0) return undefined;
    if (typeof p.insns !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(p.insns)) return undefined;
    const code = Buffer.from(p.insns, "base64");
    if (code.length === 0 || code.length > MAX_INSNS * 8 || code.length % 8 !== 0) return;
    const names = new Set(fields.map((f) => f.name));
    if (!Array.isArray(p.missing) || !p.missing.every((m) => names.has(m))) return undefined;
    if (!Array.isArray(p.marks)) return undefined;
    for (const m of p.marks) {
      if (!Array.isArray(m) || typeof m[0] !== "string" || !isCount(m[1], MAX_INSNS)) return;
    }
    const n = fields.length;
    if (!Array.isArray(p.sizes) || !Array.isArray(p.offsets)) return undefined;
    if (p.sizes.length !== n || p.offsets.length !== n) return undefined;
    if (!p.sizes.every((s) => isCount(s, MAX_RECORD) && s > 0)) return undefined;
    // A copied string or byte array is at most the length its definition asks for.
    if (fields.some((f, i) => f.len !== undefined && p.sizes[i]! > f.len)) return undefined;
    // The decoder is rebuilt from the definition; it must place every field where the program wrote it.
    const layout = recordLayout(fields, p.sizes);
    if (layout.size > MAX_RECORD) return undefined;
    for (let i = 0; i < n; i++) {
      const f = layout.fields[i];
      if (f?.name !== fields[i]!.name || f.offset !== p.offsets[i] || f.size !== p.sizes[i])
        return undefined;
    }
    // The bytes must decode, and encode back to themselves (no stray bits).
    const instructions = decode(new Uint8Array(code));
    if (!Buffer.from(encode(instructions)).equals(code)) return undefined;
    const spec: ProgramSpec = {
      name: p.name,
      type: BpfProgType.TRACING,
      expectedAttachType: BpfAttachType.TRACE_ITER,
      attachBtfId: p.attachBtfId,
      license: "GPL",
      instructions,
    };
    return {
      spec,
      layout: layout as unknown as RecordLayout<T>,
      missing: [...p.missing],
      marks: new Map(p.marks.map(([k, v]) => [k, v])),
    };
  } catch {
    return undefined;
  }
}

/**
 * Stores a program compiled from BTF (after the kernel loaded it), best
 * effort: written to a new file and renamed into place, so a reader sees
 * the old file or the new one.
 */
export function writeCachedProgram(
  key: string,
  fields: readonly FieldDef[],
  program: RecordProgram<unknown>,
): void {
  const dir = cacheDirectory(true);
  const spec = program.spec;
  if (dir === undefined || spec.attachBtfId === undefined) return;
  const byName = new Map(program.layout.fields.map((f) => [f.name, f]));
  const placed = fields.map((f) => byName.get(f.name));
  if (placed.some((f) => f === undefined)) return;
  const payload: Payload = {
    name: spec.name ?? "",
    attachBtfId: spec.attachBtfId,
    insns: Buffer.from(encode(spec.instructions)).toString("base64"),
    offsets: placed.map((f) => f!.offset),
    sizes: placed.map((f) => f!.size),
    missing: [...program.missing],
    marks: [...program.marks],
  };
  const text = JSON.stringify({
    format: FORMAT,
    key,
    payload,
    digest: digestOf(key, JSON.stringify(payload)),
  });
  if (writePrivateFile(fileOf(dir, key), text)) pruneEarlierBoots(dir);
}

/** The cache's own files: programs, and temporary files of writes cut short. */
const CACHE_FILE = /^prog-[0-9a-f]{16}\.json(\.\d+\.tmp)?$/;

/**
 * Removes the cache's files written before this boot: their keys name another
 * boot, so none is ever read again, and each boot would otherwise add a set.
 * Runs after a write, i.e. once per built-in after a boot.
 */
function pruneEarlierBoots(dir: string): void {
  const booted = Date.now() - uptime() * 1000;
  try {
    for (const name of readdirSync(dir)) {
      if (!CACHE_FILE.test(name)) continue;
      const path = join(dir, name);
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

/** Removes the cached program of `key` (the kernel refused it, or its link was not of its target). */
export function dropCachedProgram(key: string): void {
  const dir = cacheDirectory(false);
  if (dir === undefined) return;
  try {
    unlinkSync(fileOf(dir, key));
  } catch {
    // already gone
  }
}
