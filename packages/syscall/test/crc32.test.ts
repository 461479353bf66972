// The addon's CRC-32 guards bpf-iter's code cache in place of zlib.crc32:
// it must agree with zlib on every length (the 8-byte loop and the tail).
import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { addonCrc32, native } from "../src/native.js";

describe("addonCrc32", () => {
  it("agrees with zlib.crc32 for every length 0..64 and large buffers, at any offset", () => {
    const lengths = [...Array.from({ length: 65 }, (_, i) => i), 4095, 300_001];
    for (const n of lengths) {
      const backing = randomBytes(n + 3);
      // A view at an odd offset: the addon reads bytes, never unaligned words.
      const bytes = new Uint8Array(backing.buffer, backing.byteOffset + 3, n);
      expect(addonCrc32(bytes), `length ${n}`).toBe(crc32(bytes));
    }
    expect(addonCrc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("refuses anything but a byte array", () => {
    for (const bad of ["abc", 5, null, [1, 2], new ArrayBuffer(4)]) {
      expect(() => native().crc32(bad as never)).toThrow(TypeError);
    }
  });
});
