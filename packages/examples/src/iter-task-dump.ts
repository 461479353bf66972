// The seed's example: a BPF program over `struct bpf_iter__task`, written
// with @ts-ebpf/dsl, prints each task's pid and comm with bpf_seq_printf; the
// kernel runs it once per task when the iterator fd is read.
//
//   node packages/examples/dist/iter-task-dump.js      (as root)

import { loadKernelBtf } from "@ts-ebpf/btf";
import {
  fieldAddress,
  iterContext,
  iterProgram,
  iterReturn,
  jne,
  label,
  loadField,
  seqPrintf,
} from "@ts-ebpf/dsl";
import { createIterator } from "@ts-ebpf/iter";
import type { ProgramSpec } from "@ts-ebpf/syscall";

export const HEADER = "    PID COMM";

/** The task dump program; every offset comes from the running kernel's BTF. */
export function taskDumpProgram(): ProgramSpec {
  const btf = loadKernelBtf();
  const ctx = iterContext(btf, "task", "r6"); // struct bpf_iter__task, kept in r6
  return iterProgram(
    ctx,
    [
      ctx.save(),
      ctx.meta.seq("r7"), // r7 = ctx->meta->seq
      // The last call of a session has task == NULL, and the verifier insists
      // on the check. It comes first: that call can also see seq_num == 0.
      ctx.loadNonNull("r8", "task"),
      // seq_num == 0: first task of this session, print the header.
      ctx.meta.seqNum("r1"),
      jne("r1", 0, "row"),
      seqPrintf("r7", `${HEADER}\n`),
      label("row"),
      loadField(btf, "r1", "r8", "task_struct", "pid"),
      fieldAddress(btf, "r2", "r8", "task_struct", "comm"),
      // Format in read-only data, { pid, &comm } as u64 args on the stack.
      seqPrintf("r7", "%7d %s\n", ["r1", "r2"]),
      iterReturn(0),
    ],
    { name: "task_dump" },
  );
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
