// IteratorReader: reads one iterator fd (from BPF_ITER_CREATE or open() of a
// pinned iterator). Reads go through fs.read on the libuv thread pool, so the
// event loop never blocks on the kernel running the BPF program.
//
// Kernel behaviour handled here (kernel/bpf/bpf_iter.c, bpf_seq_read):
// - EAGAIN after ~1,000,000 objects produced no output: retried at once.
// - E2BIG when one object's output exceeds the seq buffer: IteratorOverflowError.
// - One read(2) returns at most the seq buffer (8 pages), whatever the size asked.
// - EOF is final: an fd at EOF stays at EOF, so the reader closes its fd there.

import * as fs from "node:fs";
import { Readable } from "node:stream";
import {
  IteratorAbortError,
  IteratorError,
  IteratorOverflowError,
  IteratorReadError,
} from "./errors.js";

/** The three file operations a reader needs (replaceable in tests). */
export interface FdIo {
  read(fd: number, buffer: Uint8Array, offset: number, length: number): Promise<number>;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  close(fd: number): void;
}

export const nodeFdIo: FdIo = {
  read: (fd, buffer, offset, length) =>
    new Promise((resolve, reject) => {
      fs.read(fd, buffer, offset, length, null, (err, n) => (err ? reject(err) : resolve(n)));
    }),
  readSync: (fd, buffer, offset, length) => fs.readSync(fd, buffer, offset, length, null),
  close: (fd) => fs.closeSync(fd),
};

/** Decodes fixed-size records; `@ts-ebpf/btf` record layouts satisfy it. */
export interface RecordDecoder<T> {
  /** Bytes per record. */
  readonly size: number;
  decode(bytes: Uint8Array, offset?: number): T;
  /** Optional fast path over many whole records. */
  decodeAll?(bytes: Uint8Array): T[];
}

export interface ReaderOptions {
  /** Bytes asked for per read(2) (default 64 KiB; the kernel returns at most its seq buffer). */
  chunkSize?: number;
  /** Aborting rejects the pending read and closes the fd. */
  signal?: AbortSignal;
  /** Target name, for error messages. */
  target?: string;
  /** File operations (tests replace them). */
  io?: FdIo;
}

export const DEFAULT_CHUNK_SIZE = 64 * 1024;

export interface ReadAllOptions {
  /** Bytes the whole output is expected to take: one allocation instead of doubling. */
  sizeHint?: number;
}

// Safety net only: a reader dropped without close() or reaching EOF gives its fd back.
const finalizer = new FinalizationRegistry<{ fd: number; io: FdIo }>(({ fd, io }) => {
  try {
    io.close(fd);
  } catch {
    // already closed
  }
});
const MAX_CHUNK_SIZE = 1 << 30;

function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

