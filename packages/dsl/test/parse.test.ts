import { describe, expect, it } from "vitest";
import {
  asm,
  assemble,
  call,
  disassemble,
  exit,
  ja,
  jeq,
  label,
  ldMapValue,
  ldx,
  mov,
  ParseError,
  parse,
  print,
} from "../src/index.js";

describe("parse", () => {
  it("reads the verifier log's syntax", () => {
    const items = parse(`0: (79) r7 = *(u64 *)(r1 +8)
1: (15) if r7 == 0x0 goto pc+1
2: (85) call bpf_seq_write#127
3: (b7) r0 = 0
4: (95) exit`);
    expect(items).toEqual([
      ldx("u64", "r7", "r1", 8),
      jeq("r7", 0, 1),
      call(127),
      mov("r0", 0),
      exit(),
    ]);
  });

  it("reads llvm-objdump lines with their position and bytes", () => {
    const items = parse(
      `       0:\t79 12 18 00 00 00 00 00\tr2 = *(u64 *)(r1 + 0x18)
      40:\t05 00 02 00 00 00 00 00\tgoto +0x2 <prog+0x158>`.replace(/ <.*>/, ""),
    );
    expect(items).toEqual([ldx("u64", "r2", "r1", 0x18), ja(2)]);
  });

  it("takes labels, comments and subprogram calls by label", () => {
    const items = parse(`
      start: r0 = 0 ; comment
      call helper_sub // calls the subprogram, not a helper
      goto start
    helper_sub:
      exit`);
    expect(print(items)).toBe(
      ["start:", "  r0 = 0x0", "  call helper_sub", "  goto start", "helper_sub:", "  exit"].join(
        "\n",
      ),
    );
  });

  it("interpolates numbers and map references in asm``", () => {
    const rodata = { name: ".rodata" };
    const items = asm`
      r1 = ${rodata}[0]+${16}
      r0 = ${-5}
      exit`;
    expect(items).toEqual([ldMapValue("r1", rodata, 16), mov("r0", -5), exit()]);
    expect(assemble(items).relocations).toEqual([
      { kind: "map_value", insn: 0, map: rodata, offset: 16 },
    ]);
  });

  it("gives line and column for malformed lines", () => {
    const cases: [string, number, number, RegExp][] = [
      ["r0 = 0\n  r1 = *(u64 *)(r1 +)", 2, 21, /expected a number/],
      ["r1 = r11", 1, 6, /invalid register r11/],
      ["if r1 == w2 goto +1", 1, 10, /mixed r and w/],
      ["call foo-", 1, 9, /unexpected|expected/],
      ["r1 += 0x100000000", 1, 7, /out of range/],
      ["w1 = *(u99 *)(r1 + 0)", 1, 8, /expected a size/],
      ["r1 = 5 @", 1, 8, /unexpected character "@"/],
      ["\n\nfoo r1", 3, 1, /unknown instruction/],
      ["call bpf_seq_write#126", 1, 20, /has id 127/],
      ["r1 = *(u64 *)(r2 + 40000)", 1, 20, /offset 40000 out of range/],
    ];
    for (const [text, line, column, reason] of cases) {
      let err: unknown;
      try {
        parse(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(ParseError);
      const pe = err as ParseError;
      expect([pe.line, pe.column], text).toEqual([line, column]);
      expect(pe.message, text).toMatch(reason);
    }
  });

  it("disassembles with recovered labels", () => {
    const { bytes } = assemble([
      mov("r0", 0),
      jeq("r1", 0, "out"),
      mov("r0", 1),
      label("out"),
      exit(),
    ]);
    expect(disassemble(bytes)).toBe(
      ["  r0 = 0x0", "  if r1 == 0x0 goto L3", "  r0 = 0x1", "L3:", "  exit"].join("\n"),
    );
    expect(disassemble(bytes, { labels: false, slots: true })).toBe(
      ["0: r0 = 0x0", "1: if r1 == 0x0 goto +0x1", "2: r0 = 0x1", "3: exit"].join("\n"),
    );
  });
});
