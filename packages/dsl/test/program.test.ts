import type { MemberLocation } from "@ts-ebpf/btf";
import { BpfAttachType, BpfProgType } from "@ts-ebpf/spec/constants";
import { describe, expect, it } from "vitest";
import {
  type BtfLike,
  buildIterProgram,
  call,
  DslError,
  disassemble,
  encode,
  exit,
  fieldAddress,
  formatVerifierError,
  iterContext,
  iterReturn,
  jne,
  label,
  ldMapFd,
  ldStr,
  loadField,
  mapReferences,
  mov,
  parse,
  print,
  program,
  seqPrintf,
  seqWrite,
} from "../src/index.js";

/** A stand-in for kernel BTF with the layout of `struct bpf_iter__task` (offsets deliberately unusual). */
const fakeBtf: BtfLike = {
  memberOffset(struct: unknown, path: string): MemberLocation {
    const table: Record<string, Partial<MemberLocation>> = {
      "bpf_iter__task/meta": { offset: 0, size: 8 },
      "bpf_iter__task/task": { offset: 8, size: 8 },
      "bpf_iter__task/meta.seq": { offset: 0, size: 8, hops: [0] },
      "bpf_iter__task/meta.session_id": { offset: 8, size: 8, hops: [0] },
      "bpf_iter__task/meta.seq_num": { offset: 16, size: 8, hops: [0] },
      "task_struct/pid": { offset: 1234, size: 4 },
      "task_struct/comm": { offset: 2000, size: 16 },
      "task_struct/flags": { offset: 44, size: 4, bitSize: 3 },
    };
    const hit = table[`${String(struct)}/${path}`];
    if (!hit) throw new Error(`struct ${String(struct)} has no member "${path}"`);
    return { bitOffset: hit.offset! * 8, bitSize: 0, type: 1, hops: [], ...hit } as MemberLocation;
  },
  funcId(name: string): number {
    if (name === "bpf_iter_task") return 4242;
    throw new Error(`no FUNC "${name}"`);
  },
};

describe("program()", () => {
  it("produces a ProgramSpec with map references and string constants in .rodata", () => {
    const spec = program(
      {
        type: BpfProgType.TRACING,
        expectedAttachType: BpfAttachType.TRACE_ITER,
        license: "GPL",
        name: "p",
        attachBtfId: 7,
      },
      [
        ldStr("r1", "hello"),
        ldMapFd("r2", "counts"),
        ldStr("r3", "world"),
        ldStr("r4", "hello"),
        mov("r0", 0),
        exit(),
      ],
    );
    expect(spec.type).toBe(26);
    expect(spec.expectedAttachType).toBe(28);
    expect(spec.attachBtfId).toBe(7);
    expect(spec.name).toBe("p");
    expect(spec.license).toBe("GPL");
    expect(encode(spec.instructions).length).toBe(10 * 8);
    expect(new TextDecoder().decode(spec.readonlyData![0]!.bytes)).toBe("hello\0world\0");
    expect(spec.readonlyData![0]!.name).toBe(".rodata");
    // The ld_imm64s keep their map references for the loader.
    expect(mapReferences(spec.instructions)).toEqual([
      { kind: "map_value", insn: 0, map: { name: ".rodata" }, offset: 0 },
      { kind: "map_fd", insn: 2, map: { name: "counts" } },
      { kind: "map_value", insn: 4, map: { name: ".rodata" }, offset: 6 },
      { kind: "map_value", insn: 6, map: { name: ".rodata" }, offset: 0 },
    ]);
  });

  it("prints and parses string constants", () => {
    const items = [ldStr("r2", 'say "hi"\n'), ldStr("r3", "x", 1)];
    expect(print(items)).toBe('  r2 = str("say \\"hi\\"\\n")\n  r3 = str("x")+1');
    expect(parse(print(items))).toEqual(items);
  });

  it("rejects bad options before anything else", () => {
    expect(() => program({ type: 26, license: "" }, [exit()])).toThrow(TypeError);
    expect(() =>
      program({ type: 26, license: "GPL", name: "a_name_that_is_too_long" }, [exit()]),
    ).toThrow(RangeError);
    expect(() => program({ type: 26, license: "GPL" }, [label("x")])).toThrow(DslError);
  });
});

