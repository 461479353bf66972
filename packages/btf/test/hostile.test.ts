import { describe, expect, it } from "vitest";
import { type Btf, BtfError, parseBtf } from "../src/index.js";
import { BtfBuilder } from "./btf-builder.js";
import { exercise } from "./exercise.js";
import { fixtureBytes } from "./fixture.js";

function header(
  fields: Partial<
    Record<"magic" | "version" | "hdrLen" | "typeOff" | "typeLen" | "strOff" | "strLen", number>
  >,
  total = 64,
) {
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  v.setUint16(0, fields.magic ?? 0xeb9f, true);
  v.setUint8(2, fields.version ?? 1);
  v.setUint32(4, fields.hdrLen ?? 24, true);
  v.setUint32(8, fields.typeOff ?? 0, true);
  v.setUint32(12, fields.typeLen ?? 0, true);
  v.setUint32(16, fields.strOff ?? 0, true);
  v.setUint32(20, fields.strLen ?? 1, true);
  return b;
}

function btfError(f: () => unknown): BtfError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BtfError);
    return e as BtfError;
  }
  throw new Error("expected a BtfError");
}

describe("malformed BTF headers", () => {
  it("names the offset and the problem", () => {
    expect(btfError(() => parseBtf(new Uint8Array(10)))).toMatchObject({
      offset: 0,
      message: expect.stringMatching(/truncated header/),
    });
    expect(btfError(() => parseBtf(header({ magic: 0x1234 })))).toMatchObject({
      offset: 0,
      message: expect.stringMatching(/bad magic/),
    });
    expect(btfError(() => parseBtf(header({ version: 2 })))).toMatchObject({ offset: 2 });
    expect(btfError(() => parseBtf(header({ hdrLen: 8 })))).toMatchObject({ offset: 4 });
    expect(btfError(() => parseBtf(header({ hdrLen: 4000 })))).toMatchObject({ offset: 4 });
    expect(btfError(() => parseBtf(header({ typeLen: 0xfffffff0 })))).toMatchObject({
      offset: 8,
      message: expect.stringMatching(/past end/),
    });
    expect(btfError(() => parseBtf(header({ typeOff: 2 })))).toMatchObject({ offset: 8 });
    expect(btfError(() => parseBtf(header({ strOff: 30, strLen: 100 })))).toMatchObject({
      offset: 16,
    });
    expect(btfError(() => parseBtf(header({ typeLen: 12, strOff: 4, strLen: 12 })))).toMatchObject({
      message: expect.stringMatching(/overlap/),
    });
    const noNul = header({ strOff: 0, strLen: 3 });
    noNul.set([0, 65, 66], 24);
    expect(btfError(() => parseBtf(noNul))).toMatchObject({
      offset: 26,
      message: expect.stringMatching(/NUL/),
    });
    expect(() => parseBtf("nope" as unknown as Uint8Array)).toThrow(TypeError);
  });

  it("rejects truncated type entries and unknown kinds at their offset", () => {
    const good = fixtureBytes();
    const v = new DataView(good.buffer, good.byteOffset);
    const typeLen = v.getUint32(12, true);
    // Cut the type section 5 bytes short: the last type no longer fits.
    const cut = good.slice();
    new DataView(cut.buffer).setUint32(12, typeLen - 5, true);
    expect(btfError(() => parseBtf(cut)).offset).toBeGreaterThan(24);
    const badKind = good.slice();
    badKind[24 + 7] = 0x1f; // kind bits of type 1's info
    expect(btfError(() => parseBtf(badKind))).toMatchObject({
      offset: 24,
      message: expect.stringMatching(/unknown kind 31/),
    });
  });

  it("reports bad string offsets and type ids where they are referenced", () => {
    const b = new BtfBuilder();
    b.raw({ nameOff: 9999, info: 2 << 24, sizeOrType: 0, extra: [] });
    b.raw({ nameOff: 0, info: 2 << 24, sizeOrType: 77, extra: [] });
    const btf = parseBtf(b.build());
    expect(btfError(() => btf.type(1))).toMatchObject({
      offset: 24,
      message: expect.stringMatching(/string offset 9999/),
    });
    expect(btfError(() => btf.type(2))).toMatchObject({
      offset: 24 + 12 + 8,
      message: expect.stringMatching(/type id 77/),
    });
    expect(btfError(() => btf.type(3)).message).toMatch(/no type id 3/);
    expect(() => btf.type(-1)).toThrow(BtfError);
    expect(() => btf.type(1.5)).toThrow(BtfError);
  });
});

