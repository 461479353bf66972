import { assemble, disassemble } from "@ts-ebpf/dsl";
import { describe, expect, it } from "vitest";
import { writeRecordAndExit } from "../src/index.js";

describe("writeRecordAndExit", () => {
  it("writes the record at r10+base to the seq_file in r7, then returns 0 at out", () => {
    const { instructions, labels } = assemble(writeRecordAndExit(-24, 20, "emit"));
    expect([...labels]).toEqual([
      ["emit", 0],
      ["out", 5],
    ]);
    expect(
      disassemble(instructions)
        .split("\n")
        .map((line) => line.trim()),
    ).toEqual([
      "r1 = r7",
      "r2 = r10",
      "r2 += -0x18",
      "r3 = 0x14",
      "call bpf_seq_write",
      "r0 = 0x0",
      "exit",
    ]);
  });

  it("refuses a base or size outside the stack, and a write label that is 'out'", () => {
    expect(() => writeRecordAndExit(0, 8)).toThrow(RangeError);
    expect(() => writeRecordAndExit(-520, 8)).toThrow(RangeError);
    expect(() => writeRecordAndExit(-8, 16)).toThrow(RangeError);
    expect(() => writeRecordAndExit(-8, 0)).toThrow(RangeError);
    expect(() => writeRecordAndExit(-8, 8, "out")).toThrow(TypeError);
  });
});
