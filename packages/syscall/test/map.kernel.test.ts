import { execFileSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import * as btf from "@ts-ebpf/btf";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, describe, expect, it } from "vitest";
import {
  BatchError,
  BpfError,
  BpfMap,
  BpfMapFlag,
  BpfMapType,
  BpfUpdateFlag,
  type Codec,
  codecs,
  mapCreate,
  mapDeleteBatch,
  mapDeleteElem,
  mapFreeze,
  mapGetNextKey,
  mapLookupAndDeleteBatch,
  mapLookupBatch,
  mapLookupElem,
  mapUpdateBatch,
  mapUpdateElem,
  possibleCpus,
} from "../src/index.js";

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);
const NOT_AN_FD = 1_000_000;

function expectErrno(f: () => unknown, code: string, command?: string): BpfError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BpfError);
    const err = e as BpfError;
    expect(err.code).toBe(code);
    if (command) expect(err.command).toBe(command);
    expect(err.message).toContain(code);
    return err;
  }
  throw new Error(`expected ${code}`);
}

function expectErrnoOneOf(f: () => unknown, codes: string[]): BpfError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BpfError);
    expect(codes).toContain((e as BpfError).code);
    return e as BpfError;
  }
  throw new Error(`expected one of ${codes.join(", ")}`);
}