describe("hostile type graphs", () => {
  it("detects loops in typedef and modifier chains", () => {
    const b = new BtfBuilder();
    b.ref("typedef", 2, "a"); // 1 -> 2
    b.ref("const", 1); // 2 -> 1
    const btf = parseBtf(b.build());
    expect(btfError(() => btf.resolve("a")).message).toMatch(/loop/);
    expect(btfError(() => btf.sizeOf("a")).message).toMatch(/loop/);
    expect(btfError(() => btf.alignOf("a")).message).toMatch(/loop/);
    // The declarator stops at the typedef's name, so printing terminates.
    expect(btf.formatC("a")).toBe("typedef const a a;");
    exercise(btf);
  });

  it("detects structs that contain themselves", () => {
    const b = new BtfBuilder();
    b.composite("struct", "s", 8, [{ name: "self", type: 1, bitOffset: 0 }]);
    b.composite("struct", "t", 8, [{ name: "", type: 2, bitOffset: 0 }]);
    b.composite("struct", "", 8, [{ name: "", type: 3, bitOffset: 0 }]);
    const btf = parseBtf(b.build());
    expect(btfError(() => btf.alignOf("s")).message).toMatch(/contains itself/);
    expect(btfError(() => btf.layout("s")).message).toMatch(/contains itself/);
    expect(btfError(() => btf.memberOffset("t", "x")).message).toMatch(/deeper/);
    expect(btf.formatC("t")).toBe("struct t {\n\tstruct t;\n};"); // named: not inlined
    expect(btfError(() => btf.formatC(3)).message).toMatch(/loop/); // anonymous: inlined
    exercise(btf);
  });

  it("survives exponential fan-out through anonymous members", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, { signed: true });
    let prev = b.composite("struct", "", 4, [{ name: "leaf", type: int, bitOffset: 0 }]);
    // 24 levels, each with 64 anonymous members of the level below: 64^24 paths.
    for (let level = 0; level < 24; level++) {
      const members = Array.from({ length: 64 }, () => ({ name: "", type: prev, bitOffset: 0 }));
      prev = b.composite("union", level === 23 ? "top" : "", 4, members);
    }
    const btf = parseBtf(b.build());
    expect(btf.memberOffset("top", "leaf").offset).toBe(0); // first path found quickly
    expect(btfError(() => btf.memberOffset("top", "nope")).message).toMatch(/too many/);
    expect(btfError(() => btf.layout("top")).message).toMatch(/more than/);
    expect(btfError(() => btf.formatC("top")).message).toMatch(/longer than|deeper/);
    expect(btf.alignOf("top")).toBe(4);
  });

  it("rejects huge counts without allocating them", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, { signed: true });
    const empty = b.composite("struct", "empty", 0, []);
    const huge = b.array(int, int, 0xffffffff);
    const manyEmpty = b.array(empty, int, 0x7fffffff);
    b.composite("struct", "h", 8, [{ name: "a", type: huge, bitOffset: 0 }]);
    b.composite("struct", "z", 8, [{ name: "a", type: manyEmpty, bitOffset: 0 }]);
    const btf = parseBtf(b.build());
    expect(btfError(() => btf.sizeOf(huge)).message).toMatch(/overflows/);
    expect(btfError(() => btf.layout("h")).message).toMatch(/elements|past its size/);
    expect(btfError(() => btf.layout("z")).message).toMatch(/size 0/);
    expect(btf.memberOffset("h", "a[5]").offset).toBe(20);
    exercise(btf);
  });

  it("rejects a vlen that runs past the type section", () => {
    const b = new BtfBuilder();
    b.raw({ nameOff: 0, info: ((4 << 24) | 0xffff) >>> 0, sizeOrType: 4, extra: [] });
    expect(btfError(() => parseBtf(b.build()))).toMatchObject({
      offset: 24,
      message: expect.stringMatching(/needs 786432 bytes/),
    });
  });
});

