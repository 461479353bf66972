// Public entry points the hostile-argument suite (test-hostile) found taking
// what they should refuse (issue 13): the IteratorLink constructor took any
// object as its link (a fake { fd: 0 } it then owned and closed), and
// openPinned let node's fs errors through as SystemErrors, and nodeFdIo.close
// handed a Symbol to closeSync, which aborts node.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Link } from "@ts-ebpf/syscall";
import { describe, expect, it } from "vitest";
import { IteratorReadError } from "../src/errors.js";
import { IteratorLink, openPinned } from "../src/link.js";

describe("new IteratorLink()", () => {
  it("is a TypeError: links come from createIterator() and IteratorLink.fromPinned()", () => {
    let closed = 0;
    const fake = { fd: 0, closed: false, close: () => closed++ } as unknown as Link;
    expect(() => new IteratorLink(fake, "udp")).toThrow(TypeError);
    expect(() => new IteratorLink(fake, "udp")).toThrow(/createIterator\(\)/);
    expect(() => new IteratorLink(undefined as unknown as Link, "task")).toThrow(TypeError);
    expect(closed).toBe(0);
  });
});

describe("openPinned() of what is no pinned iterator", () => {
  const dir = mkdtempSync(join(tmpdir(), "iter-open-pinned-"));

  it("open(2)'s errors are IteratorReadErrors naming the path and the errno", () => {
    const cases: Array<[string, string]> = [
      [join(dir, "missing"), "ENOENT"],
      [join(dir, "x".repeat(300)), "ENAMETOOLONG"],
    ];
    writeFileSync(join(dir, "file"), "");
    cases.push([join(dir, "file", "below"), "ENOTDIR"]);
    for (const [path, errno] of cases) {
      let err: unknown;
      try {
        openPinned(path);
      } catch (e) {
        err = e;
      }
      expect(err, path).toBeInstanceOf(IteratorReadError);
      expect((err as IteratorReadError).errno).toBe(errno);
      expect((err as Error).message).toContain(`cannot open ${path}`);
    }
  });

  it("a directory or a file outside bpffs is an IteratorError, not read", () => {
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "plain"), "not an iterator");
    expect(() => openPinned(join(dir, "sub"))).toThrow(/not a pinned iterator/);
    expect(() => openPinned(join(dir, "plain"))).toThrow(/not on a bpffs mount/);
  });
});

describe("nodeFdIo checks its arguments before node does", () => {
  it("a Symbol, a string or a fraction as the fd, or a range past the buffer: TypeError or RangeError, no abort", () => {
    // Node 20's closeSync(Symbol()) aborts the process: the calls run in a child node.
    const dist = new URL("../dist/index.js", import.meta.url).href;
    const script = `
      import { nodeFdIo } from ${JSON.stringify(dist)};
      const errors = [];
      const attempt = async (f) => { try { await f(); errors.push("none"); } catch (e) { errors.push(e.name); } };
      await attempt(() => nodeFdIo.close(Symbol("hostile")));
      await attempt(() => nodeFdIo.close("3"));
      await attempt(() => nodeFdIo.close(2.5));
      await attempt(() => nodeFdIo.readSync(Symbol("hostile"), new Uint8Array(4), 0, 4));
      await attempt(() => nodeFdIo.read(Symbol("hostile"), new Uint8Array(4), 0, 4));
      await attempt(() => nodeFdIo.readSync(0, new Uint8Array(4), Symbol("hostile"), 4));
      await attempt(() => nodeFdIo.read(0, new Uint8Array(4), 2, 4));
      await attempt(() => nodeFdIo.readSync(0, "buffer", 0, 4));
      console.log(JSON.stringify(errors));
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      encoding: "utf8",
    });
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout.trim())).toEqual([
      "TypeError",
      "TypeError",
      "TypeError",
      "TypeError",
      "TypeError",
      "TypeError",
      "RangeError",
      "TypeError",
    ]);
  });
});
