// Issue 13, findings 3 and 6: overlapping reads on one IteratorReader are
// queued or refused, never mixed; close() during a read waits for the read(2)
// on the thread pool; nothing reads after close; a program asking for a
// replay forever ends in an IteratorError.
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { IteratorError } from "../src/errors.js";
import { type FdIo, IteratorReader, MAX_EAGAIN_WITHOUT_OUTPUT } from "../src/reader.js";
import { fakeFdTable } from "./fake-fds.js";

/**
 * A fake fd whose reads complete when the test says so (or at once when
 * `auto`), serving `data` in `chunk`-byte pieces. It records every event and
 * the largest number of read(2) calls in flight at once. The reader reads
 * from its own dup of the fd it was given (fd 1000): "close" is that fd's
 * close; the public fd the reader was given closes at once, unrecorded.
 */
function controlledFd(data: Uint8Array, chunk: number, auto = false) {
  const table = fakeFdTable(1000);
  const events: string[] = [];
  const pending: Array<() => void> = [];
  let offset = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let closed = false;
  let readsAfterClose = 0;
  let closedWhileReading = false;
  const io: FdIo = {
    read: (_fd, buf, off, len) => {
      if (closed) readsAfterClose++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      events.push("read");
      return new Promise<number>((resolve) => {
        const complete = () => {
          const n = Math.min(chunk, len, data.length - offset);
          buf.set(data.subarray(offset, offset + n), off);
          offset += n;
          inFlight--;
          events.push(`returned ${n}`);
          resolve(n);
        };
        if (auto) setImmediate(complete);
        else pending.push(complete);
      });
    },
    readSync: (_fd, buf, off, len) => {
      if (closed) readsAfterClose++;
      if (inFlight > 0) closedWhileReading = true; // a sync read racing the thread pool
      const n = Math.min(chunk, len, data.length - offset);
      buf.set(data.subarray(offset, offset + n), off);
      offset += n;
      return n;
    },
    close: (fd) => {
      table.closed(fd);
      if (fd !== 1000) return;
      if (inFlight > 0) closedWhileReading = true;
      closed = true;
      events.push("close");
    },
    dup: table.dup,
    sameFile: table.sameFile,
  };
  return {
    io,
    events,
    /** Completes the oldest read(2) in flight. */
    completeOne: async () => {
      for (let i = 0; i < 20 && pending.length === 0; i++) await new Promise(setImmediate);
      pending.shift()?.();
      await new Promise(setImmediate);
    },
    get inFlight() {
      return inFlight;
    },
    stats: () => ({ maxInFlight, readsAfterClose, closedWhileReading, closed }),
  };
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);

