import { fstatSync, mkdtempSync, openSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { IteratorAbortError, IteratorOverflowError, IteratorReadError } from "../src/errors.js";
import { type FdIo, IteratorReader } from "../src/reader.js";
import { fakeFdTable } from "./fake-fds.js";
import { iteratorIo } from "./iterator-io.js";

const dir = mkdtempSync(join(tmpdir(), "iter-reader-"));
let n = 0;
function fileFd(content: string | Uint8Array): number {
  const path = join(dir, `f${n++}`);
  writeFileSync(path, content);
  return openSync(path, "r");
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * A fake fd that serves scripted results: byte strings, errno codes, or 0 for
 * EOF. The reader reads from its own dup of the fd it was given: fd 1000.
 */
function scripted(steps: Array<string | { code: string } | { delay: number; data: string }>) {
  const closed: number[] = [];
  const table = fakeFdTable(1000);
  let reads = 0;
  const enc = new TextEncoder();
  const next = (buf: Uint8Array, off: number, len: number): number | Error => {
    reads++;
    const step = steps.shift();
    if (step === undefined) return 0;
    if (typeof step === "object" && "code" in step) {
      return Object.assign(new Error(`${step.code}: fake`), { code: step.code });
    }
    const data = enc.encode(typeof step === "string" ? step : step.data).subarray(0, len);
    buf.set(data, off);
    return data.length;
  };
  const io: FdIo = {
    read: (_fd, buf, off, len) => {
      const first = steps[0];
      const delay = typeof first === "object" && "delay" in first ? first.delay : 0;
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          const r = next(buf, off, len);
          if (r instanceof Error) reject(r);
          else resolve(r);
        }, delay),
      );
    },
    readSync: (_fd, buf, off, len) => {
      const r = next(buf, off, len);
      if (r instanceof Error) throw r;
      return r;
    },
    close: (fd) => {
      table.closed(fd);
      closed.push(fd);
    },
    dup: table.dup,
    sameFile: table.sameFile,
  };
  return { io, closed, reads: () => reads };
}

describe("IteratorReader on a real fd", () => {
  it("readAll returns everything and closes the fd at EOF", async () => {
    const content = "x".repeat(200_000);
    const fd = fileFd(content);
    const r = new IteratorReader(fd, { chunkSize: 4096 });
    expect((await r.readAll()).toString()).toBe(content);
    expect(r.done).toBe(true);
    expect(isOpen(fd)).toBe(false);
    expect(await r.read()).toBeNull();
  });

  it("reads chunks with for await and stays at EOF", async () => {
    const fd = fileFd("abcdefghij");
    const r = new IteratorReader(fd, { chunkSize: 3 });
    const chunks: string[] = [];
    for await (const c of r) chunks.push(c.toString());
    expect(chunks).toEqual(["abc", "def", "ghi", "j"]);
    expect(await r.readAll()).toHaveLength(0);
  });

  it("lines() splits text, keeping a last unterminated line", async () => {
    const r = new IteratorReader(fileFd("pid comm\n1 a\n22 bé\nlast"), { chunkSize: 5 });
    const lines: string[] = [];
    for await (const l of r.lines()) lines.push(l);
    expect(lines).toEqual(["pid comm", "1 a", "22 bé", "last"]);
  });

  it("records() decodes records split across chunks", async () => {
    const bytes = new Uint8Array(12 * 10);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < 10; i++) {
      view.setUint32(i * 12, i, true);
      view.setBigUint64(i * 12 + 4, BigInt(i) * 1000n, true);
    }
    const decoder = {
      size: 12,
      decode: (b: Uint8Array, off = 0) => {
        const v = new DataView(b.buffer, b.byteOffset);
        return { k: v.getUint32(off, true), v: v.getBigUint64(off + 4, true) };
      },
    };
    const out = [];
    for await (const rec of new IteratorReader(fileFd(bytes), { chunkSize: 7 }).records(decoder)) {
      out.push(rec);
    }
    expect(out).toHaveLength(10);
    expect(out[9]).toEqual({ k: 9, v: 9000n });
    const all = await new IteratorReader(fileFd(bytes)).readRecords(decoder);
    expect(all).toEqual(out);
    await expect(
      new IteratorReader(fileFd(bytes.subarray(0, 13))).readRecords(decoder),
    ).rejects.toThrow(/1 bytes that do not make a whole 12-byte record/);
  });

  it("stream() is a Node Readable", async () => {
    const r = new IteratorReader(fileFd("hello stream"), { chunkSize: 4 });
    const parts: Buffer[] = [];
    for await (const c of r.stream()) parts.push(c as Buffer);
    expect(Buffer.concat(parts).toString()).toBe("hello stream");
    expect(r.closed).toBe(true);
  });

  it("readAllSync and text", async () => {
    expect(new IteratorReader(fileFd("sync")).readAllSync().toString()).toBe("sync");
    expect(await new IteratorReader(fileFd("txt")).text()).toBe("txt");
  });

  it("close() is idempotent and dispose closes", () => {
    const fd = fileFd("a");
    {
      using r = new IteratorReader(fd);
      expect(r.fd).toBe(fd);
    }
    expect(isOpen(fd)).toBe(false);
  });

  it("rejects bad arguments before reading", () => {
    expect(() => new IteratorReader(1.5)).toThrow(TypeError);
    expect(() => new IteratorReader(-1)).toThrow(RangeError);
    expect(() => new IteratorReader(3, { chunkSize: 0 })).toThrow(RangeError);
    expect(() => new IteratorReader(3, { chunkSize: 1.5 })).toThrow(TypeError);
  });
});

