import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Instruction, Item, JumpTarget, Reg } from "../src/index.js";
import * as d from "../src/index.js";

const reg = fc.integer({ min: 0, max: 10 }).map((n) => `r${n}` as Reg);
const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const i16 = fc.integer({ min: -(2 ** 15), max: 2 ** 15 - 1 });
const regOrImm = fc.oneof(reg, i32);
const aluNames = [
  "add",
  "sub",
  "mul",
  "div",
  "sdiv",
  "mod",
  "smod",
  "or",
  "and",
  "lsh",
  "rsh",
  "arsh",
  "xor",
  "mov",
] as const;
const jmpNames = [
  "jeq",
  "jne",
  "jgt",
  "jge",
  "jlt",
  "jle",
  "jsgt",
  "jsge",
  "jslt",
  "jsle",
  "jset",
] as const;
const memSize = fc.constantFrom("u8", "u16", "u32", "u64" as const);
const bits = fc.constantFrom(16, 32, 64 as const);
const mapName = fc.constantFrom(".rodata", "counts", "my_map", "weird name");
const helperNames = Object.keys(d.HelperId);
const aluFns: Record<string, (a: Reg, b: Reg | number) => Instruction> = {
  add: d.add,
  add32: d.add32,
  sub: d.sub,
  sub32: d.sub32,
  mul: d.mul,
  mul32: d.mul32,
  div: d.div,
  div32: d.div32,
  sdiv: d.sdiv,
  sdiv32: d.sdiv32,
  mod: d.mod,
  mod32: d.mod32,
  smod: d.smod,
  smod32: d.smod32,
  or: d.or,
  or32: d.or32,
  and: d.and,
  and32: d.and32,
  lsh: d.lsh,
  lsh32: d.lsh32,
  rsh: d.rsh,
  rsh32: d.rsh32,
  arsh: d.arsh,
  arsh32: d.arsh32,
  xor: d.xor,
  xor32: d.xor32,
  mov: d.mov,
  mov32: d.mov32,
};
const jmpFns: Record<string, (a: Reg, b: Reg | number, t: JumpTarget) => Instruction> = {
  jeq: d.jeq,
  jeq32: d.jeq32,
  jne: d.jne,
  jne32: d.jne32,
  jgt: d.jgt,
  jgt32: d.jgt32,
  jge: d.jge,
  jge32: d.jge32,
  jlt: d.jlt,
  jlt32: d.jlt32,
  jle: d.jle,
  jle32: d.jle32,
  jsgt: d.jsgt,
  jsgt32: d.jsgt32,
  jsge: d.jsge,
  jsge32: d.jsge32,
  jslt: d.jslt,
  jslt32: d.jslt32,
  jsle: d.jsle,
  jsle32: d.jsle32,
  jset: d.jset,
  jset32: d.jset32,
};

