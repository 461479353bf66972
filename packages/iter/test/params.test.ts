import type { Btf } from "@ts-ebpf/btf";
import { describe, expect, it } from "vitest";
import { IteratorParamError } from "../src/errors.js";
import { checkKernelParams, checkParams, toIterLinkParams } from "../src/params.js";

describe("checkParams", () => {
  it("accepts no parameters for targets that take none", () => {
    expect(checkParams("bpf_map", undefined)).toEqual({ kind: "none" });
    expect(checkParams("task", {})).toEqual({ kind: "none" });
    expect(checkParams("cgroup", undefined)).toMatchObject({ kind: "cgroup", order: "pre" });
  });

  it("normalizes a map handle or fd", () => {
    expect(checkParams("bpf_map_elem", { map: { fd: 7 } })).toEqual({ kind: "map", mapFd: 7 });
    expect(checkParams("sockmap", { map: 9 })).toEqual({ kind: "map", mapFd: 9 });
  });

  it("requires a map for bpf_map_elem", () => {
    expect(() => checkParams("bpf_map_elem", undefined)).toThrow(/needs \{ map \}/);
    expect(() => checkParams("bpf_sk_storage_map", {})).toThrow(/needs \{ map \}/);
  });

  it("rejects a parameter meant for another target", () => {
    expect(() => checkParams("task", { map: 3 })).toThrow(IteratorParamError);
    expect(() => checkParams("task", { map: 3 })).toThrow(
      /"map" does not apply to the task iterator .*accepts "tid", "pid", "pidFd"/,
    );
    expect(() => checkParams("bpf_map_elem", { pid: 1 })).toThrow(/does not apply/);
    expect(() => checkParams("tcp", { cgroupId: 1 })).toThrow(/takes no parameters/);
    expect(() => checkParams("cgroup", { tid: 1 })).toThrow(/does not apply to the cgroup/);
  });

  it("rejects unknown keys and bad values", () => {
    expect(() => checkParams("task", { pidd: 3 })).toThrow(/unknown iterator parameter "pidd"/);
    expect(() => checkParams("task", { pid: -1 })).toThrow(IteratorParamError);
    expect(() => checkParams("task", { pid: 1.5 })).toThrow(/integer/);
    expect(() => checkParams("task", { pid: 1, tid: 2 })).toThrow(/only one of/);
    expect(() => checkParams("bpf_map_elem", { map: { fd: -1 } })).toThrow(/closed/);
    expect(() => checkParams("bpf_map_elem", { map: "x" })).toThrow(/Map handle/);
    expect(() => checkParams("cgroup", { order: "sideways" })).toThrow(/order must be one of/);
    expect(() => checkParams("cgroup", { cgroupFd: 3, cgroupId: 4 })).toThrow(/not both/);
    expect(() => checkParams("cgroup", { cgroupId: -4 })).toThrow(/positive u64/);
    expect(() => checkParams("task", 5)).toThrow(/must be an object/);
  });

  it("normalizes task and cgroup parameters", () => {
    expect(checkParams("task_vma", { pid: 42 })).toEqual({
      kind: "task",
      tid: 0,
      pid: 42,
      pidFd: 0,
    });
    expect(checkParams("cgroup", { cgroupId: 5, order: "up" })).toEqual({
      kind: "cgroup",
      order: "up",
      cgroupFd: 0,
      cgroupId: 5n,
    });
    expect(checkParams("cgroup", { cgroupFd: 4 })).toMatchObject({ order: "pre", cgroupFd: 4 });
  });
});

describe("toIterLinkParams", () => {
  it("gives nothing without parameters", () => {
    expect(toIterLinkParams({ kind: "none" })).toBeUndefined();
  });

  it("maps each kind onto the syscall encoder's shape", () => {
    expect(toIterLinkParams({ kind: "map", mapFd: 7 })).toEqual({ mapFd: 7 });
    expect(toIterLinkParams({ kind: "task", tid: 0, pid: 77, pidFd: 0 })).toEqual({ pid: 77 });
    expect(toIterLinkParams({ kind: "task", tid: 5, pid: 0, pidFd: 0 })).toEqual({ tid: 5 });
    expect(toIterLinkParams({ kind: "task", tid: 0, pid: 0, pidFd: 9 })).toEqual({ pidFd: 9 });
    expect(toIterLinkParams({ kind: "cgroup", order: "post", cgroupFd: 5, cgroupId: 0n })).toEqual({
      order: 3,
      cgroupFd: 5,
    });
    expect(
      toIterLinkParams({ kind: "cgroup", order: "self", cgroupFd: 0, cgroupId: 1n << 40n }),
    ).toEqual({
      order: 1,
      cgroupId: 1n << 40n,
    });
  });

  it("names the kernel needed when bpf_iter_link_info lacks a member", () => {
    const old = { findType: () => ({ members: [{ name: "map" }] }) } as unknown as Btf;
    expect(() =>
      checkKernelParams(old, "task", { kind: "task", tid: 1, pid: 0, pidFd: 0 }),
    ).toThrow(/"task" member: parameters for the task iterator need Linux 6\.1/);
    expect(() => checkKernelParams(old, "bpf_map_elem", { kind: "map", mapFd: 3 })).not.toThrow();
    expect(() =>
      checkKernelParams(old, "cgroup", { kind: "cgroup", order: "pre", cgroupFd: 0, cgroupId: 0n }),
    ).toThrow(/Linux 6\.1/);
  });
});

describe("createIterator target", () => {
  it("needs a target unless the program carries iterTarget, before any syscall", async () => {
    const { createIterator } = await import("../src/link.js");
    const exit = { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 };
    const spec = { type: 26, license: "GPL", instructions: [exit] };
    expect(() => createIterator(spec)).toThrow(TypeError);
    expect(() => createIterator(spec)).toThrow(/needs a target/);
    // The target from iterTarget is checked like an explicit one.
    expect(() => createIterator({ ...spec, iterTarget: "no such target!" } as never)).toThrow(
      /target/,
    );
  });
});
