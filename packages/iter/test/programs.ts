// Small iterator programs for the kernel tests, built with @ts-ebpf/dsl
// builders. Offsets come from kernel BTF.
import { loadKernelBtf } from "@ts-ebpf/btf";
import {
  add,
  call,
  exit,
  type Item,
  jeq,
  jlt,
  jne,
  label,
  ldImm64,
  ldMapFd,
  ldMapValue,
  ldx,
  mov,
  st,
  stx,
} from "@ts-ebpf/dsl";
import type { MapFdSource, ProgramSpec } from "@ts-ebpf/syscall";
import { iteratorSpec } from "../src/index.js";

const btf = () => loadKernelBtf();
const ctxOff = (target: string, member: string) =>
  btf().memberOffset(`struct bpf_iter__${target}`, member).offset;
const metaOff = (member: string) => btf().memberOffset("bpf_iter_meta", member).offset;

function withRodata(spec: ProgramSpec, text: string): ProgramSpec {
  return { ...spec, readonlyData: [{ name: ".rodata", bytes: new TextEncoder().encode(text) }] };
}

/** "pid comm" header at seq_num 0, then "%d %s\n" per task (what the example prints). */
export function taskTextProgram(header = "pid comm\n"): ProgramSpec {
  const fmt = "%d %s\n";
  const rodata = `${header}\0${fmt}\0`;
  const fmtAt = header.length + 1;
  const pid = btf().memberOffset("task_struct", "pid").offset;
  const comm = btf().memberOffset("task_struct", "comm").offset;
  const body: Item[] = [
    ldx("u64", "r7", "r1", ctxOff("task", "meta")),
    ldx("u64", "r8", "r1", ctxOff("task", "task")),
    ldx("u64", "r6", "r7", metaOff("seq")),
    // NULL check first: the end-of-session call may also see seq_num 0.
    jeq("r8", 0, "out"),
    ldx("u64", "r1", "r7", metaOff("seq_num")),
    jne("r1", 0, "body"),
    mov("r1", "r6"),
    ldMapValue("r2", ".rodata", 0),
    mov("r3", header.length + 1),
    mov("r4", 0),
    mov("r5", 0),
    call("seq_printf"),
    label("body"),
    ldx("u32", "r1", "r8", pid),
    stx("u64", "r10", -16, "r1"),
    mov("r1", "r8"),
    add("r1", comm),
    stx("u64", "r10", -8, "r1"),
    mov("r1", "r6"),
    ldMapValue("r2", ".rodata", fmtAt),
    mov("r3", fmt.length + 1),
    mov("r4", "r10"),
    add("r4", -16),
    mov("r5", 16),
    call("seq_printf"),
    label("out"),
    mov("r0", 0),
    exit(),
  ];
  return withRodata(iteratorSpec(btf(), "task", body, "test_task_txt"), rodata);
}

/** A task program printing only a fixed line per session (to tell programs apart). */
export function taskLineProgram(line: string): ProgramSpec {
  return lineProgram("task", "task", line);
}

/** Prints `line` once per session, at the first non-NULL object of `member`. */
export function lineProgram(target: string, member: string, line: string): ProgramSpec {
  const body: Item[] = [
    ldx("u64", "r7", "r1", ctxOff(target, "meta")),
    ldx("u64", "r8", "r1", ctxOff(target, member)),
    ldx("u64", "r6", "r7", metaOff("seq")),
    jeq("r8", 0, "out"),
    ldx("u64", "r1", "r7", metaOff("seq_num")),
    jne("r1", 0, "out"),
    mov("r1", "r6"),
    ldMapValue("r2", ".rodata", 0),
    mov("r3", line.length + 1),
    mov("r4", 0),
    mov("r5", 0),
    call("seq_printf"),
    label("out"),
    mov("r0", 0),
    exit(),
  ];
  return withRodata(iteratorSpec(btf(), target, body, "test_line"), `${line}\0`);
}

/** bpf_map (target) program writing `bytes` zero bytes per map, 512 at a time (E2BIG when > seq buffer). */
export function bigObjectProgram(bytes: number): ProgramSpec {
  const body: Item[] = [
    ldx("u64", "r7", "r1", ctxOff("bpf_map", "meta")),
    ldx("u64", "r8", "r1", ctxOff("bpf_map", "map")),
    ldx("u64", "r6", "r7", metaOff("seq")),
    jeq("r8", 0, "out"),
  ];
  for (let off = -512; off < 0; off += 8) body.push(st("u64", "r10", off, 0));
  for (let left = bytes; left > 0; left -= 512) {
    body.push(
      mov("r1", "r6"),
      mov("r2", "r10"),
      add("r2", -512),
      mov("r3", Math.min(512, left)),
      call("seq_write"),
    );
  }
  body.push(label("out"), mov("r0", 0), exit());
  return iteratorSpec(btf(), "bpf_map", body, "test_big");
}

