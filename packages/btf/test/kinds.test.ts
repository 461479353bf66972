// Kinds and encodings clang 14 does not produce, built by hand: ENUM64, signed
// enums, pre-kind_flag bitfields, big-endian data, and split BTF.
import { describe, expect, it } from "vitest";
import { BtfError, parseBtf } from "../src/index.js";
import { BtfBuilder } from "./btf-builder.js";

function sample(b: BtfBuilder) {
  const int = b.int("int", 4, { signed: true });
  const uint = b.int("unsigned int", 4);
  const u64 = b.int("long long unsigned int", 8);
  const e64 = b.enum64("e64", 8, [
    ["A", 1n],
    ["MASK", 0xffffffff00000000n],
  ]);
  const se64 = b.enum64("se64", 8, [["NEG", -2n]], true);
  const se = b.enum("se", 4, [["MINUS", -7]], true);
  // Old-style bitfields: no kind_flag, the INT carries bits and offset.
  const bits3 = b.int("unsigned int", 4, { bits: 3 });
  const old = b.composite(
    "struct",
    "old",
    8,
    [
      { name: "x", type: bits3, bitOffset: 0 },
      { name: "y", type: uint, bitOffset: 32 },
    ],
    false,
  );
  const fl = b.float("double", 8);
  const tt = b.ref("type_tag", int, "percpu");
  const p = b.ref("ptr", tt);
  const s = b.composite("struct", "holder", 24, [
    { name: "e", type: e64, bitOffset: 0 },
    { name: "d", type: fl, bitOffset: 64 },
    { name: "p", type: p, bitOffset: 128 },
  ]);
  b.declTag("hot", s, 1);
  return { int, uint, u64, e64, se64, se, old, s };
}

describe("hand-built BTF", () => {
  for (const littleEndian of [true, false]) {
    it(`decodes ENUM64, signed enums, old bitfields, tags (${littleEndian ? "LE" : "BE"})`, () => {
      const b = new BtfBuilder({ littleEndian });
      const ids = sample(b);
      const btf = parseBtf(b.build());
      expect(btf.littleEndian).toBe(littleEndian);
      expect(btf.enumValues("e64")).toEqual([
        { name: "A", value: 1n },
        { name: "MASK", value: 0xffffffff00000000n },
      ]);
      expect(btf.enumValues("se64")).toEqual([{ name: "NEG", value: -2n }]);
      expect(btf.enumValues("se")).toEqual([{ name: "MINUS", value: -7 }]);
      expect(btf.type(ids.e64)).toMatchObject({ kind: "enum64", signed: false, size: 8 });
      expect(btf.memberOffset("old", "x")).toMatchObject({ bitOffset: 0, bitSize: 3 });
      expect(btf.memberOffset("old", "y")).toMatchObject({ offset: 4, bitSize: 0 });
      expect(btf.memberOffset("holder", "p").offset).toBe(16);
      expect(btf.resolve(btf.memberOffset("holder", "p").type).kind).toBe("ptr");
      expect(btf.typeName(btf.memberOffset("holder", "p").type)).toBe(
        'int __attribute__((btf_type_tag("percpu"))) *',
      );
      expect(btf.findType("hot", "decl_tag")).toMatchObject({ type: ids.s, componentIdx: 1 });
      expect(btf.sizeOf("holder")).toBe(24);
      expect(btf.layout("holder").decode(new Uint8Array(24))).toEqual({ e: 0n, d: 0, p: 0n });
    });
  }

  it("parses split BTF on top of a base", () => {
    const baseB = new BtfBuilder();
    const int = baseB.int("int", 4, { signed: true });
    const task = baseB.composite("struct", "task_struct", 8, [
      { name: "pid", type: int, bitOffset: 32 },
    ]);
    const base = parseBtf(baseB.build());
    const modB = new BtfBuilder({
      base: { typeCount: base.typeCount, stringsEnd: base.stringsEnd },
    });
    const tp = modB.ref("ptr", task);
    const ctx = modB.composite("struct", "mod_ctx", 16, [
      { name: "task", type: tp, bitOffset: 0 },
      { name: "n", type: int, bitOffset: 64 },
    ]);
    modB.func("mod_fn", modB.funcProto(int, [{ name: "c", type: ctx }]));
    // A name defined in both: the base's comes first.
    modB.composite("struct", "task_struct", 4, []);
    const mod = parseBtf(modB.build(), base);
    expect(mod.firstId).toBe(base.typeCount);
    expect(mod.typeCount).toBe(base.typeCount + 5);
    expect(mod.type(int)).toBe(base.type(int));
    expect(mod.memberOffset("mod_ctx", "task.pid")).toMatchObject({ offset: 4, hops: [0] });
    expect(mod.funcId("mod_fn")).toBe(base.typeCount + 3);
    expect(mod.findType("task_struct")?.id).toBe(task);
    expect(mod.findTypeIds("task_struct")).toEqual([task, base.typeCount + 4]);
    expect(mod.typeName(ctx)).toBe("struct mod_ctx");
    expect([...mod.types()].length).toBe(mod.typeCount - 1);
    // The split blob alone refers to ids and strings it does not have.
    expect(() => parseBtf(modB.build()).type(ctx)).toThrow(BtfError);
  });

  it("reads kind_flag on type and decl tags as C attributes", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, { signed: true });
    const tag = b.raw({
      nameOff: b.str("address_space(1)"),
      info: ((1 << 31) | (18 << 24)) >>> 0,
      sizeOrType: int,
      extra: [],
    });
    const p = b.ref("ptr", tag);
    const s = b.composite("struct", "s", 8, [{ name: "p", type: p, bitOffset: 0 }]);
    b.raw({
      nameOff: b.str("aligned(8)"),
      info: ((1 << 31) | (17 << 24)) >>> 0,
      sizeOrType: s,
      extra: [0xffffffff],
    });
    const btf = parseBtf(b.build());
    expect(btf.type(tag)).toMatchObject({ kind: "type_tag", attribute: true });
    expect(btf.typeName(p)).toBe("int __attribute__((address_space(1))) *");
    expect(btf.findType("aligned(8)", "decl_tag")).toMatchObject({
      attribute: true,
      componentIdx: -1,
    });
  });

  it("decodes UTF-8 names", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, { signed: true });
    b.composite("struct", "héllo", 4, [{ name: "ñ", type: int, bitOffset: 0 }]);
    b.composite("struct", "plain", 4, [{ name: "x", type: int, bitOffset: 0 }]);
    const btf = parseBtf(b.build());
    expect(btf.findType("héllo")?.kind).toBe("struct");
    expect(btf.memberOffset("héllo", "ñ".normalize()).size).toBe(4);
    expect(btf.findType("plain", "struct")?.members[0]?.name).toBe("x");
  });

  it("rejects split BTF whose byte order differs from the base", () => {
    const base = parseBtf(new BtfBuilder().build());
    const mod = new BtfBuilder({ littleEndian: false, base: { typeCount: 1, stringsEnd: 1 } });
    expect(() => parseBtf(mod.build(), base)).toThrow(/byte order/);
  });
});
