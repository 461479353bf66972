// readRecords() and readRecordsSync() keep their read buffers for the next
// call (read-buffers.ts) when the package's own decoder reads the kernel's
// fd: only buffers of their own, never one a read(2) may still fill; a
// caller's decoder or io gets fresh buffers, so views it keeps stay what
// they were; readRecords' first trips are small.
import { afterEach, describe, expect, it } from "vitest";
import { closeBuiltinPrograms } from "../src/builtins/builtin.js";
import {
  chunkBuffer,
  dropKeptBuffers,
  isTrusted,
  keepChunkBuffers,
  keepOutputBuffer,
  outputBuffer,
  ownedBuffer,
  trust,
} from "../src/read-buffers.js";
import { IteratorReader, nodeFdIo } from "../src/reader.js";
import { iteratorIo } from "./iterator-io.js";

const SEQ = 32768; // bytes of an iterator's seq buffer
const SIZE = 96;

/** Records of SIZE bytes whose first word is `first + i`. */
function records(count: number, first: number): Uint8Array {
  const out = new Uint8Array(count * SIZE);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) view.setUint32(i * SIZE, first + i, true);
  return out;
}

/** A decoder as the package's own are: its records copy, and it is trusted. */
const decoder = trust(
  Object.freeze({
    size: SIZE,
    decode: (b: Uint8Array, off = 0) => new DataView(b.buffer, b.byteOffset).getUint32(off, true),
  }),
);

/** A caller's decoder that keeps views of the bytes it is given. */
const viewDecoder = {
  size: SIZE,
  decode: (b: Uint8Array, off = 0) => b.subarray(off, off + 4),
};
const firstWord = (v: Uint8Array) => new DataView(v.buffer, v.byteOffset).getUint32(0, true);

const expected = (count: number, first: number) =>
  Array.from({ length: count }, (_, i) => first + i);

afterEach(() => dropKeptBuffers());

