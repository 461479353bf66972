// A scripted iterator fd as the kernel serves one (kernel/bpf/bpf_iter.c,
// bpf_seq_read): each read(2) fills one 32 KiB seq buffer with whole records
// until it holds what was asked for or the output ends (a read asking for
// less than a record gets part of it, the rest comes next); readv(2) reads
// buffer after buffer and stops after a short one. For the reader tests.
import { trust } from "../src/read-buffers.js";
import type { FdIo } from "../src/reader.js";
import { fakeFdTable } from "./fake-fds.js";

const SEQ_BUFFER_BYTES = 32768;

export interface IteratorIoOptions {
  /** readv calls wait until release() (to hold a read in flight). */
  hold?: boolean;
  /**
   * Trusted as the kernel's fds are (nodeFdIo): the reader may hand it the
   * buffers it keeps. Default true.
   */
  trusted?: boolean;
}

/**
 * `data`, records of `size` bytes, served through an FdIo that counts its
 * calls (`trips`), records every buffer it was given (`seen`, by the first
 * buffer of a readv) and how many buffers each readv had (`readvSegments`).
 */
export function iteratorIo(
  data: Uint8Array,
  size: number,
  { hold = false, trusted = true }: IteratorIoOptions = {},
) {
  const table = fakeFdTable(1000);
  let pos = 0;
  const trips = { read: 0, readv: 0, kernelReads: 0 };
  const seen: ArrayBufferLike[] = [];
  const readvSegments: number[] = [];
  const waiting: Array<() => void> = [];
  const kernelRead = (buf: Uint8Array, off: number, len: number): number => {
    trips.kernelReads++;
    let fill = 0;
    while (pos + fill < data.length && fill < len && fill + size <= SEQ_BUFFER_BYTES) fill += size;
    const n = Math.min(fill, len, data.length - pos);
    buf.set(data.subarray(pos, pos + n), off);
    pos += n;
    return n;
  };
  const io: FdIo = Object.freeze({
    read: async (_fd: number, buf: Uint8Array, off: number, len: number) => {
      trips.read++;
      seen.push(buf.buffer);
      return kernelRead(buf, off, len);
    },
    readv: async (_fd: number, buffers: readonly Uint8Array[]) => {
      trips.readv++;
      seen.push(buffers[0]!.buffer);
      readvSegments.push(buffers.length);
      if (hold) await new Promise<void>((resolve) => waiting.push(resolve));
      let total = 0;
      for (const b of buffers) {
        const n = kernelRead(b, 0, b.length);
        total += n;
        if (n !== b.length) break;
      }
      return total;
    },
    readSync: (_fd: number, buf: Uint8Array, off: number, len: number) => {
      seen.push(buf.buffer);
      return kernelRead(buf, off, len);
    },
    close: (fd: number) => table.closed(fd),
    dup: table.dup,
    sameFile: table.sameFile,
  });
  if (trusted) trust(io);
  return {
    io,
    trips,
    seen,
    readvSegments,
    /** Lets every held readv go on. */
    release: () => {
      for (const resolve of waiting.splice(0)) resolve();
    },
    /** readv calls being held. */
    waiting: () => waiting.length,
  };
}
