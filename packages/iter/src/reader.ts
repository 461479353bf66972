// IteratorReader: reads one iterator fd (from BPF_ITER_CREATE or open() of a
// pinned iterator). Reads go through fs.read on the libuv thread pool, so the
// event loop never blocks on the kernel running the BPF program.
//
// Kernel behaviour handled here (kernel/bpf/bpf_iter.c, bpf_seq_read):
// - EAGAIN: either the kernel visited 1,000,000 objects in one read(2) without
//   output (it moved on: retrying continues the iteration), or the program
//   returned 1 for an object with nothing buffered before it (retrying runs it
//   on the same object again). Retried at once, up to MAX_EAGAIN_WITHOUT_OUTPUT
//   in a row; then IteratorReplayError.
// - E2BIG when one object's output exceeds the seq buffer: IteratorOverflowError.
// - One read(2) returns at most the seq buffer (8 pages), whatever the size asked.
// - EOF is final: an fd at EOF stays at EOF, so the reader closes its fd there.
//
// One read(2) at a time: read() calls queue behind each other; a consumer of
// the whole output (readAll, forEachChunk, lines, records, for await, stream,
// ...) has the reader to itself and any other read while it runs is refused.
// The fd is closed only once no read(2) on the thread pool uses it.
//
// fd ownership, as @ts-ebpf/syscall's handles: a reader reads from a private
// fd that never leaves it. The public `fd` is a second fd (a dup) the reader
// also owns; before handing it out or closing it the reader checks (kcmp) that
// the number is still its own open file. So closing `reader.fd` behind its
// back, and the number going to another file (/etc/shadow opened by someone
// else), neither redirects the reader nor makes close() close that file.
// Every fd a reader owns is ≥ 3.

import * as fs from "node:fs";
import type { Readable } from "node:stream";
import { type Decoder, decoderAt } from "@ts-ebpf/spec";
import { dupAbove2, sameOpenFile } from "@ts-ebpf/syscall";
import { fdAbove2 } from "@ts-ebpf/syscall/internal";
import {
  IteratorAbortError,
  IteratorError,
  IteratorOverflowError,
  IteratorReadError,
  IteratorReplayError,
} from "./errors.js";
import { claimAdoption, trackRelease } from "./owned-fd.js";
import {
  chunkBuffer,
  isTrusted,
  keepChunkBuffers,
  keepOutputBuffer,
  outputBuffer,
  ownedBuffer,
  trust,
} from "./read-buffers.js";

/**
 * The file operations a reader needs (replaceable in tests, for
 * `new IteratorReader(fd, { io })` only: open() and openPinned() read kernel
 * fds with nodeFdIo).
 */
export interface FdIo {
  read(fd: number, buffer: Uint8Array, offset: number, length: number): Promise<number>;
  /**
   * readv(2) into `buffers` in order; optional. An iterator fd has no
   * read_iter, so the kernel runs one read per buffer and stops after a short
   * one: with buffers of whole records that fill the seq buffer exactly, one
   * call (one trip through the thread pool) reads several seq buffers.
   */
  readv?(fd: number, buffers: readonly Uint8Array[]): Promise<number>;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  close(fd: number): void;
  /** A new fd ≥ 3 for the same open file, owned by the caller (fcntl F_DUPFD_CLOEXEC). */
  dup(fd: number): number;
  /** Whether `a` and `b` are the same open file (kcmp KCMP_FILE); false when either is not open. */
  sameFile(a: number, b: number): boolean;
}

/**
 * An fd argument of nodeFdIo, checked before node sees it: node's own check
 * of some values (a Symbol given to closeSync) aborts the process.
 */
function ioFd(fd: unknown): number {
  if (typeof fd !== "number" || !Number.isInteger(fd)) {
    throw new TypeError(`fd must be an integer, got ${typeof fd === "number" ? fd : typeof fd}`);
  }
  if (fd < 0 || fd > 0x7fffffff)
    throw new RangeError(`fd must be between 0 and 2147483647, got ${fd}`);
  return fd;
}

/** The buffer, offset and length of a nodeFdIo read, checked against each other. */
function ioRange(buffer: unknown, offset: unknown, length: unknown): void {
  if (!(buffer instanceof Uint8Array)) throw new TypeError("buffer must be a Uint8Array");
  for (const [name, value] of [
    ["offset", offset],
    ["length", length],
  ] as const) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      throw new TypeError(
        `${name} must be a non-negative integer, got ${typeof value === "number" ? value : typeof value}`,
      );
    }
  }
  if ((offset as number) + (length as number) > buffer.length) {
    throw new RangeError(
      `offset ${offset as number} + length ${length as number} is past the buffer's ${buffer.length} bytes`,
    );
  }
}

