import { loadKernelBtf } from "@ts-ebpf/btf";
import { encode, mapReferences } from "@ts-ebpf/spec";
import { BpfAttachType, BpfMapFlag, BpfMapType, BpfProgType } from "@ts-ebpf/spec/constants";
import { describe, expect, it } from "vitest";
import { bindProgramSpec, type ElfProgramSpec, parseCollection } from "../src/index.js";
import { fixture } from "./fixtures.js";

// CO-RE and attach ids resolve, when a program is bound, against the running
// kernel's BTF (readable without privileges).
const kernelBtf = loadKernelBtf();
const bind = (p: ElfProgramSpec | undefined) => bindProgramSpec(p!, kernelBtf);

function insnAt(bytes: Uint8Array, i: number) {
  const v = new DataView(bytes.buffer, bytes.byteOffset + i * 8, 8);
  return {
    code: v.getUint8(0),
    regs: v.getUint8(1),
    off: v.getInt16(2, true),
    imm: v.getInt32(4, true),
  };
}

function* insns(bytes: Uint8Array) {
  for (let i = 0; i < bytes.length / 8; i++) yield { i, ...insnAt(bytes, i) };
}

describe("parseCollection", () => {
  it("task: iterator program, global data maps, relocations, linked subprogram, func and line info", () => {
    const spec = parseCollection(fixture("task"));
    expect(Object.keys(spec.programs)).toEqual(["dump_task"]);
    // Parsed: no kernel involved yet; the attach target by name, CO-RE kept on its instructions.
    const parsed = spec.programs.dump_task!;
    expect(parsed.attachBtfId).toBeUndefined();
    expect(parsed.attachTarget).toBe("bpf_iter_task");
    expect(parsed.instructions.some((i) => i.core !== undefined)).toBe(true);
    const p = bind(parsed);
    expect(p.instructions.some((i) => i.core !== undefined)).toBe(false);
    expect(p).toMatchObject({
      section: "iter/task",
      iterTarget: "task",
      type: BpfProgType.TRACING,
      expectedAttachType: BpfAttachType.TRACE_ITER,
      attachBtfId: kernelBtf.funcId("bpf_iter_task"),
      license: "GPL",
    });
    expect(spec.license).toBe("GPL");
    expect(spec.maps[".rodata"]).toMatchObject({
      type: BpfMapType.ARRAY,
      keySize: 4,
      maxEntries: 1,
      flags: BpfMapFlag.RDONLY_PROG,
      freeze: true,
    });
    expect(spec.maps[".data"]).toMatchObject({ valueSize: 4, flags: 0 });
    expect(spec.maps[".bss"]?.contents).toEqual(new Uint8Array(4));
    expect(spec.variables.min_pid).toEqual({ map: ".rodata", offset: 0, size: 4 });
    expect(spec.variables.header_lines).toEqual({ map: ".data", offset: 0, size: 4 });
    const rodata = spec.maps[".rodata"]!.contents!;
    const fmt = spec.variables["dump_task.___fmt.1"]!;
    expect(new TextDecoder().decode(rodata.subarray(fmt.offset, fmt.offset + fmt.size))).toBe(
      "%d %d %s\n\0",
    );
    // Every data reference became a map value reference with the symbol's offset.
    expect(mapReferences(p.instructions)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "map_value", map: { name: ".data" }, offset: 0 }),
        expect.objectContaining({ kind: "map_value", map: { name: ".bss" }, offset: 0 }),
        expect.objectContaining({
          kind: "map_value",
          map: { name: ".rodata" },
          offset: fmt.offset,
        }),
      ]),
    );
    // The .text function is appended after the program and the call points at it.
    const calls = [...insns(encode(p.instructions))].filter(
      (x) => x.code === 0x85 && x.regs >> 4 === 1,
    );
    expect(calls).toHaveLength(1);
    const funcInfo = new DataView(p.funcInfo!.records.buffer);
    expect(p.funcInfo!.records.length).toBe(16); // two functions
    expect(funcInfo.getUint32(0, true)).toBe(0);
    const subStart = funcInfo.getUint32(8, true);
    expect(calls[0]!.i + 1 + calls[0]!.imm).toBe(subStart);
    expect(subStart).toBeLessThan(encode(p.instructions).length / 8);
    // Line info is sorted, starts at instruction 0 and covers the subprogram too.
    const lines = new DataView(p.lineInfo!.records.buffer);
    const lineInsns = Array.from({ length: p.lineInfo!.records.length / 16 }, (_, i) =>
      lines.getUint32(i * 16, true),
    );
    expect(lineInsns[0]).toBe(0);
    expect(lineInsns).toEqual([...lineInsns].sort((a, b) => a - b));
    expect(lineInsns).toContain(subStart);
    // CO-RE: task->pid loads use the running kernel's offset.
    const pid = kernelBtf.memberOffset("task_struct", "pid");
    const ldx = [...insns(encode(p.instructions))].filter(
      (x) => x.code === 0x61 && x.off === pid.offset,
    );
    expect(ldx.length).toBeGreaterThanOrEqual(1);
    expect(spec.btf).toBeInstanceOf(Uint8Array);
  });

  it("map_elem: BTF-defined and legacy maps, map_fd relocations", () => {
    const spec = parseCollection(fixture("map_elem"));
    expect(spec.maps.sums).toMatchObject({
      name: "sums",
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 64,
      flags: 0,
    });
    expect(spec.maps.sums?.btfKeyTypeId).toBeGreaterThan(0);
    expect(spec.maps.legacy_counts?.btfKeyTypeId).toBeUndefined();
    expect(spec.maps.legacy_counts).toMatchObject({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 4,
    });
    const p = spec.programs.dump_map_elem!;
    expect(p.iterTarget).toBe("bpf_map_elem");
    expect(
      mapReferences(p.instructions)
        .filter((r) => r.kind === "map_fd")
        .map((r) => r.map),
    ).toEqual([{ name: "sums" }, { name: "legacy_counts" }]);
  });

  it("CO-RE: a field no kernel has is poisoned and named; flavors and enum values resolve", () => {
    const spec = parseCollection(fixture("core_kinds"));
    const p = bind(spec.programs.core_kinds);
    expect(p.poisoned).toEqual([
      expect.objectContaining({
        access: "struct task_struct___missing.no_such_field",
        kind: "byte_off",
      }),
    ]);
    const poisonedInsn = insnAt(encode(p.instructions), p.poisoned[0]!.insn);
    expect(poisonedInsn).toMatchObject({ code: 0x85, imm: 0xbad2310 });
    const tcp = bind(parseCollection(fixture("tcp")).programs.dump_tcp);
    expect(tcp.poisoned).toEqual([]);
    const bad = parseCollection(fixture("bad"));
    expect(bind(bad.programs.poisoned_task).poisoned[0]?.access).toBe(
      "struct task_struct___gone.gone_field",
    );
  });
});
