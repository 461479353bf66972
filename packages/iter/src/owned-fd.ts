// fds this package owns or borrows (package-internal: not exported from the
// index). As in @ts-ebpf/syscall's handles, whose fds.ts owns the rules
// (fdAbove2 for a caller's fd number, ownedAbove2 for an fd of ours): every
// fd a reader owns is ≥ 3, and a caller's fd number is checked before
// anything uses it.
import { closeSync } from "node:fs";
import type { ReaderOptions } from "./reader.js";

/** Closes an fd this package owns, when nothing more can be done about a failure. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already gone
  }
}

/**
 * The fd an internal caller is building an IteratorReader around (readerOwning),
 * while it does: the reader reads from it directly. Any other construction
 * (new IteratorReader(fd) by a caller who keeps knowing `fd`) reads from a dup.
 */
let adopting: number | undefined;

/**
 * Whether the reader being constructed around `fd` is built by readerOwning();
 * the first constructor to ask takes the answer (a second one gets false).
 */
export function claimAdoption(fd: number): boolean {
  if (adopting === undefined || adopting !== fd) return false;
  adopting = undefined;
  return true;
}

/**
 * Builds a reader around an fd only this package knows (from open(2) of a
 * pin, or BPF_ITER_CREATE): on success the reader owns it, on failure it is
 * closed.
 */
export function readerOwning<T>(fd: number, build: (fd: number) => T): T {
  const outer = adopting;
  adopting = fd;
  try {
    return build(fd);
  } catch (err) {
    closeQuietly(fd);
    throw err;
  } finally {
    adopting = outer;
  }
}

/** Per reader: resolves once the reader has closed the fd it reads from. */
const released = new WeakMap<object, Promise<void>>();

/** Called by a reader as it is built: the function it calls once its fd is closed. */
export function trackRelease(reader: object): () => void {
  let resolve!: () => void;
  released.set(
    reader,
    new Promise<void>((r) => {
      resolve = r;
    }),
  );
  return resolve;
}

/**
 * Runs `consume` on a reader this package made and never hands out (a
 * built-in, mapElems, IteratorLink.readAll), and settles only once the
 * reader's fd is closed: an abort rejects a read at once while its read(2)
 * still runs on the thread pool, and the caller must not be left with an fd
 * it cannot reach (or see it closed during its next call).
 */
export async function consumeOwnReader<R extends { close(): void }, T>(
  reader: R,
  consume: (reader: R) => Promise<T>,
): Promise<T> {
  try {
    return await consume(reader);
  } finally {
    reader.close();
    await released.get(reader);
  }
}

/**
 * The reader options, each read once, before open() or openPinned() makes an
 * fd: no getter of the caller's runs while an fd only this package knows is
 * open (it could close or reuse the number).
 */
export function readerOptionsSnapshot(options: unknown): ReaderOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) {
    throw new TypeError("reader options must be an object");
  }
  const { chunkSize, signal, target, io } = options as ReaderOptions;
  const snapshot: ReaderOptions = {};
  if (chunkSize !== undefined) snapshot.chunkSize = chunkSize;
  if (signal !== undefined) snapshot.signal = signal;
  if (target !== undefined) snapshot.target = target;
  if (io !== undefined) snapshot.io = io;
  return snapshot;
}
