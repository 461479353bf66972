// Caller code handed a handle's buffers (codecs, getters) cannot reach what the
// kernel is told (attack review of issue 13): the preset attrs live in memory no
// codec sees, the buffers whose addresses are preset cannot be detached, and no
// caller code runs while a handle is being adopted.
import { describeKernel } from "@ts-ebpf/testing";
import { describe, expect, it } from "vitest";
import { BpfMap, BpfMapType, type Codec, codecs } from "../src/index.js";

describeKernel("codecs and the preset attrs", () => {
  describe("a codec writing through target.buffer", () => {
    it("cannot rewrite the map fd or the key/value addresses of the element attr", () => {
      const seen: number[] = [];
      // Fills every byte of the buffer it is given except its own slot with 0xff:
      // on the shared arena that turned map_fd into 0xffffffff (EBADF), or into a
      // map with larger values (the kernel writing past the value slot).
      const scribbler: Codec<number> = {
        size: 4,
        encode(k, target) {
          const all = new Uint8Array(target.buffer);
          seen.push(all.byteLength);
          all.fill(0xff, 0, target.byteOffset);
          all.fill(0xff, target.byteOffset + 4);
          new DataView(target.buffer, target.byteOffset, 4).setUint32(0, k, true);
        },
        decode: (b) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true),
      };
      using m = BpfMap.create({
        type: BpfMapType.HASH,
        keySize: 4,
        valueSize: 8,
        maxEntries: 4,
        key: scribbler,
        value: codecs.u64,
      });
      m.set(7, 42n);
      expect(m.get(7)).toBe(42n);
      expect(m.get(8)).toBeUndefined();
      expect(m.delete(7)).toBe(true);
      expect(seen.length).toBeGreaterThan(0);
    });

    it("cannot detach the key/value slots whose addresses the attr holds", () => {
      let attempts = 0;
      const detacher: Codec<number> = {
        size: 4,
        encode(k, target) {
          attempts++;
          structuredClone(target.buffer, { transfer: [target.buffer] });
          new DataView(target.buffer, target.byteOffset, 4).setUint32(0, k, true);
        },
        decode(b) {
          structuredClone(b.buffer, { transfer: [b.buffer] });
          return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
        },
      };
      using m = BpfMap.create({
        type: BpfMapType.ARRAY,
        keySize: 4,
        valueSize: 4,
        maxEntries: 2,
        key: detacher,
        value: detacher,
      });
      m.set(1, 99);
      expect(m.get(1)).toBe(99);
      expect(m.get(0)).toBe(0);
      expect(attempts).toBeGreaterThan(0);
    });
  });
});
