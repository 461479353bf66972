import { I64_EDGES, U64_EDGES } from "@ts-ebpf/testing";
import { describe, expect, it } from "vitest";
import type { Codec } from "../src/index.js";
import * as spec from "../src/index.js";

const { bytes, char, completeCodec, decoderAt, defineField, isCodec } = spec;
const { f32, f64, i8, i16, i32, i64, ptr, u8, u16, u32, u64 } = spec;

describe("scalar codecs", () => {
  const cases = [
    [u8, 0xfe, [0x100, -1]],
    [i8, -0x80, [0x80, -0x81]],
    [u16, 0xfffe, [0x10000, -1]],
    [i16, -0x8000, [0x8000]],
    [u32, 0xdeadbeef, [2 ** 32, -1]],
    [i32, -0x80000000, [2 ** 31]],
    [u64, 0xfedcba9876543210n, [1n << 64n, -1n]],
    [i64, -(1n << 63n), [1n << 63n]],
    [ptr, 0xffff888000000000n, [-1n]],
  ] as const;

  it("round-trip through decode/encode and decodeAt/encodeAt at any offset", () => {
    for (const [codec, value] of cases) {
      const c = codec as Codec<unknown> & typeof u8;
      expect(c.decode(c.encode(value as never)), c.describe).toBe(value);
      const chunk = new Uint8Array(32);
      const view = new DataView(chunk.buffer, 4, 24);
      c.encodeAt(value as never, view, 3);
      expect(c.decodeAt(view, 3), c.describe).toBe(value);
      // decode at an offset of a larger array reads the same bytes.
      expect(c.decode(chunk, 7), c.describe).toBe(value);
      expect(c.decode(chunk.subarray(7, 7 + c.size)), c.describe).toBe(value);
    }
    expect(f64.decode(f64.encode(1.5))).toBe(1.5);
    expect(f32.decode(f32.encode(0.25))).toBe(0.25);
  });

  it("refuse values out of range with RangeError and of the wrong type with TypeError", () => {
    const view = new DataView(new ArrayBuffer(8));
    for (const [codec, , outOfRange] of cases) {
      const c = codec as typeof u8;
      for (const bad of outOfRange) {
        expect(() => c.encodeAt(bad as never, view, 0), `${c.describe} ${bad}`).toThrow(RangeError);
      }
      for (const bad of ["1", {}, null, 1.5, Symbol("s")]) {
        expect(() => c.encodeAt(bad as never, view, 0), `${c.describe}`).toThrow(TypeError);
      }
    }
    // 64-bit codecs take safe integer numbers too.
    u64.encodeAt(7 as unknown as bigint, view, 0);
    expect(u64.decodeAt(view, 0)).toBe(7n);
    expect(() => u64.encodeAt((2 ** 53) as unknown as bigint, view, 0)).toThrow(TypeError);
    expect(() => f64.encodeAt("1" as unknown as number, view, 0)).toThrow(TypeError);
  });

  it("check the bytes they are given: TypeError for a non-array, RangeError when short", () => {
    expect(() => u32.decode(new Uint8Array(3))).toThrow(RangeError);
    expect(() => u32.decode(new Uint8Array(8), 5)).toThrow(RangeError);
    expect(() => u32.decode([1, 2, 3, 4] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => u32.encode(1, new Uint8Array(2))).toThrow(RangeError);
    expect(() => u32.decodeAt(new DataView(new ArrayBuffer(4)), 1)).toThrow(RangeError);
  });

  it("bytes(n) copies on decode and takes exactly n bytes; char(n) stops at NUL", () => {
    const b4 = bytes(4);
    const chunk = new Uint8Array([9, 1, 2, 3, 4, 9]);
    const copy = b4.decode(chunk, 1);
    expect([...copy]).toEqual([1, 2, 3, 4]);
    chunk[1] = 0;
    expect(copy[0]).toBe(1);
    expect(() => b4.encode(new Uint8Array(3), new Uint8Array(4))).toThrow(RangeError);
    expect(() => b4.encode("abcd" as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => bytes(-1)).toThrow(RangeError);
    const c8 = char(8);
    expect(c8.decode(c8.encode("bash"))).toBe("bash");
    expect(c8.decode(c8.encode("a-much-longer-name"))).toBe("a-much-l");
    expect(c8.decode(new TextEncoder().encode("héllo\0xx"))).toBe("héllo");
    expect(() => c8.encode(5 as unknown as string)).toThrow(TypeError);
  });

  it("char(16) (task names) gives the string of exactly the bytes read, whatever it decoded before", () => {
    const comm = char(16);
    const names = [
      "sleep",
      "sleep",
      "bash",
      "kworker/0:1",
      "sleep",
      "héllo",
      "",
      "0123456789abcdef",
    ];
    // Many names, so slots of the decoded-string cache are shared and replaced.
    for (let i = 0; i < 2000; i++) names.push(`t${i % 700}`);
    const records = new Uint8Array(names.length * 16);
    for (const [i, name] of names.entries()) comm.encode(name, records, i * 16);
    // Same string up to the NUL, different bytes after it: still the string before the NUL.
    records.set([0x73, 0x6c, 0, 0x41], 16 * 1);
    const view = new DataView(records.buffer);
    for (let round = 0; round < 2; round++) {
      names.forEach((name, i) => {
        const want = i === 1 ? "sl" : name;
        expect(comm.decodeAt(view, i * 16)).toBe(want);
        expect(comm.decode(records, i * 16)).toBe(want);
      });
    }
    // Bytes changed in place after they were decoded: the new string.
    comm.encode("other", records, 0);
    expect(comm.decodeAt(view, 0)).toBe("other");
    expect(() => comm.decodeAt(view, records.length - 8)).toThrow(RangeError);
  });

  it("are codecs", () => {
    for (const c of [u8, u32, u64, ptr, bytes(3), char(2)]) expect(isCodec(c)).toBe(true);
    expect(isCodec({ size: 4, decode() {} })).toBe(false);
  });
});

describe("defineField", () => {
  it("derives decode and encode from the in-place methods, with extra members", () => {
    const pair = defineField(
      {
        describe: "pair",
        size: 4,
        align: 2,
        decodeAt: (v, o) => [v.getUint16(o, true), v.getUint16(o + 2, true)] as const,
        encodeAt: (x: readonly [number, number], v, o) => {
          v.setUint16(o, x[0], true);
          v.setUint16(o + 2, x[1], true);
        },
      },
      { kind: "pair" as const },
    );
    expect(pair.kind).toBe("pair");
    expect([...pair.encode([1, 2])]).toEqual([1, 0, 2, 0]);
    const into = new Uint8Array(6);
    expect(pair.encode([3, 4], into, 2)).toBe(into);
    expect(pair.decode(into, 2)).toEqual([3, 4]);
    expect(Object.isFrozen(pair)).toBe(true);
  });
});

describe("completeCodec", () => {
  const plain: Codec<number> = {
    size: 4,
    encode: (v, t) => new DataView(t.buffer, t.byteOffset, 4).setUint32(0, v, true),
    decode: (b) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true),
  };

  it("returns the field types made here as they are", () => {
    expect(completeCodec("key", u32)).toBe(u32);
    const b = bytes(3);
    expect(completeCodec("key", b)).toBe(b);
  });

  it("gives a hand-written codec in-place methods that slice exactly its size", () => {
    const c = completeCodec<number>("key", plain);
    const view = new DataView(new ArrayBuffer(16));
    c.encodeAt(0xabcdef, view, 8);
    expect(view.getUint32(8, true)).toBe(0xabcdef);
    expect(c.decodeAt(view, 8)).toBe(0xabcdef);
    expect(() => c.decodeAt(view, 13)).toThrow(RangeError);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("copies bytes an encode returns instead of writing them, and checks their size", () => {
    const returning = {
      size: 4,
      encode: (v: number) => u32.encode(v),
      decode: (b: Uint8Array) => u32.decode(b),
    };
    const c = completeCodec<number>("value", returning);
    const view = new DataView(new ArrayBuffer(8));
    c.encodeAt(77, view, 4);
    expect(view.getUint32(4, true)).toBe(77);
    const short = completeCodec<number>("value", { ...returning, encode: () => new Uint8Array(2) });
    expect(() => short.encodeAt(1, view, 0)).toThrow(/value codec encoded 2 bytes, expected 4/);
  });

  it("reads every property once", () => {
    const reads: string[] = [];
    const spy = new Proxy(plain, {
      get(target, key, receiver) {
        reads.push(String(key));
        return Reflect.get(target, key, receiver);
      },
    });
    const c = completeCodec<number>("key", spy);
    const view = new DataView(new ArrayBuffer(4));
    reads.length = 0;
    c.encodeAt(5, view, 0);
    expect(c.decodeAt(view, 0)).toBe(5);
    expect(reads).toEqual([]);
  });

  it("refuses what is not {size, encode, decode} with a TypeError naming it", () => {
    for (const bad of [
      undefined,
      null,
      4,
      { size: 4, decode() {} },
      { size: "4", encode() {}, decode() {} },
    ]) {
      expect(() => completeCodec("key", bad)).toThrow(/key codec must be \{size, encode, decode\}/);
    }
  });
});

describe("decoderAt", () => {
  it("uses decodeAt, or decode over an exact slice reused for the same view and offset", () => {
    expect(decoderAt(u32)(new DataView(new Uint8Array([1, 0, 0, 0]).buffer), 0)).toBe(1);
    const seen: Uint8Array[] = [];
    const read = decoderAt({
      size: 2,
      decode: (b: Uint8Array) => {
        seen.push(b);
        return b[0]! + b[1]!;
      },
    });
    const view = new DataView(new Uint8Array([1, 2, 3, 4]).buffer);
    expect([read(view, 0), read(view, 0), read(view, 2)]).toEqual([3, 3, 7]);
    expect(seen.map((b) => b.byteLength)).toEqual([2, 2, 2]);
    expect(seen[0]).toBe(seen[1]);
    expect(() => read(view, 3)).toThrow(RangeError);
  });
});

describe("scalarReadSource", () => {
  // Values on both sides of 2^32 and 2^63: on V8 before 13 a 64-bit value whose
  // high word is 0 is made from its low word, elsewhere by the getter.
  const u64s = U64_EDGES;
  const i64s = I64_EDGES;

  it("reads what decodeAt reads, for every scalar, at an offset expression", () => {
    const cases = [
      [u8, [0, 0xff]],
      [i8, [-0x80, 0x7f]],
      [u16, [0, 0xffff]],
      [i16, [-0x8000, 0x7fff]],
      [u32, [0, 0xffffffff]],
      [i32, [-0x80000000, 0x7fffffff]],
      [f32, [0.5, -2]],
      [f64, [Math.PI, -0]],
      [u64, u64s],
      [i64, i64s],
      [ptr, [0xffff888000000000n, 5n]],
    ] as const;
    for (const [type, values] of cases) {
      const source = spec.scalarReadSource(type, "v", "o + 3");
      expect(source, type.describe).toBeTypeOf("string");
      const read = new Function("v", "o", `return ${source};`) as (
        v: DataView,
        o: number,
      ) => unknown;
      const view = new DataView(new ArrayBuffer(3 + type.size + 5));
      for (const x of values as readonly unknown[]) {
        type.encodeAt!(x as never, view, 3);
        expect(read(view, 0), `${type.describe} ${String(x)}`).toEqual(type.decodeAt!(view, 3));
        expect(type.decodeAt!(view, 3), `${type.describe} ${String(x)}`).toEqual(x);
      }
    }
  });

  it("writes no code it was not built with: SCALAR_READS is a copy, changing it changes nothing", () => {
    const table = spec.SCALAR_READS as Map<unknown, string>;
    const before = spec.scalarReadSource(u32, "v", "o");
    const four = bytes(4);
    try {
      table.set(u32, "getUint32(0) + globalThis.injected + v.getUint32");
      table.set(four, "getUint8");
      expect(spec.scalarReadSource(u32, "v", "o")).toBe(before);
      expect(spec.scalarReadSource(four, "v", "o")).toBeUndefined();
      expect(spec.scalarReadName(u32)).toBe("getUint32");
    } finally {
      table.set(u32, "getUint32");
      table.delete(four);
    }
  });

  it("is undefined for what is not a scalar, and the pointer type reads with the getter alone", () => {
    expect(spec.scalarReadSource(bytes(4), "v", "o")).toBeUndefined();
    expect(spec.scalarReadSource(char(16), "v", "o")).toBeUndefined();
    expect(spec.scalarReadSource({ size: 8, decode: () => 0n }, "v", "o")).toBeUndefined();
    expect(spec.scalarReadSource(ptr, "v", "o")).toMatch(/^v\.getBigUint64\(o, (true|false)\)$/);
    expect(spec.scalarReadSource(u64, "v", "o")).toContain(
      spec.BIGINT_FROM_LOW_WORD ? "BigInt(v.getUint32(" : "v.getBigUint64(o",
    );
  });
});
