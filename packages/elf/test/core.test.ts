// CO-RE against a hand-made "kernel" whose task_struct differs from the one
// the object was compiled against: offsets, sizes and existence follow it.
import { type Btf, parseBtf } from "@ts-ebpf/btf";
import { describe, expect, it } from "vitest";
import { describeAccess } from "../src/core.js";
import { CoreReloKind, parseBtfExt, parseElf, resolveCore } from "../src/index.js";
import { fixture } from "./fixtures.js";

/** BTF: int (1), int[100] (2), u16 (3), struct task_struct { int pad[100]; short pid; int tgid; char flags:3 } (4). */
function fakeKernel(): Btf {
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
  words.push(off.get("tgid")!, 1, 3232);
  words.push(off.get("flags")!, 1, (3 << 24) | 3267); // 3-bit field at bit 3267
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
