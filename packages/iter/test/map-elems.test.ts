import { codecFromBtf, parseBtf } from "@ts-ebpf/btf";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { codecs, mapValueSlotSize, possibleCpus } from "@ts-ebpf/syscall";
import { btfBlob, I64_EDGES, U64_EDGES } from "@ts-ebpf/testing";
import { describe, expect, it } from "vitest";
import {
  decodeMapElems,
  type IterableMap,
  type MapElements,
  MapElemsDecoder,
  perCpu,
} from "../src/builtins/map-elems.js";
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

describe("64-bit scalars", () => {
  // Values on both sides of 2^32 and 2^63: Node 20 makes a value whose high
  // word is 0 from its low word, other engines call the DataView getter.
  const u64s = U64_EDGES;
  const i64s = I64_EDGES;

  function pairs(values: readonly bigint[], signed: boolean): Uint8Array {
    const bytes = new Uint8Array(values.length * 12);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => {
      view.setUint32(i * 12, i, true);
      if (signed) view.setBigInt64(i * 12 + 4, v, true);
      else view.setBigUint64(i * 12 + 4, v, true);
    });
    return bytes;
  }

  it("u64 and i64 values read alike through every path (iterator, toArray, forEach, values, at)", () => {
    for (const [values, codec, signed] of [
      [u64s, codecs.u64, false],
      [i64s, codecs.i64, true],
    ] as const) {
      const elements = decodeMapElems({ ...map, valueCodec: codec }, pairs(values, signed));
      const want = values.map((v, i) => [i, v]);
      expect([...elements]).toEqual(want);
      expect(elements.toArray()).toEqual(want);
      const seen: Array<[number, bigint]> = [];
      elements.forEach((k, v) => {
        seen.push([k, v]);
      });
      expect(seen).toEqual(want);
      expect([...elements.values()]).toEqual(values);
      expect(values.map((_, i) => elements.at(i)?.[1])).toEqual(values);
      // The same values as 8-byte keys (offset 0 of a record, a u32 value after them).
      const keyBytes = new Uint8Array(values.length * 12);
      const kv = new DataView(keyBytes.buffer);
      values.forEach((v, i) => {
        if (signed) kv.setBigInt64(i * 12, v, true);
        else kv.setBigUint64(i * 12, v, true);
        kv.setUint32(i * 12 + 8, i, true);
      });
      const keyed = decodeMapElems(
        { ...map, keySize: 8, keyCodec: codec, valueSize: 4, valueCodec: codecs.u32 },
        keyBytes,
      );
      expect([...keyed]).toEqual(values.map((v, i) => [v, i]));
      expect(keyed.toArray()).toEqual(values.map((v, i) => [v, i]));
    }
  });
});

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

