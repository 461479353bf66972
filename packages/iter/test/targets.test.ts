import type { Btf } from "@ts-ebpf/btf";
import { describe, expect, it } from "vitest";
import { UnsupportedTargetError } from "../src/errors.js";
import { missingTargets, supportedTargets } from "../src/supported.js";
import { checkTargetName, paramKind, TARGETS, targetInfo } from "../src/targets.js";

// A BTF stand-in offering two targets, as a 6.1 kernel would list them (no kmem_cache).
const fakeBtf = {
  iteratorTargets: () => [
    {
      name: "task",
      funcId: 1,
      contextId: 2,
      contextSize: 16,
      members: [
        { name: "meta", offset: 0, type: 3, typeName: "struct bpf_iter_meta *" },
        { name: "task", offset: 8, type: 4, typeName: "struct task_struct *" },
      ],
    },
    { name: "brand_new", funcId: 5, contextId: 6, contextSize: 8, members: [] },
  ],
} as unknown as Btf;

describe("target table", () => {
  it("holds each target's first kernel and parameter kind", () => {
    expect(targetInfo("task")).toMatchObject({ since: "5.8", params: "task", paramsSince: "6.1" });
    expect(targetInfo("bpf_map_elem")).toMatchObject({
      since: "5.9",
      params: "map",
      paramsRequired: true,
    });
    expect(targetInfo("cgroup")).toMatchObject({ since: "6.1", params: "cgroup" });
    expect(targetInfo("kmem_cache")?.since).toBe("6.13");
    expect(paramKind("unknown_target")).toBe("none");
    expect(new Set(TARGETS.map((t) => t.name)).size).toBe(TARGETS.length);
  });

  it("rejects malformed target names", () => {
    expect(checkTargetName("task_vma")).toBe("task_vma");
    expect(() => checkTargetName(3)).toThrow(TypeError);
    expect(() => checkTargetName("../etc")).toThrow(/invalid iterator target/);
    expect(() => checkTargetName("")).toThrow(TypeError);
  });

  it("supportedTargets() comes from BTF, missingTargets() names what is absent", () => {
    const supported = supportedTargets(fakeBtf);
    expect(supported).toEqual([
      {
        name: "task",
        since: "5.8",
        params: "task",
        context: [{ name: "task", type: "struct task_struct *", offset: 8 }],
      },
      { name: "brand_new", params: "none", context: [] },
    ]);
    const missing = missingTargets(fakeBtf).map((t) => t.name);
    expect(missing).toContain("kmem_cache");
    expect(missing).not.toContain("task");
  });

  it("UnsupportedTargetError names the kernel a target needs", () => {
    expect(String(new UnsupportedTargetError("kmem_cache", "6.13", "6.1.0-50-amd64"))).toMatch(
      /"kmem_cache" needs Linux 6\.13 or newer \(running 6\.1\.0-50-amd64\)/,
    );
    expect(String(new UnsupportedTargetError("nope", undefined, undefined))).toMatch(
      /unknown iterator target "nope"/,
    );
  });
});