// Frozen: readRecords hands it kept buffers (read-buffers.ts), so no one may swap its functions.
export const nodeFdIo: FdIo = trust(
  Object.freeze({
    read: (fd, buffer, offset, length) =>
      new Promise((resolve, reject) => {
        ioFd(fd);
        ioRange(buffer, offset, length);
        fs.read(fd, buffer, offset, length, null, (err, n) => (err ? reject(err) : resolve(n)));
      }),
    readv: (fd, buffers) =>
      new Promise((resolve, reject) => {
        ioFd(fd);
        if (!Array.isArray(buffers) || !buffers.every((b) => b instanceof Uint8Array)) {
          throw new TypeError("buffers must be an array of Uint8Array");
        }
        fs.readv(fd, buffers as Uint8Array[], null, (err, n) => (err ? reject(err) : resolve(n)));
      }),
    readSync: (fd, buffer, offset, length) => {
      ioFd(fd);
      ioRange(buffer, offset, length);
      return fs.readSync(fd, buffer, offset, length, null);
    },
    close: (fd) => fs.closeSync(ioFd(fd)),
    dup: (fd) => dupAbove2(fd),
    sameFile: (a, b) => sameOpenFile(a, b),
  } satisfies FdIo),
);

const FD_IO_OPERATIONS = ["read", "readSync", "close", "dup", "sameFile"] as const;

function checkIo(io: unknown): FdIo {
  if (io === undefined) return nodeFdIo;
  if (typeof io !== "object" || io === null) {
    throw new TypeError(`io must be an object with ${FD_IO_OPERATIONS.join(", ")}`);
  }
  const missing = FD_IO_OPERATIONS.filter(
    (op) => typeof (io as Record<string, unknown>)[op] !== "function",
  );
  if (missing.length > 0) throw new TypeError(`io has no ${missing.join(", ")} function`);
  return io as FdIo;
}

/** A dup of `fd` through `io`, checked to be an fd ≥ 3. */
function dupOf(io: FdIo, fd: number): number {
  let dup: unknown;
  try {
    dup = io.dup(fd);
  } catch (err) {
    const code = errnoCode(err) ?? "unknown";
    throw new IteratorReadError(
      code,
      `cannot read fd ${fd}: ${code === "EBADF" ? "it is not open" : `duplicating it failed (${code})`}`,
      { cause: err },
    );
  }
  if (typeof dup !== "number" || !Number.isInteger(dup) || dup < 3) {
    throw new IteratorError(`io.dup(${fd}) gave ${String(dup)}, not an fd of 3 or more`);
  }
  return dup;
}

/**
 * The fds one reader owns; shared by the reader and its finalizer (which
 * never references the reader). Closed fds are set to -1, so none is closed twice.
 */
class ReaderFds {
  /** The fd reads use; never handed out. */
  own: number;
  /** The fd `reader.fd` hands out (-1 until first asked for). */
  shown: number;
  readonly io: FdIo;

  constructor(own: number, shown: number, io: FdIo) {
    this.own = own;
    this.shown = shown;
    this.io = io;
  }

  /** The public fd: made on first use, made again if it was closed behind our back. */
  public(): number {
    if (this.shown >= 0 && !this.io.sameFile(this.shown, this.own)) this.shown = -1;
    if (this.shown < 0) this.shown = dupOf(this.io, this.own);
    return this.shown;
  }

  /**
   * Closes the public fd while it is still ours: closed and reused behind our
   * back, the number belongs to someone else now. `own` must still be open.
   */
  closeShown(): void {
    const shown = this.shown;
    this.shown = -1;
    if (shown >= 0 && this.own >= 0 && this.io.sameFile(shown, this.own)) this.io.close(shown);
  }

  closeAll(): void {
    const own = this.own;
    try {
      this.closeShown();
    } finally {
      this.own = -1;
      if (own >= 0) this.io.close(own);
    }
  }
}

/**
 * Records are decoded with the reading half of a @ts-ebpf/spec `Codec`
 * (`{ size, decode, decodeAt? }`): a @ts-ebpf/btf record layout, a scalar
 * codec, a map's key codec. Read in place (decodeAt) where the decoder can.
 */
export type { Decoder } from "@ts-ebpf/spec";

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

