// CO-RE against a hand-made "kernel" whose task_struct differs from the one
// the object was compiled against: offsets, sizes and existence follow it.
import { type Btf, parseBtf } from "@ts-ebpf/btf";
import { describe, expect, it } from "vitest";
import { describeAccess } from "../src/core.js";
import {
  bindProgramSpec,
  CoreRelocationError,
  CoreReloKind,
  type ElfProgramSpec,
  POISON_HELPER,
  parseBtfExt,
  parseElf,
  resolveCore,
} from "../src/index.js";
import { fixture } from "./fixtures.js";

/**
 * BTF: int (1), int[100] (2), short (3), struct task_struct { int pad[100];
 * short pid:16; <tgid type> tgid; int flags:3 } (4), unsigned int (5),
 * unsigned short (6). `tgidType` is tgid's type id (int by default); `flagsBit`
 * where flags starts (a layout only for the CO-RE calculation may overlap tgid).
 */
function fakeKernel(tgidType = 1, flagsBit = 3267): Btf {
  const strings = [
    "",
    "int",
    "short",
    "task_struct",
    "pad",
    "pid",
    "tgid",
    "flags",
    "__ARRAY_SIZE_TYPE__",
    "unsigned int",
    "unsigned short",
  ];
  const off = new Map<string, number>();
  let len = 0;
  for (const s of strings) {
    off.set(s, len);
    len += s.length + 1;
  }
  const words: number[] = [];
  const type = (name: string, kind: number, vlen: number, sizeOrType: number, kflag = 0) =>
    words.push(off.get(name)!, (kflag << 31) | (kind << 24) | vlen, sizeOrType);
  type("int", 1, 0, 4);
  words.push((1 << 24) | 32); // signed, 32 bits
  type("", 3, 0, 0);
  words.push(1, 1, 100); // int[100]
  type("short", 1, 0, 2);
  words.push((1 << 24) | 16);
  type("task_struct", 4, 4, 412, 1);
  words.push(off.get("pad")!, 2, 0);
  words.push(off.get("pid")!, 3, (16 << 24) | 3200); // kind_flag: bitfield size 16 at bit 3200
  words.push(off.get("tgid")!, tgidType, 3232);
  words.push(off.get("flags")!, 1, (3 << 24) | flagsBit); // 3-bit field at bit 3267
  type("unsigned int", 1, 0, 4);
  words.push(32);
  type("unsigned short", 1, 0, 2);
  words.push(16);
  const types = new Uint8Array(words.length * 4);
  const tv = new DataView(types.buffer);
  words.forEach((w, i) => {
    tv.setUint32(i * 4, w >>> 0, true);
  });
  const str = new TextEncoder().encode(`${strings.join("\0")}\0`);
  const blob = new Uint8Array(24 + types.length + str.length);
  const h = new DataView(blob.buffer);
  h.setUint16(0, 0xeb9f, true);
  blob[2] = 1;
  h.setUint32(4, 24, true);
  h.setUint32(12, types.length, true);
  h.setUint32(16, types.length, true);
  h.setUint32(20, str.length, true);
  blob.set(types, 24);
  blob.set(str, 24 + types.length);
  return parseBtf(blob);
}

function objectBtf(name: "task" | "core_kinds") {
  const elf = parseElf(fixture(name));
  const local = parseBtf(new Uint8Array(elf.contents(elf.section(".BTF")!)));
  const ext = parseBtfExt(elf.contents(elf.section(".BTF.ext")!), local);
  const records = [...ext.coreRelocations.values()].flat();
  return { local, records };
}

