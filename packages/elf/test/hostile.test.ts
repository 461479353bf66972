// Objects a hostile or careless producer could write: names that are
// Object.prototype's, .BTF.ext records off the instruction grid, local types
// that fan out. Each one parses to the right spec or fails with an ElfError.
import { type Btf, loadKernelBtf, parseBtf } from "@ts-ebpf/btf";
import { encode } from "@ts-ebpf/spec";
import { describe, expect, it } from "vitest";
import {
  CoreReloKind,
  ElfError,
  fixupBtf,
  parseBtfExt,
  parseCollection,
  parseElf,
  resolveCore,
} from "../src/index.js";
import { type BuiltFunction, buildElf, call, concat, exit, R_BPF_64_32 } from "./elf-builder.js";
import { fixture } from "./fixtures.js";

const kernelBtf = loadKernelBtf();

/** Renames a symbol in place (the new name must not be longer). */
function renameSymbol(bytes: Uint8Array, from: string, to: string): void {
  const elf = parseElf(bytes);
  const sym = elf.symbols.find((s) => s.name === from)!;
  const symtab = elf.sections.find((s) => s.type === 2)!;
  const strtab = elf.sections[symtab.link]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const nameOff = view.getUint32(symtab.offset + sym.index * 24, true);
  expect(to.length).toBeLessThanOrEqual(from.length);
  bytes.set([...new TextEncoder().encode(to), 0], strtab.offset + nameOff);
}

