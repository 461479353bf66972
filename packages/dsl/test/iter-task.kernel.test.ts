// The seed's program written with the DSL: a task iterator printing each
// task's pid and comm with bpf_seq_printf (offsets from kernel BTF, NULL
// check, header at seq_num == 0). It must load, and its output must list
// this test process.
import { closeSync, readFileSync } from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { BpfLogLevel, loadProgram, openIteratorFd, VerifierError } from "@ts-ebpf/syscall";
import { attachIterator } from "@ts-ebpf/syscall/internal";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import {
  add,
  asm,
  buildIterProgram,
  callSubprog,
  encode,
  exit,
  fieldAddress,
  formatVerifierError,
  iterContext,
  iterReturn,
  jne,
  label,
  loadField,
  mov,
  parseInstruction,
  seqPrintf,
  seqWrite,
  subprog,
} from "../src/index.js";
import { readIteratorFd } from "./run-iterator.js";

function taskDump() {
  const btf = loadKernelBtf();
  const ctx = iterContext(btf, "task", "r6");
  return buildIterProgram(
    ctx,
    [
      ctx.save(),
      ctx.meta.seq("r7"),
      // NULL check first: the final call with a NULL task can also have
      // seq_num == 0 (a session of one object) and would print the header twice.
      ctx.loadNonNull("r8", "task"),
      ctx.meta.seqNum("r1"),
      jne("r1", 0, "body"),
      seqWrite("r7", { str: "pid comm\n" }),
      label("body"),
      loadField(btf, "r1", "r8", "task_struct", "pid"),
      fieldAddress(btf, "r2", "r8", "task_struct", "comm"),
      // Arguments are stored before r1..r5 are set up, so r1 and r2 are fine here.
      seqPrintf("r7", "%d %s\n", ["r1", "r2"]),
      iterReturn(0),
    ],
    { name: "dsl_task_dump" },
  );
}