describe("CO-RE against another kernel layout", () => {
  const kernel = fakeKernel();

  it("field offsets, sizes, existence and shifts follow the target", () => {
    const { local, records } = objectBtf("core_kinds");
    const find = (access: string, kind: number) =>
      records.find((r) => r.kind === kind && describeAccess(local, r) === access)!;
    const pidOff = find("struct task_struct.pid", CoreReloKind.FIELD_BYTE_OFFSET);
    expect(resolveCore(pidOff, local, kernel).target).toBe(400);
    expect(
      resolveCore(find("struct task_struct.pid", CoreReloKind.FIELD_BYTE_SIZE), local, kernel),
    ).toMatchObject({
      local: 4,
      target: 2,
    });
    expect(
      resolveCore(find("struct task_struct.pid", CoreReloKind.FIELD_EXISTS), local, kernel).target,
    ).toBe(1);
    // The flavor task_struct___flavor matches task_struct by its essential name.
    const flavor = records.find(
      (r) =>
        r.kind === CoreReloKind.FIELD_BYTE_OFFSET &&
        describeAccess(local, r) === "struct task_struct___flavor.tgid",
    )!;
    expect(resolveCore(flavor, local, kernel).target).toBe(404);
    const missing = find("struct task_struct___missing.no_such_field", CoreReloKind.FIELD_EXISTS);
    expect(resolveCore(missing, local, kernel).target).toBe(0);
    const lshift = find("struct task_struct.pid", CoreReloKind.FIELD_LSHIFT_U64);
    const rshift = find("struct task_struct.pid", CoreReloKind.FIELD_RSHIFT_U64);
    // pid is a 16-bit bitfield at byte 400 here: loaded as 2 bytes, shifted 48/48.
    expect(resolveCore(lshift, local, kernel).target).toBe(48);
    expect(resolveCore(rshift, local, kernel).target).toBe(48);
    // Types this kernel lacks: type size cannot resolve (poison), existence is 0.
    const typeSize = records.find((r) => r.kind === CoreReloKind.TYPE_SIZE)!;
    expect(resolveCore(typeSize, local, kernel).target).toBe(412);
    const enumExists = records.find((r) => r.kind === CoreReloKind.ENUMVAL_EXISTS)!;
    expect(resolveCore(enumExists, local, kernel).target).toBe(0);
    const enumValue = records.find((r) => r.kind === CoreReloKind.ENUMVAL_VALUE)!;
    expect(resolveCore(enumValue, local, kernel)).toMatchObject({ target: undefined });
  });
});

