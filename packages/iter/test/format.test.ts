import { describe, expect, it } from "vitest";
import { formatTable, jsonLine } from "../src/cli/format.js";

describe("formatTable", () => {
  it("aligns columns, right-aligns numbers, marks missing cells", () => {
    const out = formatTable(
      [
        { pid: 1, comm: "init", note: undefined },
        { pid: 12345, comm: "a", note: "x\ty" },
      ],
      [{ key: "pid", right: true }, { key: "comm" }, { key: "note", header: "NOTE" }],
    );
    expect(out).toBe("  PID  COMM  NOTE\n    1  init  -\n12345  a     x y\n");
  });
});

describe("jsonLine", () => {
  it("writes one line, bigints as numbers when exact", () => {
    expect(jsonLine({ a: 1n, b: 1n << 60n, c: new Uint8Array([1, 255]) })).toBe(
      '{"a":1,"b":"1152921504606846976","c":"01ff"}\n',
    );
  });
});