describeKernel("DSL task iterator (seed program)", () => {
  it("loads, and its output lists this process with its comm", () => {
    const built = taskDump();
    let program: ReturnType<typeof loadProgram>;
    try {
      program = loadProgram(built.spec);
    } catch (e) {
      if (e instanceof VerifierError) throw new Error(formatVerifierError(e, built));
      throw e;
    }
    try {
      const link = attachIterator(program);
      try {
        const fd = openIteratorFd(link);
        let text: string;
        try {
          text = readIteratorFd(fd);
        } finally {
          closeSync(fd);
        }
        const lines = text.split("\n");
        expect(lines[0]).toBe("pid comm");
        // task->pid of the main thread is the process id; comm as /proc shows it.
        const comm = readFileSync("/proc/self/comm", "utf8").trimEnd();
        expect(lines, text.slice(0, 500)).toContain(`${process.pid} ${comm}`);
        expect(lines.slice(1).every((l) => l === "" || /^\d+ /.test(l))).toBe(true);
        // The header appears once per session, at seq_num == 0.
        expect(lines.filter((l) => l === "pid comm")).toHaveLength(1);
      } finally {
        link.close();
      }
    } finally {
      program.close();
    }
  });

  it("the same program written as text (asm``) loads and prints the same rows", () => {
    const btf = loadKernelBtf();
    const ctx = iterContext(btf, "task", "r6");
    const task = ctx.offsetOf("task").offset;
    const pid = btf.memberOffset("task_struct", "pid").offset;
    const comm = btf.memberOffset("task_struct", "comm").offset;
    const body = asm`
        r6 = r1
        r7 = *(u64 *)(r6 + 0)        ; ctx->meta
        r7 = *(u64 *)(r7 + 0)        ; meta->seq
        r8 = *(u64 *)(r6 + ${task})
        if r8 == 0x0 goto out
        r1 = *(u32 *)(r8 + ${pid})
        *(u64 *)(r10 - 16) = r1
        r2 = r8
        r2 += ${comm}
        *(u64 *)(r10 - 8) = r2
        r1 = r7
        r2 = str("%d %s\n")
        r3 = 7
        r4 = r10
        r4 += -16
        r5 = 16
        call bpf_seq_printf
      out:
        r0 = 0
        exit`;
    const built = buildIterProgram(ctx, body, { name: "dsl_task_asm" });
    const program = loadProgram(built.spec);
    try {
      const link = attachIterator(program);
      try {
        const fd = openIteratorFd(link);
        let text: string;
        try {
          text = readIteratorFd(fd);
        } finally {
          closeSync(fd);
        }
        const comm = readFileSync("/proc/self/comm", "utf8").trimEnd();
        expect(text.split("\n")).toContain(`${process.pid} ${comm}`);
      } finally {
        link.close();
      }
    } finally {
      program.close();
    }
  });

  it("parses the verifier's own listing of the program back to the same instructions", () => {
    const built = taskDump();
    const program = loadProgram(built.spec, { logLevel: BpfLogLevel.INSNS, logSize: 1 << 20 });
    const bySlot = new Map<number, string>();
    try {
      for (const m of program.log.matchAll(/^(\d+): \([0-9a-f]{2}\) (.*)$/gm)) {
        bySlot.set(Number(m[1]), m[2]!.replace(/\s+;.*$/, ""));
      }
    } finally {
      program.close();
    }
    const { instructions, slots } = built.assembled;
    let compared = 0;
    instructions.forEach((insn, i) => {
      const text = bySlot.get(slots[i]!);
      // The verifier prints map ids where the bytes hold fds: those differ by design.
      if (text === undefined || (insn.opcode === 0x18 && insn.src !== 0)) return;
      const { target: _, ...raw } = insn;
      expect(encode([parseInstruction(text)]), `slot ${slots[i]}: ${text}`).toEqual(encode([raw]));
      compared++;
    });
    expect(compared).toBeGreaterThan(instructions.length / 2);
  });

  it("a program with a BPF-to-BPF subprogram call loads and runs", () => {
    const btf = loadKernelBtf();
    const ctx = iterContext(btf, "task", "r6");
    const built = buildIterProgram(ctx, [
      ctx.save(),
      ctx.meta.seq("r7"),
      ctx.loadNonNull("r8", "task"),
      loadField(btf, "r1", "r8", "task_struct", "pid"),
      callSubprog("double_it"),
      mov("r9", "r0"),
      seqPrintf("r7", "%d\n", ["r9"]),
      iterReturn(0),
      subprog("double_it", mov("r0", "r1"), add("r0", "r1"), exit()),
    ]);
    const program = loadProgram(built.spec);
    try {
      const link = attachIterator(program);
      try {
        const fd = openIteratorFd(link);
        try {
          expect(readIteratorFd(fd).split("\n")).toContain(String(2 * process.pid));
        } finally {
          closeSync(fd);
        }
      } finally {
        link.close();
      }
    } finally {
      program.close();
    }
  });

  it("a rejected program reports the verifier's instruction next to the DSL listing", () => {
    const btf = loadKernelBtf();
    const ctx = iterContext(btf, "task", "r6");
    // Dereferences ctx->task without the NULL check the verifier insists on.
    const built = buildIterProgram(ctx, [
      ctx.save(),
      ctx.load("r8", "task"),
      loadField(btf, "r0", "r8", "task_struct", "pid"),
      label("done"),
      mov("r0", 0),
      exit(),
    ]);
    let error: unknown;
    try {
      loadProgram(built.spec).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VerifierError);
    const report = formatVerifierError(error as VerifierError, built);
    expect(report).toMatch(/^verifier rejected the program at instruction 2$/m);
    expect(report).toMatch(/^> 2: r0 = \*\(u32 \*\)\(r8 \+ 0x[0-9a-f]+\)$/m);
    expect(report).toMatch(/verifier: 2: \(61\) r0 = \*\(u32 \*\)\(r8 \+\d+\)/);
    expect(report).toMatch(/invalid mem access 'ptr_or_null_'|R8 invalid mem access/);
    expect(report).toMatch(/^done:$/m);
  });
});
