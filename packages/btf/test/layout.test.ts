import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  aligned,
  array,
  bytes,
  type Codec,
  char,
  f64,
  i8,
  i16,
  i32,
  i64,
  parseBtf,
  struct,
  u8,
  u16,
  u32,
  u64,
} from "../src/index.js";
import { fixtureBytes } from "./fixture.js";

describe("struct() layouts", () => {
  const task = struct({ pid: u32, comm: char(16), start: u64 });

  it("lays out fields like C", () => {
    expect(task.size).toBe(32);
    expect(task.align).toBe(8);
    expect(task.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ["pid", 0, 4],
      ["comm", 4, 16],
      ["start", 24, 8],
    ]);
    expect(task.offsetOf("start")).toBe(24);
    expect(struct({ a: u8, b: u16, c: u8 }).size).toBe(6);
    expect(struct({ a: u8, b: u32 }, { packed: true }).size).toBe(5);
    expect(struct({ a: u8 }, { align: 8 }).size).toBe(8);
    expect(struct({ a: u8, b: aligned(u8, 4) }).fields[1]!.offset).toBe(4);
    expect(struct({}).size).toBe(0);
  });

  it("satisfies the map codec shape with typed values", () => {
    const codec: Codec<{ pid: number; comm: string; start: bigint }> = task;
    expect(codec.size).toBe(32);
    expectTypeOf(task.decode(new Uint8Array(32))).toEqualTypeOf<{
      pid: number;
      comm: string;
      start: bigint;
    }>();
  });

  it("decodes u64 as bigint and char arrays up to NUL", () => {
    const buf = new Uint8Array(32);
    const v = new DataView(buf.buffer);
    v.setUint32(0, 4242, true);
    buf.set(new TextEncoder().encode("bash\0junk"), 4);
    v.setBigUint64(24, 0xfedcba9876543210n, true);
    expect(task.decode(buf)).toEqual({ pid: 4242, comm: "bash", start: 0xfedcba9876543210n });
    buf.fill(0x41, 4, 20); // no NUL: all 16 bytes
    expect(task.decode(buf).comm).toBe("A".repeat(16));
    // decodeAt reads the same record from a view over a larger buffer, in place.
    const chunk = new Uint8Array(40 + 32);
    chunk.set(buf, 40);
    const chunkView = new DataView(chunk.buffer, 8);
    expect(task.decodeAt(chunkView, 32)).toEqual(task.decode(buf));
    expect(() => task.decodeAt(chunkView, 33)).toThrow(RangeError);
    expect(() => task.decodeAt(chunkView, -1)).toThrow(RangeError);
    buf.set(new TextEncoder().encode("héllo\0"), 4);
    expect(task.decode(buf).comm).toBe("héllo");
  });

  it("round-trips nested structs, arrays, signed and float fields", () => {
    const point = struct({ x: i32, y: i32 });
    const rec = struct({
      tag: i8,
      pts: array(point, 2),
      w: i16,
      big: i64,
      f: f64,
      raw: bytes(3),
      grid: array(array(u8, 2), 2),
    });
    const value = {
      tag: -3,
      pts: [
        { x: 1, y: -2 },
        { x: 3, y: 4 },
      ],
      w: -300,
      big: -(2n ** 62n),
      f: 1.5,
      raw: new Uint8Array([1, 2, 3]),
      grid: [
        [1, 2],
        [3, 4],
      ],
    };
    expect(rec.decode(rec.encode(value))).toEqual(value);
    expect(rec.offsetOf("pts")).toBe(4);
    expect(rec.size).toBe(48); // 47 bytes rounded up to the i64 alignment
  });

  it("round-trips any values (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.stringMatching(/^[a-z0-9_]{0,15}$/),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        (pid, comm, start) => {
          const v = { pid, comm, start };
          expect(task.decode(task.encode(v))).toEqual(v);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it("decodes many records at once", () => {
    const n = 1000;
    const buf = new Uint8Array(n * task.size);
    for (let i = 0; i < n; i++) {
      task.encodeInto({ pid: i, comm: `t${i}`, start: BigInt(i) * 1000n }, buf, i * task.size);
    }
    const all = task.decodeAll(buf);
    expect(all).toHaveLength(n);
    expect(all[999]).toEqual({ pid: 999, comm: "t999", start: 999000n });
    expect(() => task.decodeAll(buf.subarray(0, 40))).toThrow(/8 left over/);
    expect(task.decodeAll(buf.subarray(0, 40), { allowTrailing: true })).toHaveLength(1);
    expect(task.decodeAll(new Uint8Array(0))).toEqual([]);
  });

  it("rejects bad input with TypeError / RangeError", () => {
    expect(() => task.decode(new Uint8Array(31))).toThrow(RangeError);
    expect(() => task.decode(new Uint8Array(40), 9)).toThrow(RangeError);
    expect(() => task.decode([] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => char(-1)).toThrow(RangeError);
    expect(() => array(u8, 1.5)).toThrow(RangeError);
    expect(() => aligned(u8, 3)).toThrow(RangeError);
    expect(() => struct({ a: 5 as unknown as typeof u8 })).toThrow(TypeError);
    expect(() => struct({}).decodeAll(new Uint8Array(4))).toThrow(RangeError);
    expect(() => task.offsetOf("nope")).toThrow(RangeError);
    expect(() => struct({ ["__proto__"]: u8 })).toThrow(TypeError);
  });

  it("refuses a 64-bit field value that is not a bigint or an integer with TypeError", () => {
    // On f626b01 BigInt() threw SyntaxError ("abc", {}) or RangeError (1.5) from inside write() (now encodeAt).
    const view = new DataView(new ArrayBuffer(8));
    for (const bad of ["abc", {}, 1.5, Number.NaN, null, Symbol("s")]) {
      expect(() => i64.encodeAt(bad as unknown as bigint, view, 0)).toThrow(TypeError);
      expect(() => u64.encodeAt(bad as unknown as bigint, view, 0)).toThrow(TypeError);
    }
    u64.encodeAt(7 as unknown as bigint, view, 0); // an integer number is taken too
    expect(u64.decodeAt(view, 0)).toBe(7n);
  });
});

describe("layouts from BTF", () => {
  const btf = parseBtf(fixtureBytes());

  it("places every member where BTF says", () => {
    const rec = btf.layout("rec");
    expect(rec.size).toBe(152);
    for (const f of rec.fields) {
      if (f.name === "flex") continue;
      expect(f.offset, f.name).toBe(btf.memberOffset("rec", f.name).offset);
    }
    expect(rec.fields.map((f) => f.name)).toContain("ub"); // anonymous union opened up
  });

  it("decodes a struct with nested records, pointers, floats and enums", () => {
    const rec = btf.layout("rec");
    const bytes = new Uint8Array(152);
    const v = new DataView(bytes.buffer);
    v.setUint32(0, 7, true);
    bytes.set(new TextEncoder().encode("init"), 4);
    v.setBigUint64(24, 99n, true);
    v.setInt32(32, -1, true);
    v.setUint32(40, 0x00010002, true);
    v.setInt32(52 + 4 * 5, 6, true);
    v.setBigUint64(80, 0xffff888812345678n, true);
    v.setUint32(120, 5, true);
    v.setFloat64(144, 2.5, true);
    const out = rec.decode(bytes) as Record<string, unknown>;
    expect(out).toMatchObject({
      pid: 7,
      comm: "init",
      start: 99n,
      in: { a: -1, b: 0 },
      ua: 0x00010002,
      ub: 2,
      pt: { x: 0, y: 0 },
      arr: [
        [0, 0, 0],
        [0, 0, 6],
      ],
      next: 0xffff888812345678n,
      color: 5,
      db: 2.5,
      flex: "",
    });
  });

  it("reads and writes bitfields at C's bit positions", () => {
    const bits = btf.layout("bits");
    const value = { a: 5, b: 17, c: -3, d: 0x123456789n, e: 200, f: 1n };
    const enc = bits.encode(value);
    const raw = 5n | (17n << 3n) | ((-3n & 0x7fn) << 8n) | (0x123456789n << 15n);
    const expected = new Uint8Array(16);
    const v = new DataView(expected.buffer);
    v.setBigUint64(0, raw | (200n << 56n), true);
    v.setBigUint64(8, 1n, true);
    expect(enc).toEqual(expected);
    expect(bits.decode(enc)).toEqual(value);
  });

  it("round-trips random bitfield values at C's bit positions (property)", () => {
    const bits = btf.layout<{ a: number; b: number; c: number; d: bigint; e: number; f: bigint }>(
      "bits",
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: -64, max: 63 }),
        fc.bigInt({ min: 0n, max: 2n ** 40n - 1n }),
        fc.integer({ min: 0, max: 255 }),
        (a, b, c, d, e) => {
          const value = { a, b, c, d, e, f: 0n };
          const enc = bits.encode(value);
          const word = new DataView(enc.buffer).getBigUint64(0, true);
          const want =
            BigInt(a) |
            (BigInt(b) << 3n) |
            (BigInt.asUintN(7, BigInt(c)) << 8n) |
            (d << 15n) |
            (BigInt(e) << 56n);
          expect(word).toBe(want);
          expect(bits.decode(enc)).toEqual(value);
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });

  it("decodes a union's members from the same bytes", () => {
    const val = btf.layout("union val");
    const buf = val.encode({ y: 0x1122334455667788n });
    expect(val.decode(buf)).toMatchObject({ x: 0x55667788, y: 0x1122334455667788n });
  });
});
