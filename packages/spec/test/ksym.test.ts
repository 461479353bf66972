// Kernel symbol references (Instruction.ksym): where they may stand, and how
// encodeProgram places a kfunc's BTF id and its module's fd_array index, and
// a kernel variable's id and module BTF fd.
import { describe, expect, it } from "vitest";
import {
  CallSrc,
  Class,
  decode,
  encodeProgram,
  type Instruction,
  InstructionError,
  JmpOp,
  LD_IMM64,
  LdImm64Src,
} from "../src/index.js";

const CALL = Class.JMP | JmpOp.CALL;
const EXIT: Instruction = { opcode: Class.JMP | JmpOp.EXIT, dst: 0, src: 0, off: 0, imm: 0 };
const kfuncCall = (ksym: Instruction["ksym"]): Instruction => ({
  opcode: CALL,
  dst: 0,
  src: CallSrc.KFUNC,
  off: 0,
  imm: 0,
  ksym,
});
const noMaps = { mapFd: () => -1 };

describe("ksym references", () => {
  it("a vmlinux kfunc encodes its BTF id in imm and off 0", () => {
    const [call] = decode(encodeProgram([kfuncCall({ name: "f", btfId: 1234 }), EXIT], noMaps));
    expect(call).toMatchObject({ src: CallSrc.KFUNC, imm: 1234, off: 0 });
  });

  it("a module kfunc takes the fd_array index the loader gives its BTF fd", () => {
    const seen: number[] = [];
    const fdArrayIndex = (m: { fd: number }) => {
      seen.push(m.fd);
      return 1;
    };
    const bytes = encodeProgram([kfuncCall({ name: "m", btfId: 77, module: { fd: 9 } }), EXIT], {
      ...noMaps,
      fdArrayIndex,
    });
    expect(decode(bytes)[0]).toMatchObject({ imm: 77, off: 1 });
    expect(seen).toEqual([9]);
    expect(() =>
      encodeProgram([kfuncCall({ name: "m", btfId: 77, module: { fd: 9 } }), EXIT], noMaps),
    ).toThrow(/no fd_array/);
  });

  it("a kernel variable's ld_imm64 carries its id and its module's BTF fd", () => {
    const ld: Instruction = {
      opcode: LD_IMM64,
      dst: 1,
      src: LdImm64Src.BTF_ID,
      off: 0,
      imm: 0,
      imm2: 0,
      ksym: { name: "v", btfId: 55, module: { fd: 4 } },
    };
    expect(decode(encodeProgram([ld, EXIT], noMaps))[0]).toMatchObject({ imm: 55, imm2: 4 });
  });

  it("an unresolved name, a ksym on the wrong instruction or a bad id is an InstructionError", () => {
    expect(() => encodeProgram([kfuncCall({ name: "f" }), EXIT], noMaps)).toThrow(
      /kernel symbol f has no BTF id/,
    );
    expect(() => encodeProgram([{ ...EXIT, ksym: { name: "f", btfId: 1 } }], noMaps)).toThrow(
      InstructionError,
    );
    expect(() => encodeProgram([kfuncCall({ name: "f", btfId: -3 }), EXIT], noMaps)).toThrow(
      /not a BTF type id/,
    );
    expect(() => encodeProgram([kfuncCall({ name: "" }), EXIT], noMaps)).toThrow(/non-empty/);
  });
});
