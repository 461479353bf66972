// Issue 13, finding 1: no exported command can make the kernel read or write
// outside a JS buffer. Every buffer is checked against what the kernel will
// copy (sizes read from the map itself) and refused with a RangeError naming
// it, the size needed and the size given, before anything reaches the kernel.
// A canary region right after each buffer shows nothing was written past it.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Attr } from "../src/attr.js";
import {
  BpfAttachType,
  BpfCmd,
  BpfMap,
  BpfMapType,
  BpfProgType,
  loadProgram,
  mapDeleteBatch,
  mapDeleteElem,
  mapGetNextKey,
  mapLookupAndDeleteBatch,
  mapLookupBatch,
  mapLookupElem,
  mapUpdateBatch,
  mapUpdateElem,
  mapValueSlotSize,
  objGetInfoByFd,
  type Program,
  possibleCpus,
  progTestRun,
} from "../src/index.js";
import { BpfProgInfoLayout } from "../src/layout/layouts.gen.js";
import { native } from "../src/native.js";
import { concat, exit, ldImm64, mov64Imm, specInstructions } from "./helpers.js";

const CANARY = 0xa5;
const CANARY_BYTES = 64;
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

/**
 * `size` bytes followed by a canary region in the same ArrayBuffer (as large
 * as what the kernel would have written, so f626b01's overruns land in it).
 */
function guarded(size: number, canary = CANARY_BYTES): { buffer: Uint8Array; intact(): boolean } {
  const whole = new Uint8Array(size + canary);
  whole.fill(CANARY, size);
  return {
    buffer: whole.subarray(0, size),
    intact: () => whole.subarray(size).every((b) => b === CANARY),
  };
}

/** The RangeError `f` throws (the call must not go through). */
function rangeError(f: () => unknown): RangeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RangeError);
    return e as RangeError;
  }
  throw new Error("expected a RangeError, but the call went through to the kernel");
}

const socketFilter = () => concat(mov64Imm(0, 0), exit());