describe("iterator conveniences", () => {
  const ctx = iterContext(fakeBtf, "task", "r6");

  it("resolves context fields through BTF", () => {
    expect(ctx.attachBtfId).toBe(4242);
    expect(print(ctx.load("r2", "task"))).toBe("  r2 = *(u64 *)(r6 + 0x8)");
    expect(print(ctx.meta.seqNum("r1"))).toBe(
      "  r1 = *(u64 *)(r6 + 0x0)\n  r1 = *(u64 *)(r1 + 0x10)",
    );
    expect(print(loadField(fakeBtf, "r1", "r8", "task_struct", "pid"))).toBe(
      "  r1 = *(u32 *)(r8 + 0x4d2)",
    );
    expect(print(fieldAddress(fakeBtf, "r2", "r8", "task_struct", "comm"))).toBe(
      "  r2 = r8\n  r2 += 0x7d0",
    );
    expect(print(ctx.loadNonNull("r8", "task"))).toBe(
      "  r8 = *(u64 *)(r6 + 0x8)\n  if r8 == 0x0 goto out",
    );
    expect(() => loadField(fakeBtf, "r1", "r8", "task_struct", "nope")).toThrow(
      /field "nope" of task_struct/,
    );
    expect(() => loadField(fakeBtf, "r1", "r8", "task_struct", "comm")).toThrow(/16 bytes/);
    expect(() => iterContext(fakeBtf, "nosuch")).toThrow(/iterator target "nosuch"/);
  });

  it("seqPrintf puts the format in .rodata and the u64 arguments on the stack", () => {
    const insns = seqPrintf("r7", "%d %s %llx\n", ["r8", { str: "x" }, 0x1_0000_0000n]);
    expect(print(insns)).toBe(
      [
        "  *(u64 *)(r10 - 0x18) = r8",
        '  r0 = str("x")',
        "  *(u64 *)(r10 - 0x10) = r0",
        "  r0 = 0x100000000 ll",
        "  *(u64 *)(r10 - 0x8) = r0",
        "  r1 = r7",
        '  r2 = str("%d %s %llx\\n")',
        "  r3 = 0xc",
        "  r4 = r10",
        "  r4 += -0x18",
        "  r5 = 0x18",
        "  call bpf_seq_printf",
      ].join("\n"),
    );
    expect(insns.at(-1)!.imm).toBe(126);
  });

  it("seqPrintf rejects more than 12 arguments and mismatched formats at build time", () => {
    const thirteen = Array.from({ length: 13 }, () => "r6" as const);
    expect(() => seqPrintf("r7", "%d".repeat(13), thirteen)).toThrow(DslError);
    expect(() => seqPrintf("r7", "%d".repeat(13), thirteen)).toThrow(/13 arguments, at most 12/);
    expect(() => seqPrintf("r7", "%d %d", ["r6"])).toThrow(/2 conversions but 1 arguments/);
    expect(seqPrintf("r7", "100%% %d", ["r6"]).at(-1)!.imm).toBe(126);
    expect(() => seqPrintf("r7", "%d", ["r0"])).toThrow(/scratch/);
  });

  it("seqWrite takes a register and length, or a string constant", () => {
    expect(seqWrite("r7", { str: "pid comm\n" }).map((i) => i.imm)).toEqual([0, 0, 9, 127]);
    expect(print(seqWrite("r7", "r8", 16))).toBe(
      "  r1 = r7\n  r2 = r8\n  r3 = 0x10\n  call bpf_seq_write",
    );
    expect(() => seqWrite("r3", "r8", 16)).toThrow(/would be overwritten/);
  });

  it("builds the seed program and lists it with labels", () => {
    const built = buildIterProgram(ctx, [
      ctx.save(),
      ctx.meta.seq("r7"),
      ctx.meta.seqNum("r1"),
      jne("r1", 0, "body"),
      seqWrite("r7", { str: "pid comm\n" }),
      label("body"),
      ctx.loadNonNull("r8", "task"),
      loadField(fakeBtf, "r1", "r8", "task_struct", "pid"),
      fieldAddress(fakeBtf, "r2", "r8", "task_struct", "comm"),
      seqPrintf("r7", "%d %s\n", ["r1", "r2"]),
      iterReturn(0),
    ]);
    expect(built.spec.attachBtfId).toBe(4242);
    expect(built.spec.type).toBe(BpfProgType.TRACING);
    expect(built.spec.expectedAttachType).toBe(BpfAttachType.TRACE_ITER);
    expect(new TextDecoder().decode(built.spec.readonlyData![0]!.bytes)).toBe(
      "pid comm\n\0%d %s\n\0",
    );
    expect(disassemble(built.spec.instructions)).toContain("goto L");
  });
});

describe("formatVerifierError", () => {
  const items = [mov("r0", 0), label("loop"), call("seq_write"), jne("r0", 0, "loop"), exit()];
  const log = [
    "func#0 @0",
    "0: R1=ctx() R10=fp0",
    "0: (b7) r0 = 0                        ; R0_w=0",
    "1: (85) call bpf_seq_write#127",
    "R1 type=ctx expected=ptr_",
    "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
  ].join("\n");

  it("marks the failing instruction in the DSL listing", () => {
    expect(formatVerifierError(log, items)).toBe(
      [
        "verifier rejected the program at instruction 1",
        "  0: r0 = 0x0",
        "loop:",
        "> 1: call bpf_seq_write",
        "     verifier: 1: (85) call bpf_seq_write#127",
        "     R1 type=ctx expected=ptr_",
        "  2: if r0 != 0x0 goto loop",
        "  3: exit",
      ].join("\n"),
    );
  });

  it("takes the insn index of a VerifierError-like object and a window of context", () => {
    const out = formatVerifierError({ log, instruction: 3 }, items, { context: 0 });
    expect(out).toBe(
      [
        "verifier rejected the program at instruction 3",
        "  ...",
        "> 3: exit",
        "     verifier: 1: (85) call bpf_seq_write#127",
        "     R1 type=ctx expected=ptr_",
      ].join("\n"),
    );
  });
});
