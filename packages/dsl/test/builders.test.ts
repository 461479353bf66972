import { describe, expect, it } from "vitest";
import {
  add,
  add32,
  arsh32,
  assemble,
  atomic,
  be,
  bswap,
  call,
  callKfunc,
  callSubprog,
  DslError,
  decode,
  encode,
  exit,
  gotol,
  ja,
  jeq,
  jne,
  jsgt32,
  label,
  ldBtfId,
  ldImm64,
  ldMapFd,
  ldMapValue,
  ldx,
  ldxsx,
  le,
  mov,
  mov32,
  movsx,
  movsx32,
  neg,
  printInstruction,
  sdiv,
  sdiv32,
  smod,
  st,
  stx,
} from "../src/index.js";

const hexOf = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

describe("encoding (bytes as clang -mcpu=v4 emits them)", () => {
  const cases: [string, ReturnType<typeof mov>, string][] = [
    ["w0 = w1", mov32("r0", "r1"), "bc 10 00 00 00 00 00 00"],
    ["w1 s>>= 0x2", arsh32("r1", 2), "c4 01 00 00 02 00 00 00"],
    ["r2 = *(u64 *)(r1 + 0x18)", ldx("u64", "r2", "r1", 0x18), "79 12 18 00 00 00 00 00"],
    ["r3 = *(s32 *)(r2 + 0x0)", ldxsx("s32", "r3", "r2"), "81 23 00 00 00 00 00 00"],
    [
      "lock *(u64 *)(r6 + 0x0) |= r1",
      atomic("or", "u64", "r6", 0, "r1"),
      "db 16 00 00 40 00 00 00",
    ],
    ["r0 = (s8)r2", movsx("r0", "r2", 8), "bf 20 08 00 00 00 00 00"],
    ["w8 = (s8)w2", movsx32("r8", "r2", 8), "bc 28 08 00 00 00 00 00"],
    [
      "r5 = atomic_fetch_xor((u64 *)(r6 + 0x0), r5)",
      atomic("fetch_xor", "u64", "r6", 0, "r5"),
      "db 56 00 00 a1 00 00 00",
    ],
    ["*(u64 *)(r10 - 0x30) = r0", stx("u64", "r10", -0x30, "r0"), "7b 0a d0 ff 00 00 00 00"],
    [
      "r0 = cmpxchg_64(r6 + 0x0, r0, r1)",
      atomic("cmpxchg", "u64", "r6", 0, "r1"),
      "db 16 00 00 f1 00 00 00",
    ],
    ["r3 = xchg_64(r6 + 0x0, r3)", atomic("xchg", "u64", "r6", 0, "r3"), "db 36 00 00 e1 00 00 00"],
    ["if w7 s> 0x8 goto +0x9", jsgt32("r7", 8, 9), "66 07 09 00 08 00 00 00"],
    ["call bpf_seq_write", call("seq_write"), "85 00 00 00 7f 00 00 00"],
    ["call bpf_seq_write", call("bpf_seq_write"), "85 00 00 00 7f 00 00 00"],
    ["r2 = bswap32 r2", bswap("r2", 32), "d7 02 00 00 20 00 00 00"],
    ["r0 = be16 r0", be("r0", 16), "dc 00 00 00 10 00 00 00"],
    ["r0 = le32 r0", le("r0", 32), "d4 00 00 00 20 00 00 00"],
    ["w3 s/= w1", sdiv32("r3", "r1"), "3c 13 01 00 00 00 00 00"],
    ["r1 s/= 0x3", sdiv("r1", 3), "37 01 01 00 03 00 00 00"],
    ["r1 s%= r2", smod("r1", "r2"), "9f 21 01 00 00 00 00 00"],
    ["*(u32 *)(r6 + 0x4) = -0x5", st("u32", "r6", 4, -5), "62 06 04 00 fb ff ff ff"],
    ["r0 = -r0", neg("r0"), "87 00 00 00 00 00 00 00"],
    ["gotol +0x1", gotol(1), "06 00 00 00 01 00 00 00"],
    ["goto -0x1", ja(-1), "05 00 ff ff 00 00 00 00"],
    ["w1 = -0x1", mov32("r1", 0xffffffff), "b4 01 00 00 ff ff ff ff"],
    ["exit", exit(), "95 00 00 00 00 00 00 00"],
    [
      "r1 = 0x123456789abcdef0 ll",
      ldImm64("r1", 0x123456789abcdef0n),
      "18 01 00 00 f0 de bc 9a 00 00 00 00 78 56 34 12",
    ],
    ["r1 = -0x1 ll", ldImm64("r1", -1), "18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff"],
    [
      "r1 = -0x1 ll",
      ldImm64("r1", 0xffffffffffffffffn),
      "18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff",
    ],
    ["call kfunc#77", callKfunc(77), "85 20 00 00 4d 00 00 00"],
    ["r2 = btf[id:9]", ldBtfId("r2", 9), "18 32 00 00 09 00 00 00 00 00 00 00 00 00 00 00"],
  ];
  for (const [text, insn, bytes] of cases) {
    it(text, () => {
      expect(printInstruction(insn)).toBe(text);
      const encoded = encode([insn]);
      expect(hexOf(encoded)).toBe(bytes);
      expect(decode(encoded)).toEqual([insn]);
    });
  }
});