export function checkChunkSize(chunkSize: unknown): number {
  if (chunkSize === undefined) return DEFAULT_CHUNK_SIZE;
  if (typeof chunkSize !== "number" || !Number.isInteger(chunkSize)) {
    throw new TypeError(`chunkSize must be an integer, got ${String(chunkSize)}`);
  }
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunkSize must be between 1 and ${MAX_CHUNK_SIZE}, got ${chunkSize}`);
  }
  return chunkSize;
}

/**
 * One pass over an iterator. Single use: after EOF, an error or close() the
 * fd is closed; open a new reader (IteratorLink.open()) for fresh output.
 */
export class IteratorReader implements AsyncIterable<Buffer>, Disposable, AsyncDisposable {
  readonly chunkSize: number;
  readonly target: string | undefined;
  #fd: number;
  #io: FdIo;
  #eof = false;
  #closed = false;
  #inflight = false;
  #closeWhenIdle = false;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #abortWaiters = new Set<(err: Error) => void>();
  #scratch: Buffer | undefined;

  /** Takes ownership of `fd`. */
  constructor(fd: number, options: ReaderOptions = {}) {
    if (!Number.isInteger(fd) || fd < 0)
      throw new TypeError(`fd must be a non-negative integer, got ${fd}`);
    this.#fd = fd;
    this.chunkSize = checkChunkSize(options.chunkSize);
    this.target = options.target;
    this.#io = options.io ?? nodeFdIo;
    finalizer.register(this, { fd, io: this.#io }, this);
    const signal = options.signal;
    if (signal) {
      if (!(signal instanceof AbortSignal)) throw new TypeError("signal must be an AbortSignal");
      this.#signal = signal;
      if (signal.aborted) {
        this.close();
      } else {
        this.#onAbort = () => {
          const err = new IteratorAbortError(signal.reason);
          for (const reject of this.#abortWaiters) reject(err);
          this.#abortWaiters.clear();
          this.close();
        };
        signal.addEventListener("abort", this.#onAbort, { once: true });
      }
    }
  }

  /** The fd, or -1 once closed. */
  get fd(): number {
    return this.#closed ? -1 : this.#fd;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True once the iterator reached its end. */
  get done(): boolean {
    return this.#eof;
  }

  #checkUsable(): void {
    if (this.#signal?.aborted) throw new IteratorAbortError(this.#signal.reason);
    if (this.#closed && !this.#eof) {
      throw new IteratorError("iterator reader is closed (each open() gives a single-use reader)");
    }
  }

  #mapError(err: unknown): Error {
    const code = errnoCode(err);
    if (code === "E2BIG") return new IteratorOverflowError(this.target);
    const what = this.target ? `${this.target} iterator` : "iterator";
    return new IteratorReadError(
      code ?? "unknown",
      `read() of ${what} fd ${this.#fd} failed: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }

  /** One read(2), retrying EAGAIN/EINTR; rejects at once when aborted. */
  async #readOnce(buf: Uint8Array, offset: number, length: number): Promise<number> {
    for (;;) {
      this.#checkUsable();
      const op = this.#io.read(this.#fd, buf, offset, length);
      // The fd must stay open while the thread pool still reads from it, even
      // when an abort already rejected the caller's promise.
      this.#inflight = true;
      const settle = () => {
        this.#inflight = false;
        if (this.#closeWhenIdle) this.#releaseFd();
      };
      op.then(settle, settle);
      try {
        return this.#signal ? await this.#raceAbort(op) : await op;
      } catch (err) {
        if (err instanceof IteratorAbortError) throw err;
        const code = errnoCode(err);
        if (code === "EAGAIN" || code === "EINTR") continue;
        this.close();
        throw this.#mapError(err);
      }
    }
  }

  #raceAbort(op: Promise<number>): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#abortWaiters.add(reject);
      op.then(
        (n) => {
          this.#abortWaiters.delete(reject);
          resolve(n);
        },
        (err) => {
          this.#abortWaiters.delete(reject);
          reject(err);
        },
      );
    });
  }

  #readOnceSync(buf: Uint8Array, offset: number, length: number): number {
    for (;;) {
      this.#checkUsable();
      try {
        return this.#io.readSync(this.#fd, buf, offset, length);
      } catch (err) {
        const code = errnoCode(err);
        if (code === "EAGAIN" || code === "EINTR") continue;
        this.close();
        throw this.#mapError(err);
      }
    }
  }

  #atEof(): void {
    this.#eof = true;
    this.close();
  }

  /** The next chunk (what one read(2) returned), or null at the end. */
  async read(): Promise<Buffer | null> {
    if (this.#eof) return null;
    this.#scratch ??= Buffer.allocUnsafe(this.chunkSize);
    const scratch = this.#scratch;
    const n = await this.#readOnce(scratch, 0, scratch.length);
    if (n === 0) {
      this.#atEof();
      return null;
    }
    return Buffer.from(scratch.subarray(0, n));
  }

  /**
   * Everything up to the end, in one buffer. Closes the fd. `sizeHint`, the
   * output size expected (mapElemsRaw knows it from the map), lets the buffer
   * be allocated once instead of doubling.
   */
  async readAll(options: ReadAllOptions = {}): Promise<Buffer> {
    if (this.#eof) return Buffer.alloc(0);
    let buf = initialBuffer(this.chunkSize, options.sizeHint);
    let used = 0;
    for (;;) {
      if (buf.length - used < this.chunkSize) buf = grow(buf, used, this.chunkSize);
      const n = await this.#readOnce(buf, used, Math.min(this.chunkSize, buf.length - used));
      if (n === 0) break;
      used += n;
    }
    this.#atEof();
    return fitted(buf, used);
  }

  /**
   * Calls `fn` on every chunk up to the end, then closes the fd. Two buffers
   * take turns: while `fn` works on one chunk, the thread pool already reads
   * the next, so decoding overlaps the kernel running the program. A chunk is
   * valid only during its call (its buffer is reused two chunks later).
   */
  async forEachChunk(fn: (chunk: Buffer) => void): Promise<void> {
    if (this.#eof) return;
    const size = this.chunkSize;
    const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)] as const;
    let turn = 0;
    try {
      let n = await this.#readOnce(buffers[0], 0, size);
      while (n > 0) {
        const current = buffers[turn]!;
        turn ^= 1;
        const next = this.#readOnce(buffers[turn]!, 0, size);
        try {
          fn(current.subarray(0, n));
        } catch (err) {
          // The read in flight still owns a buffer: settle it before leaving.
          await next.catch(() => 0);
          throw err;
        }
        n = await next;
      }
      this.#atEof();
    } finally {
      this.close();
    }
  }

  /** readAll() without the thread pool, for scripts. Blocks the event loop. */
  readAllSync(options: ReadAllOptions = {}): Buffer {
    if (this.#eof) return Buffer.alloc(0);
    let buf = initialBuffer(this.chunkSize, options.sizeHint);
    let used = 0;
    for (;;) {
      if (buf.length - used < this.chunkSize) buf = grow(buf, used, this.chunkSize);
      const n = this.#readOnceSync(buf, used, Math.min(this.chunkSize, buf.length - used));
      if (n === 0) break;
      used += n;
    }
    this.#atEof();
    return fitted(buf, used);
  }

  /** The whole output as UTF-8 text. */
  async text(): Promise<string> {
    return (await this.readAll()).toString("utf8");
  }

  textSync(): string {
    return this.readAllSync().toString("utf8");
  }

  /** Lines of text output, without their "\n"; a last unterminated line is included. */
  async *lines(): AsyncGenerator<string, void, undefined> {
    const decoder = new TextDecoder("utf-8");
    let pending = "";
    try {
      for await (const chunk of this) {
        pending += decoder.decode(chunk, { stream: true });
        let nl = pending.indexOf("\n");
        let start = 0;
        while (nl !== -1) {
          yield pending.slice(start, nl);
          start = nl + 1;
          nl = pending.indexOf("\n", start);
        }
        pending = pending.slice(start);
      }
      pending += decoder.decode();
      if (pending.length > 0) yield pending;
    } finally {
      this.close();
    }
  }

  /** Fixed-size records decoded one at a time as chunks arrive. */
  async *records<T>(decoder: RecordDecoder<T>): AsyncGenerator<T, void, undefined> {
    const size = checkDecoder(decoder);
    let carry: Buffer = Buffer.alloc(0) as Buffer;
    try {
      for await (const chunk of this) {
        const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
        const whole = data.length - (data.length % size);
        for (let off = 0; off < whole; off += size) yield decoder.decode(data, off);
        carry = data.subarray(whole);
      }
      if (carry.length > 0) throw trailingBytes(carry.length, size);
    } finally {
      this.close();
    }
  }

  /**
   * All records (uses the decoder's decodeAll when it has one). Each chunk is
   * decoded while the next is read (forEachChunk), so the output is never
   * held whole; a record cut by a chunk boundary is carried over. Decoders
   * must copy what they keep: the chunk buffers are reused.
   */
  async readRecords<T>(decoder: RecordDecoder<T>): Promise<T[]> {
    const size = checkDecoder(decoder);
    const out: T[] = [];
    const splitter = new RecordSplitter(size);
    const take = (bytes: Uint8Array, from: number, to: number) => {
      if (decoder.decodeAll) {
        for (const r of decoder.decodeAll(bytes.subarray(from, to))) out.push(r);
      } else {
        for (let off = from; off < to; off += size) out.push(decoder.decode(bytes, off));
      }
    };
    await this.forEachChunk((chunk) => splitter.push(chunk, take));
    if (splitter.pending > 0) throw trailingBytes(splitter.pending, size);
    return out;
  }

  readRecordsSync<T>(decoder: RecordDecoder<T>): T[] {
    checkDecoder(decoder);
    return decodeRecords(this.readAllSync(), decoder);
  }

  /** A Node Readable of the chunks; destroying it closes the fd. */
  stream(): Readable {
    const stream = new Readable({
      highWaterMark: this.chunkSize,
      read: () => {
        this.read().then(
          (chunk) => stream.push(chunk),
          (err: Error) => stream.destroy(err),
        );
      },
      destroy: (err, callback) => {
        this.close();
        callback(err);
      },
    });
    return stream;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    try {
      for (;;) {
        const chunk = await this.read();
        if (chunk === null) return;
        yield chunk;
      }
    } finally {
      this.close();
    }
  }

  #releaseFd(): void {
    this.#closeWhenIdle = false;
    finalizer.unregister(this);
    try {
      this.#io.close(this.#fd);
    } catch {
      // Nothing useful to do: the fd is gone either way.
    }
  }

  /** Closes the fd (deferred until an in-flight read(2) returns). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#scratch = undefined;
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener("abort", this.#onAbort);
    if (this.#inflight) this.#closeWhenIdle = true;
    else this.#releaseFd();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

const MAX_SIZE_HINT = 1 << 30;

function initialBuffer(chunkSize: number, sizeHint: number | undefined): Buffer {
  if (sizeHint !== undefined && (!Number.isInteger(sizeHint) || sizeHint < 0)) {
    throw new RangeError(`sizeHint must be a non-negative integer, got ${String(sizeHint)}`);
  }
  // Room for the hinted output plus one chunk, so the final (EOF) read needs no growth.
  const hinted = sizeHint ? Math.min(sizeHint, MAX_SIZE_HINT) + chunkSize : 0;
  return Buffer.allocUnsafe(Math.max(chunkSize, 4096, hinted));
}

/** The used part; copied out when it is a small part of a large buffer (a hint far too big). */
function fitted(buf: Buffer, used: number): Buffer {
  if (buf.length > 1 << 20 && used < buf.length / 4) return Buffer.from(buf.subarray(0, used));
  return buf.subarray(0, used);
}

function grow(buf: Buffer, used: number, need: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(buf.length * 2, used + need));
  buf.copy(next, 0, 0, used);
  return next;
}