describe("IteratorReader kernel error paths (scripted)", () => {
  it("retries EAGAIN and EINTR", async () => {
    const s = scripted(["a", { code: "EAGAIN" }, { code: "EAGAIN" }, "b", { code: "EINTR" }, "c"]);
    const r = new IteratorReader(100, { io: s.io });
    expect((await r.readAll()).toString()).toBe("abc");
    expect(s.closed).toEqual([100, 1000]);
    const s2 = scripted([{ code: "EAGAIN" }, "z"]);
    expect(new IteratorReader(5, { io: s2.io }).readAllSync().toString()).toBe("z");
  });

  it("turns E2BIG into IteratorOverflowError and closes", async () => {
    const s = scripted(["ok", { code: "E2BIG" }]);
    const r = new IteratorReader(101, { io: s.io, target: "task" });
    const err = await r.readAll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IteratorOverflowError);
    expect(String(err)).toMatch(/task iterator .*one object exceeded the kernel's seq buffer/);
    expect(s.closed).toEqual([101, 1000]);
    const s2 = scripted([{ code: "E2BIG" }]);
    expect(() => new IteratorReader(6, { io: s2.io }).readAllSync()).toThrow(IteratorOverflowError);
  });

  it("other errnos name the target and code", async () => {
    const s = scripted([{ code: "EFAULT" }]);
    const err = await new IteratorReader(102, { io: s.io, target: "task" })
      .read()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IteratorReadError);
    expect((err as IteratorReadError).errno).toBe("EFAULT");
    expect(String(err)).toMatch(/read\(\) of the task iterator failed: EFAULT/);
  });

  it("abort mid-read rejects at once and closes the fd after the read returns", async () => {
    const s = scripted(["first", { delay: 200, data: "slow" }, "never"]);
    const ac = new AbortController();
    const r = new IteratorReader(103, { io: s.io, signal: ac.signal });
    expect((await r.read())?.toString()).toBe("first");
    const pending = r.read();
    setTimeout(() => ac.abort(new Error("stop")), 20);
    await expect(pending).rejects.toBeInstanceOf(IteratorAbortError);
    // The public fd closes at once; the one the thread-pool read uses after it returns.
    expect(s.closed).toEqual([103]);
    await new Promise((res) => setTimeout(res, 250));
    expect(s.closed).toEqual([103, 1000]);
    await expect(r.read()).rejects.toBeInstanceOf(IteratorAbortError);
    expect(s.reads()).toBe(2);
  });

  it("an already aborted signal closes at once", async () => {
    const s = scripted(["x"]);
    const r = new IteratorReader(104, { io: s.io, signal: AbortSignal.abort() });
    expect(s.closed).toEqual([104, 1000]);
    await expect(r.readAll()).rejects.toBeInstanceOf(IteratorAbortError);
  });
});

