import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfMap } from "@ts-ebpf/syscall";
import { kernelFeature } from "@ts-ebpf/testing";
import { probeIteratorTarget } from "../src/index.js";

/**
 * Whether this kernel loads bpf_map_elem programs (some refuse them even to
 * root: see IteratorTargetRefusedError). Tests about map iteration skip where
 * it is refused (and fail instead in the VM guests, TS_EBPF_REQUIRE_FEATURES=1).
 */
/** A 4-entry hash map with u32 keys: enough for a link's map parameter. */
export function tinyHash(name: string, valueSize = 4): BpfMap {
  return BpfMap.create({ type: BpfMapType.HASH, keySize: 4, valueSize, maxEntries: 4, name });
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
