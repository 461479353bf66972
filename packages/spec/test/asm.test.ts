// The instruction model: encode/decode round trips, classification, and the
// loader's encoding with references resolved (encodeProgram).
import { describe, expect, it } from "vitest";
import {
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  checkProgram,
  classify,
  decode,
  encode,
  encodeProgram,
  type Instruction,
  InstructionError,
  LD_IMM64,
  LdImm64Src,
  type MapReference,
  mapReferences,
  slotsOf,
} from "../src/index.js";

const insn = (opcode: number, dst: number, src: number, off: number, imm: number): Instruction => ({
  opcode,
  dst,
  src,
  off,
  imm,
});
const mov = (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm);
const exit = insn(0x95, 0, 0, 0, 0);
const ldImm64 = (dst: number, src = 0, imm = 0, imm2 = 0): Instruction => ({
  ...insn(LD_IMM64, dst, src, 0, imm),
  imm2,
});
const noMaps = { mapFd: (): number => 3 };

describe("encode / decode", () => {
  it("round trip: fields, signed offsets and immediates, ld_imm64 as one instruction of two slots", () => {
    const program: Instruction[] = [
      mov(1, -1),
      insn(0x79, 2, 10, -8, 0), // r2 = *(u64 *)(r10 - 8)
      ldImm64(3, 0, 0x12345678, -2),
      insn(0x15, 1, 0, 0x7fff, -0x80000000), // if r1 == imm goto +0x7fff
      exit,
    ];
    const bytes = encode(program);
    expect(bytes.length).toBe(6 * 8);
    expect(bytes[0]).toBe(0xb7);
    expect(bytes[9]).toBe(0xa2); // src r10, dst r2
    expect(decode(bytes)).toEqual(program);
    expect(program.map(slotsOf)).toEqual([1, 1, 2, 1, 1]);
  });

  it("decode refuses bytes that are not instructions", () => {
    expect(() => decode(new Uint8Array(7))).toThrow(InstructionError);
    expect(() => decode(encode([ldImm64(1)]).subarray(0, 8))).toThrow(/truncated/);
    const dirty = encode([ldImm64(1)]);
    dirty[8] = 0x95;
    expect(() => decode(dirty)).toThrow(/second slot/);
  });

  it("classify names what an instruction is, or why it is not one", () => {
    expect(classify(mov(1, 5))).toEqual({
      kind: "alu",
      wide: true,
      op: "mov",
      dst: 1,
      src: { imm: 5 },
    });
    expect(() => classify(insn(0xb7, 11, 0, 0, 0))).toThrow(InstructionError);
    expect(() => classify(insn(0xb7, 1, 0, 0, 2 ** 31))).toThrow(/out of range/);
    expect(() => classify(insn(0x95, 0, 0, 1, 0))).toThrow(/reserved field off/);
  });
});