// Issue 17: every shape decodes the same through for...of, forEach, toArray
// and at(); BTF codecs (structs, enums by name, per-CPU) included.
describe("MapElements of every shape", () => {
  const cpus = possibleCpus();
  // [1] unsigned int, [2] char, [3] char[8], [4] struct key { u32 pid; char comm[8]; },
  // [5] enum state { A = 1, B = 2 }, [6] unsigned long long.
  const names = [
    "unsigned int",
    "char",
    "key",
    "pid",
    "comm",
    "state",
    "A",
    "B",
    "unsigned long long",
  ];
  const strings = Buffer.from(`\0${names.join("\0")}\0`);
  const str = (name: string) => strings.indexOf(Buffer.from(`\0${name}\0`)) + 1;
  const words = [
    ...[str("unsigned int"), 1 << 24, 4, 32],
    ...[str("char"), 1 << 24, 1, (3 << 24) | 8], // signed char
    ...[0, 3 << 24, 0, 2, 1, 8],
    ...[str("key"), (4 << 24) | 2, 12, str("pid"), 1, 0, str("comm"), 3, 32],
    ...[str("state"), (6 << 24) | 2, 4, str("A"), 1, str("B"), 2],
    ...[str("unsigned long long"), 1 << 24, 8, 64],
  ];
  const btf = parseBtf(btfBlob(new Uint8Array(new Uint32Array(words).buffer), strings));
  const [key, state, u64t] = [4, 5, 6];
  const keyCodec = codecFromBtf(btf, key, { symbolic: true });
  const stateCodec = codecFromBtf(btf, state, { symbolic: true });

  function structRecords(n: number): Uint8Array {
    const out = new Uint8Array(n * 16);
    const v = new DataView(out.buffer);
    for (let i = 0; i < n; i++) {
      v.setUint32(i * 16, 100 + i, true);
      out.set(new TextEncoder().encode(`p${i}`), i * 16 + 4);
      v.setUint32(i * 16 + 12, i % 3, true);
    }
    return out;
  }

  /** The visits a user has: they must all give the same elements. */
  function allVisits<K, V>(elems: MapElements<K, V>): Array<[K, V]> {
    const viaFor = [...elems];
    const viaEach: Array<[K, V]> = [];
    elems.forEach((k, v, i) => {
      expect(i).toBe(viaEach.length);
      viaEach.push([k, v]);
    });
    const viaAt = Array.from({ length: elems.length }, (_, i) => elems.at(i));
    expect(viaEach).toEqual(viaFor);
    expect(elems.toArray()).toEqual(viaFor);
    expect(viaAt).toEqual(viaFor);
    expect([...elems.keys()]).toEqual(viaFor.map(([k]) => k));
    expect([...elems.values()]).toEqual(viaFor.map(([, v]) => v));
    return viaFor;
  }

  it("u32 → u64 scalars", () => {
    expect(allVisits(decodeMapElems(map, records(100)))).toEqual(expected(100));
  });

  it("struct keys to objects and enum values to names (a number where no enumerator matches)", () => {
    const elems = decodeMapElems(
      {
        fd: -1,
        type: BpfMapType.HASH,
        keySize: 12,
        valueSize: 4,
        keyCodec,
        valueCodec: stateCodec,
      },
      structRecords(4),
    );
    expect(allVisits(elems)).toEqual([
      [{ pid: 100, comm: "p0" }, 0],
      [{ pid: 101, comm: "p1" }, "A"],
      [{ pid: 102, comm: "p2" }, "B"],
      [{ pid: 103, comm: "p3" }, 0],
    ]);
    // Each element is its own object, not one reused per iteration.
    const [a, b2] = [...elems];
    expect(a![0]).not.toBe(b2![0]);
  });

  it("per-CPU values: one value per possible CPU, each in an 8-byte-aligned slot", () => {
    const slot = 8 * cpus;
    const perCpuMap = {
      fd: -1,
      type: BpfMapType.PERCPU_HASH,
      keySize: 4,
      valueSize: 4,
      keyCodec: codecs.u32,
      valueCodec: perCpu(codecFromBtf(btf, state, { symbolic: true }), cpus),
    };
    expect(perCpuMap.valueCodec.size).toBe(mapValueSlotSize(BpfMapType.PERCPU_HASH, 4));
    const raw = new Uint8Array(2 * (4 + slot));
    const v = new DataView(raw.buffer);
    for (let e = 0; e < 2; e++) {
      v.setUint32(e * (4 + slot), 10 + e, true);
      for (let c = 0; c < cpus; c++) v.setUint32(e * (4 + slot) + 4 + 8 * c, (c + e) % 3, true);
    }
    const names = (e: number) => Array.from({ length: cpus }, (_, c) => [0, "A", "B"][(c + e) % 3]);
    expect(allVisits(decodeMapElems(perCpuMap, raw))).toEqual([
      [10, names(0)],
      [11, names(1)],
    ]);
    // A u64 per CPU through btf's scalar.
    const counts = decodeMapElems(
      {
        fd: -1,
        type: BpfMapType.PERCPU_ARRAY,
        keySize: 4,
        valueSize: 8,
        keyCodec: codecs.u32,
        valueCodec: perCpu(codecFromBtf(btf, u64t), cpus),
      },
      new Uint8Array(4 + 8 * cpus).fill(1),
    );
    expect(counts.valueAt(0)).toEqual(Array(cpus).fill(0x0101010101010101n));
    expect(() => perCpu(codecs.u32, 0)).toThrow(RangeError);
    expect(() => perCpu({} as never, 2)).toThrow(TypeError);
  });

  it("no codec: views of the shared buffer; a caller's bytes codec: copies it keeps", () => {
    const raw = records(3);
    const views = allVisits(
      decodeMapElems({ ...map, keyCodec: undefined, valueCodec: undefined }, raw),
    );
    expect(views.map(([k]) => k[0])).toEqual([0, 1, 2]);
    expect(views[2]![0].buffer).toBe(raw.buffer);
    expect(views[2]![1].buffer).toBe(raw.buffer);
    const copies = allVisits(decodeMapElems({ ...map, valueCodec: codecs.bytes(8) }, raw));
    expect(copies.map(([, v]) => v[0])).toEqual([1, 4, 7]);
    expect(copies[2]![1].buffer).not.toBe(raw.buffer);
  });

  it("a caller's non-scalar codec is called for every element", () => {
    const calls: number[] = [];
    const tagged = {
      size: 8,
      decode: (bytes: Uint8Array, offset = 0) => {
        calls.push(offset);
        return `v${bytes[offset]}`;
      },
    };
    const elems = decodeMapElems({ ...map, valueCodec: tagged }, records(3));
    expect([...elems]).toEqual([
      [0, "v1"],
      [1, "v4"],
      [2, "v7"],
    ]);
    expect(calls).toHaveLength(3);
    expect(() => elems.forEach("x" as never)).toThrow(TypeError);
  });
});
