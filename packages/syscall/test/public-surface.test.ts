// What the public index may not export (attack review of issue 13): a handle
// API that attaches an iterator program with any parameters. It cannot check
// the program's target (that needs BTF names), so a task program given
// { mapFd } took the map's fd number as a tid. @ts-ebpf/iter's createIterator
// is the checked public path; attachIterator is internal.
import { describe, expect, it } from "vitest";
import * as publicApi from "../src/index.js";
import * as internalApi from "../src/internal.js";

describe("the public surface", () => {
  it("has no unchecked iterator-link creator; it lives in ./internal", () => {
    const names = Object.keys(publicApi);
    expect(names).not.toContain("attachIterator");
    expect(names).not.toContain("createIteratorLink");
    expect(typeof internalApi.attachIterator).toBe("function");
  });
});