describe("overlapping reads on one reader", () => {
  it("read() calls made together run one read(2) at a time and return successive chunks", async () => {
    const data = bytes(10_000);
    const fd = controlledFd(data, 1000, true);
    const r = new IteratorReader(200, { io: fd.io, chunkSize: 1000 });
    const out: Buffer[] = [];
    for (;;) {
      const batch = await Promise.all([r.read(), r.read(), r.read(), r.read()]);
      for (const c of batch) if (c) out.push(c);
      if (batch.includes(null)) break;
    }
    expect(Buffer.concat(out)).toEqual(Buffer.from(data));
    expect(fd.stats()).toMatchObject({ maxInFlight: 1, readsAfterClose: 0, closed: true });
  });

  it("two readAll() at once: one returns everything, the other is refused with IteratorError", async () => {
    const data = bytes(50_000);
    const fd = controlledFd(data, 4096, true);
    const r = new IteratorReader(201, { io: fd.io, chunkSize: 4096 });
    const [a, b] = await Promise.allSettled([r.readAll(), r.readAll()]);
    expect(a.status).toBe("fulfilled");
    expect((a as PromiseFulfilledResult<Buffer>).value).toEqual(Buffer.from(data));
    expect(b.status).toBe("rejected");
    expect((b as PromiseRejectedResult).reason).toBeInstanceOf(IteratorError);
    expect(String((b as PromiseRejectedResult).reason)).toMatch(
      /busy: readAll\(\) is still reading/,
    );
    expect(fd.stats()).toMatchObject({ maxInFlight: 1, readsAfterClose: 0, closed: true });
  });

  it("while one consumer reads, every other reading path is refused and the consumer still gets it all", async () => {
    const data = bytes(30_000);
    const fd = controlledFd(data, 4096, true);
    const r = new IteratorReader(202, { io: fd.io, chunkSize: 4096 });
    const first = r.readAll();
    const refused = async (what: string, run: () => unknown) => {
      const err = await (async () => run())().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(IteratorError);
      expect(String(err), what).toMatch(/busy/);
    };
    await refused("read", () => r.read());
    await refused("readAll", () => r.readAll());
    await refused("text", () => r.text());
    await refused("forEachChunk", () => r.forEachChunk(() => {}));
    await refused("readRecords", () => r.readRecords({ size: 2, decode: () => 0 }));
    await refused("readAllSync", () => r.readAllSync());
    await refused("textSync", () => r.textSync());
    await refused("readRecordsSync", () => r.readRecordsSync({ size: 2, decode: () => 0 }));
    await refused("lines", () => r.lines().next());
    await refused("records", () => r.records({ size: 2, decode: () => 0 }).next());
    await refused("for await", () => r[Symbol.asyncIterator]().next());
    await refused("stream", () => r.stream());
    expect(await first).toEqual(Buffer.from(data));
    expect(fd.stats()).toMatchObject({
      maxInFlight: 1,
      readsAfterClose: 0,
      closedWhileReading: false,
    });
  });

  it("a pending read() keeps whole-output consumers out; a generator keeps read() out", async () => {
    const data = bytes(9000);
    const fd = controlledFd(data, 1000, true);
    const r = new IteratorReader(203, { io: fd.io, chunkSize: 1000 });
    const chunk = r.read();
    await expect(r.readAll()).rejects.toThrow(/busy: read\(\) is still reading/);
    expect(await chunk).toEqual(Buffer.from(data.subarray(0, 1000)));
    // Not pending any more: the rest goes to a for-await consumer, which owns the reader.
    const iterator = r[Symbol.asyncIterator]();
    const next = await iterator.next();
    expect(next.value).toEqual(Buffer.from(data.subarray(1000, 2000)));
    await expect(r.read()).rejects.toThrow(/busy: for await is still reading/);
    const rest: Buffer[] = [];
    for (let n = await iterator.next(); !n.done; n = await iterator.next()) rest.push(n.value);
    expect(Buffer.concat(rest)).toEqual(Buffer.from(data.subarray(2000)));
    expect(fd.stats()).toMatchObject({ maxInFlight: 1, readsAfterClose: 0 });
  });

  it("two readAll() on one reader of a real file: the output is never split between them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iter-overlap-"));
    const path = join(dir, "data");
    const content = Buffer.from(bytes(1 << 20));
    writeFileSync(path, content);
    for (let round = 0; round < 5; round++) {
      const r = new IteratorReader(openSync(path, "r"), { chunkSize: 4096 });
      const results = await Promise.allSettled([r.readAll(), r.readAll()]);
      const whole = results.filter((x) => x.status === "fulfilled");
      expect(whole).toHaveLength(1);
      expect((whole[0] as PromiseFulfilledResult<Buffer>).value.equals(content)).toBe(true);
      const refused = results.find((x) => x.status === "rejected") as PromiseRejectedResult;
      expect(refused.reason).toBeInstanceOf(IteratorError);
    }
  });
});

describe("close() during a pending read", () => {
  it("the read in flight returns its data, reads queued behind it are refused, the fd closes after the read(2)", async () => {
    const data = bytes(8000);
    const fd = controlledFd(data, 1000);
    const r = new IteratorReader(210, { io: fd.io, chunkSize: 1000 });
    const first = r.read();
    const second = r.read().catch((e: unknown) => e);
    const third = r.read().catch((e: unknown) => e);
    await new Promise(setImmediate);
    expect(fd.inFlight).toBe(1); // queued, not started: one scratch buffer, one read(2)
    r.close();
    expect(r.closed).toBe(true);
    expect(fd.events).not.toContain("close"); // the thread pool still uses the fd
    await fd.completeOne();
    expect(await first).toEqual(Buffer.from(data.subarray(0, 1000)));
    expect(await second).toBeInstanceOf(IteratorError);
    expect(String(await third)).toMatch(/closed/);
    expect(fd.events).toEqual(["read", "returned 1000", "close"]);
    expect(fd.stats()).toMatchObject({ readsAfterClose: 0, closedWhileReading: false });
  });

  it("close() during readAll(): the read(2) returns first, then readAll is refused and the fd closed", async () => {
    const data = bytes(8000);
    const fd = controlledFd(data, 1000);
    const r = new IteratorReader(211, { io: fd.io, chunkSize: 1000 });
    const all = r.readAll().catch((e: unknown) => e);
    await fd.completeOne();
    await new Promise(setImmediate);
    expect(fd.inFlight).toBe(1);
    r.close();
    expect(fd.events).not.toContain("close");
    await fd.completeOne();
    expect(String(await all)).toMatch(/IteratorError: .*closed/);
    expect(fd.events.at(-1)).toBe("close");
    expect(fd.stats()).toMatchObject({ readsAfterClose: 0, closedWhileReading: false });
    expect(() => r.readAllSync()).toThrow(IteratorError);
    expect(fd.stats().readsAfterClose).toBe(0);
  });

  it("close() with a real fd: the fd reads use stays open until the thread-pool read returns, then closes", async () => {
    // A pipe: the read blocks in the thread pool until the test writes.
    const dir = mkdtempSync(join(tmpdir(), "iter-fifo-"));
    const fifo = join(dir, "fifo");
    const { execFileSync } = await import("node:child_process");
    execFileSync("mkfifo", [fifo]);
    const readFd = openSync(fifo, "r+"); // O_RDWR: opening does not wait for a writer
    const writeFd = openSync(fifo, "w");
    /** This process's fds open on the FIFO: writeFd, and the reader's. */
    const fifoFds = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === fifo;
        } catch {
          return false;
        }
      }).length;
    const r = new IteratorReader(readFd, { chunkSize: 64 });
    expect(fifoFds()).toBe(3); // readFd (now the reader's public fd), its private dup, writeFd
    const first = r.read();
    const second = r.read().catch((e: unknown) => e);
    r.close();
    await new Promise((res) => setTimeout(res, 50));
    expect(isOpen(readFd)).toBe(false); // the public fd: no read uses it
    expect(fifoFds()).toBe(2); // the private fd stays while read(2) runs
    writeFileSync(writeFd, "hello");
    expect((await first)?.toString()).toBe("hello");
    expect(await second).toBeInstanceOf(IteratorError);
    await new Promise((res) => setTimeout(res, 20));
    expect(fifoFds()).toBe(1);
    closeSync(writeFd);
  });
});

