import { describe, expect, it } from "vitest";
import { assembleLive, hexSlots, liveUnavailable } from "../src/components/LiveAssembler/assembler";

describe("the live cell's computation", () => {
  it("has everything it needs from @ts-ebpf/dsl", () => {
    expect(liveUnavailable()).toBeUndefined();
  });

  it("encodes assembler text and disassembles the bytes", () => {
    const result = assembleLive("r0 = 7\nexit");
    expect(result.byteLength).toBe(16);
    expect(result.hex).toEqual(["  0: b7 00 00 00 07 00 00 00", "  1: 95 00 00 00 00 00 00 00"]);
    expect(result.disassembly).toMatch(/r0 = (0x)?7\n\s*exit/);
  });

  it("recovers labels and reports errors with the DSL's own message", () => {
    const loop = assembleLive("r1 = 3\nloop:\nr1 -= 1\nif r1 != 0 goto loop\nexit");
    expect(loop.disassembly).toMatch(/goto L\d+/);
    expect(() => assembleLive("r0 +== 1")).toThrow(/line 1/);
  });

  it("prints 8 bytes per slot", () => {
    expect(hexSlots(new Uint8Array(16).fill(255))).toEqual([
      "  0: ff ff ff ff ff ff ff ff",
      "  1: ff ff ff ff ff ff ff ff",
    ]);
  });
});
