// The seed's example: a BPF program over `struct bpf_iter__task`, written
// with @ts-ebpf/dsl, prints each task's pid and comm with bpf_seq_printf; the
// kernel runs it once per task when the iterator fd is read.
//
//   node packages/examples/dist/iter-task-dump.js      (as root)

import { loadKernelBtf } from "@ts-ebpf/btf";
import {
  add,
  call,
  exit,
  type Item,
  jeq,
  jne,
  label,
  ldMapValue,
  ldx,
  mov,
  stx,
} from "@ts-ebpf/dsl";
import { createIterator, iteratorSpec } from "@ts-ebpf/iter";
import type { ProgramSpec } from "@ts-ebpf/syscall";

const HEADER = "    PID COMM\n";
const FORMAT = "%7d %s\n";

/** The task dump program; every offset comes from the running kernel's BTF. */
export function taskDumpProgram(): ProgramSpec {
  const btf = loadKernelBtf();
  const ctx = (member: string) => btf.memberOffset("struct bpf_iter__task", member).offset;
  const meta = (member: string) => btf.memberOffset("bpf_iter_meta", member).offset;
  const task = (member: string) => btf.memberOffset("task_struct", member).offset;
  // Format strings live in read-only data (a frozen array map) the loader creates.
  const rodata = `${HEADER}\0${FORMAT}\0`;
  const formatAt = HEADER.length + 1;

  const body: Item[] = [
    ldx("u64", "r7", "r1", ctx("meta")), // r7 = ctx->meta
    ldx("u64", "r8", "r1", ctx("task")), // r8 = ctx->task
    ldx("u64", "r6", "r7", meta("seq")), // r6 = meta->seq
    // The last call of a session has task == NULL: the verifier insists on the check.
    jeq("r8", 0, "out"),
    // seq_num == 0: first task of this read session, print the header.
    ldx("u64", "r1", "r7", meta("seq_num")),
    jne("r1", 0, "row"),
    mov("r1", "r6"),
    ldMapValue("r2", ".rodata", 0),
    mov("r3", HEADER.length + 1),
    mov("r4", 0),
    mov("r5", 0),
    call("seq_printf"),
    label("row"),
    // u64 args[2] on the stack: { task->pid, &task->comm }
    ldx("u32", "r1", "r8", task("pid")),
    stx("u64", "r10", -16, "r1"),
    mov("r1", "r8"),
    add("r1", task("comm")),
    stx("u64", "r10", -8, "r1"),
    // bpf_seq_printf(seq, fmt, sizeof(fmt), args, sizeof(args))
    mov("r1", "r6"),
    ldMapValue("r2", ".rodata", formatAt),
    mov("r3", FORMAT.length + 1),
    mov("r4", "r10"),
    add("r4", -16),
    mov("r5", 16),
    call("seq_printf"),
    label("out"),
    mov("r0", 0),
    exit(),
  ];
  return {
    ...iteratorSpec(btf, "task", body, "task_dump"),
    readonlyData: [{ name: ".rodata", bytes: new TextEncoder().encode(rodata) }],
  };
}

export async function dumpTasks(): Promise<string> {
  await using link = createIterator(taskDumpProgram(), "task");
  return link.open().text();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  dumpTasks().then(
    (text) => process.stdout.write(text),
    (err: unknown) => {
      console.error(`iter-task-dump: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
