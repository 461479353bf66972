import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { BpfMapFlag, BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfMap, Btf } from "@ts-ebpf/syscall";
import { btfBlob, kernelFeature, missingFromKernel } from "@ts-ebpf/testing";
import { probeIteratorTarget, targetInfo } from "../src/index.js";

/**
 * Whether this kernel loads bpf_map_elem programs (some refuse them even to
 * root: see IteratorTargetRefusedError). Tests about map iteration skip where
 * it is refused (and fail instead in the VM guests, TS_EBPF_REQUIRE_FEATURES=1).
 */
/** A 4-entry hash map with u32 keys: enough for a link's map parameter. */
export function tinyHash(name: string, valueSize = 4): BpfMap {
  return BpfMap.create({ type: BpfMapType.HASH, keySize: 4, valueSize, maxEntries: 4, name });
}

/**
 * BTF for an SK_STORAGE map (the kernel requires it): [1] int (the key: a
 * socket fd), [2] struct val of `size` bytes (the value) with an int at 0.
 */
function skStorageBtf(size: number): Uint8Array {
  const strings = Buffer.from("\0int\0val\0a\0");
  const types = Buffer.alloc(16 + 12 + 12);
  types.writeUInt32LE(1, 0); // "int"
  types.writeUInt32LE(1 << 24, 4); // INT
  types.writeUInt32LE(4, 8);
  types.writeUInt32LE((1 << 24) | 32, 12); // signed, 32 bits
  types.writeUInt32LE(5, 16); // "val"
  types.writeUInt32LE((4 << 24) | 1, 20); // STRUCT, one member
  types.writeUInt32LE(size, 24);
  types.writeUInt32LE(9, 28); // member "a"
  types.writeUInt32LE(1, 32); // type int
  types.writeUInt32LE(0, 36); // offset 0
  return btfBlob(types, strings);
}

/** An SK_STORAGE map with `valueSize`-byte values (its BTF is closed once the map holds it). */
export function skStorageMap(valueSize: number, name: string): BpfMap {
  using btf = Btf.load(skStorageBtf(valueSize));
  return BpfMap.create({
    type: BpfMapType.SK_STORAGE,
    keySize: 4,
    valueSize,
    maxEntries: 0,
    flags: BpfMapFlag.NO_PREALLOC,
    name,
    btfFd: btf.fd,
    btfKeyTypeId: 1,
    btfValueTypeId: 2,
  });
}

export const mapElem = kernelFeature("bpf_map_elem programs", () =>
  probeIteratorTarget("bpf_map_elem"),
);

/** Whether the running kernel has an iterator target (false without readable BTF). */
export function hasTarget(name: string): boolean {
  try {
    return loadKernelBtf().findType(`bpf_iter_${name}`, "func") !== undefined;
  } catch {
    return false;
  }
}

/**
 * Why a test needing `target` skips here (the kernel's BTF lacks it and the
 * kernel predates the table's first kernel for it), or undefined: pass it to
 * ctx.skip().
 */
export function lacksTarget(target: string): string | undefined {
  return missingFromKernel(`${target} iterator`, hasTarget(target), targetInfo(target)?.since);
}

/**
 * Why a test of the target check on loaded programs skips here, or undefined:
 * before 5.11 bpf_prog_info has no attach_btf_id, so a loaded program cannot
 * tell what it was verified for and createIterator takes the caller's target.
 */
export function lacksLoadedTargetCheck(): string | undefined {
  let has = false;
  try {
    has =
      loadKernelBtf()
        .findType("bpf_prog_info", "struct")
        ?.members.some((m) => m.name === "attach_btf_id") ?? false;
  } catch {}
  return missingFromKernel(
    "attach_btf_id in bpf_prog_info (a loaded program's target)",
    has,
    "5.11",
  );
}

/** Whether the kernel's `union bpf_iter_link_info` has a member (map, task, cgroup parameters). */
export function hasLinkParam(kind: "map" | "task" | "cgroup"): boolean {
  try {
    const union = loadKernelBtf().findType("bpf_iter_link_info", "union");
    return union?.members.some((m) => m.name === kind) ?? false;
  } catch {
    return false;
  }
}

/** Why a test needing task (pid/tid) or cgroup link parameters skips here, or undefined. */
export function lacksLinkParam(kind: "task" | "cgroup"): string | undefined {
  const since = targetInfo(kind === "task" ? "task" : "cgroup");
  return missingFromKernel(
    `${kind} parameter for iterator links`,
    hasLinkParam(kind),
    since?.paramsSince ?? since?.since,
  );
}

/** Starts `n` sleeping processes that live until stopped. */
export async function startSleepers(n: number): Promise<{ pids: number[]; stop: () => void }> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < n; i++) children.push(spawn("sleep", ["600"], { stdio: "ignore" }));
  await Promise.all(children.map((c) => new Promise((res) => c.once("spawn", res))));
  return {
    pids: children.map((c) => c.pid!),
    stop: () => {
      for (const c of children) c.kill("SIGKILL");
    },
  };
}

/** Numeric entries of /proc (processes), without pid 1 (the sandbox's). */
export function procPids(): Set<number> {
  return new Set(
    readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((p) => p !== 1),
  );
}

/** comm of a process from /proc/<pid>/comm. */
export function procComm(pid: number): string {
  // Only the newline: a comm may end in a space ("npm exec turbo ").
  return readFileSync(`/proc/${pid}/comm`, "utf8").replace(/\n$/, "");
}

export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/**
 * The open fd count once pending closes (deferred until a thread-pool read
 * returns) have happened: polls until it reaches `expected`, for at most 10 s
 * (a TCG guest sharing two cores can take far longer than 50 ms), then
 * returns whatever it is, for the caller to assert.
 */
export async function openFdsSettled(expected: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const n = openFds();
    if (n === expected || Date.now() > deadline) return n;
    await new Promise((res) => setTimeout(res, 20));
  }
}