describeKernel("finding 1: every buffer is checked against what the kernel copies", () => {
  const open: { close(): void }[] = [];
  const keep = <T extends { close(): void }>(h: T): T => {
    open.push(h);
    return h;
  };
  afterAll(() => {
    for (const h of open) h.close();
  });
  /** A hash map (4-byte keys, 64-byte values) holding keys 0..n-1, value i. */
  const filledHash = (n = 8) => {
    const m = keep(
      BpfMap.create({ type: BpfMapType.HASH, keySize: 4, valueSize: 64, maxEntries: 16 }),
    );
    for (let i = 0; i < n; i++) mapUpdateElem(m.fd, u32(i), new Uint8Array(64).fill(i));
    return m;
  };

  it("MAP_LOOKUP_ELEM: short and long values and keys are refused; nothing is written past them", () => {
    const m = filledHash(2);
    const short = guarded(8);
    expect(rangeError(() => mapLookupElem(m.fd, u32(1), short.buffer)).message).toBe(
      "value must be 64 bytes (the map's value_size), got 8",
    );
    expect(short.intact()).toBe(true);
    expect(rangeError(() => mapLookupElem(m.fd, u32(1), new Uint8Array(128))).message).toMatch(
      /^value must be 64 bytes .*, got 128$/,
    );
    expect(
      rangeError(() => mapLookupElem(m.fd, new Uint8Array(2), new Uint8Array(64))).message,
    ).toBe("key must be 4 bytes (the map's key_size), got 2");
    expect(rangeError(() => mapLookupElem(m.fd, null, new Uint8Array(64))).message).toMatch(
      /^key must be 4 bytes/,
    );
    // The right sizes still work.
    const value = new Uint8Array(64);
    expect(mapLookupElem(m.fd, u32(1), value)).toBe(true);
    expect(value.every((b) => b === 1)).toBe(true);
  });

  it("per-CPU maps: the value is value_size rounded up to 8 × possible CPUs (mapValueSlotSize)", () => {
    const m = keep(
      BpfMap.create({ type: BpfMapType.PERCPU_ARRAY, keySize: 4, valueSize: 12, maxEntries: 1 }),
    );
    const slot = 16 * possibleCpus();
    expect(mapValueSlotSize(BpfMapType.PERCPU_ARRAY, 12)).toBe(slot);
    expect(mapValueSlotSize(BpfMapType.HASH, 12)).toBe(12);
    expect(m.valueSlotSize).toBe(slot);
    for (const size of [12, 16, slot - 8]) {
      const g = guarded(size, slot);
      const err = rangeError(() => mapLookupElem(m.fd, u32(0), g.buffer));
      expect(err.message).toBe(
        `value must be ${slot} bytes (per-CPU map: value_size 12 rounded up to 8 × ${possibleCpus()} possible CPUs), got ${size}`,
      );
      expect(g.intact()).toBe(true);
    }
    const whole = guarded(slot);
    expect(mapLookupElem(m.fd, u32(0), whole.buffer)).toBe(true);
    expect(whole.intact()).toBe(true);
  });

  it("MAP_UPDATE_ELEM with a short value is refused: no neighbouring bytes end up in the map", () => {
    const m = filledHash(0);
    // The "secret" after the 8 bytes given is the canary.
    const short = guarded(8);
    expect(rangeError(() => mapUpdateElem(m.fd, u32(5), short.buffer)).message).toBe(
      "value must be 64 bytes (the map's value_size), got 8",
    );
    expect(mapLookupElem(m.fd, u32(5), new Uint8Array(64))).toBe(false);
    expect(
      rangeError(() => mapUpdateElem(m.fd, new Uint8Array(3), new Uint8Array(64))).message,
    ).toBe("key must be 4 bytes (the map's key_size), got 3");
    expect(mapLookupElem(m.fd, u32(5), new Uint8Array(64))).toBe(false);
  });

  it("MAP_DELETE_ELEM and MAP_GET_NEXT_KEY: keys of the map's key_size only", () => {
    const m = filledHash(2);
    expect(rangeError(() => mapDeleteElem(m.fd, new Uint8Array(2))).message).toBe(
      "key must be 4 bytes (the map's key_size), got 2",
    );
    const next = guarded(2);
    expect(rangeError(() => mapGetNextKey(m.fd, null, next.buffer)).message).toBe(
      "nextKey must be 4 bytes (the map's key_size), got 2",
    );
    expect(next.intact()).toBe(true);
    expect(
      rangeError(() => mapGetNextKey(m.fd, new Uint8Array(8), new Uint8Array(4))).message,
    ).toBe("key must be 4 bytes (the map's key_size), got 8");
    const ok = guarded(4);
    expect(mapGetNextKey(m.fd, null, ok.buffer)).toBe(true);
    expect(ok.intact()).toBe(true);
  });

  it("batches: keys and values are count × size, tokens hold a token; nothing written past them", () => {
    const m = filledHash(8);
    const count = 8;
    const lookup = (o: Partial<Parameters<typeof mapLookupBatch>[0]>) =>
      mapLookupBatch({
        mapFd: m.fd,
        keys: new Uint8Array(4 * count),
        values: new Uint8Array(64 * count),
        count,
        inBatch: null,
        outBatch: new Uint8Array(4),
        ...o,
      });
    const keys = guarded(4 * count - 4);
    expect(rangeError(() => lookup({ keys: keys.buffer })).message).toBe(
      "keys must be 32 bytes (count 8 × key_size 4), got 28",
    );
    expect(keys.intact()).toBe(true);
    const values = guarded(64 * count - 8);
    expect(rangeError(() => lookup({ values: values.buffer })).message).toBe(
      "values must be 512 bytes (count 8 × value size 64), got 504",
    );
    expect(values.intact()).toBe(true);
    const out = guarded(2);
    expect(rangeError(() => lookup({ outBatch: out.buffer })).message).toBe(
      "outBatch must be at least 4 bytes (a batch token), got 2",
    );
    expect(out.intact()).toBe(true);
    expect(rangeError(() => lookup({ inBatch: new Uint8Array(1) })).message).toBe(
      "inBatch must be at least 4 bytes (a batch token), got 1",
    );
    // A count larger than the buffers hold.
    expect(rangeError(() => lookup({ count: 9 })).message).toMatch(/^keys must be 36 bytes/);
    const drained = guarded(64 * count - 64);
    expect(
      rangeError(() =>
        mapLookupAndDeleteBatch({
          mapFd: m.fd,
          keys: new Uint8Array(4 * count),
          values: drained.buffer,
          count,
          inBatch: null,
          outBatch: new Uint8Array(4),
        }),
      ).message,
    ).toMatch(/^values must be 512 bytes/);
    expect(drained.intact()).toBe(true);
    expect(lookup({}).count).toBe(8); // nothing was deleted
    // Writes: nothing reaches the map.
    expect(
      rangeError(() =>
        mapUpdateBatch({
          mapFd: m.fd,
          keys: new Uint8Array([...u32(100), ...u32(101)]),
          values: guarded(64).buffer,
          count: 2,
        }),
      ).message,
    ).toBe("values must be 128 bytes (count 2 × value size 64), got 64");
    expect(mapLookupElem(m.fd, u32(100), new Uint8Array(64))).toBe(false);
    expect(
      rangeError(() => mapDeleteBatch({ mapFd: m.fd, keys: new Uint8Array(4), count: 2 })).message,
    ).toBe("keys must be 8 bytes (count 2 × key_size 4), got 4");
    expect(lookup({}).count).toBe(8);
  });

  it("OBJ_GET_INFO_BY_FD never follows pointers from the caller's bytes", () => {
    const p = keep(
      loadProgram({
        type: BpfProgType.SOCKET_FILTER,
        license: "GPL",
        instructions: specInstructions(concat(ldImm64(1), socketFilter()), [
          { kind: "map_value", insn: 0, map: { name: ".rodata" }, offset: 0 },
        ]),
        readonlyData: [{ name: ".rodata", bytes: new Uint8Array(8) }],
      }),
    ) as Program;
    const fields = BpfProgInfoLayout.fields;
    // Bytes a caller made up: 16 map ids wanted at an address it does not own.
    const info = new Uint8Array(BpfProgInfoLayout.size);
    const view = new DataView(info.buffer);
    view.setUint32(fields.nr_map_ids.offset, 16, true);
    view.setBigUint64(fields.map_ids.offset, 0x1000n, true);
    const small = guarded(4);
    // Also as f626b01's signature took them: a pointer list into `info`.
    const call = objGetInfoByFd as unknown as (fd: number, info: Uint8Array, p: unknown) => number;
    const written = call(p.fd, info, [[fields.map_ids.offset, small.buffer]]);
    expect(written).toBeGreaterThan(fields.nr_map_ids.offset);
    // The kernel saw zeros: it reports the count and wrote no id anywhere.
    expect(view.getUint32(fields.nr_map_ids.offset, true)).toBe(1);
    expect(view.getBigUint64(fields.map_ids.offset, true)).toBe(0n);
    expect(small.intact()).toBe(true);
    expect(p.info().mapIds).toHaveLength(1);
    expect(rangeError(() => objGetInfoByFd(p.fd, new Uint8Array(8192))).message).toBe(
      "info must be at most 4096 bytes, got 8192",
    );
  });

  it("PROG_TEST_RUN: an empty dataOut or ctxOut is refused (size 0 made the kernel write the whole packet)", () => {
    const p = keep(
      loadProgram({
        type: BpfProgType.SOCKET_FILTER,
        license: "GPL",
        instructions: specInstructions(socketFilter()),
      }),
    ) as Program;
    const out = guarded(0);
    expect(
      rangeError(() =>
        progTestRun({ progFd: p.fd, dataIn: new Uint8Array(64), dataOut: out.buffer }),
      ).message,
    ).toBe(
      "dataOut must be at least 1 byte (with size 0 the kernel writes its whole output), got 0",
    );
    expect(out.intact()).toBe(true);
    expect(
      rangeError(() =>
        progTestRun({ progFd: p.fd, dataIn: new Uint8Array(64), ctxOut: new Uint8Array(0) }),
      ).message,
    ).toMatch(/^ctxOut must be at least 1 byte/);
    // A short dataOut gets what fits (ENOSPC), never more.
    const part = guarded(16);
    expect(() =>
      progTestRun({ progFd: p.fd, dataIn: new Uint8Array(64).fill(1), dataOut: part.buffer }),
    ).toThrow(/ENOSPC/);
    expect(part.intact()).toBe(true);
    // Socket filters see the packet after its zeroed Ethernet header.
    expect([...part.buffer.subarray(14)]).toEqual([1, 1]);
  });

  it("LINK_CREATE: iter_info only for iterator links, and never longer than iterInfo", async () => {
    const { linkCreate } = await import("../src/index.js");
    const info = guarded(8);
    // Another link type would read the same union bytes as its own pointers.
    expect(() =>
      linkCreate({
        progFd: 3,
        attachType: BpfAttachType.TRACE_KPROBE_MULTI,
        iterInfo: info.buffer,
      }),
    ).toThrow(TypeError);
    expect(
      rangeError(() =>
        linkCreate({
          progFd: 3,
          attachType: BpfAttachType.TRACE_ITER,
          iterInfo: info.buffer,
          iterInfoLen: 64,
        }),
      ).message,
    ).toBe("iterInfoLen must be at most 8 bytes (the size of iterInfo), got 64");
  });

  it("the right sizes work on every kind of map, and one byte more or less is refused", () => {
    const cpus = possibleCpus();
    const inner = keep(
      BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }),
    );
    const kinds: {
      name: string;
      type: number;
      keySize: number;
      valueSize: number;
      /** What the element commands copy per value. */
      slot: number;
      flags?: number;
      innerMapFd?: number;
      /** The value to write (fd maps: an fd). */
      value?: Uint8Array;
    }[] = [
      { name: "hash", type: BpfMapType.HASH, keySize: 4, valueSize: 8, slot: 8 },
      { name: "array", type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, slot: 8 },
      {
        name: "percpu_hash",
        type: BpfMapType.PERCPU_HASH,
        keySize: 4,
        valueSize: 12,
        slot: 16 * cpus,
      },
      {
        name: "lru_percpu",
        type: BpfMapType.LRU_PERCPU_HASH,
        keySize: 4,
        valueSize: 4,
        slot: 8 * cpus,
      },
      {
        name: "percpu_array",
        type: BpfMapType.PERCPU_ARRAY,
        keySize: 4,
        valueSize: 20,
        slot: 24 * cpus,
      },
      { name: "lpm_trie", type: BpfMapType.LPM_TRIE, keySize: 8, valueSize: 8, slot: 8, flags: 1 },
      { name: "queue", type: BpfMapType.QUEUE, keySize: 0, valueSize: 8, slot: 8 },
      { name: "stack", type: BpfMapType.STACK, keySize: 0, valueSize: 8, slot: 8 },
      { name: "bloom", type: BpfMapType.BLOOM_FILTER, keySize: 0, valueSize: 8, slot: 8 },
      ...[BpfMapType.HASH_OF_MAPS, BpfMapType.ARRAY_OF_MAPS].map((type) => ({
        name: `maps_${type}`,
        type,
        keySize: 4,
        valueSize: 4,
        slot: 4,
        innerMapFd: inner.fd,
        value: u32(inner.fd),
      })),
    ];
    for (const k of kinds) {
      const m = keep(
        BpfMap.create({
          type: k.type,
          keySize: k.keySize,
          valueSize: k.valueSize,
          maxEntries: 4,
          flags: k.flags ?? 0,
          ...(k.innerMapFd === undefined ? {} : { innerMapFd: k.innerMapFd }),
        }),
      );
      expect(mapValueSlotSize(k.type, k.valueSize), k.name).toBe(k.slot);
      // LPM trie keys start with a prefix length: /32 of the 4 bytes after it.
      const key = k.keySize === 0 ? null : new Uint8Array(k.keySize);
      if (k.type === BpfMapType.LPM_TRIE) key?.set(u32(32));
      const value = k.value ?? new Uint8Array(k.slot).fill(3);
      mapUpdateElem(m.fd, key, value);
      const out = guarded(k.slot);
      // A bloom filter's lookup reads the value to test for.
      if (k.type === BpfMapType.BLOOM_FILTER) out.buffer.set(value);
      expect(mapLookupElem(m.fd, key, out.buffer), k.name).toBe(true);
      expect(out.intact(), k.name).toBe(true);
      for (const size of [k.slot - 1, k.slot + 1]) {
        expect(rangeError(() => mapLookupElem(m.fd, key, new Uint8Array(size))).message).toMatch(
          new RegExp(`^value must be ${k.slot} bytes .*, got ${size}$`),
        );
      }
      if (key === null) {
        expect(rangeError(() => mapLookupElem(m.fd, new Uint8Array(4), out.buffer)).message).toBe(
          "key must be 0 bytes (the map has no keys: key_size 0; pass null), got 4",
        );
      } else {
        for (const size of [k.keySize - 1, k.keySize + 1]) {
          expect(
            rangeError(() => mapLookupElem(m.fd, new Uint8Array(size), out.buffer)).message,
          ).toBe(`key must be ${k.keySize} bytes (the map's key_size), got ${size}`);
        }
      }
    }
  });

  it("a 1-byte value for a map with 1 MiB values is refused in a child process: no death by signal", () => {
    const fixture = fileURLToPath(new URL("./fixtures/huge-value-lookup.mjs", import.meta.url));
    const r = spawnSync(process.execPath, ["--expose-gc", fixture], { encoding: "utf8" });
    expect({ signal: r.signal, status: r.status, stderr: r.stderr }).toEqual({
      signal: null,
      status: 0,
      stderr: "",
    });
    expect(JSON.parse(r.stdout.trim())).toEqual({
      threw: true,
      name: "RangeError",
      message: "value must be 1048576 bytes (the map's value_size), got 1",
    });
  });
});