describe("a program asking for a replay forever", () => {
  /** read(2) that fails with `code` `times` times (then EOF), each on a later turn of the event loop. */
  function failing(code: string, times: number, thenData?: string) {
    let calls = 0;
    let left = times;
    const err = () => Object.assign(new Error(`${code}: fake`), { code });
    const io: FdIo = {
      read: (_fd, buf, off) =>
        new Promise((resolve, reject) =>
          setImmediate(() => {
            calls++;
            if (left-- > 0) return reject(err());
            if (thenData) {
              buf.set(Buffer.from(thenData), off);
              const n = thenData.length;
              thenData = undefined;
              return resolve(n);
            }
            resolve(0);
          }),
        ),
      readSync: (_fd, buf, off) => {
        calls++;
        if (left-- > 0) throw err();
        if (thenData) {
          buf.set(Buffer.from(thenData), off);
          const n = thenData.length;
          thenData = undefined;
          return n;
        }
        return 0;
      },
      close: () => {},
      ...fakeFdTable(),
    };
    return { io, calls: () => calls };
  }

  it("EAGAIN with no output, again and again, ends in an IteratorError that says so", async () => {
    const f = failing("EAGAIN", Number.POSITIVE_INFINITY);
    const r = new IteratorReader(220, { io: f.io, target: "task" });
    const err = await r.readAll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IteratorError);
    expect(String(err)).toMatch(/task iterator program keeps asking for a replay/);
    expect(r.closed).toBe(true);
    const calls = f.calls();
    // The kernel's own EAGAINs are retried, up to the bound.
    expect(calls).toBe(MAX_EAGAIN_WITHOUT_OUTPUT);
    const g = failing("EAGAIN", Number.POSITIVE_INFINITY);
    expect(() => new IteratorReader(221, { io: g.io }).readAllSync()).toThrow(
      /keeps asking for a replay/,
    );
    expect(g.calls()).toBe(calls);
  });

  it("output between EAGAINs is progress: each run of EAGAINs is counted from the last byte", async () => {
    const f = failing("EAGAIN", Number.POSITIVE_INFINITY);
    const probe = new IteratorReader(222, { io: f.io });
    await probe.readAll().catch(() => undefined);
    const bound = f.calls();
    // bound - 1 EAGAINs, a byte, bound - 1 EAGAINs, the end: never gives up.
    let phase = 0;
    let left = bound - 1;
    const io: FdIo = {
      read: (_fd, buf, off) =>
        new Promise((resolve, reject) =>
          setImmediate(() => {
            if (left-- > 0) return reject(Object.assign(new Error("EAGAIN"), { code: "EAGAIN" }));
            if (phase++ === 0) {
              left = bound - 1;
              buf[off] = 120;
              return resolve(1);
            }
            resolve(0);
          }),
        ),
      readSync: () => 0,
      close: () => {},
      ...fakeFdTable(),
    };
    expect((await new IteratorReader(223, { io }).readAll()).toString()).toBe("x");
  });
});