describe("IteratorReader.forEachChunk (double-buffered)", () => {
  it("hands over every chunk in order and starts the next read before the callback runs", async () => {
    const events: string[] = [];
    const s = scripted(["ab", "cd", "ef"]);
    const io: FdIo = {
      ...s.io,
      read: (fd, buf, off, len) => {
        events.push("read");
        return s.io.read(fd, buf, off, len);
      },
    };
    const r = new IteratorReader(110, { io, chunkSize: 16 });
    const seen: string[] = [];
    await r.forEachChunk((chunk) => {
      events.push(`fn ${chunk.toString()}`);
      seen.push(chunk.toString());
    });
    expect(seen).toEqual(["ab", "cd", "ef"]);
    // read 1, then read 2 is in flight while "ab" is decoded, and so on; the
    // last read returns 0 (EOF).
    expect(events).toEqual(["read", "read", "fn ab", "read", "fn cd", "read", "fn ef"]);
    expect(s.closed).toEqual([110, 1000]);
    expect(r.done).toBe(true);
  });

  it("a throwing callback rejects, after the read in flight returned, and closes the fd", async () => {
    const s = scripted(["ab", { delay: 50, data: "cd" }, "ef"]);
    const r = new IteratorReader(111, { io: s.io });
    const err = await r
      .forEachChunk(() => {
        throw new Error("decode failed");
      })
      .catch((e: unknown) => e);
    expect(String(err)).toMatch(/decode failed/);
    expect(s.reads()).toBe(2);
    expect(s.closed).toEqual([111, 1000]);
  });

  it("read errors propagate (E2BIG as IteratorOverflowError) and close the fd", async () => {
    const s = scripted(["ab", { code: "EAGAIN" }, "cd", { code: "E2BIG" }]);
    const seen: string[] = [];
    const r = new IteratorReader(112, { io: s.io, target: "bpf_map_elem" });
    const err = await r.forEachChunk((c) => seen.push(c.toString())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IteratorOverflowError);
    expect(seen).toEqual(["ab", "cd"]);
    expect(s.closed).toEqual([112, 1000]);
  });
});

describe("IteratorReader.readRecords across chunk boundaries", () => {
  const text3 = {
    size: 3,
    decode: (b: Uint8Array, off = 0) => Buffer.from(b).toString("latin1", off, off + 3),
  };

  it("carries records cut by a read, with decode (a decodeAll of the decoder's is not needed)", async () => {
    const s = scripted(["ab", "cdef", "g", "hi", "jklmno"]);
    const got = await new IteratorReader(120, { io: s.io }).readRecords(text3);
    expect(got).toEqual(["abc", "def", "ghi", "jkl", "mno"]);
    expect(s.closed).toEqual([120, 1000]);
    const withAll = {
      ...text3,
      decodeAll: (b: Uint8Array) =>
        Array.from({ length: b.length / 3 }, (_, i) => text3.decode(b, i * 3)),
    };
    const s2 = scripted(["abcd", "efghi"]);
    expect(await new IteratorReader(121, { io: s2.io }).readRecords(withAll)).toEqual([
      "abc",
      "def",
      "ghi",
    ]);
  });

  it("a trailing partial record is an IteratorError, and the fd is closed", async () => {
    const s = scripted(["abcd"]);
    await expect(new IteratorReader(122, { io: s.io }).readRecords(text3)).rejects.toThrow(
      /ends with 1 bytes that do not make a whole 3-byte record/,
    );
    expect(s.closed).toEqual([122, 1000]);
  });
});

describe("IteratorReader.readAll sizeHint", () => {
  it("gives the same bytes with a right, a too small and a too large hint", async () => {
    for (const sizeHint of [0, 6, 3, 1 << 22]) {
      const s = scripted(["ab", "cd", "ef"]);
      const out = await new IteratorReader(130, { io: s.io, chunkSize: 4 }).readAll({ sizeHint });
      expect(out.toString(), `hint ${sizeHint}`).toBe("abcdef");
      // A far too large hint does not keep its whole buffer alive.
      expect(out.buffer.byteLength, `hint ${sizeHint}`).toBeLessThan(1 << 22);
      const s2 = scripted(["ab", "cd"]);
      expect(new IteratorReader(131, { io: s2.io }).readAllSync({ sizeHint }).toString()).toBe(
        "abcd",
      );
    }
  });

  it("rejects a bad hint before reading", async () => {
    const s = scripted(["ab"]);
    await expect(new IteratorReader(132, { io: s.io }).readAll({ sizeHint: -1 })).rejects.toThrow(
      RangeError,
    );
    expect(s.reads()).toBe(0);
  });
});

