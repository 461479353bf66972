// codecFromBtf: the codec of any type a map key or value has, plain and
// symbolic (bpftool's reading of enums, bools and chars).
import { describe, expect, it } from "vitest";
import { codecFromBtf, parseBtf } from "../src/index.js";
import { BtfBuilder } from "./btf-builder.js";

function types() {
  const b = new BtfBuilder();
  const u32 = b.int("unsigned int", 4);
  const s64 = b.int("long long", 8, { signed: true });
  const chr = b.int("char", 1, { signed: true, char: true });
  const bool = b.int("_Bool", 1, { bool: true });
  const color = b.enum("color", 4, [
    ["RED", 0],
    ["GREEN", 7],
    ["ALSO_GREEN", 7],
  ]);
  const big = b.enum64("big", 8, [["HUGE", 1n << 40n]]);
  const comm = b.array(chr, u32, 8);
  const pair = b.array(u32, u32, 2);
  const pt = b.composite("struct", "pt", 8, [
    { name: "x", type: u32, bitOffset: 0 },
    { name: "y", type: u32, bitOffset: 32 },
  ]);
  const rec = b.composite("struct", "rec", 56, [
    { name: "pid", type: u32, bitOffset: 0 },
    { name: "comm", type: comm, bitOffset: 32 },
    { name: "c", type: color, bitOffset: 96 },
    { name: "total", type: s64, bitOffset: 128 },
    { name: "where", type: pt, bitOffset: 192 },
    { name: "pair", type: pair, bitOffset: 256 },
    { name: "on", type: bool, bitOffset: 320 },
    { name: "letter", type: chr, bitOffset: 328 },
    { name: "size", type: big, bitOffset: 320 + 64 },
  ]);
  const typedef = b.ref("typedef", rec, "rec_t");
  const cnst = b.ref("const", typedef);
  return { btf: parseBtf(b.build()), u32, s64, color, big, comm, pair, rec, cnst, bool, chr };
}

function recBytes(): Uint8Array {
  const bytes = new Uint8Array(56);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, 42, true);
  bytes.set(new TextEncoder().encode("nginx"), 4);
  v.setUint32(12, 7, true);
  v.setBigInt64(16, -5n, true);
  v.setUint32(24, 3, true);
  v.setUint32(28, 4, true);
  v.setUint32(32, 10, true);
  v.setUint32(36, 11, true);
  v.setUint8(40, 1);
  v.setUint8(41, 0x41);
  v.setBigUint64(48, 1n << 40n, true);
  return bytes;
}

describe("codecFromBtf", () => {
  it("decodes scalars, enums, arrays, char arrays, structs through typedefs and modifiers", () => {
    const t = types();
    const rec = codecFromBtf(t.btf, t.cnst);
    expect(rec.size).toBe(56);
    expect(rec.decode(recBytes())).toEqual({
      pid: 42,
      comm: "nginx",
      c: 7,
      total: -5n,
      where: { x: 3, y: 4 },
      pair: [10, 11],
      on: 1,
      letter: 0x41,
      size: 1n << 40n,
    });
    expect(codecFromBtf(t.btf, t.u32).decode(new Uint8Array([1, 1, 0, 0]))).toBe(257);
    expect(codecFromBtf(t.btf, t.pair).decode(new Uint8Array(8).fill(1))).toEqual([
      0x01010101, 0x01010101,
    ]);
  });

  it("decodes enums to names, bools to booleans, a char to a string when symbolic (bpftool)", () => {
    const t = types();
    const rec = codecFromBtf(t.btf, t.rec, { symbolic: true });
    const out = rec.decode(recBytes()) as Record<string, unknown>;
    // The first enumerator of a value names it.
    expect(out).toMatchObject({ c: "GREEN", on: true, letter: "A", size: "HUGE", pid: 42 });
    const color = codecFromBtf(t.btf, t.color, { symbolic: true });
    expect(color.decode(new Uint8Array([9, 0, 0, 0]))).toBe(9); // no enumerator: the number
    expect(color.encode("GREEN")).toEqual(new Uint8Array([7, 0, 0, 0]));
    expect(color.encode(3)).toEqual(new Uint8Array([3, 0, 0, 0]));
    expect(() => color.encode("BLUE")).toThrow(RangeError);
    // Encoding what was decoded gives the same bytes back.
    expect(rec.encode(out)).toEqual(recBytes());
  });

  it("refuses a bad id or options before reading BTF", () => {
    const t = types();
    expect(() => codecFromBtf(t.btf, 0)).toThrow(RangeError);
    expect(() => codecFromBtf(t.btf, 1.5)).toThrow(RangeError);
    expect(() => codecFromBtf(t.btf, t.u32, null as never)).toThrow(TypeError);
    expect(() => codecFromBtf(t.btf, 999)).toThrow();
  });
});