/** Counts calls of one method of `btf` (internal calls go through `this`, so they count too). */
function countCalls<K extends "str" | "type" | "kindOf" | "buildHashIndex">(
  btf: Btf,
  method: K,
): { calls: number } {
  const counter = { calls: 0 };
  // buildHashIndex is private: reached through the instance like the public ones.
  const original = (btf as unknown as Record<K, (...args: unknown[]) => unknown>)[method].bind(btf);
  Object.defineProperty(btf, method, {
    value: (...args: unknown[]) => {
      counter.calls++;
      return original(...args);
    },
  });
  return counter;
}

/** layout.ts's bound (written out so this file also runs against older sources). */
const MAX_LAYOUT_SIZE = 1 << 24;

describe("bounded work on hostile BTF (issue 13, finding 8)", () => {
  it("refuses a layout whose size would make encode() allocate beyond MAX_LAYOUT_SIZE", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, { signed: true });
    // A mutated blob declared 1 GiB for a struct holding one int: encode() allocated it.
    b.composite("struct", "gib", 1 << 30, [{ name: "x", type: int, bitOffset: 0 }]);
    // Members can justify 512 MiB (bit offsets are u32), still far above the cap.
    b.composite("struct", "far", 2 ** 29, [
      { name: "x", type: int, bitOffset: 0 },
      { name: "y", type: int, bitOffset: 2 ** 32 - 32 },
    ]);
    // Under the cap, but 1 MiB of trailing padding nothing in the struct explains.
    b.composite("struct", "padded", 1 << 20, [{ name: "x", type: int, bitOffset: 0 }]);
    // Real shapes: page-aligned trailing padding (gdt_page), a member near the cap.
    b.composite("struct", "page", 4096, [{ name: "x", type: int, bitOffset: 0 }]);
    b.composite("struct", "wide", MAX_LAYOUT_SIZE, [
      { name: "x", type: int, bitOffset: (MAX_LAYOUT_SIZE - 4) * 8 },
    ]);
    const btf = parseBtf(b.build());
    expect(btfError(() => btf.layout("gib")).message).toMatch(
      /struct gib: size 1073741824 is larger than a record layout allows \(16777216 bytes\)/,
    );
    expect(btfError(() => btf.layout("far")).message).toMatch(/larger than a record layout/);
    expect(btfError(() => btf.layout("padded")).message).toMatch(
      /struct padded: size 1048576, but its members end at byte 4/,
    );
    expect(btf.layout("page").encode({ x: 7 }).length).toBe(4096);
    const wide = btf.layout("wide");
    expect(wide.decode(wide.encode({ x: -2 }))).toEqual({ x: -2 });
  });

  it("refuses a layout whose decode() would create more than MAX_LAYOUT_VALUES values", () => {
    const b = new BtfBuilder();
    const u8 = b.int("u8", 1);
    const int = b.int("int", 4);
    const bytes = b.array(u8, int, 1024);
    const members = (type: number) =>
      Array.from({ length: 128 }, (_, i) => ({ name: `m${i}`, type, bitOffset: 0 }));
    // Union members overlap: 1 KiB unions of 1 KiB unions of 1 KiB unions of
    // u8[1024] decode to 128^3 * 1025 numbers (2^31), all from a few KiB of BTF.
    const u0 = b.composite("union", "u0", 1024, members(bytes));
    const u1 = b.composite("union", "u1", 1024, members(u0));
    b.composite("union", "u2", 1024, members(u1));
    // An array of unions multiplies the same way.
    b.composite("struct", "rows", 1024, [{ name: "r", type: b.array(u1, int, 1), bitOffset: 0 }]);
    const btf = parseBtf(b.build());
    expect(btfError(() => btf.layout("u2")).message).toMatch(/decodes to more than 4194304 values/);
    expect(btfError(() => btf.layout("u1")).message).toMatch(/more than 4194304 values/);
    expect(btfError(() => btf.layout("rows")).message).toMatch(/more than 4194304 values/);
    const small = btf.layout("u0");
    const decoded = small.decode(new Uint8Array(1024).fill(3)) as Record<string, number[]>;
    expect(decoded.m127).toHaveLength(1024);
  });

  it("builds the name index once when a name offset is bad, and remembers misses", () => {
    const b = new BtfBuilder();
    for (let i = 0; i < 5000; i++) b.int(`t${i}`, 4);
    const bad = b.raw({ nameOff: 999_999, info: 2 << 24, sizeOrType: 1, extra: [] });
    const btf = parseBtf(b.build());
    const str = countCalls(btf, "str");
    const scans = countCalls(btf, "buildHashIndex");
    expect(btf.findType("t1", "int")?.id).toBe(2);
    const first = str.calls;
    // Every lookup used to rebuild the index: a full scan, 50-250 ms on vmlinux.
    for (let i = 0; i < 200; i++) {
      expect(btf.findType(`t${i * 7}`)?.name).toBe(`t${i * 7}`);
      expect(btf.findType(`missing${i % 10}`)).toBeUndefined();
      expect(btf.findTypeIds(`t${i}`)).toEqual([i + 1]);
    }
    expect(() => btf.lookup("missing")).toThrow(/no type "missing"/);
    // The one scan (issue 17: it hashes name bytes in place, making no strings).
    expect(scans.calls).toBe(1);
    expect(str.calls - first).toBeLessThan(1000);
    // The type with the bad name still reports it where it is asked for.
    expect(btfError(() => btf.type(bad)).message).toMatch(/string offset 999999/);
  });

  it("remembers bare-name lookups: a name shared by thousands of declarations is walked once", () => {
    const b = new BtfBuilder();
    for (let i = 0; i < 20_000; i++) b.fwd("x");
    const btf = parseBtf(b.build());
    const kindOf = countCalls(btf, "kindOf");
    for (let i = 0; i < 100; i++) {
      expect(btf.lookup("x")).toMatchObject({ id: 1, kind: "fwd" });
      expect(() => btf.lookup("y")).toThrow(/no type "y"/);
    }
    expect(kindOf.calls).toBeLessThan(25_000); // 2 million before
    expect(() => btf.lookup(null as unknown as string)).toThrow(TypeError);
  });

  it("remembers a type that fails to decode instead of decoding it again", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4);
    const members = Array.from({ length: 30_000 }, (_, i) => ({
      name: "",
      type: i === 29_999 ? 12345 : int,
      bitOffset: 0,
    }));
    const s = b.composite("struct", "s", 4, members);
    const btf = parseBtf(b.build());
    const str = countCalls(btf, "str");
    for (let i = 0; i < 50; i++) {
      expect(btfError(() => btf.type(s)).message).toMatch(
        /member 29999 of struct 2 refers to type id 12345/,
      );
      expect(btfError(() => btf.lookup("s")).message).toMatch(/type id 12345/);
    }
    expect(str.calls).toBeLessThan(2 * 30_000); // one decode, not 100
  });

  it("remembers an alignment that cannot be computed (the C printer asks once per member)", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4);
    const proto = b.funcProto(int, []);
    const fn = b.func("f", proto);
    // 2000 members, the last one a FUNC, which has no alignment.
    const inner = Array.from({ length: 2000 }, (_, i) => ({
      name: `i${i}`,
      type: i === 1999 ? fn : int,
      bitOffset: 0,
    }));
    const u = b.composite("union", "u", 4, inner);
    const outer = Array.from({ length: 2000 }, (_, i) => ({
      name: `o${i}`,
      type: u,
      bitOffset: 0,
    }));
    b.composite("union", "t", 4, outer);
    const btf = parseBtf(b.build());
    const type = countCalls(btf, "type");
    expect(btf.formatC("t")).toMatch(/^union t \{\n\tunion u o0;/);
    // Quadratic before: 2000 members x 2000 members of u walked each time.
    expect(type.calls).toBeLessThan(50_000);
    expect(btfError(() => btf.alignOf("u")).message).toMatch(/func .* has no alignment/);
  });

  it("keeps a depth limit reached from far away from poisoning a nearer start", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4);
    let prev = b.composite("struct", "s40", 4, [{ name: "x", type: int, bitOffset: 0 }]);
    for (let level = 39; level >= 1; level--) {
      prev = b.composite("struct", `s${level}`, 4, [{ name: "x", type: prev, bitOffset: 0 }]);
    }
    const btf = parseBtf(b.build());
    expect(btfError(() => btf.alignOf("s1")).message).toMatch(/deeper than 32/);
    expect(btf.alignOf("s20")).toBe(4);
  });

  it("reads the enumerator index once when one enum is malformed", () => {
    const b = new BtfBuilder();
    b.raw({ nameOff: 0, info: ((6 << 24) | 1) >>> 0, sizeOrType: 4, extra: [888_888, 1] });
    b.enum("colour", 4, [["RED", 1]]);
    const btf = parseBtf(b.build());
    const type = countCalls(btf, "type");
    for (let i = 0; i < 20; i++) expect(btf.enumerator("RED")).toEqual({ enum: 2, value: 1 });
    expect(type.calls).toBeLessThan(5);
    expect(btfError(() => btf.type(1)).message).toMatch(/string offset 888888/);
  });

  it("bounds iteratorTargets() over all targets, not per target", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4);
    const wide = b.composite(
      "union",
      "",
      4,
      Array.from({ length: 4000 }, (_, i) => ({ name: `m${i}`, type: int, bitOffset: 0 })),
    );
    const proto = b.funcProto(int, []);
    for (let i = 0; i < 100; i++) {
      b.func(`bpf_iter_t${i}`, proto);
      b.composite("struct", `bpf_iter__t${i}`, 4, [{ name: "", type: wide, bitOffset: 0 }]);
    }
    const btf = parseBtf(b.build());
    // 100 targets x 4000 members each: the walk stops at the shared bound.
    expect(btfError(() => btf.iteratorTargets()).message).toMatch(/too many members/);
  });

  it("str() refuses a negative or fractional offset (it read the base of a BTF without one)", () => {
    const btf = parseBtf(new BtfBuilder().build());
    expect(() => btf.str(-1)).toThrow(RangeError);
    expect(() => btf.str(0.5)).toThrow(RangeError);
    expect(btf.str(0)).toBe("");
  });

  it("refuses a flexible-array index that puts the offset past 4 GiB", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4);
    const flex = b.array(int, int, 0);
    b.composite("struct", "f", 4, [
      { name: "n", type: int, bitOffset: 0 },
      { name: "data", type: flex, bitOffset: 32 },
    ]);
    const btf = parseBtf(b.build());
    expect(btf.memberOffset("f", "data[10]").offset).toBe(44);
    expect(btfError(() => btf.memberOffset("f", "data[99999999999999999999]")).message).toMatch(
      /past 4 GiB/,
    );
  });
});