/**
 * EAGAINs in a row, with no byte in between, after which a reader gives up
 * (IteratorReplayError). The kernel's own EAGAIN comes after 1,000,000 objects
 * without output in one read(2) (MAX_ITER_OBJECTS in bpf_seq_read), so this
 * many in a row would take 10^9 silent objects: more than any kernel holds
 * tasks, files or sockets, and a map that large would hold tens of GiB. A
 * program returning 1 gets here within a tenth of a second or so: each of its
 * EAGAINs ran it on one object. (It was 10,000: up to a minute of retries
 * on a slow, loaded machine, for an answer that was already clear.)
 */
export const MAX_EAGAIN_WITHOUT_OUTPUT = 1_000;

export interface ReadAllOptions {
  /** Bytes the whole output is expected to take: one allocation instead of doubling. */
  sizeHint?: number;
  /**
   * A buffer to read into, reused across reads (its pages are already
   * mapped: a large dump into a fresh buffer pays a page fault per 4 KiB).
   * The result is a view of it while the output fits; a larger output moves
   * to a new buffer. Whatever viewed it before is overwritten.
   */
  into?: Uint8Array;
  /**
   * The output is records of this many bytes (mapElemsRaw: key + value).
   * readAll() then asks for whole records filling a seq buffer and reads
   * several seq buffers per trip through the thread pool (readv), instead of
   * one: a 1M-element dump is ~370 seq buffers. The bytes are the same.
   */
  recordSize?: number;
}

// Safety net only: a reader dropped without close() or reaching EOF gives its fds back.
const finalizer = new FinalizationRegistry<ReaderFds>((fds) => {
  try {
    fds.closeAll();
  } catch {
    // a finalizer has no one to report to
  }
});
const MAX_CHUNK_SIZE = 1 << 30;

// AbortSignal's own accessors and EventTarget's methods, called on the signal:
// a genuine signal is checked by its brand (an object made with
// Object.create(AbortSignal.prototype) throws), and a getter or method the
// caller put on it never runs (none runs once the reader owns its fds).
const signalAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted")!.get!;
const signalReason = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "reason")!.get!;
const addListener = EventTarget.prototype.addEventListener;
const removeListener = EventTarget.prototype.removeEventListener;

/** Whether `signal` is aborted; a TypeError unless it is an AbortSignal. */
function abortedOf(signal: unknown): boolean {
  try {
    return signalAborted.call(signal) as boolean;
  } catch {
    throw new TypeError("signal must be an AbortSignal");
  }
}

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
 *
 * One read(2) at a time: overlapping read() calls queue and get successive
 * chunks; a consumer of the whole output (readAll, text, forEachChunk,
 * readRecords, lines, records, for await, stream, the *Sync methods) has the
 * reader to itself, and any other read started while it runs is refused with
 * an IteratorError. close() while a read(2) runs closes the fd once it returns.
 */
export class IteratorReader implements AsyncIterable<Buffer>, Disposable, AsyncDisposable {
  readonly chunkSize: number;
  readonly target: string | undefined;
  /** The private fd (reads) and the public one (`fd`). */
  readonly #fds: ReaderFds;
  readonly #io: FdIo;
  #eof = false;
  #closed = false;
  #fdReleased = false;
  /** read(2) calls on the thread pool: the fd stays open until they return. */
  #ioPending = 0;
  /** The consumer of the whole output that has the reader to itself, if any. */
  #consumer: { name: string } | undefined;
  /** read() calls waiting or running; each waits for the one before it. */
  #queuedReads = 0;
  #readQueue: Promise<unknown> = Promise.resolve();
  /** EAGAINs since the last byte read. */
  #eagainRun = 0;
  /**
   * Bytes of one readv(2) buffer while records of a known size are read
   * (readRecords): whole records filling at most the smallest seq buffer.
   * 0: plain read(2).
   */
  #segment = 0;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #abortWaiters = new Set<(err: Error) => void>();
  #scratch: Buffer | undefined;
  /** Resolves the promise consumeOwnReader waits on, once the fds are closed. */
  readonly #released: () => void;