describeKernel("finding 1: getters, subclasses, detached, resizable and shared buffers", () => {
  let m: BpfMap;
  beforeAll(() => {
    m = BpfMap.create({ type: BpfMapType.HASH, keySize: 4, valueSize: 64, maxEntries: 16 });
    mapUpdateElem(m.fd, u32(1), new Uint8Array(64).fill(9));
  });
  afterAll(() => m.close());

  it("a detached value buffer is refused by name", () => {
    const value = new Uint8Array(64);
    // Detach it (structuredClone's transfer; ES2024 typings are not in this lib).
    (structuredClone as (v: unknown, o: { transfer: ArrayBuffer[] }) => unknown)(value.buffer, {
      transfer: [value.buffer as ArrayBuffer],
    });
    expect(rangeError(() => mapLookupElem(m.fd, u32(1), value)).message).toBe(
      "value must be 64 bytes (the map's value_size), got 0 (its ArrayBuffer is detached)",
    );
  });

  it("a Uint8Array subclass cannot lie about its byteLength", () => {
    class Liar extends Uint8Array {
      override get byteLength(): number {
        return 64;
      }
    }
    const whole = new Uint8Array(8 + CANARY_BYTES).fill(CANARY, 8);
    const liar = new Liar(whole.buffer, 0, 8);
    expect(rangeError(() => mapLookupElem(m.fd, u32(1), liar)).message).toBe(
      "value must be 64 bytes (the map's value_size), got 8",
    );
    expect(whole.subarray(8).every((b) => b === CANARY)).toBe(true);
    // A Proxy is not a Uint8Array at all.
    expect(() => mapLookupElem(m.fd, u32(1), new Proxy(new Uint8Array(64), {}))).toThrow(TypeError);
  });

  it("an option getter that shrinks a resizable buffer after it was passed cannot defeat the check", () => {
    // Resizable ArrayBuffer (ES2024; not in this lib's typings).
    const rab = new (
      ArrayBuffer as unknown as new (
        n: number,
        o: { maxByteLength: number },
      ) => ArrayBuffer & { resize(n: number): void }
    )(4 * 8, { maxByteLength: 4096 });
    const keys = new Uint8Array(rab); // length-tracking
    for (let i = 0; i < 8; i++) keys.set(u32(200 + i), 4 * i);
    const options = {
      mapFd: m.fd,
      keys,
      values: new Uint8Array(64 * 8),
      get count() {
        rab.resize(4);
        return 8;
      },
    };
    expect(rangeError(() => mapUpdateBatch(options)).message).toBe(
      "keys must be 32 bytes (count 8 × key_size 4), got 4",
    );
    for (let i = 0; i < 8; i++)
      expect(mapLookupElem(m.fd, u32(200 + i), new Uint8Array(64))).toBe(false);
    expect(mapLookupElem(m.fd, u32(0), new Uint8Array(64))).toBe(false);
  });

  it("Map.create: an options getter answering differently on each read cannot size the handle's buffers (child process)", () => {
    // f626b01 read valueSize for its buffers first (8) and for MAP_CREATE next
    // (1 MiB): get() then had the kernel write 1 MiB into 8 bytes.
    const dist = new URL("../dist/index.js", import.meta.url).href;
    const script = `
      const bpf = await import(${JSON.stringify(dist)});
      let reads = 0;
      const m = bpf.BpfMap.create({
        type: bpf.BpfMapType.ARRAY, keySize: 4, maxEntries: 1,
        get valueSize() { return reads++ % 2 === 0 ? 8 : 1 << 20; },
      });
      for (let i = 0; i < 8; i++) m.get(new Uint8Array(4));
      console.log(JSON.stringify({ handle: m.valueSize, kernel: m.info().valueSize }));
      m.close();`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect({ signal: r.signal, status: r.status, stderr: r.stderr }).toEqual({
      signal: null,
      status: 0,
      stderr: "",
    });
    const { handle, kernel } = JSON.parse(r.stdout.trim());
    expect(handle).toBe(kernel);
  });

  it("SharedArrayBuffer-backed buffers are checked like any other, and work at the right size", () => {
    const shared = new Uint8Array(new SharedArrayBuffer(64));
    expect(mapLookupElem(m.fd, u32(1), shared)).toBe(true);
    expect(shared.every((b) => b === 9)).toBe(true);
    expect(
      rangeError(() => mapLookupElem(m.fd, u32(1), new Uint8Array(new SharedArrayBuffer(8))))
        .message,
    ).toMatch(/^value must be 64 bytes/);
  });

  it("the addon refuses a buffer shorter than the length the kernel will use, right before the syscall", () => {
    const value = guarded(8);
    const attr = new Attr("map_elem").u32("map_fd", m.fd);
    const offsetOf = (f: "key" | "value") => attr.offsetOf(f);
    const key = u32(1);
    expect(() =>
      native().bpf(
        BpfCmd.MAP_LOOKUP_ELEM,
        attr.bytes,
        32,
        offsetOf("key"),
        key,
        4,
        offsetOf("value"),
        value.buffer,
        64,
      ),
    ).toThrow(/buffer for the pointer at attr offset 16 has 8 bytes, the kernel uses 64/);
    expect(value.intact()).toBe(true);
  });
});

describe("mapValueSlotSize has one owner", () => {
  it("the map handle's valueSlotSize is computed by it", () => {
    expect(typeof mapValueSlotSize).toBe("function");
    expect(mapValueSlotSize(BpfMapType.PROG_ARRAY, 4)).toBe(4);
    expect(mapValueSlotSize(BpfMapType.ARRAY, 1 << 20)).toBe(1 << 20);
  });
});
