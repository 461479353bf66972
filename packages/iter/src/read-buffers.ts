// Read buffers that readRecords() and readRecordsSync() keep from one call to
// the next. Their bytes are decoded into new values (decoders copy what they
// keep) and then dropped, so nothing outside the reader sees them again. A
// buffer kept warm spares the next read its allocation and the page faults of
// the kernel's first writes: at 10,000 tasks a fresh 1 MB buffer made the read
// ~20 % slower than the C reader of the same iterator, a reused one as fast.
//
// Every buffer here is its own ArrayBuffer, marked untransferable: code that
// sees a view of one (a decoder, a forEachChunk callback) cannot detach it
// while the kernel writes into it or before it is reused.

import { markUntransferable } from "@ts-ebpf/syscall/internal";

/** Smaller buffers are cheap to allocate: not worth keeping. */
const MIN_KEPT_BYTES = 64 * 1024;
/** The largest whole output kept: a dump of a million fds should not pin 40 MB for good. */
const MAX_KEPT_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Chunk buffers kept: the two of one readRecords(), and one more. */
const MAX_KEPT_CHUNKS = 3;

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
    if (keptChunks.length >= MAX_KEPT_CHUNKS) return;
    const whole = buf.buffer;
    if (!owned.has(whole) || buf.byteOffset !== 0 || buf.length !== whole.byteLength) continue;
    if (buf.length >= MIN_KEPT_BYTES && !keptChunks.includes(buf)) keptChunks.push(buf);
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

/** Drops every kept buffer (tests, and callers that want the memory back). */
export function dropKeptBuffers(): void {
  keptChunks.length = 0;
  keptOutput = undefined;
}
