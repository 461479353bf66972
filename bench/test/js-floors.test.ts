import { describe, expect, it } from "vitest";
import { flatRecords, floorArray, floorBytes, floorRecords } from "../src/js-floors.js";

/** n records of u32 key i then u64 value 3i + 1 + 2^40 (a value no u32 read gets right). */
function records(n: number, offset = 0): Uint8Array {
  const buf = new Uint8Array(offset + n * 12);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < n; i++) {
    view.setUint32(offset + i * 12, i, true);
    view.setBigUint64(offset + i * 12 + 4, BigInt(3 * i + 1) + (1n << 40n), true);
  }
  return buf.subarray(offset);
}

describe("JS floors", () => {
  it("visit every element and read values as the records decode them", () => {
    for (const n of [0, 1, 2, 7, 1000]) {
      for (const offset of [0, 4, 12]) {
        const raw = records(n, offset);
        expect(floorRecords(raw).items).toBe(n);
        expect(flatRecords(raw).items).toBe(n);
        expect(floorBytes(raw).items).toBe(n);
        expect(floorArray(raw).items).toBe(n);
      }
    }
  });

  it("the records floors find the largest value: every value was read, at either alignment", () => {
    const raw = records(9);
    const view = new DataView(raw.buffer, raw.byteOffset);
    // Zero every value but one; the floor throws when it reads only zeros.
    for (let i = 0; i < 9; i++) view.setBigUint64(i * 12 + 4, 0n, true);
    expect(() => floorRecords(raw)).toThrow(/0/);
    expect(() => flatRecords(raw)).toThrow(/0/);
    for (const one of [0, 1, 8]) {
      for (let i = 0; i < 9; i++) view.setBigUint64(i * 12 + 4, i === one ? 5n : 0n, true);
      expect(floorRecords(raw).items).toBe(9);
      expect(flatRecords(raw).items).toBe(9);
    }
  });
});