// Issue 17: repeated dumps read into one buffer (no allocation, no page faults).
describe("readAll({ into })", () => {
  const fileOf = (bytes: Uint8Array) => {
    const path = join(mkdtempSync(join(tmpdir(), "iter-into-")), "out");
    writeFileSync(path, bytes);
    return path;
  };
  const data = Uint8Array.from({ length: 10_000 }, (_, i) => i & 0xff);

  it("reads into the given buffer while the output fits, async and sync", async () => {
    const path = fileOf(data);
    const into = new Uint8Array(20_000);
    const got = await new IteratorReader(openSync(path, "r"), { chunkSize: 4096 }).readAll({
      into,
    });
    expect(got.buffer).toBe(into.buffer);
    expect(Buffer.compare(got, data)).toBe(0);
    into.fill(0);
    const again = new IteratorReader(openSync(path, "r"), { chunkSize: 4096 }).readAllSync({
      into,
    });
    expect(again.buffer).toBe(into.buffer);
    expect(Buffer.compare(again, data)).toBe(0);
    // Exactly the output's size: filled to the end, the EOF read needs no new buffer.
    const exact = new Uint8Array(data.length);
    const fit = await new IteratorReader(openSync(path, "r"), { chunkSize: 4096 }).readAll({
      into: exact,
    });
    expect(fit.buffer).toBe(exact.buffer);
    expect(Buffer.compare(fit, data)).toBe(0);
  });

  it("an output larger than the buffer moves to a new one, whole", async () => {
    const path = fileOf(data);
    const into = new Uint8Array(100);
    const got = await new IteratorReader(openSync(path, "r"), { chunkSize: 4096 }).readAll({
      into,
    });
    expect(got.buffer).not.toBe(into.buffer);
    expect(Buffer.compare(got, data)).toBe(0);
  });

  it("into that is not a Uint8Array is a TypeError", async () => {
    const path = fileOf(data);
    const reader = new IteratorReader(openSync(path, "r"));
    await expect(reader.readAll({ into: [] as unknown as Uint8Array })).rejects.toThrow(TypeError);
    reader.close();
  });
});

describe("readRecords through readv", () => {
  const size = 96;
  const count = 5000;
  const records = new Uint8Array(size * count);
  const view = new DataView(records.buffer);
  for (let i = 0; i < count; i++) view.setUint32(i * size, i * 7 + 1, true);
  const decoder = {
    size,
    decode: (b: Uint8Array, off = 0) => new DataView(b.buffer, b.byteOffset).getUint32(off, true),
  };

  it("reads several seq buffers per trip through the thread pool, every record once and in order", async () => {
    const { io, trips } = iteratorIo(records, size);
    const r = new IteratorReader(7, { io, chunkSize: 256 * 1024 });
    const got = await r.readRecords(decoder);
    expect(got).toEqual(Array.from({ length: count }, (_, i) => i * 7 + 1));
    // 480,000 bytes are 15 seq buffers of 341 records: 2 readv calls of 8 buffers, then EOF.
    expect(trips.readv).toBeLessThanOrEqual(4);
    expect(trips.read).toBe(0);
    expect(trips.kernelReads).toBeGreaterThanOrEqual(15);
  });

  it("readAll({ recordSize }) reads several seq buffers per trip, the same bytes as read(2)", async () => {
    const { io, trips } = iteratorIo(records, size);
    const r = new IteratorReader(7, { io, chunkSize: 1 << 20 });
    const got = await r.readAll({ sizeHint: records.length, recordSize: size });
    expect(Buffer.compare(got, Buffer.from(records))).toBe(0);
    // 15 seq buffers: one readv of all of them (a 1 MiB chunk holds 32), then EOF.
    expect(trips.readv).toBeLessThanOrEqual(3);
    expect(trips.read).toBe(0);

    const plain = iteratorIo(records, size);
    const same = await new IteratorReader(8, { io: plain.io, chunkSize: 1 << 20 }).readAll({
      sizeHint: records.length,
    });
    expect(Buffer.compare(same, got)).toBe(0);
    expect(plain.trips.readv).toBe(0);
    expect(plain.trips.read).toBeGreaterThanOrEqual(15);
  });

  it("readAll rejects a bad recordSize before reading", async () => {
    for (const bad of [0, -12, 1.5, Number.NaN, "12", 2 ** 31]) {
      const { io, trips } = iteratorIo(records, size);
      const r = new IteratorReader(7, { io });
      await expect(r.readAll({ recordSize: bad as number })).rejects.toThrow(/recordSize/);
      expect(trips.kernelReads).toBe(0);
      r.close();
    }
  });

  it("reads with read(2) when the io has no readv, or records do not fit twice in a seq buffer", async () => {
    const plain = iteratorIo(records, size);
    const { readv: _readv, ...withoutReadv } = plain.io;
    const got = await new IteratorReader(7, {
      io: withoutReadv,
      chunkSize: 256 * 1024,
    }).readRecords(decoder);
    expect(got).toHaveLength(count);
    expect(plain.trips.readv).toBe(0);
    expect(plain.trips.read).toBeGreaterThanOrEqual(15);

    const big = 20_000;
    const bigRecords = new Uint8Array(big * 3);
    const bigIo = iteratorIo(bigRecords, big);
    const bigGot = await new IteratorReader(8, { io: bigIo.io, chunkSize: 256 * 1024 }).readRecords(
      {
        size: big,
        decode: () => 1,
      },
    );
    expect(bigGot).toHaveLength(3);
    expect(bigIo.trips.readv).toBe(0);
  });
});
