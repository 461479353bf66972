import { describe, expect, it } from "vitest";
import { AttributeError, parseCellAttributes, splitInfoString } from "../src/attributes.js";

describe("splitInfoString", () => {
  it("keeps a regular expression with spaces in one word", () => {
    expect(splitInfoString("ts hidden expect=/a b\\/c [/ ]x/m timeout=5")).toEqual([
      "ts",
      "hidden",
      "expect=/a b\\/c [/ ]x/m",
      "timeout=5",
    ]);
  });

  it("rejects an unterminated pattern", () => {
    expect(() => splitInfoString("ts expect=/abc")).toThrow(AttributeError);
  });
});

describe("parseCellAttributes", () => {
  it("reads every attribute", () => {
    const attrs = parseCellAttributes([
      "hidden",
      "throws=/EPERM/i",
      "expect=/^ok$/m",
      "timeout=250",
    ]);
    expect(attrs.hidden).toBe(true);
    expect(attrs.throws).toEqual(/EPERM/i);
    expect(attrs.expect).toEqual(/^ok$/m);
    expect(attrs.timeoutMs).toBe(250);
  });

  it("defaults to a visible cell that must not throw", () => {
    expect(parseCellAttributes([])).toEqual({
      hidden: false,
      harness: false,
      throws: false,
      needs: [],
    });
    expect(parseCellAttributes(["harness"]).harness).toBe(true);
    expect(() => parseCellAttributes(["harness=1"])).toThrow(/no value/);
    expect(parseCellAttributes(["throws"]).throws).toBe(true);
  });

  it("reads the iterator targets a cell needs", () => {
    expect(parseCellAttributes(["needs=bpf_map_elem,sockmap"]).needs).toEqual([
      "bpf_map_elem",
      "sockmap",
    ]);
    expect(() => parseCellAttributes(["needs"])).toThrow(/needs takes iterator target names/);
    expect(() => parseCellAttributes(["needs=Bad-Name"])).toThrow(AttributeError);
  });

  it("rejects unknown words, so a typo cannot switch a check off", () => {
    expect(() => parseCellAttributes(["expcet=/x/"])).toThrow(/unknown cell attribute/);
    expect(() => parseCellAttributes(["expect"])).toThrow(AttributeError);
    expect(() => parseCellAttributes(["expect=/x/q"])).toThrow(/flags/);
    expect(() => parseCellAttributes(["expect=/(/"])).toThrow(AttributeError);
    expect(() => parseCellAttributes(["timeout=-1"])).toThrow(/timeout/);
    expect(() => parseCellAttributes(["hidden=yes"])).toThrow(/no value/);
  });
});