/**
 * Returns 1 the first time it runs (state[0] == 0 → 1), so the kernel
 * replays the object; later times jump to "emit".
 */
function replayOnce(state: MapFdSource): Item[] {
  return [
    st("u32", "r10", -8, 0),
    ldMapFd("r1", { handle: state }),
    mov("r2", "r10"),
    add("r2", -8),
    call("map_lookup_elem"),
    jeq("r0", 0, "emit"),
    ldx("u64", "r1", "r0", 0),
    jne("r1", 0, "emit"),
    mov("r1", 1),
    stx("u64", "r0", 0, "r1"),
    mov("r0", 1),
    exit(),
  ];
}

/** Labels "emit" (write r9, `width` wide, to the seq file in r6) and "out" (return 0). */
function writeR9AndReturn(width: "u32" | "u64"): Item[] {
  return [
    label("emit"),
    stx(width, "r10", -16, "r9"),
    mov("r1", "r6"),
    mov("r2", "r10"),
    add("r2", -16),
    mov("r3", width === "u32" ? 4 : 8),
    call("seq_write"),
    label("out"),
    mov("r0", 0),
    exit(),
  ];
}

/**
 * bpf_map_elem program over a u32-keyed map: writes the key (4 bytes) of
 * every element whose key is >= `from`; with `replayKey`, returns 1 the first
 * time it meets that key (the kernel replays the object), counting in `state`.
 */
export function keyWriterProgram(
  from = 0,
  replay?: { key: number; state: MapFdSource },
): ProgramSpec {
  const body: Item[] = [
    ldx("u64", "r7", "r1", ctxOff("bpf_map_elem", "meta")),
    ldx("u64", "r8", "r1", ctxOff("bpf_map_elem", "key")),
    ldx("u64", "r6", "r7", metaOff("seq")),
    jeq("r8", 0, "out"),
    ldx("u32", "r9", "r8", 0),
  ];
  if (from > 0) body.push(jlt("r9", from, "out"));
  if (replay) {
    body.push(jne("r9", replay.key, "emit"), ...replayOnce(replay.state));
  }
  body.push(...writeR9AndReturn("u32"));
  return iteratorSpec(btf(), "bpf_map_elem", body, "test_keys");
}

/**
 * ksym program writing every symbol's address (8 bytes): ~100k objects on any
 * kernel, and a target every kernel that has it loads. With `replay`, returns
 * 1 the first time it meets that address (the kernel replays the object),
 * counting in `state`.
 */
export function ksymAddressProgram(replay?: { address: bigint; state: MapFdSource }): ProgramSpec {
  const value = btf().memberOffset("kallsym_iter", "value").offset;
  const body: Item[] = [
    ldx("u64", "r7", "r1", ctxOff("ksym", "meta")),
    ldx("u64", "r8", "r1", ctxOff("ksym", "ksym")),
    ldx("u64", "r6", "r7", metaOff("seq")),
    jeq("r8", 0, "out"),
    ldx("u64", "r9", "r8", value),
  ];
  if (replay) {
    body.push(ldImm64("r1", replay.address), jne("r9", "r1", "emit"), ...replayOnce(replay.state));
  }
  body.push(...writeR9AndReturn("u64"));
  return iteratorSpec(btf(), "ksym", body, "test_ksym_addr");
}

/**
 * ksym program writing each object's meta->seq_num (u64): the whole output is
 * 0, 1, 2, ... n-1, so a chunk lost, repeated or taken out of order shows.
 */
export function ksymSeqNumProgram(): ProgramSpec {
  const body: Item[] = [
    ldx("u64", "r7", "r1", ctxOff("ksym", "meta")),
    ldx("u64", "r8", "r1", ctxOff("ksym", "ksym")),
    ldx("u64", "r6", "r7", metaOff("seq")),
    jeq("r8", 0, "out"),
    ldx("u64", "r9", "r7", metaOff("seq_num")),
    ...writeR9AndReturn("u64"),
  ];
  return iteratorSpec(btf(), "ksym", body, "test_ksym_seq");
}

/** A task program returning 1 for every task: it asks the kernel to replay the same object forever. */
export function alwaysReplayProgram(): ProgramSpec {
  const body: Item[] = [
    ldx("u64", "r8", "r1", ctxOff("task", "task")),
    jeq("r8", 0, "out"),
    mov("r0", 1),
    exit(),
    label("out"),
    mov("r0", 0),
    exit(),
  ];
  return iteratorSpec(btf(), "task", body, "test_replay");
}
