// Issue 13, findings 2 and 10 for iter (without a kernel): a reader reads from
// a private fd, so its public `fd` closed behind its back and reused by
// another file neither redirects its reads nor gets that file closed; fds 0-2
// are refused wherever iter takes an fd number.
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Btf } from "@ts-ebpf/btf";
import { afterAll, describe, expect, it } from "vitest";
import { loadedProgramTarget } from "../src/link.js";
import { checkParams } from "../src/params.js";
import { IteratorReader } from "../src/reader.js";

const dir = mkdtempSync(join(tmpdir(), "iter-fd-ownership-"));
let n = 0;
function file(content: string): string {
  const path = join(dir, `f${n++}`);
  writeFileSync(path, content);
  return path;
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens `path` until open(2) gives the number `fd` (free again, lower free
 * numbers taken first), as another part of the application would.
 */
function openAt(path: string, fd: number): number {
  const extra: number[] = [];
  try {
    for (let i = 0; i < 10_000; i++) {
      const got = openSync(path, "r");
      if (got === fd) return got;
      extra.push(got);
      if (got > fd) break;
    }
    throw new Error(`fd ${fd} was not handed out again`);
  } finally {
    for (const e of extra) closeSync(e);
  }
}

const secret = file("the other file's contents\n");
const opened: number[] = [];
afterAll(() => {
  for (const fd of opened) if (isOpen(fd)) closeSync(fd);
});

describe("a reader's public fd closed behind its back (finding 2)", () => {
  it("the number reused by another file: the reader still reads its own file, and close() leaves the other file open", async () => {
    const content = "the reader's own contents\n".repeat(100);
    const fd = openSync(file(content), "r");
    const r = new IteratorReader(fd, { chunkSize: 64 });
    expect(r.fd).toBe(fd); // the caller's fd is the public one
    closeSync(r.fd); // behind the reader's back
    const other = openAt(secret, fd);
    opened.push(other);
    expect(await r.text()).toBe(content);
    r.close();
    expect(isOpen(other)).toBe(true);
    expect(readFileSync(other, "utf8")).toBe("the other file's contents\n");
  });

  it("read again, fd gives a fresh fd of the reader's own file; close() closes that one", async () => {
    const fd = openSync(file("abc"), "r");
    const r = new IteratorReader(fd);
    closeSync(r.fd);
    const other = openAt(secret, fd);
    opened.push(other);
    const fresh = r.fd;
    expect(fresh).not.toBe(other);
    expect(fresh).toBeGreaterThanOrEqual(3);
    expect(r.fd).toBe(fresh); // still its own: not made again
    expect(r.readAllSync().toString()).toBe("abc");
    expect(isOpen(fresh)).toBe(false);
    expect(isOpen(other)).toBe(true);
  });

  it("closing the public fd before any read changes nothing for the reads (sync and async)", async () => {
    const r1 = new IteratorReader(openSync(file("sync read"), "r"));
    closeSync(r1.fd);
    expect(r1.readAllSync().toString()).toBe("sync read");
    const r2 = new IteratorReader(openSync(file("async read"), "r"), { chunkSize: 3 });
    closeSync(r2.fd);
    const chunks: string[] = [];
    for await (const c of r2) chunks.push(c.toString());
    expect(chunks.join("")).toBe("async read");
  });
});

describe("fds 0-2 (finding 10)", () => {
  it("new IteratorReader(0 | 1 | 2) is a RangeError, and the fd is left alone", () => {
    for (const fd of [0, 1, 2]) {
      expect(() => new IteratorReader(fd)).toThrow(RangeError);
      expect(() => new IteratorReader(fd)).toThrow(/3 or more/);
    }
  });

  it("iterator parameters with fd 0-2 are a RangeError (cgroupFd 0 silently meant the root cgroup)", () => {
    expect(() => checkParams("cgroup", { cgroupFd: 0 })).toThrow(RangeError);
    expect(() => checkParams("cgroup", { cgroupFd: 2 })).toThrow(/cgroupFd is fd 2/);
    expect(() => checkParams("task", { pidFd: 1 })).toThrow(RangeError);
    expect(() => checkParams("bpf_map_elem", { map: 0 })).toThrow(RangeError);
    expect(() => checkParams("bpf_map_elem", { map: { fd: 1 } })).toThrow(/map\.fd is fd 1/);
    expect(checkParams("cgroup", { cgroupFd: 3 })).toMatchObject({ cgroupFd: 3 });
  });

  it("a program given as { fd } with fd 0-2 is a RangeError before anything is asked of it", () => {
    for (const fd of [0, 1, 2]) {
      // No BTF is read either: the fd is refused first.
      expect(() => loadedProgramTarget({ fd }, {} as Btf)).toThrow(RangeError);
    }
  });
});
