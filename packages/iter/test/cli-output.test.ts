// The CLI writes its output with write(2) (cli/format.ts writeAll), not
// process.stdout: everything must arrive through a full non-blocking pipe,
// and a reader that went away must be an EPIPE, not a hang.
import { execFileSync, spawn } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeAll } from "../src/cli/format.js";

const dir = mkdtempSync(join(tmpdir(), "ts-ebpf-cli-output-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A FIFO with a non-blocking write end open (a reader end held open too, until `opened`). */
function fifo(): { path: string; writer: number; opened(): void } {
  const path = join(dir, `fifo-${n++}`);
  execFileSync("mkfifo", [path]);
  // The write end opens without blocking only while a read end is open.
  const holder = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  return { path, writer, opened: () => closeSync(holder) };
}

describe("writeAll", () => {
  it("writes every byte through a non-blocking pipe that fills up (EAGAIN waited on)", async () => {
    const { path, writer, opened } = fifo();
    // `wc -c` drains the pipe in its own process while this thread writes.
    const wc = spawn("wc", ["-c", path], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    wc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => wc.on("exit", resolve));
    // Give wc time to open the FIFO, so the write end is never the only one.
    await new Promise((r) => setTimeout(r, 200));
    opened();
    // 4 MiB: 64 times a pipe's default capacity.
    const bytes = new Uint8Array(4 << 20).fill(0x61);
    writeAll(writer, bytes);
    closeSync(writer);
    expect(await exited).toBe(0);
    expect(Number.parseInt(out.trim(), 10)).toBe(bytes.length);
  });

  it("throws EPIPE when the reader went away", () => {
    const { writer, opened } = fifo();
    opened(); // the only reader closes
    expect(() => writeAll(writer, new Uint8Array(10))).toThrow(
      expect.objectContaining({ code: "EPIPE" }),
    );
    closeSync(writer);
  });

  it("writes nothing for no bytes", () => {
    writeAll(-1, new Uint8Array(0)); // fd -1 would be EBADF if it were written
  });
});