describe("hostile objects", () => {
  it("names programs and variables after Object.prototype's properties like any others", () => {
    const taskMap = fixture("task_map");
    renameSymbol(taskMap, "mark_task", "toString");
    const spec = parseCollection(taskMap);
    // Before: "two programs are named toString" (Object.prototype.toString was there first).
    expect(Object.keys(spec.programs)).toEqual(["toString"]);
    expect(spec.programs.toString).toMatchObject({ name: "toString", section: "iter/task" });

    const task = fixture("task");
    renameSymbol(task, "tasks_seen", "__proto__");
    const vars = parseCollection(task).variables;
    // Before: the assignment replaced the record's prototype and the variable vanished.
    expect(Object.keys(vars)).toContain("__proto__");
    expect(Object.getOwnPropertyDescriptor(vars, "__proto__")?.value).toEqual({
      map: ".bss",
      offset: 0,
      size: 4,
    });
  });

  it("refuses a func info record that is not on an instruction", () => {
    const bytes = fixture("task");
    const elf = parseElf(bytes);
    const ext = elf.section(".BTF.ext")!;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const hdrLen = view.getUint32(ext.offset + 4, true);
    const funcInfo = ext.offset + hdrLen + view.getUint32(ext.offset + 8, true);
    // rec_size, then the first section's name and count, then its first record.
    const firstRecord = funcInfo + 4 + 8;
    expect(view.getUint32(firstRecord, true)).toBe(0);
    view.setUint32(firstRecord, 4, true);
    // Before: instruction index 0.5, written into the kernel's records as 0.
    expect(() => parseCollection(bytes)).toThrow(
      /func info record at byte 4 is not on an instruction/,
    );
  });

  it("does not allocate what a NOBITS .BTF claims before refusing it", () => {
    const bytes = fixture("task");
    const elf = parseElf(bytes);
    const btf = elf.section(".BTF")!;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const header = Number(view.getBigUint64(40, true)) + btf.index * 64;
    view.setUint32(header + 4, 8, true); // sh_type = SHT_NOBITS
    view.setBigUint64(header + 32, 200n << 20n, true); // sh_size = 200 MiB
    const before = process.memoryUsage().arrayBuffers;
    // Before: 200 MiB of zeros and a 200 MiB copy, then "bad magic".
    expect(() => parseCollection(bytes)).toThrow(/section \.BTF has type 8, not PROGBITS/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
  });

  it("links a program built by the test ELF writer (the writer itself is sound)", () => {
    const spec = parseCollection(
      buildElf([
        {
          name: "iter/task",
          funcs: [
            { name: "a", insns: concat([call(1), exit()]) },
            { name: "b", insns: concat([call(-1), exit()]) },
          ],
          relocations: [{ offset: 16, symbol: "c", type: R_BPF_64_32 }],
        },
        { name: ".text", funcs: [{ name: "c", insns: exit() }] },
      ]),
    );
    expect(Object.keys(spec.programs)).toEqual(["a", "b"]);
    // a calls b (pc-relative), b calls c in .text (relocation): each appended once.
    expect(encode(spec.programs.a!.instructions).length).toBe(8 * 5);
    expect(encode(spec.programs.b!.instructions).length).toBe(8 * 3);
    expect(spec.license).toBe("GPL");
  });

  it("bounds the instructions programs link: one program, and all of them together", () => {
    // One program of 1,000,001 instructions: the kernel would answer E2BIG.
    const long = new Uint8Array(8 * 1_000_001);
    for (let at = 0; at < long.length; at += 8) long[at] = 0x95;
    const one = buildElf([{ name: "iter/task", funcs: [{ name: "long", insns: long }] }]);
    expect(() => parseCollection(one)).toThrow(/program long links more than 1000000 instructions/);

    // 250 programs of 256 instructions, each calling the next: program i links
    // 250 - i functions, 8 million instructions in all from a 500 KiB object.
    const body = new Uint8Array(8 * 254);
    for (let at = 0; at < body.length; at += 8) body[at] = 0xb7; // mov r0, 0
    const funcs: BuiltFunction[] = Array.from({ length: 250 }, (_, i) => ({
      name: `p${i}`,
      insns: concat([body, i === 249 ? exit() : call(1), exit()]),
    }));
    expect(() => parseCollection(buildElf([{ name: "iter/task", funcs }]))).toThrow(
      /programs link more than 4194304 instructions together/,
    );
    // Half of them link 2 million: fine.
    const half = buildElf([{ name: "iter/task", funcs: funcs.slice(125) }]);
    expect(encode(parseCollection(half).programs.p125!.instructions).length).toBe(8 * 256 * 125);
  });

  it("bounds the functions programs link (work per function, however short)", () => {
    // 3000 programs of one call each, calling the next: 4.5 million functions
    // placed, about 10 s of linking, from a 100 KiB object.
    const funcs: BuiltFunction[] = Array.from({ length: 3000 }, (_, i) => ({
      name: `p${i}`,
      insns: i === 2999 ? exit() : call(0),
    }));
    expect(() => parseCollection(buildElf([{ name: "iter/task", funcs }]))).toThrow(
      /programs link more than 65536 functions together/,
    );
  });

  it("bounds the global data and code that sections claim together", () => {
    const main = { name: "iter/task", funcs: [{ name: "main", insns: exit() }] };
    // Eight .data sections claiming 100 MiB of zeros each: 800 MiB of map
    // contents from a 1 KiB object.
    const data = Array.from({ length: 8 }, (_, i) => ({
      name: `.data.big${i}`,
      type: 8,
      flags: 0x3,
      size: 100 << 20,
    }));
    expect(() => parseCollection(buildElf([main], data))).toThrow(
      /global data sections hold more than 268435456 bytes together \(at \.data\.big2\)/,
    );
    // Forty program sections over the same 1 MiB of code: each is copied.
    const code = new Uint8Array(1 << 20);
    for (let at = 0; at < code.length; at += 8) code[at] = 0x95;
    const aliases = Array.from({ length: 40 }, (_, i) => ({
      name: `iter/alias${i}`,
      type: 1,
      flags: 0x6,
      aliasOf: "iter/task",
    }));
    const overlapping = buildElf(
      [{ name: "iter/task", funcs: [{ name: "big", insns: code }] }],
      aliases,
    );
    expect(() => parseCollection(overlapping)).toThrow(/more than \d+ .* together/);
  });

  it("finds each callee through the function index, among thousands of functions", () => {
    // One program calling into a chain of 30000 one-call functions in .text.
    const n = 30_000;
    const chain: BuiltFunction[] = Array.from({ length: n }, (_, i) => ({
      name: `f${i}`,
      insns: i === n - 1 ? exit() : call(0),
    }));
    const spec = parseCollection(
      buildElf([
        {
          name: "iter/task",
          funcs: [{ name: "main", insns: concat([call(-1), exit()]) }],
          relocations: [{ offset: 0, symbol: "f0", type: R_BPF_64_32 }],
        },
        { name: ".text", funcs: chain },
      ]),
    );
    const insns = encode(spec.programs.main!.instructions);
    expect(insns.length).toBe(8 * (n + 2));
    // main's call lands on f0 (placed after main's exit), every f_i's on f_(i+1).
    const view = new DataView(insns.buffer, insns.byteOffset);
    expect(view.getInt32(4, true)).toBe(1);
    for (let i = 2; i < n + 1; i++) expect(view.getInt32(i * 8 + 4, true)).toBe(0);
  });

  it("checks what the exported readers are given before reading through it", () => {
    const elf = parseElf(fixture("task"));
    const strtab = elf.sections.find((s) => s.name === ".strtab")!;
    // A section from elsewhere with an offset of its own choosing.
    const forged = { ...strtab, offset: 1e9 };
    expect(() => elf.str(forged, 0)).toThrow(/not a section of this ELF file/);
    expect(() => elf.contents({ ...strtab, size: 1e9 })).toThrow(TypeError);
    expect(() => elf.relocations({ ...elf.section(".reliter/task")!, offset: 1e9 })).toThrow(
      TypeError,
    );
    // A negative offset read from the end of the file.
    expect(() => elf.str(strtab, -5)).toThrow(RangeError);
    expect(elf.str(strtab, 1)).not.toBe("");
    // fixupBtf walked the blob's types unchecked: a RangeError from a DataView.
    const garbage = new Uint8Array(64);
    new DataView(garbage.buffer).setUint16(0, 0xeb9f, true);
    garbage[2] = 1;
    new DataView(garbage.buffer).setUint32(4, 24, true);
    new DataView(garbage.buffer).setUint32(12, 4000, true);
    expect(() => fixupBtf(garbage, elf)).toThrow(ElfError);
    expect(() => parseBtfExt("x" as unknown as Uint8Array, kernelBtf)).toThrow(TypeError);
    expect(() => parseBtfExt(new Uint8Array(24), {} as Btf)).toThrow(TypeError);
  });

  it("compares local types that fan out in bounded time (TYPE_MATCHES)", () => {
    // Kernel: node0 -> node1 -> ... -> node7 through a "next" pointer; node7 holds an int.
    // Local: the same chain, but every struct lists "next" 6 times: 6^7 paths.
    const target = chain(1);
    const local = chain(6);
    let resolves = 0;
    const resolve = target.resolve.bind(target);
    Object.defineProperty(target, "resolve", {
      value: (ref: Parameters<Btf["resolve"]>[0]) => {
        resolves++;
        return resolve(ref);
      },
    });
    const rec = { insnOff: 0, typeId: 1, access: "0", kind: CoreReloKind.TYPE_MATCHES };
    expect(resolveCore(rec, local, target)).toMatchObject({ local: 1, target: 1 });
    expect(resolves).toBeLessThan(1000); // 951 781 on f626b01
  });

  it("reports malformed CO-RE records as ElfErrors, not plain Errors", () => {
    const local = chain(1);
    const bad = { insnOff: 0, typeId: 1, access: "0:x", kind: CoreReloKind.FIELD_BYTE_OFFSET };
    expect(() => resolveCore(bad, local, local)).toThrow(ElfError);
    const kind = { insnOff: 0, typeId: 1, access: "0", kind: 99 };
    expect(() => resolveCore(kind, local, local)).toThrow(ElfError);
  });
});

/**
 * BTF with struct node0..node7 chained by `fanout` members named "next" and an
 * int: node_i is id 1 + 2i, the pointer to node_(i+1) id 2 + 2i, the int id 17
 * (node7 has one member, "v", an int; its pointer slot points at the int).
 */
function chain(fanout: number): Btf {
  const strings = ["", "next", "v", "int", ...Array.from({ length: 8 }, (_, i) => `node${i}`)];
  const off = new Map<string, number>();
  let len = 0;
  for (const s of strings) {
    off.set(s, len);
    len += s.length + 1;
  }
  const words: number[] = [];
  const INT = 17;
  for (let i = 0; i < 8; i++) {
    const last = i === 7;
    const n = last ? 1 : fanout;
    words.push(off.get(`node${i}`)!, (4 << 24) | n, 8);
    for (let m = 0; m < n; m++)
      words.push(off.get(last ? "v" : "next")!, last ? INT : 2 + 2 * i, 0);
    words.push(0, 2 << 24, 1 + 2 * (i + 1)); // ptr to node(i+1), the int after node7
  }
  words.push(off.get("int")!, 1 << 24, 4, (1 << 24) | 32);
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
