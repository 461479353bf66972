import { describe, expect, it } from "vitest";
import { ElfError, parseElf, SHT, STT } from "../src/index.js";

import { fixture } from "./fixtures.js";

function setU16(b: Uint8Array, at: number, v: number) {
  new DataView(b.buffer, b.byteOffset).setUint16(at, v, true);
}
function setU32(b: Uint8Array, at: number, v: number) {
  new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);
}
function u64(b: Uint8Array, at: number): number {
  return Number(new DataView(b.buffer, b.byteOffset).getBigUint64(at, true));
}

describe("ELF reader", () => {
  it("reads sections, symbols and relocations of a clang object", () => {
    const elf = parseElf(fixture("task"));
    const names = elf.sections.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "iter/task",
        ".text",
        ".rodata",
        ".data",
        ".bss",
        "license",
        ".BTF",
        ".BTF.ext",
      ]),
    );
    expect(elf.section(".bss")?.type).toBe(SHT.NOBITS);
    const prog = elf.symbols.find((s) => s.name === "dump_task");
    expect(prog).toMatchObject({ type: STT.FUNC, section: elf.section("iter/task")?.index });
    const rel = elf.section(".reliter/task")!;
    const relocs = elf.relocations(rel);
    expect(relocs.length).toBeGreaterThan(3);
    // Section symbols are nameless: they stand for their section.
    const targets = relocs.map((r) =>
      r.symbol.type === STT.SECTION ? elf.sections[r.symbol.section]!.name : r.symbol.name,
    );
    expect(targets).toEqual(
      expect.arrayContaining(["header_lines", "min_pid", "tasks_seen", ".rodata", ".text"]),
    );
    expect(new TextDecoder().decode(elf.contents(elf.section("license")!))).toBe("GPL\0");
  });

  it("refuses malformed headers with ElfError", () => {
    const good = fixture("task");
    expect(() => parseElf(good.subarray(0, 10))).toThrow(/truncated header/);
    const magic = good.slice();
    magic[1] = 0;
    expect(() => parseElf(magic)).toThrow(/bad magic/);
    const be = good.slice();
    be[5] = 2;
    expect(() => parseElf(be)).toThrow(/big-endian/);
    const shstr = good.slice();
    setU16(shstr, 62, 999);
    expect(() => parseElf(shstr)).toThrow(ElfError);
    // Section headers cut off.
    expect(() => parseElf(good.subarray(0, u64(good, 40) + 100))).toThrow(/past the end/);
    expect(() => parseElf("x" as unknown as Uint8Array)).toThrow(TypeError);
  });

  it("refuses a relocation outside its section and a bad symbol index", () => {
    const bytes = fixture("task");
    const elf = parseElf(bytes);
    const rel = elf.section(".reliter/task")!;
    const out = bytes.slice();
    setU32(out, rel.offset, 0xfffff0); // r_offset past the section
    expect(() => parseElf(out).relocations(rel)).toThrow(/outside iter\/task/);
    const sym = bytes.slice();
    setU32(sym, rel.offset + 12, 0xffff); // symbol index (high half of r_info)
    expect(() => parseElf(sym).relocations(rel)).toThrow(/refers to symbol/);
  });
});
