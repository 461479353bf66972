// argv and environment of every process: user memory, which an iterator
// program may read only when sleepable (BPF_F_SLEEPABLE, "iter.s/task") with
// bpf_copy_from_user_task (Linux 5.18). One record per process: its tgid, the
// bytes copied, then up to `max` bytes of the NUL-separated strings.

import { type Btf, loadKernelBtf } from "@ts-ebpf/btf";
import {
  add,
  call,
  type Item,
  ja,
  jeq,
  jgt,
  jne,
  jsgt,
  label,
  ldx,
  mov,
  st,
  stx,
  sub,
} from "@ts-ebpf/dsl";
import { BpfProgLoadFlag } from "@ts-ebpf/spec/constants";
import type { Program } from "@ts-ebpf/syscall";
import { iteratorSpec, writeRecordAndExit } from "../builtins/record.js";
import { createIterator, loadIteratorProgram } from "../link.js";
import { consumeOwnReader } from "../owned-fd.js";
import { QueryError } from "./errors.js";

export interface ProcessArgs {
  readonly pid: number;
  /** argv (or the environment as NAME=value strings), up to the bytes read. */
  readonly strings: readonly string[];
  /** True when the process's strings were longer than the bytes read. */
  readonly truncated: boolean;
}

export interface ProcessArgsOptions {
  /** "argv" (default) or "env". */
  readonly which?: "argv" | "env";
  /** Bytes read per process (default 256, at most 1024). */
  readonly max?: number;
}

const HEADER = 16; // tgid u32, pad, copied u32, full length u32

/** The kernel has bpf_copy_from_user_task (5.18): its proto is in BTF. */
export function hasCopyFromUserTask(btf: Btf = loadKernelBtf()): boolean {
  return btf.findType("bpf_copy_from_user_task", "func") !== undefined;
}

function argvProgram(btf: Btf, which: "argv" | "env", max: number): Item[] {
  const [startName, endName] =
    which === "argv" ? ["arg_start", "arg_end"] : ["env_start", "env_end"];
  const mm = btf.memberOffset("task_struct", "mm").offset;
  const tgid = btf.memberOffset("task_struct", "tgid").offset;
  const pid = btf.memberOffset("task_struct", "pid").offset;
  const start = btf.memberOffset("mm_struct", startName).offset;
  const end = btf.memberOffset("mm_struct", endName).offset;
  const meta = btf.memberOffset("bpf_iter__task", "meta").offset;
  const task = btf.memberOffset("bpf_iter__task", "task").offset;
  const seq = btf.memberOffset("bpf_iter_meta", "seq").offset;
  const size = HEADER + max;
  const base = -size;
  const body: Item[] = [
    mov("r6", "r1"),
    ldx("u64", "r7", "r6", meta),
    ldx("u64", "r7", "r7", seq),
    ldx("u64", "r8", "r6", task),
    jeq("r8", 0, "out"),
    // Processes only: the main thread holds the process's memory description.
    ldx("u32", "r1", "r8", pid),
    ldx("u32", "r2", "r8", tgid),
    jne("r1", "r2", "out"),
    st("u64", "r10", base, 0),
    st("u64", "r10", base + 8, 0),
    stx("u32", "r10", base, "r2"),
    ldx("u64", "r1", "r8", mm),
    // Kernel threads have no user memory: an empty record.
    jeq("r1", 0, "write"),
    ldx("u64", "r3", "r1", start),
    ldx("u64", "r9", "r1", end),
    sub("r9", "r3"),
    jsgt("r9", 0, "some"),
    ja("write"),
    label("some"),
    stx("u32", "r10", base + 12, "r9"),
    jgt("r9", max, "cap"),
    ja("copy"),
    label("cap"),
    mov("r9", max),
    label("copy"),
    stx("u32", "r10", base + 8, "r9"),
    mov("r1", "r10"),
    add("r1", base + HEADER),
    mov("r2", "r9"),
    mov("r4", "r8"),
    mov("r5", 0),
    call("copy_from_user_task"),
    ...writeRecordAndExit(base, size),
  ];
  return body;
}

const loaded = new Map<string, Program>();

/**
 * argv (or the environment) of every process, read by a sleepable task
 * iterator with bpf_copy_from_user_task. QueryError naming Linux 5.18 where
 * the kernel lacks the helper.
 */
export async function processArgs(options: ProcessArgsOptions = {}): Promise<ProcessArgs[]> {
  if (options === null || typeof options !== "object")
    throw new TypeError("options must be an object");
  const which = options.which ?? "argv";
  if (which !== "argv" && which !== "env")
    throw new TypeError('options.which must be "argv" or "env"');
  const max = options.max ?? 256;
  if (!Number.isInteger(max) || max < 8 || max > 1024 || max % 8 !== 0) {
    throw new RangeError("options.max must be a multiple of 8 from 8 to 1024");
  }
  const btf = loadKernelBtf();
  if (!hasCopyFromUserTask(btf)) {
    throw new QueryError(
      "reading argv and the environment needs bpf_copy_from_user_task in a sleepable task iterator: Linux 5.18 or later",
    );
  }
  const key = `${which}/${max}`;
  let program = loaded.get(key);
  if (!program) {
    const spec = iteratorSpec(btf, "task", argvProgram(btf, which, max), `q_${which}`);
    program = loadIteratorProgram({ ...spec, flags: BpfProgLoadFlag.SLEEPABLE }, "task");
    loaded.set(key, program);
  }
  const link = createIterator(program, "task");
  let bytes: Buffer;
  try {
    bytes = await consumeOwnReader(link.open(), (r) => r.readAll());
  } finally {
    link.close();
  }
  const size = HEADER + max;
  const out: ProcessArgs[] = [];
  const text = new TextDecoder();
  for (let o = 0; o + size <= bytes.length; o += size) {
    const pid = bytes.readUInt32LE(o);
    const copied = bytes.readUInt32LE(o + 8);
    const full = bytes.readUInt32LE(o + 12);
    const data = bytes.subarray(o + HEADER, o + HEADER + copied);
    const strings = text.decode(data).split("\0");
    if (strings.at(-1) === "") strings.pop();
    out.push({ pid, strings, truncated: full > copied });
  }
  return out;
}

/** Closes the argv programs (loaded again on next use). */
export function closeProcessArgs(): void {
  for (const p of loaded.values()) p.close();
  loaded.clear();
}
