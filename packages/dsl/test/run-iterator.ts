// The kernel tests' way to run an iterator program once: load, attach, open one
// fd, read it to EOF, and close all three (also when a step throws).
import { closeSync, readSync } from "node:fs";
import { loadProgram, openIteratorFd, type ProgramSpec } from "@ts-ebpf/syscall";
import { attachIterator } from "@ts-ebpf/syscall/internal";

/** Everything an iterator fd gives until EOF, as text. */
export function readIteratorFd(fd: number, encoding: BufferEncoding = "utf8"): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) {
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString(encoding);
}

/** Loads `spec`, attaches it as an iterator, reads one session's output; closes everything. */
export function runIterator(spec: ProgramSpec, encoding: BufferEncoding = "utf8"): string {
  using program = loadProgram(spec);
  using link = attachIterator(program);
  const fd = openIteratorFd(link);
  try {
    return readIteratorFd(fd, encoding);
  } finally {
    closeSync(fd);
  }
}