describe("labels and jumps", () => {
  it("resolves forward and backward jumps, subprogram calls and gotol", () => {
    const out = assemble([
      label("top"),
      mov("r0", 0),
      jeq("r1", 0, "out"),
      ldImm64("r2", 1n << 40n),
      callSubprog("sub"),
      jne("r0", "r2", "top"),
      gotol("out"),
      label("out"),
      exit(),
      label("sub"),
      mov("r0", 1),
      exit(),
    ]);
    expect(out.labels.get("out")).toBe(7);
    expect(out.instructions[1]!.off).toBe(5); // slot 1 -> 7
    expect(out.instructions[3]!.imm).toBe(3); // slot 4 -> 8
    expect(out.instructions[4]!.off).toBe(-6); // slot 5 -> 0
    expect(out.instructions[5]!.imm).toBe(0); // slot 6 -> 7
    expect(out.bytes.length).toBe(10 * 8);
  });

  it("collects map relocations by name and handle", () => {
    const handle = { fd: 42 };
    const out = assemble([ldMapFd("r1", "counts"), ldMapValue("r2", { handle }, 16), exit()]);
    expect(out.relocations).toEqual([
      { kind: "map_fd", insn: 0, map: { name: "counts" } },
      { kind: "map_value", insn: 2, map: { handle }, offset: 16 },
    ]);
  });
});

describe("DslError", () => {
  const err = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(DslError);
      return (e as DslError).message;
    }
    throw new Error("no error");
  };
  it("names invalid registers", () => {
    expect(err(() => mov("r11" as "r1", 1))).toMatch(/invalid destination register "r11"/);
    expect(err(() => add("r1", "r01" as "r1"))).toMatch(/invalid source register/);
  });
  it("rejects out-of-range immediates and offsets", () => {
    expect(err(() => mov("r1", 2 ** 31))).toMatch(/out of range.*ldImm64/);
    expect(err(() => add32("r1", 2 ** 32))).toMatch(/out of range/);
    expect(err(() => ldx("u64", "r1", "r2", 40000))).toMatch(/offset 40000 out of range/);
    expect(err(() => ldImm64("r1", 2n ** 64n))).toMatch(/out of range/);
    expect(err(() => ldImm64("r1", 1.5))).toMatch(/1.5 is not an integer/);
    // Found by the hostile-argument suite: a string reached BigInt() and threw a SyntaxError.
    expect(() => ldImm64("r1", "bind" as unknown as bigint)).toThrow(TypeError);
    expect(() => ldImm64("r1", "bind" as unknown as bigint)).toThrow(
      /bigint or a number, not string/,
    );
  });
  it("rejects unknown helpers", () => {
    expect(err(() => call("seq_writ"))).toMatch(/unknown helper "seq_writ"/);
  });
  it("names position for unknown and duplicate labels", () => {
    expect(err(() => assemble([mov("r0", 0), ja("nowhere"), exit()]))).toBe(
      'insn 1 `goto nowhere`: unknown label "nowhere"',
    );
    expect(err(() => assemble([label("a"), mov("r0", 0), label("a"), exit()]))).toMatch(
      /insn 1: duplicate label "a"/,
    );
  });
  it("checks jump distance (16-bit off; gotol for farther)", () => {
    const body = Array.from({ length: 40000 }, () => mov("r0", 0));
    expect(err(() => assemble([ja("end"), ...body, label("end"), exit()]))).toMatch(
      /insn 0 `goto end`: jump out of range: offset 40000 does not fit in 16 bits/,
    );
    expect(assemble([gotol("end"), ...body, label("end"), exit()]).instructions[0]!.imm).toBe(
      40000,
    );
    expect(err(() => assemble([ja(5), exit()]))).toMatch(/outside the program/);
    expect(err(() => assemble([ja(0), ldImm64("r0", 1), ja(-2), exit()]))).toMatch(
      /middle of ld_imm64/,
    );
  });
  it("rejects raw instructions with bad fields at their position", () => {
    expect(err(() => assemble([exit(), { opcode: 0xff, dst: 0, src: 0, off: 0, imm: 0 }]))).toMatch(
      /^insn 1 `.insn opcode=0xff.*`: invalid opcode 0xff/,
    );
    expect(err(() => assemble([{ opcode: 0xbf, dst: 1, src: 12, off: 0, imm: 0 }]))).toMatch(
      /invalid register r12/,
    );
  });
});
