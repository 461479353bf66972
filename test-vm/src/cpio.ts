// A minimal writer of "newc" cpio archives, the format the kernel unpacks as
// an initramfs. Entries are collected first, then written in one pass; parent
// directories are added implicitly so the archive unpacks in order.
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { posix } from "node:path";

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

type Content =
  | { kind: "dir" }
  | { kind: "file"; data: Buffer | string }
  | { kind: "symlink"; target: string };

interface Entry {
  mode: number;
  content: Content;
}

export class CpioArchive {
  readonly #entries = new Map<string, Entry>();

  /** Adds a directory and its parents. */
  dir(path: string, mode = 0o755): this {
    const name = normalize(path);
    if (name === "" || this.#entries.has(name)) return this;
    this.dir(posix.dirname(name));
    this.#entries.set(name, { mode: S_IFDIR | mode, content: { kind: "dir" } });
    return this;
  }

  /** Adds a regular file; `data` is the bytes, or a host path read at write time. */
  file(path: string, data: Buffer | { hostPath: string }, mode = 0o644): this {
    const name = normalize(path);
    this.dir(posix.dirname(name));
    const content: Content = Buffer.isBuffer(data)
      ? { kind: "file", data }
      : { kind: "file", data: data.hostPath };
    this.#entries.set(name, { mode: S_IFREG | mode, content });
    return this;
  }

  symlink(path: string, target: string): this {
    const name = normalize(path);
    this.dir(posix.dirname(name));
    this.#entries.set(name, { mode: S_IFLNK | 0o777, content: { kind: "symlink", target } });
    return this;
  }

  has(path: string): boolean {
    return this.#entries.has(normalize(path));
  }

  get paths(): string[] {
    return [...this.#entries.keys()];
  }

  /** Writes the archive to `outPath`; returns its size in bytes. */
  write(outPath: string): number {
    const fd = openSync(outPath, "w");
    let offset = 0;
    const put = (buf: Buffer) => {
      let done = 0;
      while (done < buf.length) done += writeSync(fd, buf, done);
      offset += buf.length;
    };
    const pad = () => {
      const rem = offset % 4;
      if (rem !== 0) put(Buffer.alloc(4 - rem));
    };
    try {
      let ino = 1;
      for (const [name, entry] of this.#entries) {
        let body: Buffer;
        switch (entry.content.kind) {
          case "dir":
            body = Buffer.alloc(0);
            break;
          case "symlink":
            body = Buffer.from(entry.content.target);
            break;
          case "file": {
            const d = entry.content.data;
            body = typeof d === "string" ? readFileSync(d) : d;
            break;
          }
        }
        const nlink = entry.content.kind === "dir" ? 2 : 1;
        put(header(ino++, entry.mode, nlink, body.length, name));
        pad();
        put(body);
        pad();
      }
      put(header(0, 0, 1, 0, "TRAILER!!!"));
      pad();
    } finally {
      closeSync(fd);
    }
    return offset;
  }
}

function normalize(path: string): string {
  const n = posix.normalize(`/${path}`).replace(/^\/+/, "").replace(/\/+$/, "");
  return n === "." ? "" : n;
}

function header(ino: number, mode: number, nlink: number, size: number, name: string): Buffer {
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, nameBytes.length, 0];
  return Buffer.concat([Buffer.from(`070701${fields.map(hex).join("")}`, "ascii"), nameBytes]);
}
