import { describe, expect, it } from "vitest";
import { IteratorParamError } from "../src/errors.js";
import { checkParams, encodeLinkInfo, UAPI_LINK_INFO_LAYOUT } from "../src/params.js";

describe("checkParams", () => {
  it("accepts no parameters for targets that take none", () => {
    expect(checkParams("bpf_map", undefined)).toEqual({ kind: "none" });
    expect(checkParams("task", {})).toEqual({ kind: "none" });
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

describe("encodeLinkInfo", () => {
  it("gives nothing without parameters", () => {
    expect(encodeLinkInfo({ kind: "none" })).toBeUndefined();
  });

  it("encodes union bpf_iter_link_info", () => {
    const map = encodeLinkInfo({ kind: "map", mapFd: 0x1234 })!;
    expect(map.length).toBe(16);
    expect(new DataView(map.buffer).getUint32(0, true)).toBe(0x1234);

    const task = encodeLinkInfo({ kind: "task", tid: 0, pid: 77, pidFd: 0 })!;
    expect([...task.subarray(0, 12)]).toEqual([0, 0, 0, 0, 77, 0, 0, 0, 0, 0, 0, 0]);

    const cg = encodeLinkInfo({ kind: "cgroup", order: "post", cgroupFd: 5, cgroupId: 0n })!;
    const v = new DataView(cg.buffer);
    expect(v.getUint32(0, true)).toBe(3);
    expect(v.getUint32(4, true)).toBe(5);
    const cg2 = encodeLinkInfo({
      kind: "cgroup",
      order: "self",
      cgroupFd: 0,
      cgroupId: 1n << 40n,
    })!;
    expect(new DataView(cg2.buffer).getBigUint64(8, true)).toBe(1n << 40n);
    expect(new DataView(cg2.buffer).getUint32(0, true)).toBe(1);
  });

  it("names the kernel needed when the layout lacks a member", () => {
    const old = { size: 4, mapFd: 0 };
    expect(() => encodeLinkInfo({ kind: "task", tid: 1, pid: 0, pidFd: 0 }, old, "task")).toThrow(
      /Linux 6\.1 or newer/,
    );
    expect(UAPI_LINK_INFO_LAYOUT.size).toBe(16);
  });
});
