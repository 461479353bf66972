import { BpfMapType } from "@ts-ebpf/spec/constants";
import { codecs, mapValueSlotSize, possibleCpus } from "@ts-ebpf/syscall";
import { describe, expect, it } from "vitest";
import { decodeMapElems, type IterableMap, MapElemsDecoder } from "../src/builtins/map-elems.js";
import { IteratorError } from "../src/errors.js";

// A u32 -> u64 map as mapElems sees it (no fd is used by the decoders).
const map: IterableMap<number, bigint> = {
  fd: -1,
  type: BpfMapType.HASH,
  keySize: 4,
  valueSize: 8,
  keyCodec: codecs.u32,
  valueCodec: codecs.u64,
};

function records(n: number): Uint8Array {
  const bytes = new Uint8Array(n * 12);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    view.setUint32(i * 12, i, true);
    view.setBigUint64(i * 12 + 4, BigInt(i) * 3n + 1n, true);
  }
  return bytes;
}

const expected = (n: number) =>
  Array.from({ length: n }, (_, i) => [i, BigInt(i) * 3n + 1n] as [number, bigint]);

describe("MapElemsDecoder", () => {
  it("decodes whole buffers like decodeMapElems", () => {
    expect(decodeMapElems(map, records(100)).toArray()).toEqual(expected(100));
  });

  it("carries records cut at any chunk boundary", () => {
    const all = records(50);
    for (const step of [1, 5, 11, 12, 13, 64, 599]) {
      const d = new MapElemsDecoder(map);
      for (let off = 0; off < all.length; off += step) d.push(all.slice(off, off + step));
      expect(d.end(), `chunks of ${step} bytes`).toEqual(expected(50));
    }
  });

  it("does not keep the chunk: a reused buffer leaves earlier pairs intact", () => {
    const d = new MapElemsDecoder<Uint8Array, Uint8Array>({
      ...map,
      keyCodec: undefined,
      valueCodec: undefined,
    });
    const buf = records(2);
    d.push(buf);
    buf.fill(0xff);
    const [[k0, v0]] = d.end() as [[Uint8Array, Uint8Array]];
    expect([...k0]).toEqual([0, 0, 0, 0]);
    expect([...v0]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("a trailing partial record is an IteratorError", () => {
    const d = new MapElemsDecoder(map);
    d.push(records(3).subarray(0, 30));
    expect(() => d.end()).toThrow(IteratorError);
    expect(() => decodeMapElems(map, new Uint8Array(13))).toThrow(
      /13 bytes is not a multiple of 12/,
    );
  });
});

// Issue 13: which maps are per-CPU, and how big their values are, has one
// owner: @ts-ebpf/syscall's mapValueSlotSize (iter's own list missed
// PERCPU_CGROUP_STORAGE and needed valueSlotSize for per-CPU maps).
describe("value sizes come from syscall's mapValueSlotSize", () => {
  /** `count` records of a 4-byte key and a `slot`-byte value, value bytes all `i`. */
  function recordsOf(count: number, slot: number): Uint8Array {
    const bytes = new Uint8Array(count * (4 + slot));
    for (let i = 0; i < count; i++) bytes.fill(i + 1, i * (4 + slot) + 4, (i + 1) * (4 + slot));
    return bytes;
  }

  it("every map type's records split at mapValueSlotSize(type, valueSize), with or without valueSlotSize", () => {
    const types: number[] = Object.values(BpfMapType);
    expect(types).toContain(BpfMapType.PERCPU_CGROUP_STORAGE);
    for (const type of types) {
      const slot = mapValueSlotSize(type, 4);
      const shape = { fd: -1, type, keySize: 4, valueSize: 4 };
      for (const m of [shape, { ...shape, valueSlotSize: slot }]) {
        const pairs = decodeMapElems(m, recordsOf(3, slot));
        expect({ type, values: pairs.map(([, v]) => v.length) }).toEqual({
          type,
          values: [slot, slot, slot],
        });
        expect(pairs.valueAt(2).every((b) => b === 3)).toBe(true);
      }
    }
    expect(mapValueSlotSize(BpfMapType.PERCPU_CGROUP_STORAGE, 4)).toBe(8 * possibleCpus());
  });

  it("a valueSlotSize that disagrees with the map's type and value size is a TypeError", () => {
    const perCpu = { fd: -1, type: BpfMapType.PERCPU_HASH, keySize: 4, valueSize: 4 };
    expect(() => new MapElemsDecoder({ ...perCpu, valueSlotSize: 4 })).toThrow(TypeError);
    expect(() => new MapElemsDecoder({ ...perCpu, valueSlotSize: 4 })).toThrow(
      new RegExp(`valueSlotSize is 4, but .* has ${8 * possibleCpus()}-byte value slots`),
    );
    expect(() => new MapElemsDecoder({ ...perCpu, type: Number.NaN })).toThrow(/no usable type/);
  });
});

// Issue 17: mapElems' result decodes as it is visited, over one buffer.
describe("MapElements", () => {
  it("iterates, indexes and materialises the same pairs", () => {
    const elems = decodeMapElems(map, records(1000));
    expect(elems.length).toBe(1000);
    expect([...elems]).toEqual(expected(1000));
    expect(elems.toArray()).toEqual(expected(1000));
    expect([...elems.entries()]).toEqual(expected(1000));
    expect([...elems.keys()]).toEqual(expected(1000).map(([k]) => k));
    expect([...elems.values()]).toEqual(expected(1000).map(([, v]) => v));
    expect(elems.at(7)).toEqual([7, 22n]);
    expect(elems.keyAt(999)).toBe(999);
    expect(elems.valueAt(0)).toBe(1n);
    expect(elems.map(([k, v], i) => `${i}:${k}:${v}`).slice(0, 2)).toEqual(["0:0:1", "1:1:4"]);
    // Each iteration starts over.
    let n = 0;
    for (const _ of elems) n++;
    for (const _ of elems) n++;
    expect(n).toBe(2000);
  });

  it("scalar codecs give typed-array columns", () => {
    const elems = decodeMapElems(map, records(5));
    const keys = elems.keyColumn();
    const values = elems.valueColumn();
    expect(keys).toBeInstanceOf(Uint32Array);
    expect(values).toBeInstanceOf(BigUint64Array);
    expect([...keys]).toEqual([0, 1, 2, 3, 4]);
    expect([...values]).toEqual([1n, 4n, 7n, 10n, 13n]);
  });

  it("without codecs, keys and values are views of the one shared buffer; columns are arrays of them", () => {
    const raw = records(3);
    const elems = decodeMapElems({ ...map, keyCodec: undefined, valueCodec: undefined }, raw);
    const [k, v] = elems.at(1);
    expect(k.buffer).toBe(raw.buffer);
    expect(v.buffer).toBe(raw.buffer);
    expect([...k]).toEqual([1, 0, 0, 0]);
    expect([...v]).toEqual([4, 0, 0, 0, 0, 0, 0, 0]);
    const column = elems.keyColumn();
    expect(Array.isArray(column)).toBe(true);
    expect(column.map((b) => b[0])).toEqual([0, 1, 2]);
  });

  it("an empty map has no elements; a bad index is a RangeError", () => {
    const elems = decodeMapElems(map, new Uint8Array(0));
    expect(elems.length).toBe(0);
    expect([...elems]).toEqual([]);
    expect(elems.keyColumn()).toHaveLength(0);
    const some = decodeMapElems(map, records(2));
    for (const bad of [-1, 2, 0.5, Number.NaN]) {
      expect(() => some.at(bad)).toThrow(RangeError);
      expect(() => some.keyAt(bad)).toThrow(RangeError);
    }
    expect(() => decodeMapElems(map, "x" as unknown as Uint8Array)).toThrow(TypeError);
  });
});