  /**
   * Takes ownership of `fd` (≥ 3: a RangeError for 0-2), once everything is
   * checked: a throwing constructor leaves it to the caller. The caller knows
   * `fd`, so the reader reads from a dup of it only the reader knows; `fd`
   * becomes the reader's public `fd`. Closing it behind the reader's back
   * does not affect the reads.
   */
  constructor(fd: number, options: ReaderOptions = {}) {
    fdAbove2("fd", fd);
    // open() and openPinned() hand over an fd nobody else knows: it is the
    // private one. Any other caller keeps knowing `fd`: it is the public one.
    const adopted = claimAdoption(fd);
    if (typeof options !== "object" || options === null) {
      throw new TypeError("reader options must be an object");
    }
    const chunkSize = checkChunkSize(options.chunkSize);
    const signal = options.signal;
    const aborted = signal !== undefined && abortedOf(signal);
    const target = options.target;
    if (target !== undefined && typeof target !== "string") {
      throw new TypeError(`target must be a string, got ${typeof target}`);
    }
    const ioOption = options.io;
    if (adopted && ioOption !== undefined && ioOption !== nodeFdIo) {
      throw new TypeError(
        "io is only for new IteratorReader(fd, { io }): open() and openPinned() read kernel fds with nodeFdIo",
      );
    }
    const io = checkIo(ioOption);
    this.#fds = adopted ? new ReaderFds(fd, -1, io) : new ReaderFds(dupOf(io, fd), fd, io);
    this.chunkSize = chunkSize;
    this.target = target;
    this.#io = io;
    this.#released = trackRelease(this);
    // Only now does the reader own its fds: the finalizer must not close an fd
    // that a failed constructor left to its caller.
    finalizer.register(this, this.#fds, this.#fds);
    // From here on nothing may throw (the reader owns its fds): the signal is
    // a genuine AbortSignal, used through AbortSignal's and EventTarget's own code.
    if (signal) {
      this.#signal = signal;
      if (aborted) {
        this.close();
      } else {
        this.#onAbort = () => {
          const err = new IteratorAbortError(signalReason.call(signal));
          for (const reject of this.#abortWaiters) reject(err);
          this.#abortWaiters.clear();
          this.close();
        };
        addListener.call(signal, "abort", this.#onAbort, { once: true });
      }
    }
  }

  /**
   * An fd of this iterator for other calls (poll, a child's stdio...), or -1
   * once closed. The reader owns it and closes it on close(); it is not the fd
   * the reader reads from, so closing it does not affect the reader, and if it
   * was closed (its number reused by another file) the next read of `fd`
   * gives a fresh one. Reading from it takes output away from the reader.
   */
  get fd(): number {
    return this.#closed ? -1 : this.#fds.public();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True once the iterator reached its end. */
  get done(): boolean {
    return this.#eof;
  }

  #checkUsable(): void {
    if (this.#signal && signalAborted.call(this.#signal)) {
      throw new IteratorAbortError(signalReason.call(this.#signal));
    }
    if (this.#closed) {
      throw new IteratorError("iterator reader is closed (each open() gives a single-use reader)");
    }
  }

  /**
   * Gives the reader to one consumer of the whole output, or refuses: two
   * consumers would each get part of the output (and split records).
   */
  #claim(name: string): () => void {
    const busy = this.#consumer?.name ?? (this.#queuedReads > 0 ? "read()" : undefined);
    if (busy !== undefined) {
      throw new IteratorError(
        `iterator reader is busy: ${busy} is still reading it, so ${name} cannot start; ` +
          "a reader has one consumer at a time (IteratorLink.open() gives another reader)",
      );
    }
    const claim = { name };
    this.#consumer = claim;
    return () => {
      if (this.#consumer === claim) this.#consumer = undefined;
    };
  }

  #mapError(err: unknown): Error {
    const code = errnoCode(err);
    if (code === "E2BIG") return new IteratorOverflowError(this.target);
    const what = this.target ? `${this.target} iterator` : "iterator";
    return new IteratorReadError(
      code ?? "unknown",
      `read() of the ${what} failed: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }

  /** EAGAIN: retry, unless the program has been asking for a replay for too long. */
  #retryEagain(): void {
    if (++this.#eagainRun < MAX_EAGAIN_WITHOUT_OUTPUT) return;
    this.close();
    throw new IteratorReplayError(this.target, this.#eagainRun);
  }

  #progress(n: number): number {
    if (n > 0) this.#eagainRun = 0;
    return n;
  }

  /** One read(2), retrying EAGAIN/EINTR; rejects at once when aborted. */
  async #readOnce(buf: Uint8Array, offset: number, length: number): Promise<number> {
    for (;;) {
      this.#checkUsable();
      if (this.#ioPending > 0)
        throw new IteratorError("iterator reader: a read(2) is still running");
      const segment = this.#segment;
      const io = this.#io;
      const op =
        segment > 0 && length >= 2 * segment && typeof io.readv === "function"
          ? io.readv(this.#fds.own, segments(buf, offset, length, segment))
          : io.read(this.#fds.own, buf, offset, length);
      // The fd stays open while the thread pool still reads from it, even
      // when close() or an abort came first.
      this.#ioPending++;
      const settle = () => {
        this.#ioPending--;
        if (this.#closed && this.#ioPending === 0) this.#releaseFd();
      };
      op.then(settle, settle);
      try {
        return this.#progress(this.#signal ? await this.#raceAbort(op) : await op);
      } catch (err) {
        if (err instanceof IteratorAbortError) throw err;
        this.#retryOrThrow(err);
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
      if (this.#ioPending > 0)
        throw new IteratorError("iterator reader: a read(2) is still running");
      try {
        return this.#progress(this.#io.readSync(this.#fds.own, buf, offset, length));
      } catch (err) {
        this.#retryOrThrow(err);
      }
    }
  }

  /**
   * After a failed read(2): returns when the read is to be tried again
   * (EAGAIN, counted by #retryEagain; EINTR), else closes and throws.
   */
  #retryOrThrow(err: unknown): void {
    const code = errnoCode(err);
    if (code === "EAGAIN") {
      this.#retryEagain();
      return;
    }
    if (code === "EINTR") return;
    this.close();
    throw this.#mapError(err);
  }

  #atEof(): void {
    this.#eof = true;
    this.close();
  }

  /**
   * The next chunk (what one read(2) returned), or null at the end. Calls
   * made while one is pending wait their turn and get the chunks after it.
   */
  async read(): Promise<Buffer | null> {
    if (this.#consumer) this.#claim("read()"); // throws: the reader is taken
    // The first starts its read(2) now; later ones wait for the one before.
    const turn =
      this.#queuedReads === 0 ? this.#readChunk() : this.#readQueue.then(() => this.#readChunk());
    this.#queuedReads++;
    this.#readQueue = turn.catch(() => undefined);
    try {
      return await turn;
    } finally {
      this.#queuedReads--;
    }
  }

  /** One chunk into the scratch buffer, copied out (only one read(2) runs at a time). */
  async #readChunk(): Promise<Buffer | null> {
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

  /** The chunks up to the end, for a consumer that holds the claim. */
  async *#chunks(): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const chunk = await this.#readChunk();
      if (chunk === null) return;
      yield chunk;
    }
  }

  /**
   * Everything up to the end, in one buffer. Closes the fd. `sizeHint`, the
   * output size expected (mapElemsRaw knows it from the map), lets the buffer
   * be allocated once instead of doubling.
   */
  async readAll(options: ReadAllOptions = {}): Promise<Buffer> {
    return this.#readAll("readAll()", options);
  }

  async #readAll(name: string, options: ReadAllOptions): Promise<Buffer> {
    const release = this.#claim(name);
    try {
      if (this.#eof) return Buffer.alloc(0);
      const out = new ReadAllOutput(this.chunkSize, options);
      // Only the consumer that holds the reader sets how its reads are made.
      this.#segment = out.recordSize > 0 ? seqSegment(out.recordSize) : 0;
      while (out.took(await this.#readOnce(out.target(), out.offset, out.length)));
      this.#atEof();
      return out.result();
    } finally {
      this.#segment = 0;
      release();
    }
  }

  /**
   * Calls `fn` on every chunk up to the end, then closes the fd. Two buffers
   * take turns: while `fn` works on one chunk, the thread pool already reads
   * the next, so decoding overlaps the kernel running the program. A chunk is
   * valid only during its call (its buffer is reused two chunks later).
   */
  async forEachChunk(fn: (chunk: Buffer) => void): Promise<void> {
    return this.#forEachChunk("forEachChunk()", fn);
  }

  /**
   * `reuse`: the two buffers come from, and go back to, the kept ones
   * (read-buffers.ts), for a consumer whose `fn` keeps nothing of a chunk.
   */
  async #forEachChunk(
    name: string,
    fn: (chunk: Buffer) => void,
    { segment = 0, reuse = false } = {},
  ): Promise<void> {
    const release = this.#claim(name);
    // Only the consumer that holds the reader sets how its reads are made.
    this.#segment = segment;
    try {
      if (this.#eof) return;
      const size = this.chunkSize;
      const take = reuse ? chunkBuffer : ownedBuffer;
      const buffers = [take(size), take(size)] as const;
      let turn = 0;
      // With records (segment > 0) the first trips ask for less: decoding the
      // first chunk then overlaps the kernel producing the rest, where one
      // whole-chunk trip would leave all of the decoding until after the
      // kernel is done (10,000 tasks are one 1 MiB trip). Doubling keeps the
      // trips few for large outputs.
      let want = segment > 0 ? Math.min(size, FIRST_TRIP_SEGMENTS * segment) : size;
      let n = await this.#readOnce(buffers[0], 0, want);
      while (n > 0) {
        const current = buffers[turn]!;
        turn ^= 1;
        want = Math.min(size, want * 2);
        const next = this.#readOnce(buffers[turn]!, 0, want);
        try {
          fn(current.subarray(0, n));
        } catch (err) {
          // The read in flight still owns a buffer: settle it before leaving.
          await next.catch(() => 0);
          throw err;
        }
        n = await next;
      }
      // Both reads have returned: the buffers are free.
      if (reuse) keepChunkBuffers(buffers);
      this.#atEof();
    } finally {
      this.#segment = 0;
      release();
      this.close();
    }
  }

  /** readAll() without the thread pool, for scripts. Blocks the event loop. */
  readAllSync(options: ReadAllOptions = {}): Buffer {
    return this.#readAllSync("readAllSync()", options);
  }

  #readAllSync(name: string, options: ReadAllOptions, allocate?: (size: number) => Buffer): Buffer {
    const release = this.#claim(name);
    try {
      if (this.#eof) return Buffer.alloc(0);
      const out = new ReadAllOutput(this.chunkSize, options, allocate);
      while (out.took(this.#readOnceSync(out.target(), out.offset, out.length)));
      this.#atEof();
      return out.result();
    } finally {
      release();
    }
  }

  /** The whole output as UTF-8 text. */
  async text(): Promise<string> {
    return (await this.#readAll("text()", {})).toString("utf8");
  }

  textSync(): string {
    return this.#readAllSync("textSync()", {}).toString("utf8");
  }

  /** Lines of text output, without their "\n"; a last unterminated line is included. */
  async *lines(): AsyncGenerator<string, void, undefined> {
    const release = this.#claim("lines()");
    const decoder = new TextDecoder("utf-8");
    let pending = "";
    try {
      for await (const chunk of this.#chunks()) {
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
      release();
      this.close();
    }
  }

  /** Fixed-size records decoded one at a time as chunks arrive. */
  async *records<T>(decoder: Decoder<T>): AsyncGenerator<T, void, undefined> {
    const { size, read } = checkDecoder(decoder);
    const release = this.#claim("records()");
    let carry: Buffer = Buffer.alloc(0) as Buffer;
    try {
      for await (const chunk of this.#chunks()) {
        const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
        const whole = data.length - (data.length % size);
        const view = new DataView(data.buffer, data.byteOffset, data.length);
        for (let off = 0; off < whole; off += size) yield read(view, off);
        carry = data.subarray(whole);
      }
      if (carry.length > 0) throw trailingBytes(carry.length, size);
    } finally {
      release();
      this.close();
    }
  }

  /**
   * All records. Each chunk is decoded while the next is read (forEachChunk),
   * so the output is never held whole; a record cut by a chunk boundary is
   * carried over. Decoders must copy what they keep: the chunk buffers are
   * reused by later chunks (the package's own decoders, e.g. the layout of a
   * built-in, also have them reused by later calls).
   */
  async readRecords<T>(decoder: Decoder<T>): Promise<T[]> {
    const { size, read } = checkDecoder(decoder);
    const out: T[] = [];
    const splitter = new RecordSplitter(size);
    const take = (bytes: Uint8Array, from: number, to: number) => {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let off = from; off < to; off += size) out.push(read(view, off));
    };
    await this.#forEachChunk("readRecords()", (chunk) => splitter.push(chunk, take), {
      segment: seqSegment(size),
      reuse: this.#reusesBuffersFor(decoder),
    });
    if (splitter.pending > 0) throw trailingBytes(splitter.pending, size);
    return out;
  }

  /** All records, read on this thread into one buffer and then decoded. */
  readRecordsSync<T>(decoder: Decoder<T>): T[] {
    checkDecoder(decoder);
    if (!this.#reusesBuffersFor(decoder)) {
      return decodeRecords(this.#readAllSync("readRecordsSync()", {}), decoder);
    }
    const kept = outputBuffer();
    const bytes = this.#readAllSync("readRecordsSync()", kept ? { into: kept } : {}, ownedBuffer);
    const records = decodeRecords(bytes, decoder);
    keepOutputBuffer(bytes);
    return records;
  }

  /**
   * Whether reads for `decoder` use kept buffers (read-buffers.ts): only for
   * the package's own decoders and the kernel's fds. A caller's decoder or io
   * would see them, and with them other calls' records.
   */
  #reusesBuffersFor(decoder: unknown): boolean {
    return isTrusted(this.#io) && isTrusted(decoder);
  }

  /**
   * A Node Readable of the chunks; it has the reader to itself until it ends
   * (other reads are refused), and destroying it closes the fd.
   */
  stream(): Readable {
    const release = this.#claim("stream()");
    // node:stream on first use: a reader that never streams skips its ~2.5 ms load.
    const { Readable } = process.getBuiltinModule("node:stream") as typeof import("node:stream");
    const stream = new Readable({
      highWaterMark: this.chunkSize,
      read: () => {
        this.#readChunk().then(
          (chunk) => stream.push(chunk),
          (err: Error) => stream.destroy(err),
        );
      },
      destroy: (err, callback) => {
        release();
        this.close();
        callback(err);
      },
    });
    return stream;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    const release = this.#claim("for await");
    try {
      yield* this.#chunks();
    } finally {
      release();
      this.close();
    }
  }

  #releaseFd(): void {
    if (this.#fdReleased) return;
    this.#fdReleased = true;
    finalizer.unregister(this.#fds);
    try {
      this.#fds.closeAll();
    } catch {
      // Nothing useful to do: the fd is gone either way.
    }
    this.#released();
  }

  /**
   * Closes the public fd now and the fd reads use once no read(2) uses it (a
   * read in flight returns first; reads queued behind it are refused).
   * Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#scratch = undefined;
    if (this.#signal && this.#onAbort) removeListener.call(this.#signal, "abort", this.#onAbort);
    try {
      this.#fds.closeShown();
    } catch {
      // the public fd is left to whoever holds it now
    }
    if (this.#ioPending === 0) this.#releaseFd();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

const MAX_SIZE_HINT = 1 << 30;

/**
 * The smallest seq buffer of a bpf iterator (bpf_seq_read: 8 pages of at
 * least 4 KiB). A read(2) asking for n bytes of records of a fixed size is
 * filled until it holds n or more, so asking for whole records that fit this
 * buffer gets exactly that many bytes until the output ends.
 */
const SEQ_BUFFER_BYTES = 8 * 4096;

/** Seq buffers the first trip of readRecords() asks for (see #forEachChunk). */
const FIRST_TRIP_SEGMENTS = 4;

/** readv(2) buffer size for records of `size` bytes: 0 when no two fit a seq buffer. */
function seqSegment(size: number): number {
  const records = Math.floor(SEQ_BUFFER_BYTES / size);
  return records >= 2 ? records * size : 0;
}

/** `length` bytes of `buf` at `offset` as adjacent buffers of `segment` bytes (the rest left out). */
function segments(buf: Uint8Array, offset: number, length: number, segment: number): Uint8Array[] {
  const count = Math.floor(length / segment);
  const out = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) {
    out[i] = buf.subarray(offset + i * segment, offset + (i + 1) * segment);
  }
  return out;
}

function checkSizeHint(sizeHint: unknown): number | undefined {
  if (sizeHint !== undefined && (!Number.isInteger(sizeHint) || (sizeHint as number) < 0)) {
    throw new RangeError(`sizeHint must be a non-negative integer, got ${String(sizeHint)}`);
  }
  return sizeHint as number | undefined;
}

/**
 * The growing output of readAll() and readAllSync(), shared so the async and
 * the sync loop are the same steps: `target()` says where the next read goes
 * (`offset`, `length`), `took(n)` records what it brought and says whether
 * to read again, `result()` is the output. `allocate` makes its buffers.
 */
class ReadAllOutput {
  #buf: Buffer;
  #used = 0;
  /** A read aside, when a given buffer is full (see target()). */
  #aside: Buffer | null = null;
  readonly #chunkSize: number;
  readonly #into: boolean;
  readonly #allocate: (size: number) => Buffer;
  /** options.recordSize, checked; 0 when not given. */
  readonly recordSize: number;
  offset = 0;
  length = 0;

  constructor(
    chunkSize: number,
    options: ReadAllOptions,
    allocate: (size: number) => Buffer = Buffer.allocUnsafe,
  ) {
    this.#buf = startBuffer(chunkSize, options, allocate); // checks the options first
    this.recordSize = checkRecordSize(options.recordSize);
    this.#chunkSize = chunkSize;
    this.#into = options.into !== undefined;
    this.#allocate = allocate;
  }

  target(): Buffer {
    const buf = this.#buf;
    const used = this.#used;
    if (this.#into && buf.length === used) {
      // A given buffer, full: one read aside tells the end (the usual
      // case: nothing more) from an output that needs a bigger buffer.
      const aside = Buffer.allocUnsafe(Math.min(this.#chunkSize, 1 << 16));
      this.#aside = aside;
      this.offset = 0;
      this.length = aside.length;
      return aside;
    }
    // A given buffer is filled to its end (shorter reads) before it is left.
    if (!this.#into && buf.length - used < this.#chunkSize) {
      this.#buf = grow(buf, used, this.#chunkSize, this.#allocate);
    }
    this.offset = used;
    this.length = Math.min(this.#chunkSize, this.#buf.length - used);
    return this.#buf;
  }

  took(n: number): boolean {
    if (n === 0) return false;
    const aside = this.#aside;
    if (aside !== null) {
      this.#aside = null;
      this.#buf = grow(this.#buf, this.#used, this.#chunkSize + n, this.#allocate);
      aside.copy(this.#buf, this.#used, 0, n);
    }
    this.#used += n;
    return true;
  }

  result(): Buffer {
    return this.#into ? this.#buf.subarray(0, this.#used) : fitted(this.#buf, this.#used);
  }
}

function checkRecordSize(size: unknown): number {
  if (size === undefined) return 0;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > MAX_SIZE_HINT) {
    throw new RangeError(`recordSize must be a positive integer, got ${String(size)}`);
  }
  return size;
}

/** `options.into` as a Buffer (the same memory), else a new buffer sized by the hint. */
function startBuffer(
  chunkSize: number,
  options: ReadAllOptions,
  allocate: (size: number) => Buffer,
): Buffer {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("readAll options must be an object");
  }
  const into = options.into;
  if (into !== undefined && !(into instanceof Uint8Array)) {
    throw new TypeError(`into must be a Uint8Array, got ${typeof into}`);
  }
  const sizeHint = checkSizeHint(options.sizeHint);
  if (into === undefined) {
    // Room for the hinted output plus one chunk, so the final (EOF) read needs no growth.
    const hinted = sizeHint ? Math.min(sizeHint, MAX_SIZE_HINT) + chunkSize : 0;
    return allocate(Math.max(chunkSize, 4096, hinted));
  }
  return Buffer.from(into.buffer, into.byteOffset, into.byteLength);
}

/** The used part; copied out when it is a small part of a large buffer (a hint far too big). */
function fitted(buf: Buffer, used: number): Buffer {
  if (buf.length > 1 << 20 && used < buf.length / 4) return Buffer.from(buf.subarray(0, used));
  return buf.subarray(0, used);
}

function grow(buf: Buffer, used: number, need: number, allocate: (size: number) => Buffer): Buffer {
  const next = allocate(Math.max(buf.length * 2, used + need));
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

/** The decoder's record size and in-place reader (decoderAt), checked before any read. */
function checkDecoder<T>(decoder: Decoder<T>): {
  size: number;
  read: (view: DataView, offset: number) => T;
} {
  if (typeof decoder !== "object" || decoder === null || typeof decoder.decode !== "function") {
    throw new TypeError("decoder must have a size and a decode(bytes, offset) method");
  }
  const size = decoder.size;
  if (!Number.isInteger(size) || size <= 0) {
    throw new RangeError(`decoder.size must be a positive integer, got ${String(size)}`);
  }
  return { size, read: decoderAt(decoder) };
}

function trailingBytes(extra: number, size: number): IteratorError {
  return new IteratorError(
    `iterator output ends with ${extra} bytes that do not make a whole ${size}-byte record`,
  );
}

export function decodeRecords<T>(data: Uint8Array, decoder: Decoder<T>): T[] {
  const { size, read } = checkDecoder(decoder);
  if (!(data instanceof Uint8Array)) throw new TypeError("data must be a Uint8Array");
  if (data.length % size !== 0) throw trailingBytes(data.length % size, size);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Array<T>(data.length / size);
  for (let i = 0, off = 0; off < data.length; i++, off += size) out[i] = read(view, off);
  return out;
}
