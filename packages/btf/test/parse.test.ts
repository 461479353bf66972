import { describe, expect, it } from "vitest";
import { BtfError, parseBtf } from "../src/index.js";
import { project, toBpftoolJson } from "./bpftool-json.js";
import { fixtureBytes, fixtureJson } from "./fixture.js";

describe("parseBtf on the clang fixture", () => {
  const btf = parseBtf(fixtureBytes());
  const json = fixtureJson();

  it("has every type bpftool lists, decoded the same way", () => {
    expect(btf.typeCount).toBe(json.length + 1);
    for (const theirs of json) {
      const ours = toBpftoolJson(btf.type(theirs.id as number));
      expect(ours).toEqual(project(ours, theirs));
    }
  });

  it("finds types by name and kind", () => {
    expect(btf.findType("rec")?.kind).toBe("struct");
    expect(btf.findType("rec", "union")).toBeUndefined();
    expect(btf.findType("val", "union")?.size).toBe(8);
    expect(btf.findType("no_such_type")).toBeUndefined();
    expect(btf.findType("fwd_only", "fwd")?.fwdKind).toBe("struct");
    expect(btf.findTypeIds("u32")).toHaveLength(1);
    expect(btf.lookup("struct rec").id).toBe(btf.findType("rec")!.id);
    expect(() => btf.lookup("struct nope")).toThrow(BtfError);
  });

  it("gives FUNC ids", () => {
    const id = btf.funcId("bpf_iter_fake");
    expect(btf.type(id)).toMatchObject({ kind: "func", name: "bpf_iter_fake", linkage: "global" });
    expect(() => btf.funcId("bpf_iter_nope")).toThrow(/no FUNC "bpf_iter_nope"/);
  });

  it("resolves through typedefs and modifiers", () => {
    expect(btf.resolve("u64")).toMatchObject({ kind: "int", name: "unsigned long long", size: 8 });
    const cv = btf.findType("rec", "struct")!.members.find((m) => m.name === "cv")!;
    expect(btf.kindOf(cv.type)).toBe("const");
    expect(btf.resolve(cv.type)).toMatchObject({ kind: "int", name: "int" });
    expect(btf.resolve(0).kind).toBe("void");
  });

  it("computes sizes and alignments", () => {
    expect(btf.sizeOf("rec")).toBe(152);
    expect(btf.sizeOf("struct packed_s")).toBe(5);
    expect(btf.alignOf("packed_s")).toBe(1);
    expect(btf.alignOf("padded")).toBe(8);
    expect(btf.sizeOf("point_t")).toBe(8);
    expect(btf.sizeOf("u16")).toBe(2);
    const arr = btf.findType("rec", "struct")!.members.find((m) => m.name === "arr")!;
    expect(btf.sizeOf(arr.type)).toBe(24);
    expect(
      btf.sizeOf(btf.findType("rec", "struct")!.members.find((m) => m.name === "next")!.type),
    ).toBe(8);
    expect(() => btf.sizeOf(btf.funcId("helper"))).toThrow(/has no size/);
  });

  it("finds member offsets through anonymous members, arrays and pointers", () => {
    expect(btf.memberOffset("rec", "pid")).toMatchObject({
      offset: 0,
      bitSize: 0,
      size: 4,
      hops: [],
    });
    expect(btf.memberOffset("rec", "comm").offset).toBe(4);
    expect(btf.memberOffset("rec", "comm[3]")).toMatchObject({ offset: 7, size: 1 });
    expect(btf.memberOffset("rec", "ub")).toMatchObject({ offset: 40, size: 2 });
    expect(btf.memberOffset("rec", "pt.y").offset).toBe(48);
    expect(btf.memberOffset("rec", "in.b").offset).toBe(36);
    expect(btf.memberOffset("rec", "arr[1][2]").offset).toBe(52 + 5 * 4);
    expect(btf.memberOffset("rec", "next.start")).toMatchObject({ offset: 24, hops: [80] });
    expect(btf.memberOffset("bpf_iter__fake", "task")).toMatchObject({ offset: 8, size: 8 });
    expect(btf.memberOffset("bpf_iter__fake", "task.rec.comm")).toMatchObject({
      offset: 4,
      hops: [8, 8],
    });
    expect(btf.memberOffset("point_t", "y").offset).toBe(4);
  });

  it("reports bitfield positions", () => {
    expect(btf.memberOffset("bits", "a")).toMatchObject({ offset: 0, bitOffset: 0, bitSize: 3 });
    expect(btf.memberOffset("bits", "b")).toMatchObject({ offset: 0, bitOffset: 3, bitSize: 5 });
    expect(btf.memberOffset("bits", "c")).toMatchObject({ offset: 1, bitOffset: 8, bitSize: 7 });
    expect(btf.memberOffset("bits", "d")).toMatchObject({ offset: 1, bitOffset: 15, bitSize: 40 });
    expect(btf.memberOffset("bits", "e")).toMatchObject({ offset: 7, bitSize: 0 });
  });

  it("rejects bad paths with the struct named", () => {
    expect(() => btf.memberOffset("rec", "nope")).toThrow(/struct rec has no member "nope"/);
    expect(() => btf.memberOffset("rec", "pid.x")).toThrow(/not a struct, union or pointer/);
    expect(() => btf.memberOffset("rec", "comm[16]")).toThrow(/out of bounds/);
    expect(() => btf.memberOffset("rec", "a b")).toThrow(BtfError);
    expect(() => btf.memberOffset("u32", "x")).toThrow(/not a struct or union/);
    expect(() => btf.memberOffset("rec", "")).toThrow(TypeError);
  });

  it("lists enum values", () => {
    expect(btf.enumValues("color")).toEqual([
      { name: "RED", value: 0 },
      { name: "GREEN", value: 5 },
      { name: "BLUE", value: 4294967295 },
    ]);
    expect(btf.enumValues("small").map((v) => v.value)).toEqual([0, 200]);
    expect(() => btf.enumValues("rec")).toThrow(/not an enum/);
    expect(btf.enumerator("GREEN")).toEqual({ enum: btf.findType("color", "enum")!.id, value: 5 });
    expect(btf.enumerator("NOPE")).toBeUndefined();
  });

  it("lists iterator targets with their context members", () => {
    expect(btf.iteratorTargets()).toEqual([
      {
        name: "fake",
        funcId: btf.funcId("bpf_iter_fake"),
        contextId: btf.findType("bpf_iter__fake", "struct")!.id,
        contextSize: 16,
        members: [
          { name: "meta", offset: 0, type: expect.any(Number), typeName: "struct bpf_iter_meta *" },
          { name: "task", offset: 8, type: expect.any(Number), typeName: "struct task *" },
        ],
      },
    ]);
  });

  it("decodes decl and type tags, vars and datasecs", () => {
    const tags = [...btf.types()].filter((t) => t.kind === "decl_tag");
    expect(tags.map((t) => t.name).sort()).toEqual(["kfunc", "tagged"]);
    const tagged = tags.find((t) => t.name === "tagged")!;
    expect(tagged).toMatchObject({ componentIdx: 13, type: btf.findType("rec", "struct")!.id });
    expect(btf.findType("user", "type_tag")).toBeDefined();
    expect(btf.findType("counter", "var")).toMatchObject({ linkage: "global" });
    expect(btf.findType(".bss", "datasec")!.vars.length).toBeGreaterThan(3);
  });

  it("accepts a Uint8Array view into a larger buffer", () => {
    const src = fixtureBytes();
    const big = new Uint8Array(src.length + 13);
    big.set(src, 7);
    const sub = parseBtf(big.subarray(7, 7 + src.length));
    expect(sub.memberOffset("rec", "start").offset).toBe(24);
  });
});
