// Open-coded iterators and kfunc calls from the DSL: loops built with
// openIterLoop / forRange, kfuncs named in text and resolved against the
// running kernel's BTF (bindKsyms), loaded as SEC("syscall") programs and run
// with PROG_TEST_RUN; and the kfunc calls of a clang object printed by name.
import { loadKernelBtf } from "@ts-ebpf/btf";
import {
  add,
  exit,
  forRange,
  kfunc,
  kfuncCall,
  mov,
  openIterLoop,
  parse,
  print,
  program,
} from "@ts-ebpf/dsl";
import { BpfProgLoadFlag, BpfProgType } from "@ts-ebpf/spec/constants";
import { loadProgram } from "@ts-ebpf/syscall";
import { describeKernel, missingFromKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { bindKsyms, parseCollection } from "../src/index.js";
import { fixture } from "./fixtures.js";

const btf = loadKernelBtf();
// Why a test skips here, or undefined: the kernel's BTF lacks the kfuncs and
// its release predates the first with them (a newer kernel without them fails).
const noIterNum = missingFromKernel(
  "bpf_iter_num kfuncs",
  btf.findType("bpf_iter_num_new", "func") !== undefined,
  "6.4",
);
const noIterTask = missingFromKernel(
  "bpf_iter_task kfuncs (the open-coded task iterator)",
  btf.findType("bpf_iter_task_new", "func") !== undefined,
  "6.7",
);

/** Loads a syscall program of DSL items (kfuncs bound to this kernel) and runs it once. */
function run(items: Parameters<typeof program>[1]): number {
  // Syscall programs load only as sleepable.
  const spec = program(
    {
      type: BpfProgType.SYSCALL,
      flags: BpfProgLoadFlag.SLEEPABLE,
      license: "GPL",
      name: "openiter",
    },
    items,
  );
  using prog = loadProgram({ ...spec, instructions: bindKsyms(spec.instructions, btf) });
  return prog.testRun().retval;
}

it("a kfunc by name prints and parses back, unresolved and with its BTF id", () => {
  const text = "call bpf_iter_num_new\ncall bpf_iter_num_next#12345\nexit";
  const items = parse(text);
  expect(items[0]).toEqual(kfunc("bpf_iter_num_new"));
  expect(items[1]).toMatchObject({ imm: 12345, ksym: { name: "bpf_iter_num_next", btfId: 12345 } });
  expect(
    print(items)
      .trim()
      .split("\n")
      .map((l) => l.trim()),
  ).toEqual(text.split("\n"));
});

it("the clang object's kfunc calls print by name where llvm-objdump shows their relocations", () => {
  const insns = parseCollection(fixture("externs")).programs.externs!.instructions;
  const calls = print(insns)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("call bpf_iter"));
  // llvm-objdump -dr: `call -0x1` + `R_BPF_64_32 bpf_iter_num_new` (and so on).
  expect(calls).toEqual([
    "call bpf_iter_num_new",
    "call bpf_iter_num_next",
    "call bpf_iter_num_next",
    "call bpf_iter_num_destroy",
  ]);
});

it("openIterLoop refuses exit in the body, r1 in the args and a misaligned state", () => {
  expect(() => openIterLoop({ type: "num", stack: -8, label: "l", body: [exit()] })).toThrow(
    /would skip bpf_iter_num_destroy/,
  );
  expect(() =>
    openIterLoop({ type: "num", stack: -8, label: "l", args: [mov("r1", 0)], body: [] }),
  ).toThrow(/set r1/);
  expect(() => openIterLoop({ type: "num", stack: -12, label: "l", body: [] })).toThrow(/aligned/);
  expect(() => openIterLoop({ type: "task", stack: -24, label: "l", body: [] })).toThrow(
    /needs kernel types/,
  );
});

it("kfuncCall checks arguments against the FUNC_PROTO before load [skips before 6.4]", (ctx) => {
  if (noIterNum) return ctx.skip(noIterNum);
  expect(() => kfuncCall(btf, "bpf_iter_num_new", ["r1", 0])).toThrow(
    /bpf_iter_num_new takes 3 arguments \(it: ptr, start: int, end: int\), got 2/,
  );
  expect(() => kfuncCall(btf, "bpf_iter_num_new", [8, 0, 10])).toThrow(
    /argument 1 \(it: ptr\): a pointer takes a register or 0/,
  );
  expect(() => kfuncCall(btf, "bpf_iter_num_new", ["r6", "r1", 10])).toThrow(/overwritten/);
  expect(() => kfuncCall(btf, "ts_ebpf_no_such_kfunc", [])).toThrow(/not in these kernel types/);
  const items = kfuncCall(btf, "bpf_iter_num_new", ["r6", 0, "r7"]);
  const id = btf.findType("bpf_iter_num_new", "func")!.id;
  expect(
    print(items)
      .trim()
      .split("\n")
      .map((l) => l.trim()),
  ).toEqual(["r1 = r6", "r2 = 0x0", "r3 = r7", `call bpf_iter_num_new#${id}`]);
});

describeKernel("open-coded iterators", () => {
  it("forRange sums 0..9 [skips before 6.4]", (ctx) => {
    if (noIterNum) return ctx.skip(noIterNum);
    const retval = run([
      mov("r6", 0),
      forRange("r7", 0, 10, { stack: -8, label: "i", body: [add("r6", "r7")] }),
      mov("r0", "r6"),
      exit(),
    ]);
    expect(retval).toBe(45);
  });

  it("nested loops count 3 x 4 passes; a break still destroys [skips before 6.4]", (ctx) => {
    if (noIterNum) return ctx.skip(noIterNum);
    const retval = run([
      mov("r6", 0),
      forRange("r7", 0, 3, {
        stack: -8,
        label: "outer",
        body: forRange("r8", 0, 100, {
          stack: -16,
          label: "inner",
          body: parse(`
            if r8 >= 4 goto inner_end
            r6 += 1`),
        }),
      }),
      mov("r0", "r6"),
      exit(),
    ]);
    expect(retval).toBe(12);
  });

  it("a task loop counts at least this process's threads [skips before 6.7]", (ctx) => {
    if (noIterTask) return ctx.skip(noIterTask);
    const { size } = btf.findType("bpf_iter_task", "struct")!;
    const retval = run([
      mov("r6", 0),
      // A sleepable program walks tasks inside an RCU read section.
      kfunc("bpf_rcu_read_lock"),
      openIterLoop({
        type: "task",
        stack: -Math.ceil(size / 8) * 8,
        label: "tasks",
        kernelTypes: btf,
        // bpf_iter_task_new(it, task = NULL, flags = BPF_TASK_ITER_ALL_PROCS)
        args: [mov("r2", 0), mov("r3", 0)],
        body: [add("r6", 1)],
      }),
      kfunc("bpf_rcu_read_unlock"),
      mov("r0", "r6"),
      exit(),
    ]);
    expect(retval).toBeGreaterThan(1);
  });
});