describe("encodeProgram: references resolved, once, on a copy", () => {
  it("a map fd in imm of map fd / map value instructions; the value offset stays in imm2", () => {
    const program: Instruction[] = [
      { ...ldImm64(1, LdImm64Src.MAP_FD), map: { name: "a" } },
      { ...ldImm64(2, LdImm64Src.MAP_VALUE, 0, 12), map: { name: "b" } },
      exit,
    ];
    const out = encodeProgram(program, {
      mapFd: (ref: MapReference) => ("name" in ref && ref.name === "a" ? 7 : 9),
    });
    const v = new DataView(out.buffer);
    expect(out[1]).toBe(0x01 | (BPF_PSEUDO_MAP_FD << 4));
    expect(v.getInt32(4, true)).toBe(7);
    expect(out[17]).toBe(0x02 | (BPF_PSEUDO_MAP_VALUE << 4));
    expect(v.getInt32(20, true)).toBe(9);
    expect(v.getInt32(28, true)).toBe(12);
    // The spec's instructions are not changed.
    expect(program[0]).toEqual({ ...ldImm64(1, LdImm64Src.MAP_FD), map: { name: "a" } });
  });

  it("a map by handle goes to the resolver as it is", () => {
    const handle = { fd: 42 };
    const seen: MapReference[] = [];
    encodeProgram([{ ...ldImm64(1, LdImm64Src.MAP_FD), map: { handle } }, exit], {
      mapFd: (ref) => {
        seen.push(ref);
        return 5;
      },
    });
    expect(seen).toEqual([{ handle }]);
  });

  it("refuses references that do not fit or cannot be resolved, naming the instruction", () => {
    const refused = (program: Instruction[], resolver = noMaps): InstructionError => {
      try {
        encodeProgram(program, resolver);
      } catch (e) {
        expect(e).toBeInstanceOf(InstructionError);
        return e as InstructionError;
      }
      throw new Error("not refused");
    };
    // A map reference on an instruction that is not an ld_imm64 map fd / value.
    const onMov = refused([mov(0, 0), { ...exit, map: { name: "a" } }]);
    expect(onMov.index).toBe(1);
    expect(onMov.reason).toMatch(/only ld_imm64 map fd \/ map value take a map reference/);
    expect(refused([{ ...ldImm64(1), map: { name: "a" } }, exit]).reason).toMatch(/map reference/);
    // A string constant never placed in read-only data.
    expect(refused([{ ...ldImm64(1, LdImm64Src.MAP_VALUE), str: "hi" }, exit]).reason).toMatch(
      /string constant not placed/,
    );
    // A CO-RE relocation not applied.
    const core = refused([{ ...mov(0, 4), core: { typeId: 3, access: "0:1", kind: 0 } }, exit]);
    expect(core.reason).toMatch(/CO-RE relocation \(type 3, access 0:1\) not applied/);
    // A negative map value offset, and a resolver answer that is not an fd.
    const value = { ...ldImm64(1, LdImm64Src.MAP_VALUE, 0, -4), map: { name: "a" } };
    expect(refused([value, exit]).reason).toMatch(/offset -4 is negative/);
    const fd = { ...ldImm64(1, LdImm64Src.MAP_FD), map: { name: "a" } };
    expect(refused([fd, exit], { mapFd: () => -1 }).reason).toMatch(/not an fd/);
    // An invalid instruction: the reason is classify()'s, the text its raw fields.
    const bad = refused([insn(0xb7, 12, 0, 0, 0)]);
    expect(bad.instruction).toBe(".insn opcode=0xb7 dst=12 src=0 off=0 imm=0");
  });

  it("checkProgram refuses what encodeProgram would, before anything is resolved", () => {
    expect(checkProgram([{ ...ldImm64(1, LdImm64Src.MAP_FD), map: { name: "a" } }, exit])).toBe(3);
    expect(() => checkProgram([{ ...exit, map: { name: "a" } }])).toThrow(InstructionError);
    expect(() =>
      checkProgram([{ ...mov(0, 1), core: { typeId: 1, access: "0", kind: 0 } }]),
    ).toThrow(/not applied/);
    expect(() => checkProgram([undefined as never])).toThrow(TypeError);
  });

  it("mapReferences lists where the program refers to maps, by slot", () => {
    const program: Instruction[] = [
      { ...ldImm64(1, LdImm64Src.MAP_FD), map: { name: "a" } },
      mov(0, 0),
      { ...ldImm64(2, LdImm64Src.MAP_VALUE, 0, 12), map: { handle: { fd: 9 } } },
      exit,
    ];
    expect(mapReferences(program)).toEqual([
      { kind: "map_fd", insn: 0, map: { name: "a" } },
      { kind: "map_value", insn: 3, map: { handle: { fd: 9 } }, offset: 12 },
    ]);
    expect(() => mapReferences("x" as never)).toThrow(TypeError);
  });

  it("errors of the resolver pass through; non-instructions are TypeErrors", () => {
    const fd = { ...ldImm64(1, LdImm64Src.MAP_FD), map: { name: "nope" } };
    const resolver = {
      mapFd: (): number => {
        throw new RangeError("no map nope");
      },
    };
    expect(() => encodeProgram([fd, exit], resolver)).toThrow(/no map nope/);
    expect(() => encodeProgram([null as never], noMaps)).toThrow(TypeError);
    expect(() => encodeProgram("x" as never, noMaps)).toThrow(TypeError);
  });
});