// libbpf's relo_core.c rules where it and the compiler disagree, each on a
// hand-made instruction list (the object's types being fakeKernel's too).
describe("CO-RE follows libbpf where the compiler disagrees", () => {
  const LDX_W = 0x61; // r_dst = *(u32 *)(r_src + off)
  const LSH64_K = 0x67; // r_dst <<= imm
  const MOV64_K = 0xb7; // r_dst = imm
  const EXIT = 0x95;
  const TASK_STRUCT = 4;
  const [TGID, FLAGS] = ["0:2", "0:3"];

  function bind(
    insns: { opcode: number; off?: number; imm?: number; access: string; kind: number }[],
    localTypes: Btf,
    kernel: Btf,
  ) {
    const program = {
      name: "my_prog",
      section: "iter/task",
      localTypes,
      instructions: [
        ...insns.map(({ opcode, off = 0, imm = 0, access, kind }) => ({
          opcode,
          dst: 1,
          src: 2,
          off,
          imm,
          core: { typeId: TASK_STRUCT, access, kind },
        })),
        { opcode: EXIT, dst: 0, src: 0, off: 0, imm: 0 },
      ],
    } as unknown as ElfProgramSpec;
    return bindProgramSpec(program, kernel);
  }

  it("a bitfield's byte offset replaces clang's placeholder offset (no local-offset check)", () => {
    // flags:3 at bit 3267 of a 4-byte int: loaded from byte 408; clang may encode anything.
    const bound = bind(
      [{ opcode: LDX_W, off: 411, access: FLAGS, kind: CoreReloKind.FIELD_BYTE_OFFSET }],
      fakeKernel(),
      fakeKernel(),
    );
    expect(bound.poisoned).toEqual([]);
    expect(bound.instructions[0]).toMatchObject({ opcode: LDX_W, off: 408 });
  });

  it("a plain field's offset is still checked against the local layout, naming the program", () => {
    const bind404 = () =>
      bind(
        [{ opcode: LDX_W, off: 403, access: TGID, kind: CoreReloKind.FIELD_BYTE_OFFSET }],
        fakeKernel(),
        fakeKernel(),
      );
    expect(bind404).toThrow(CoreRelocationError);
    expect(bind404).toThrow(
      /^program my_prog: CO-RE relocation of struct task_struct\.tgid: byte_off .*expected the local offset 404/,
    );
  });

  it("a bitfield's shifts replace the immediate; its signedness is still checked", () => {
    const bound = bind(
      [{ opcode: LSH64_K, imm: 0, access: FLAGS, kind: CoreReloKind.FIELD_LSHIFT_U64 }],
      fakeKernel(),
      fakeKernel(),
    );
    // 64 - (3267 + 3 - 408 * 8)
    expect(bound.instructions[0]).toMatchObject({ imm: 58 });
    expect(() =>
      bind(
        [{ opcode: MOV64_K, imm: 0, access: FLAGS, kind: CoreReloKind.FIELD_SIGNED }],
        fakeKernel(),
        fakeKernel(),
      ),
    ).toThrow(/signed .*expected the local value 1/);
  });

  it("a bitfield's right shift is checked against the instruction (libbpf: never ambiguous)", () => {
    const RSH64_K = 0x77;
    const rshift = (imm: number) =>
      bind(
        [{ opcode: RSH64_K, imm, access: FLAGS, kind: CoreReloKind.FIELD_RSHIFT_U64 }],
        fakeKernel(),
        fakeKernel(),
      );
    expect(rshift(61).instructions[0]).toMatchObject({ imm: 61 }); // 64 - 3 bits
    expect(() => rshift(7)).toThrow(/rshift_u64 .*expected the local value 61/);
  });

  it("a bitfield crossing its type's alignment is loaded wider; past 8 bytes it is refused", () => {
    // Kernel flags:3 at bit 3230 crosses byte 404 of a 4-byte int: libbpf doubles the load to
    // 8 bytes at byte 400 (bpf_core_calc_field_relo), and the left shift follows.
    const wide = bind(
      [
        { opcode: LDX_W, off: 0, access: FLAGS, kind: CoreReloKind.FIELD_BYTE_OFFSET },
        { opcode: MOV64_K, imm: 4, access: FLAGS, kind: CoreReloKind.FIELD_BYTE_SIZE },
        { opcode: LSH64_K, imm: 0, access: FLAGS, kind: CoreReloKind.FIELD_LSHIFT_U64 },
      ],
      fakeKernel(),
      fakeKernel(1, 3230),
    );
    expect(wide.instructions.slice(0, 3)).toMatchObject([
      { off: 400 },
      { imm: 8 },
      { imm: 64 - (3230 + 3 - 400 * 8) },
    ]);
    // At bit 3262 it crosses byte 408, 8-aligned: no aligned load of 8 bytes holds it (-E2BIG).
    expect(() =>
      bind(
        [{ opcode: LDX_W, off: 0, access: FLAGS, kind: CoreReloKind.FIELD_BYTE_OFFSET }],
        fakeKernel(),
        fakeKernel(1, 3262),
      ),
    ).toThrow(/does not fit in 8 bytes/);
  });

  it("a resized unsigned integer changes the load size; a resized signed one is poisoned", () => {
    // Local tgid: unsigned int; kernel: unsigned short -> a 2-byte load at 404.
    const unsigned = bind(
      [{ opcode: LDX_W, off: 404, access: TGID, kind: CoreReloKind.FIELD_BYTE_OFFSET }],
      fakeKernel(5),
      fakeKernel(6),
    );
    expect(unsigned.poisoned).toEqual([]);
    expect(unsigned.instructions[0]).toMatchObject({ opcode: 0x69, off: 404 }); // LDX H
    // Local tgid: int; kernel: short -> libbpf refuses to resize (sign extension), poisons.
    const signed = bind(
      [{ opcode: LDX_W, off: 404, access: TGID, kind: CoreReloKind.FIELD_BYTE_OFFSET }],
      fakeKernel(1),
      fakeKernel(3),
    );
    expect(signed.poisoned).toMatchObject([{ insn: 0, access: "struct task_struct.tgid" }]);
    expect(signed.instructions[0]).toMatchObject({ imm: POISON_HELPER });
  });
});
