// Public entry points the hostile-argument suite (test-hostile) found taking
// what they should refuse (issue 13): the IteratorLink constructor took any
// object as its link (a fake { fd: 0 } it then owned and closed), and
// openPinned let node's fs errors through as SystemErrors.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
