// Caller code handed a handle's buffers (codecs, getters) cannot reach what the
// kernel is told (attack review of issue 13): the preset attrs live in memory no
// codec sees, the buffers whose addresses are preset cannot be detached, and no
// caller code runs while a handle is being adopted.
import { closeSync, unlinkSync } from "node:fs";
import { describeKernel } from "@ts-ebpf/testing";
import { describe, expect, it } from "vitest";
import {
  BpfMap,
  BpfMapType,
  BpfProgType,
  type Codec,
  codecs,
  mapCreate,
  Program,
} from "../src/index.js";
import { pinPath, returnZero } from "./helpers.js";

/**
 * Tries to build a handle around every fd number, as caller code running
 * inside adopt() could (`protected` does not hold in JavaScript); the handles
 * it managed to build.
 */
function forgeAll(build: (fd: number) => unknown): unknown[] {
  const forged: unknown[] = [];
  for (let fd = 3; fd < 1024; fd++) {
    try {
      forged.push(build(fd));
    } catch {
      // refused: what must happen for every fd
    }
  }
  return forged;
}

const shape = {
  type: BpfMapType.ARRAY,
  keySize: 4,
  valueSize: 8,
  maxEntries: 1,
  flags: 0,
  name: "x",
};

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
      // Node 20 ignores the transfer of an untransferable buffer; Node 22 and later refuse it
      // with a DataCloneError. Either way the buffer must stay attached.
      const tryDetach = (buffer: ArrayBuffer) => {
        try {
          structuredClone(buffer, { transfer: [buffer] });
        } catch (e) {
          expect((e as Error).name).toBe("DataCloneError");
        }
        expect(buffer.byteLength).toBeGreaterThan(0);
      };
      const detacher: Codec<number> = {
        size: 4,
        encode(k, target) {
          attempts++;
          tryDetach(target.buffer as ArrayBuffer);
          new DataView(target.buffer, target.byteOffset, 4).setUint32(0, k, true);
        },
        decode(b) {
          tryDetach(b.buffer as ArrayBuffer);
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

describeKernel("no caller code runs while a handle is adopted", () => {
  /** A u32 codec whose every property read tries to forge a second map handle. */
  function forgingCodec(forged: unknown[]): Codec<number> {
    const forge = () => forged.push(...forgeAll((fd) => Reflect.construct(BpfMap, [fd, shape])));
    return {
      get size() {
        forge();
        return 4;
      },
      get encode() {
        forge();
        return codecs.u32.encode;
      },
      get decode() {
        forge();
        return codecs.u32.decode;
      },
    } as Codec<number>;
  }

  it("BpfMap.fromFd, fromPinned, fromId and create read codecs before adopting", () => {
    const forged: unknown[] = [];
    const fd = mapCreate({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 1 << 20, maxEntries: 1 });
    const path = pinPath("adopt-window");
    try {
      using a = BpfMap.fromFd(fd, { key: forgingCodec(forged) });
      a.pin(path);
      using b = BpfMap.fromPinned(path, { key: forgingCodec(forged) });
      using c = BpfMap.fromId(a.info().id, { key: forgingCodec(forged) });
      using d = BpfMap.create({
        type: BpfMapType.HASH,
        keySize: 4,
        valueSize: 4,
        maxEntries: 1,
        key: forgingCodec(forged),
        value: forgingCodec(forged),
      });
      expect([a.valueSize, b.valueSize, c.valueSize, d.valueSize]).toEqual([
        1 << 20,
        1 << 20,
        1 << 20,
        4,
      ]);
    } finally {
      closeSync(fd);
      try {
        unlinkSync(path);
      } catch {
        // not pinned
      }
    }
    expect(forged).toEqual([]);
  });

  it("Program.load reads type and name once, before adopting", () => {
    const forged: unknown[] = [];
    let typeReads = 0;
    const options = {
      get type() {
        typeReads++;
        forged.push(...forgeAll((fd) => Reflect.construct(Program, [fd, 1, "forged", "", []])));
        return BpfProgType.SOCKET_FILTER;
      },
      get name() {
        forged.push(...forgeAll((fd) => Reflect.construct(Program, [fd, 1, "forged", "", []])));
        return "adopted";
      },
      instructions: returnZero(),
      license: "GPL",
    };
    using p = Program.load(options);
    expect(p.name).toBe("adopted");
    expect(p.type).toBe(BpfProgType.SOCKET_FILTER);
    expect(typeReads).toBe(1);
    expect(forged).toEqual([]);
  });
});

describeKernel("keys() and the key its GET_NEXT_KEY attr points at", () => {
  it("a key codec cannot detach the previous key the next step reads", () => {
    const attached: boolean[] = [];
    const detaching: Codec<number> = {
      size: 4,
      encode: codecs.u32.encode,
      decode(source) {
        try {
          structuredClone(source.buffer, { transfer: [source.buffer as ArrayBuffer] });
        } catch {
          // refused: kept
        }
        attached.push(source.byteLength === 4);
        return new DataView(source.buffer, source.byteOffset, 4).getUint32(0, true);
      },
    };
    using m = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 4,
      maxEntries: 8,
      key: detaching,
      value: codecs.u32,
    });
    for (let i = 1; i <= 5; i++) m.set(i, i);
    expect([...m.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(attached).toEqual([true, true, true, true, true]);
  });
});