/**
 * Cuts a stream of chunks into whole fixed-size records. A record cut by a
 * chunk boundary (chunks smaller than the kernel's seq buffer) is carried in
 * a buffer of its own and handed over once complete.
 */
export class RecordSplitter {
  readonly #carry: Uint8Array;
  #carried = 0;
  /** Bytes pushed so far. */
  total = 0;

  constructor(readonly size: number) {
    this.#carry = new Uint8Array(size);
  }

  /** Bytes of an incomplete record waiting for the next chunk. */
  get pending(): number {
    return this.#carried;
  }

  /** Calls `whole(bytes, from, to)` for every run of whole records the chunk completes. */
  push(chunk: Uint8Array, whole: (bytes: Uint8Array, from: number, to: number) => void): void {
    const size = this.size;
    this.total += chunk.length;
    let start = 0;
    if (this.#carried > 0) {
      start = Math.min(size - this.#carried, chunk.length);
      this.#carry.set(chunk.subarray(0, start), this.#carried);
      this.#carried += start;
      if (this.#carried < size) return;
      this.#carried = 0;
      whole(this.#carry, 0, size);
    }
    const end = start + Math.floor((chunk.length - start) / size) * size;
    if (end > start) whole(chunk, start, end);
    this.#carry.set(chunk.subarray(end));
    this.#carried = chunk.length - end;
  }
}

function checkDecoder(decoder: RecordDecoder<unknown>): number {
  if (typeof decoder !== "object" || decoder === null || typeof decoder.decode !== "function") {
    throw new TypeError("decoder must have a size and a decode(bytes, offset) method");
  }
  const size = decoder.size;
  if (!Number.isInteger(size) || size <= 0) {
    throw new RangeError(`decoder.size must be a positive integer, got ${String(size)}`);
  }
  return size;
}

function trailingBytes(extra: number, size: number): IteratorError {
  return new IteratorError(
    `iterator output ends with ${extra} bytes that do not make a whole ${size}-byte record`,
  );
}

export function decodeRecords<T>(data: Uint8Array, decoder: RecordDecoder<T>): T[] {
  const size = decoder.size;
  if (data.length % size !== 0) throw trailingBytes(data.length % size, size);
  if (decoder.decodeAll) return decoder.decodeAll(data);
  const out = new Array<T>(data.length / size);
  for (let i = 0, off = 0; off < data.length; i++, off += size) out[i] = decoder.decode(data, off);
  return out;
}
