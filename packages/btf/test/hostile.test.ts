import { describe, expect, it } from "vitest";
import { BtfError, parseBtf } from "../src/index.js";
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