/** Random valid instructions; `target` gives jump targets (labels or offsets). */
function instruction(target: fc.Arbitrary<JumpTarget>): fc.Arbitrary<Instruction> {
  const alu = fc
    .tuple(fc.constantFrom(...aluNames), fc.boolean(), reg, regOrImm)
    .map(([op, wide, dst, src]) => {
      return aluFns[wide ? op : `${op}32`]!(dst, src);
    });
  const jmp = fc
    .tuple(fc.constantFrom(...jmpNames), fc.boolean(), reg, regOrImm, target)
    .map(([op, wide, dst, src, t]) => {
      return jmpFns[wide ? op : `${op}32`]!(dst, src, t);
    });
  const atomicOps = [
    "add",
    "or",
    "and",
    "xor",
    "fetch_add",
    "fetch_or",
    "fetch_and",
    "fetch_xor",
    "xchg",
    "cmpxchg",
  ] as const;
  return fc.oneof(
    alu,
    jmp,
    fc.tuple(fc.boolean(), reg).map(([w, r]) => (w ? d.neg(r) : d.neg32(r))),
    fc.tuple(reg, reg, fc.constantFrom(8, 16, 32 as const)).map(([a, b, n]) => d.movsx(a, b, n)),
    fc.tuple(reg, reg, fc.constantFrom(8, 16 as const)).map(([a, b, n]) => d.movsx32(a, b, n)),
    fc.tuple(fc.constantFrom(d.le, d.be, d.bswap), reg, bits).map(([f, r, n]) => f(r, n)),
    target.map(d.ja),
    target.map(d.gotol),
    fc.constantFrom(...helperNames).map((h) => d.call(h)),
    fc.integer({ min: 212, max: 2 ** 31 - 1 }).map((id) => d.call(id)),
    fc.tuple(fc.nat(), i16).map(([id, off]) => d.callKfunc(id % 2 ** 31, off)),
    target.map(d.callSubprog),
    fc.constant(d.exit()),
    fc
      .tuple(reg, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }))
      .map(([r, v]) => d.ldImm64(r, v)),
    fc.tuple(reg, mapName).map(([r, m]) => d.ldMapFd(r, m)),
    fc.tuple(reg, mapName, i32).map(([r, m, o]) => d.ldMapValue(r, m, o)),
    fc.tuple(reg, fc.nat()).map(([r, fd]) => d.ldPseudo(r, d.LdImm64Src.MAP_FD, fd)),
    fc.tuple(reg, fc.nat(), i32).map(([r, fd, o]) => d.ldPseudo(r, d.LdImm64Src.MAP_VALUE, fd, o)),
    fc.tuple(reg, fc.nat()).map(([r, i]) => d.ldPseudo(r, d.LdImm64Src.MAP_IDX, i)),
    fc
      .tuple(reg, fc.nat(), i32)
      .map(([r, i, o]) => d.ldPseudo(r, d.LdImm64Src.MAP_IDX_VALUE, i, o)),
    fc.tuple(reg, i32).map(([r, id]) => d.ldBtfId(r, id)),
    fc
      .tuple(reg, fc.string({ unit: "binary", maxLength: 12 }), i32)
      .map(([r, t, o]) => d.ldStr(r, t, o)),
    fc.tuple(reg, target).map(([r, t]) => d.ldFunc(r, t)),
    fc.tuple(memSize, reg, reg, i16).map(([s, a, b, o]) => d.ldx(s, a, b, o)),
    fc
      .tuple(fc.constantFrom("s8", "s16", "s32" as const), reg, reg, i16)
      .map(([s, a, b, o]) => d.ldxsx(s, a, b, o)),
    fc.tuple(memSize, reg, i16, i32).map(([s, a, o, v]) => d.st(s, a, o, v)),
    fc.tuple(memSize, reg, i16, reg).map(([s, a, o, b]) => d.stx(s, a, o, b)),
    fc
      .tuple(fc.constantFrom(...atomicOps), fc.constantFrom("u32", "u64" as const), reg, i16, reg)
      .map(([op, s, a, o, b]) => d.atomic(op, s, a, o, b)),
    fc
      .tuple(fc.constantFrom("load_acquire", "store_release" as const), memSize, reg, i16, reg)
      .map(([op, s, a, o, b]) => d.atomic(op, s, a, o, b)),
    fc
      .tuple(
        memSize.filter((s) => s !== "u64"),
        i32,
      )
      .map(([s, imm]) => ({
        opcode: 0x20 | d.SIZE_CODES[s],
        dst: 0,
        src: 0,
        off: 0,
        imm,
      })),
    fc
      .tuple(
        memSize.filter((s) => s !== "u64"),
        fc.integer({ min: 0, max: 10 }),
        i32,
      )
      .map(([s, src, imm]) => ({
        opcode: 0x40 | d.SIZE_CODES[s],
        dst: 0,
        src,
        off: 0,
        imm,
      })),
  );
}

/** A listing whose every instruction has a label and whose jumps target them. */
const program = fc
  .array(fc.nat(), { minLength: 1, maxLength: 40 })
  .chain((seeds) => {
    const n = seeds.length;
    const target = fc.integer({ min: 0, max: n }).map((i) => `l${i}`);
    return fc.array(instruction(target), { minLength: n, maxLength: n });
  })
  .map((insns): Item[] => [
    ...insns.flatMap((insn, i) => [d.label(`l${i}`), insn]),
    d.label(`l${insns.length}`),
    d.exit(),
  ]);

describe("text round trips (property-based)", () => {
  it("parse(print(x)) equals x for single instructions with numeric offsets", () => {
    fc.assert(
      fc.property(instruction(i16), (insn) => {
        const text = d.printInstruction(insn);
        expect(d.parse(text)).toEqual([insn]);
      }),
      { numRuns: 3000 },
    );
  });

  it("parse(print(listing)) equals the listing and assembles to the same bytes", () => {
    fc.assert(
      fc.property(program, (items) => {
        const parsed = d.parse(d.print(items));
        expect(parsed).toEqual(items);
        expect(d.assemble(parsed).bytes).toEqual(d.assemble(items).bytes);
      }),
      { numRuns: 500 },
    );
  });

  it("disassemble(bytes) recovers labels and re-assembles to the same bytes", () => {
    fc.assert(
      fc.property(program, (items) => {
        const { bytes } = d.assemble(items);
        const listing = d.disassemble(bytes);
        expect(d.assemble(d.parse(listing)).bytes).toEqual(bytes);
        expect(d.assemble(d.disassembleItems(bytes)).bytes).toEqual(bytes);
        const numeric = d.disassemble(bytes, { labels: false, slots: true });
        expect(d.assemble(d.parse(numeric)).bytes).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });
});
