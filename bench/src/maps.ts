// The hash maps the dump scenarios read: created and filled once per size by
// the C helper (bench/c/mapfill.c) and pinned, so that every variant, C or
// TypeScript, dumps the very same map. Unpinned when the suite ends.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { onCleanup } from "./cleanup.js";
import { cProgramPath } from "./native.js";

const BPFFS = "/sys/fs/bpf";

function ensureBpffs(): void {
  const mounts = execFileSync("cat", ["/proc/mounts"], { encoding: "utf8" });
  if (mounts.split("\n").some((l) => l.split(" ")[1] === BPFFS && l.split(" ")[2] === "bpf")) {
    return;
  }
  execFileSync("mount", ["-t", "bpf", "bpf", BPFFS]);
}

let pinDir: string | undefined;

/** Pin directories of earlier runs that died without cleaning up (SIGKILL): their pid is gone. */
function removeStalePinDirs(): void {
  for (const name of readdirSync(BPFFS)) {
    const m = /^ts-ebpf-bench-(\d+)$/.exec(name);
    if (m && Number(m[1]) !== process.pid && !existsSync(`/proc/${m[1]}`)) {
      rmSync(`${BPFFS}/${name}`, { recursive: true, force: true });
    }
  }
}

function dir(): string {
  if (pinDir) return pinDir;
  ensureBpffs();
  removeStalePinDirs();
  const d = `${BPFFS}/ts-ebpf-bench-${process.pid}`;
  mkdirSync(d, { recursive: true });
  onCleanup(() => rmSync(d, { recursive: true, force: true }));
  pinDir = d;
  return d;
}

/** A path in the suite's pin directory (removed with it when the suite ends). */
export function pinPath(name: string): string {
  return `${dir()}/${name}`;
}

export interface PinnedHashMap {
  /** bpffs path of a BPF_MAP_TYPE_HASH, u32 key i -> u64 value i * 3 + 1, i < entries. */
  path: string;
  entries: number;
  remove(): void;
}

export function expectedValue(key: number): bigint {
  return BigInt(key) * 3n + 1n;
}

export function createPinnedHashMap(entries: number): PinnedHashMap {
  const path = `${dir()}/hash-${entries}`;
  execFileSync(cProgramPath("mapfill"), [path, String(entries)], { stdio: "ignore" });
  if (!existsSync(path)) throw new Error(`mapfill did not pin ${path}`);
  const remove = onCleanup(() => rmSync(path, { force: true }));
  return { path, entries, remove };
}