describeKernel("map commands", () => {
  const open: BpfMap<unknown, unknown>[] = [];
  const hash = (maxEntries = 16, name = "ts_hash") => {
    const m = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries,
      name,
      key: codecs.u32,
      value: codecs.u64,
    });
    open.push(m as BpfMap<unknown, unknown>);
    return m;
  };
  afterAll(() => {
    for (const m of open) m.close();
  });

  it("MAP_CREATE: the map appears under its name in bpftool map show", () => {
    const m = hash(16, "ts_ebpf_named");
    const info = m.info();
    expect(info).toMatchObject({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 16,
      name: "ts_ebpf_named",
    });
    const shown = JSON.parse(
      execFileSync("bpftool", ["-j", "map", "show", "id", String(info.id)], { encoding: "utf8" }),
    );
    expect(shown).toMatchObject({
      id: info.id,
      type: "hash",
      name: "ts_ebpf_named",
      bytes_key: 4,
      bytes_value: 8,
      max_entries: 16,
    });
  });

  it("MAP_CREATE errors: EINVAL for a zero key size, EBADF for a bad inner map fd", () => {
    expectErrno(
      () => mapCreate({ type: BpfMapType.HASH, keySize: 0, valueSize: 8, maxEntries: 1 }),
      "EINVAL",
      "MAP_CREATE",
    );
    expectErrno(
      () =>
        mapCreate({
          type: BpfMapType.ARRAY_OF_MAPS,
          keySize: 4,
          valueSize: 4,
          maxEntries: 1,
          innerMapFd: NOT_AN_FD,
        }),
      "EBADF",
    );
  });

  it("MAP_UPDATE/LOOKUP/DELETE_ELEM and GET_NEXT_KEY through the commands", () => {
    const m = hash();
    mapUpdateElem(m.fd, u32(7), u64(70n));
    const value = new Uint8Array(8);
    expect(mapLookupElem(m.fd, u32(7), value)).toBe(true);
    expect(new DataView(value.buffer).getBigUint64(0, true)).toBe(70n);
    expect(mapLookupElem(m.fd, u32(8), value)).toBe(false);
    const next = new Uint8Array(4);
    expect(mapGetNextKey(m.fd, null, next)).toBe(true);
    expect(next).toEqual(u32(7));
    expect(mapGetNextKey(m.fd, u32(7), next)).toBe(false);
    expect(mapDeleteElem(m.fd, u32(7))).toBe(true);
    expect(mapDeleteElem(m.fd, u32(7))).toBe(false);
  });

  it("element errors: EBADF, EINVAL (not a map fd), EEXIST, ENOENT, E2BIG (full)", () => {
    expectErrno(
      () => mapLookupElem(NOT_AN_FD, u32(1), new Uint8Array(8)),
      "EBADF",
      "MAP_LOOKUP_ELEM",
    );
    const file = openSync("/proc/self/status", "r");
    try {
      expectErrno(() => mapUpdateElem(file, u32(1), u64(1n)), "EINVAL", "MAP_UPDATE_ELEM");
    } finally {
      closeSync(file);
    }
    const m = hash(2);
    m.set(1, 1n).set(2, 2n);
    expectErrno(() => m.set(1, 5n, BpfUpdateFlag.NOEXIST), "EEXIST");
    expectErrno(() => m.set(9, 5n, BpfUpdateFlag.EXIST), "ENOENT");
    expectErrno(() => m.set(3, 3n), "E2BIG", "MAP_UPDATE_ELEM");
    expectErrno(() => mapUpdateElem(m.fd, u32(1), u64(1n), 99), "EINVAL");
  });

  it("Map handle: get/set/delete/has/keys/entries with codecs", () => {
    const m = hash();
    for (let i = 0; i < 10; i++) m.set(i, BigInt(i * i));
    expect(m.get(3)).toBe(9n);
    expect(m.get(42)).toBeUndefined();
    expect(m.has(4)).toBe(true);
    expect(m.delete(4)).toBe(true);
    expect(m.delete(4)).toBe(false);
    expect([...m.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
    expect(new Map(m.entries()).get(9)).toBe(81n);
    expect([...m.values()].length).toBe(9);
  });

  it("array maps with bytes codecs and a user-supplied struct codec", () => {
    type Pair = { a: number; b: number };
    const pair = {
      size: 8,
      encode(v: Pair, t: Uint8Array) {
        const d = new DataView(t.buffer, t.byteOffset, 8);
        d.setUint32(0, v.a, true);
        d.setUint32(4, v.b, true);
      },
      decode(s: Uint8Array): Pair {
        const d = new DataView(s.buffer, s.byteOffset, 8);
        return { a: d.getUint32(0, true), b: d.getUint32(4, true) };
      },
    };
    const m = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 4,
      key: codecs.u32,
      value: pair,
    });
    open.push(m as BpfMap<unknown, unknown>);
    m.set(2, { a: 1, b: 2 });
    expect(m.get(2)).toEqual({ a: 1, b: 2 });
    expect(m.get(0)).toEqual({ a: 0, b: 0 });
    expect(m.get(4)).toBeUndefined();
    const raw = BpfMap.fromId(m.info().id);
    open.push(raw as BpfMap<unknown, unknown>);
    expect(raw.get(u32(2))).toEqual(new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0]));
  });

  it("a codec whose encode returns fresh bytes (a @ts-ebpf/btf layout) stores them", () => {
    // Same shape as a btf record layout: encode(value) → new bytes, no target.
    const pair = {
      size: 8,
      encode(v: { a: number; b: number }): Uint8Array {
        const out = new Uint8Array(8);
        const d = new DataView(out.buffer);
        d.setUint32(0, v.a, true);
        d.setUint32(4, v.b, true);
        return out;
      },
      decode(s: Uint8Array) {
        const d = new DataView(s.buffer, s.byteOffset, 8);
        return { a: d.getUint32(0, true), b: d.getUint32(4, true) };
      },
    };
    const m = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 4,
      key: codecs.u32,
      value: pair,
    });
    open.push(m as BpfMap<unknown, unknown>);
    m.set(7, { a: 0xdead, b: 9 });
    expect(m.get(7)).toEqual({ a: 0xdead, b: 9 });
    const wrongSize = { ...pair, encode: () => new Uint8Array(4) };
    const m2 = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 4,
      key: codecs.u32,
      value: wrongSize,
    });
    open.push(m2 as BpfMap<unknown, unknown>);
    expect(() => m2.set(1, { a: 1, b: 1 })).toThrow(RangeError);
  });

  it("takes @ts-ebpf/btf's scalars and record layouts as codecs, as they are", () => {
    // One codec shape: btf.u32 is codecs.u32, and a layout is the codec of its record.
    expect(btf.u32).toBe(codecs.u32);
    const task = btf.struct({ pid: btf.u32, comm: btf.char(12), start: btf.u64 });
    const m = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: task.size,
      maxEntries: 8,
      key: btf.u32,
      value: task,
    });
    open.push(m as BpfMap<unknown, unknown>);
    expect(m.keyCodec).toBe(btf.u32);
    expect(m.valueCodec).toBe(task);
    m.set(3, { pid: 42, comm: "bash", start: 7n });
    m.updateBatch([[4, { pid: 43, comm: "sh", start: 8n }]]);
    expect(m.get(3)).toEqual({ pid: 42, comm: "bash", start: 7n });
    expect(new Map(m.entriesBatch(2)).get(4)).toEqual({ pid: 43, comm: "sh", start: 8n });
    const raw = BpfMap.fromId(m.info().id, { key: codecs.u32 });
    open.push(raw as BpfMap<unknown, unknown>);
    expect(task.decode(raw.get(3)!)).toEqual({ pid: 42, comm: "bash", start: 7n });
    // A layout of another size is refused before the map is touched.
    expect(() => BpfMap.fromId(m.info().id, { value: btf.struct({ a: btf.u64 }) })).toThrow(
      /value codec is 8 bytes, the map's value is 24/,
    );
  });

  it("per-CPU maps hold one 8-byte-aligned slot per possible CPU", () => {
    const m = BpfMap.create({
      type: BpfMapType.PERCPU_ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
      key: codecs.u32,
    });
    open.push(m as BpfMap<unknown, unknown>);
    expect(m.valueSlotSize).toBe(8 * possibleCpus());
    // Each CPU's 4 value bytes differ and sit at 8-byte strides; the padding is
    // written as zeros, since the kernel may return it zeroed (7.2 does) or as written.
    const v = new Uint8Array(m.valueSlotSize);
    for (let cpu = 0; cpu < possibleCpus(); cpu++) v.fill(cpu + 1, cpu * 8, cpu * 8 + 4);
    m.set(0, v);
    expect(m.get(0)).toEqual(v);
  });

  it("MAP_LOOKUP_BATCH / UPDATE_BATCH / DELETE_BATCH / LOOKUP_AND_DELETE_BATCH", () => {
    const m = hash(1024);
    const entries = Array.from({ length: 1000 }, (_, i) => [i, BigInt(i) * 3n] as const);
    expect(m.updateBatch(entries)).toBe(1000);
    const seen = new Map(m.entriesBatch(64));
    expect(seen.size).toBe(1000);
    expect(seen.get(999)).toBe(2997n);
    expect(m.deleteBatch([0, 1, 2])).toBe(3);
    const drained = [...m.drainBatch(100)];
    expect(drained.length).toBe(997);
    expect([...m.keys()]).toEqual([]);
  });

  it("batch walks reuse their buffers without aliasing: decodeAt, decode-only and byte codecs", () => {
    // A codec without decodeAt/encodeAt takes the subarray path.
    const plainU32: Codec<number> = {
      size: 4,
      encode: (v, t) => new DataView(t.buffer, t.byteOffset, 4).setUint32(0, v, true),
      decode: (b) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true),
    };
    const m = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 5000,
      key: plainU32,
      value: codecs.u64,
    });
    open.push(m as BpfMap<unknown, unknown>);
    const entries = Array.from({ length: 5000 }, (_, i) => [i, BigInt(i) * 7n + 1n] as const);
    expect(m.updateBatch(entries)).toBe(5000);
    // Batch size 1 also exercises the ENOSPC retry (hash buckets with several elements).
    for (const size of [1, 333, 4096]) {
      const got = [...m.entriesBatch(size)];
      expect(got.length, `batch ${size}`).toBe(5000);
      for (const [k, v] of got) expect(v).toBe(BigInt(k) * 7n + 1n);
    }
    const raw = BpfMap.fromId(m.info().id); // no codecs: byte keys and values
    open.push(raw as BpfMap<unknown, unknown>);
    const pairs = [...raw.entriesBatch(100)];
    expect(new Set(pairs.map(([k]) => new DataView(k.buffer).getUint32(0, true))).size).toBe(5000);
  });

  it("batch commands directly, with their errors", () => {
    const m = hash(8);
    const keys = new Uint8Array([...u32(1), ...u32(2)]);
    const values = new Uint8Array([...u64(10n), ...u64(20n)]);
    expect(mapUpdateBatch({ mapFd: m.fd, keys, values, count: 2 })).toBe(2);
    const outKeys = new Uint8Array(4 * 8);
    const outValues = new Uint8Array(8 * 8);
    const outBatch = new Uint8Array(8);
    const r = mapLookupBatch({
      mapFd: m.fd,
      keys: outKeys,
      values: outValues,
      count: 8,
      inBatch: null,
      outBatch,
    });
    expect(r).toEqual({ count: 2, done: true });
    expectErrno(
      () =>
        mapLookupBatch({
          mapFd: m.fd,
          keys: outKeys,
          values: outValues,
          count: 8,
          inBatch: null,
          outBatch,
          flags: 1,
        }),
      "EINVAL",
      "MAP_LOOKUP_BATCH",
    );
    const d = mapLookupAndDeleteBatch({
      mapFd: m.fd,
      keys: outKeys,
      values: outValues,
      count: 8,
      inBatch: null,
      outBatch,
    });
    expect(d.count).toBe(2);
    // Deleting a missing key stops the batch with ENOENT and reports progress.
    mapUpdateElem(m.fd, u32(5), u64(5n));
    try {
      mapDeleteBatch({ mapFd: m.fd, keys: new Uint8Array([...u32(5), ...u32(6)]), count: 2 });
      throw new Error("expected ENOENT");
    } catch (e) {
      expect(e).toBeInstanceOf(BatchError);
      expect((e as BatchError).code).toBe("ENOENT");
      expect((e as BatchError).processed).toBe(1);
    }
    expectErrno(
      () => mapUpdateBatch({ mapFd: NOT_AN_FD, keys, values, count: 2 }),
      "EBADF",
      "MAP_UPDATE_BATCH",
    );
  });

  it("MAP_FREEZE: user-space writes fail with EPERM afterwards", () => {
    const m = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
      key: codecs.u32,
      value: codecs.u32,
    });
    open.push(m as BpfMap<unknown, unknown>);
    m.set(0, 42);
    m.freeze();
    expect(m.get(0)).toBe(42);
    expectErrno(() => m.set(0, 1), "EPERM", "MAP_UPDATE_ELEM");
    // Freezing again: EBUSY up to 6.1; newer kernels check write permission
    // first, which a frozen map has lost, and say EPERM.
    const again = expectErrnoOneOf(() => mapFreeze(m.fd), ["EBUSY", "EPERM"]);
    expect(again.command).toBe("MAP_FREEZE");
    expectErrno(() => mapFreeze(NOT_AN_FD), "EBADF");
  });

  it("BPF_F_RDONLY_PROG maps still accept user-space writes until frozen", () => {
    const m = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
      flags: BpfMapFlag.RDONLY_PROG,
      key: codecs.u32,
      value: codecs.u32,
    });
    open.push(m as BpfMap<unknown, unknown>);
    m.set(0, 7);
    expect(m.get(0)).toBe(7);
    expect(m.info().flags).toBe(BpfMapFlag.RDONLY_PROG);
  });

  describe("bad input is refused before any syscall", () => {
    it("closed handles, wrong key types and sizes", () => {
      const m = hash();
      m.close();
      expect(() => m.get(1)).toThrow(TypeError);
      expect(() => m.set(1, 1n)).toThrow(TypeError);
      expect(() => m.fd).toThrow(/closed/);
      m.close(); // idempotent
      const live = hash();
      expect(() => live.get(-1)).toThrow(RangeError);
      expect(() => live.get("1" as unknown as number)).toThrow(TypeError);
      expect(() => live.set(1, 1 as unknown as bigint)).not.toThrow(); // integers are accepted as u64
      expect(() => live.set(1, -1n)).toThrow(RangeError);
      const raw = BpfMap.fromId(live.info().id);
      open.push(raw as BpfMap<unknown, unknown>);
      expect(() => raw.get(new Uint8Array(3))).toThrow(RangeError);
      expect(() =>
        BpfMap.create({
          type: BpfMapType.HASH,
          keySize: 4,
          valueSize: 8,
          maxEntries: 1,
          key: codecs.u64,
        }),
      ).toThrow(RangeError);
    });
  });
});
