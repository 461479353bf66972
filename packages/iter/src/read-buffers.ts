// Read buffers that readRecords() and readRecordsSync() keep from one call to
// the next, for this package's own decoders (the built-ins'): their records
// copy what they keep, so once decoded the bytes are seen by no one. A buffer
// kept warm spares the next read its allocation and the page faults of the
// kernel's first writes: at 10,000 tasks a fresh 1 MB buffer made the read
// ~20 % slower than the C reader of the same iterator, a reused one as fast.
// A caller's decoder (or io) gets fresh buffers, as before: it may keep views,
// and it must never see another call's records.
//
// Every buffer here is its own ArrayBuffer, marked untransferable: code that
// sees a view of one (a decoder, a forEachChunk callback) cannot detach it
// while the kernel writes into it or before it is reused. Code that patches
// JavaScript's built-ins (DataView.prototype...) runs inside our decoders and
// could keep a kept buffer: code in the same process is trusted, as it must be.

import { markUntransferable } from "@ts-ebpf/syscall/internal";

/** Smaller buffers are cheap to allocate: not worth keeping. */
const MIN_KEPT_BYTES = 64 * 1024;
/** The largest whole output kept: a dump of a million fds should not pin 40 MB for good. */
const MAX_KEPT_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Chunk buffers kept: the two of one readRecords(), and one more. */
const MAX_KEPT_CHUNKS = 3;
/** The largest chunk buffer kept (chunkSize can be up to 1 GiB): four times the built-ins' 1 MiB. */
const MAX_KEPT_CHUNK_BYTES = 4 * 1024 * 1024;

/** Decoders and file operations of this package that may be handed kept buffers (see trust). */
const trusted = new WeakSet<object>();

/**
 * Lets readRecords() use kept buffers with `what`: a decoder of this package,
 * whose records copy what they keep, or file operations that only read into
 * them (nodeFdIo; tests' own). Frozen, so no one can swap their code for some
 * that keeps a view. Both the decoder and the io must be trusted.
 */
export function trust<T extends object>(what: T): T {
  if (!Object.isFrozen(what)) throw new TypeError("only a frozen decoder or io can be trusted");
  trusted.add(what);
  return what;
}

export function isTrusted(what: unknown): boolean {
  return typeof what === "object" && what !== null && trusted.has(what);
}

/** The ArrayBuffers ownedBuffer() made: the only ones ever kept. */
const owned = new WeakSet<ArrayBufferLike>();

/**
 * A new buffer of its own ArrayBuffer (never a slice of Node's shared pool,
 * whatever Buffer.poolSize is), untransferable.
 */
export function ownedBuffer(size: number): Buffer {
  const buf = Buffer.allocUnsafeSlow(size);
  markUntransferable(buf.buffer);
  owned.add(buf.buffer);
  return buf;
}

const keptChunks: Buffer[] = [];

/**
 * A buffer of exactly `size` bytes for read(2) while caller code holds a view
 * of another (readRecords decodes one chunk while the thread pool fills the
 * next): a kept one, else new.
 */
export function chunkBuffer(size: number): Buffer {
  const i = keptChunks.findIndex((b) => b.length === size);
  if (i === -1) return ownedBuffer(size);
  const [buf] = keptChunks.splice(i, 1);
  return buf!;
}

/**
 * Takes back chunk buffers no read(2) is using any more (never one whose
 * read may still run: an aborted read is left to finish into its own).
 */
export function keepChunkBuffers(buffers: readonly Buffer[]): void {
  for (const buf of buffers) {
    const whole = buf.buffer;
    if (!owned.has(whole) || buf.byteOffset !== 0 || buf.length !== whole.byteLength) continue;
    if (buf.length < MIN_KEPT_BYTES || buf.length > MAX_KEPT_CHUNK_BYTES) continue;
    if (keptChunks.includes(buf)) continue;
    // The oldest goes: readers of another chunk size take over the pool.
    if (keptChunks.length >= MAX_KEPT_CHUNKS) keptChunks.shift();
    keptChunks.push(buf);
  }
}

let keptOutput: Buffer | undefined;

/** The kept whole-output buffer, now the caller's until keepOutputBuffer(); undefined when none. */
export function outputBuffer(): Buffer | undefined {
  const buf = keptOutput;
  keptOutput = undefined;
  return buf;
}

/**
 * Takes back the buffer behind a decoded whole output, if ownedBuffer() made
 * it and it is worth keeping: not too small, not too large, and larger than
 * the one kept (when outputBuffer() was given none, another call has it).
 */
export function keepOutputBuffer(bytes: Uint8Array): void {
  const whole = bytes.buffer;
  const size = whole.byteLength;
  if (!owned.has(whole) || size < MIN_KEPT_BYTES || size > MAX_KEPT_OUTPUT_BYTES) return;
  if (keptOutput !== undefined && keptOutput.length >= size) return;
  keptOutput = Buffer.from(whole, 0, size);
}

/** Drops every kept buffer (closeBuiltinPrograms(), tests). */
export function dropKeptBuffers(): void {
  keptChunks.length = 0;
  keptOutput = undefined;
}