describe("readRecords keeps its chunk buffers", () => {
  it("asks for 4 seq buffers first, then twice as many each trip up to the chunk", async () => {
    const perSeq = Math.floor(SEQ / SIZE);
    const { io, readvSegments } = iteratorIo(records(perSeq * 100, 1), SIZE);
    const got = await new IteratorReader(7, { io, chunkSize: 1 << 20 }).readRecords(decoder);
    expect(got).toEqual(expected(perSeq * 100, 1));
    // A 1 MiB chunk holds 32 seq buffers of 341 records: 4, 8, 16, 32, 32, then the
    // rest (8 asked, short) and a last trip for the end.
    expect(readvSegments.slice(0, 5)).toEqual([4, 8, 16, 32, 32]);
    expect(readvSegments.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(100);
  });

  it("reads the next call into the same buffers; records decoded before are unchanged", async () => {
    const first = iteratorIo(records(5000, 1), SIZE);
    const a = await new IteratorReader(7, { io: first.io }).readRecords(decoder);
    const second = iteratorIo(records(5000, 100_000), SIZE);
    const b = await new IteratorReader(8, { io: second.io }).readRecords(decoder);
    expect(a).toEqual(expected(5000, 1));
    expect(b).toEqual(expected(5000, 100_000));
    expect(new Set(second.seen)).toEqual(new Set(first.seen));
    expect(new Set(first.seen).size).toBe(2);
  });

  it("does not reuse a buffer a read may still fill: an aborted call's buffers are left to it", async () => {
    const held = iteratorIo(records(5000, 1), SIZE, { hold: true });
    const controller = new AbortController();
    const pending = new IteratorReader(7, { io: held.io, signal: controller.signal }).readRecords(
      decoder,
    );
    for (let i = 0; i < 20 && held.waiting() === 0; i++) await new Promise(setImmediate);
    expect(held.waiting()).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();

    const next = iteratorIo(records(5000, 7), SIZE);
    expect(await new IteratorReader(8, { io: next.io }).readRecords(decoder)).toEqual(
      expected(5000, 7),
    );
    for (const buffer of next.seen) expect(held.seen).not.toContain(buffer);
    held.release();
  });

  it("does not keep the buffers when the decoder throws while the next read is in flight", async () => {
    const held = iteratorIo(records(5000, 1), SIZE, { hold: true });
    let calls = 0;
    const throwing = trust(
      Object.freeze({
        size: SIZE,
        decode: () => {
          if (++calls > 10) throw new Error("decoder failed");
          return 0;
        },
      }),
    );
    const pending = new IteratorReader(7, { io: held.io }).readRecords(throwing);
    // The first read returns, the second is in flight while the decoder throws.
    for (let i = 0; i < 20 && held.waiting() === 0; i++) await new Promise(setImmediate);
    held.release();
    for (let i = 0; i < 20 && held.waiting() === 0; i++) await new Promise(setImmediate);
    expect(held.waiting()).toBe(1);
    const settled = pending.catch((e: Error) => e);
    for (let i = 0; i < 5; i++) await new Promise(setImmediate);
    held.release(); // the read in flight returns only now
    expect(((await settled) as Error).message).toBe("decoder failed");
    const next = iteratorIo(records(5000, 7), SIZE);
    await new IteratorReader(8, { io: next.io }).readRecords(decoder);
    for (const buffer of next.seen) expect(held.seen).not.toContain(buffer);
  });

  it("gives a caller's decoder fresh buffers: the views it keeps stay what they were", async () => {
    // 1,000 records are one chunk: within a call, later chunks reuse the buffers (as documented).
    const first = iteratorIo(records(1000, 1), SIZE);
    const views = await new IteratorReader(7, { io: first.io }).readRecords(viewDecoder);
    await new IteratorReader(8, { io: iteratorIo(records(1000, 9000), SIZE).io }).readRecords(
      decoder,
    );
    await new IteratorReader(9, { io: iteratorIo(records(1000, 7000), SIZE).io }).readRecords(
      viewDecoder,
    );
    expect(views.map(firstWord)).toEqual(expected(1000, 1));
    expect(isTrusted(viewDecoder)).toBe(false);

    const sync = new IteratorReader(10, {
      io: iteratorIo(records(3000, 5), SIZE).io,
    }).readRecordsSync(viewDecoder);
    new IteratorReader(11, { io: iteratorIo(records(3000, 60_000), SIZE).io }).readRecordsSync(
      decoder,
    );
    new IteratorReader(12, { io: iteratorIo(records(3000, 80_000), SIZE).io }).readRecordsSync(
      viewDecoder,
    );
    expect(sync.map(firstWord)).toEqual(expected(3000, 5));
  });

  it("gives a caller's io fresh buffers, even with the package's decoder", async () => {
    const first = iteratorIo(records(5000, 1), SIZE);
    await new IteratorReader(7, { io: first.io }).readRecords(decoder);
    const untrusted = iteratorIo(records(5000, 1), SIZE, { trusted: false });
    await new IteratorReader(8, { io: untrusted.io }).readRecords(decoder);
    new IteratorReader(9, { io: untrusted.io }).readRecordsSync(decoder);
    for (const buffer of untrusted.seen) expect(first.seen).not.toContain(buffer);
    expect(isTrusted(nodeFdIo)).toBe(true);
    expect(Object.isFrozen(nodeFdIo)).toBe(true);
  });

  it("forEachChunk does not take kept buffers: its callback may hold a chunk", async () => {
    const first = iteratorIo(records(5000, 1), SIZE);
    await new IteratorReader(7, { io: first.io }).readRecords(decoder);
    const other = iteratorIo(records(5000, 1), SIZE);
    await new IteratorReader(8, { io: other.io }).forEachChunk(() => {});
    for (const buffer of other.seen) expect(first.seen).not.toContain(buffer);
  });
});

describe("readRecordsSync keeps its output buffer", () => {
  it("reads the next call into the same buffer; records decoded before are unchanged", () => {
    const first = iteratorIo(records(3000, 1), SIZE);
    const a = new IteratorReader(7, { io: first.io }).readRecordsSync(decoder);
    const second = iteratorIo(records(2000, 50_000), SIZE);
    const b = new IteratorReader(8, { io: second.io }).readRecordsSync(decoder);
    expect(a).toEqual(expected(3000, 1));
    expect(b).toEqual(expected(2000, 50_000));
    expect(new Set(second.seen)).toEqual(new Set([first.seen.at(-1)]));
  });

  it("grows past the kept buffer and keeps the larger one", () => {
    const small = iteratorIo(records(1000, 1), SIZE);
    new IteratorReader(7, { io: small.io }).readRecordsSync(decoder);
    const large = iteratorIo(records(40_000, 3), SIZE);
    expect(new IteratorReader(8, { io: large.io }).readRecordsSync(decoder)).toEqual(
      expected(40_000, 3),
    );
    const again = iteratorIo(records(40_000, 9), SIZE);
    expect(new IteratorReader(9, { io: again.io }).readRecordsSync(decoder)).toEqual(
      expected(40_000, 9),
    );
    expect(new Set(again.seen).size).toBe(1);
    expect(again.seen[0]).toBe(large.seen.at(-1));
  });
});

describe("read-buffers", () => {
  it("keeps only buffers ownedBuffer made, neither too small nor too large", () => {
    const poolSize = Buffer.poolSize;
    try {
      // A shared pool of 4 MiB: allocUnsafe hands out slices of one ArrayBuffer.
      Buffer.poolSize = 4 << 20;
      keepOutputBuffer(Buffer.allocUnsafe(256 * 1024));
      expect(outputBuffer()).toBeUndefined();
    } finally {
      Buffer.poolSize = poolSize;
    }
    keepOutputBuffer(new Uint8Array(1 << 20));
    expect(outputBuffer()).toBeUndefined();
    keepOutputBuffer(ownedBuffer(4096));
    expect(outputBuffer()).toBeUndefined();
    keepOutputBuffer(ownedBuffer(32 << 20));
    expect(outputBuffer()).toBeUndefined();
    const kept = ownedBuffer(1 << 20);
    keepOutputBuffer(kept.subarray(0, 1000));
    const given = outputBuffer();
    expect(given?.buffer).toBe(kept.buffer);
    expect(given?.length).toBe(1 << 20);
    expect(outputBuffer()).toBeUndefined(); // given out: the next caller makes its own

    const notOwned = Buffer.alloc(1 << 20);
    const part = ownedBuffer(1 << 20);
    keepChunkBuffers([notOwned, part.subarray(8)]);
    const fresh = chunkBuffer(1 << 20);
    // Identity by ===: a passing not.toBe still deep-compares (for its message) megabytes of bytes.
    expect(fresh === notOwned).toBe(false);
    expect(fresh.buffer === part.buffer).toBe(false);
    const huge = ownedBuffer(8 << 20);
    keepChunkBuffers([huge]);
    expect(chunkBuffer(8 << 20) === huge).toBe(false);
    const chunk = ownedBuffer(256 * 1024);
    keepChunkBuffers([chunk, chunk]);
    expect(chunkBuffer(256 * 1024)).toBe(chunk);
    expect(chunkBuffer(256 * 1024) === chunk).toBe(false);
  });

  it("keeps at most three chunk buffers, the latest", () => {
    const made = Array.from({ length: 5 }, () => ownedBuffer(128 * 1024));
    keepChunkBuffers(made);
    const taken = Array.from({ length: 5 }, () => chunkBuffer(128 * 1024));
    const kept = taken.filter((b) => made.includes(b));
    expect(kept).toHaveLength(3);
    expect(kept.every((b, i) => b === made[i + 2])).toBe(true);
  });

  it("closeBuiltinPrograms() lets the kept buffers go", () => {
    keepOutputBuffer(ownedBuffer(1 << 20));
    const chunk = ownedBuffer(1 << 20);
    keepChunkBuffers([chunk]);
    closeBuiltinPrograms();
    expect(outputBuffer()).toBeUndefined();
    expect(chunkBuffer(1 << 20) === chunk).toBe(false);
  });

  it("trusts only frozen decoders and io", () => {
    expect(() => trust({ size: 4, decode: () => 0 })).toThrow(/frozen/);
    expect(() => trust({})).toThrow(/frozen/);
  });

  it("makes buffers no one can detach", () => {
    const buf = ownedBuffer(64 * 1024);
    try {
      structuredClone(buf.buffer, { transfer: [buf.buffer as ArrayBuffer] });
    } catch (e) {
      // Node 22 and later refuse; Node 20 ignores the transfer.
      expect((e as Error).name).toBe("DataCloneError");
    }
    expect(buf.buffer.byteLength).toBe(64 * 1024);
  });
});
