// Buffers a read(2) in flight fills cannot be detached by the callbacks that
// see them (attack review of issue 13, chunk-detach.mjs): forEachChunk and
// readRecords hand caller code one buffer while the thread pool reads into
// the other; a transfer would let GC free memory the kernel is writing into.
import { loadProgram } from "@ts-ebpf/syscall";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { createIterator } from "../src/index.js";
import { ksymSeqNumProgram } from "./programs.js";

/** Tries to transfer (detach) the ArrayBuffer under `chunk`; whether it still holds its bytes. */
function survivesTransfer(chunk: Uint8Array): boolean {
  const before = chunk.byteLength;
  try {
    structuredClone(chunk.buffer, { transfer: [chunk.buffer as ArrayBuffer] });
  } catch {
    // refused outright: as good as kept
  }
  return chunk.byteLength === before && before > 0;
}

describeKernel("callbacks cannot detach the buffers of reads in flight", () => {
  it("forEachChunk: every chunk's buffer stays attached and the pass completes", async () => {
    using prog = loadProgram(ksymSeqNumProgram());
    using link = createIterator(prog, "ksym");
    const kept: boolean[] = [];
    let bytes = 0;
    await link.open({ chunkSize: 4096 }).forEachChunk((chunk) => {
      bytes += chunk.length;
      kept.push(survivesTransfer(chunk));
    });
    expect(kept.length).toBeGreaterThan(3);
    expect(kept.every(Boolean)).toBe(true);
    expect(bytes % 8).toBe(0);
  });

  it("readRecords: a decoder transferring its bytes neither detaches them nor breaks the pass", async () => {
    using prog = loadProgram(ksymSeqNumProgram());
    using link = createIterator(prog, "ksym");
    const kept: boolean[] = [];
    const records = await link.open({ chunkSize: 4096 }).readRecords({
      size: 8,
      decode: (bytes, offset) => {
        kept.push(survivesTransfer(bytes));
        return offset;
      },
    });
    expect(records.length).toBeGreaterThan(100);
    expect(kept.every(Boolean)).toBe(true);
  });
});
