// The executable's full path of every process. bpf_d_path would give it, but
// the verifier takes only a struct path it trusts (task_file's file.f_path),
// and mm->exe_file is reached through pointers it does not. So the program
// walks the path itself, as the kernel's prepend_path() does: from
// mm->exe_file's dentry up d_parent, and at the root of a mount on to its
// mountpoint in the parent mount (struct mount around the vfsmount), writing
// each name (leaf first) with bpf_seq_write. Every read goes through
// bpf_probe_read_kernel (struct mount is reached by pointer arithmetic the
// verifier cannot type), and the walk is unrolled to MAX_DEPTH steps.
//
// One variable-length record per process: a 16-byte header (tgid u32, 4 zero
// bytes, the task's start time u64: with the pid it names the process, so a pid
// reused between this walk and another one is not taken for the same process),
// the names leaf first,
// each NUL-terminated, then an empty name and a status byte (bit 0: the walk
// stopped before the root, bit 1: the file was unlinked — /proc shows
// " (deleted)"; a memfd, which /proc shows as "/memfd:<name> (deleted)", is
// its name with that bit).

import { type Btf, loadKernelBtf } from "@ts-ebpf/btf";
import {
  add,
  call,
  exit,
  type Item,
  ja,
  jeq,
  jne,
  jsgt,
  jsle,
  label,
  ldx,
  mov,
  type Reg,
  st,
  stx,
  sub,
} from "@ts-ebpf/dsl";
import type { Program } from "@ts-ebpf/syscall";
import { iteratorSpec } from "../builtins/record.js";
import { createIterator, loadIteratorProgram } from "../link.js";
import { consumeOwnReader } from "../owned-fd.js";

/** Path components and mount crossings walked at most (each unrolled in the program). */
export const MAX_EXE_DEPTH = 32;

/** One process's executable path, as the program walked it. */
export interface ExePath {
  readonly pid: number;
  /** The process's start time (ns since boot, as Process.startTimeNs): pid + start time name one process. */
  readonly startTimeNs: bigint;
  /** Absolute path in the process's mount namespace ("/usr/bin/node"). */
  readonly path: string;
  /** The file was unlinked after it was executed (/proc/<pid>/exe adds " (deleted)"). */
  readonly deleted: boolean;
  /** The walk stopped before the root (deeper than MAX_EXE_DEPTH, or a read failed): path is the tail. */
  readonly truncated: boolean;
}

// Stack slots (offsets from r10).
const BUF = -256; // one name, NUL included (NAME_MAX 255 + 1)
const DENTRY = -264; // the dentry walked
const MNT = -272; // its vfsmount
const TMP = -280;
const PARENT = -288;
const END = -304; // empty name, status byte
const HEADER = -320; // tgid u32, 0 u32, start time u64 (16 bytes: -320 .. -305)

const TRUNCATED = 1;
const DELETED = 2;

/** task_struct's start time since boot (start_boottime from 5.5, real_start_time before). */
function startTimeOffset(btf: Btf): number {
  for (const member of ["start_boottime", "real_start_time"]) {
    try {
      return btf.memberOffset("task_struct", member).offset;
    } catch {
      // the older name
    }
  }
  throw new Error("exePaths: task_struct has neither start_boottime nor real_start_time");
}

function exeProgram(btf: Btf, depth: number): Item[] {
  const off = (struct: string, path: string) => btf.memberOffset(struct, path).offset;
  const mountMnt = off("mount", "mnt");
  /** [slot] = *(u64 *)(src + offset), by bpf_probe_read_kernel (0 when the read fails). */
  const read8 = (slot: number, src: Reg, offset: number): Item[] => [
    mov("r1", "r10"),
    add("r1", slot),
    mov("r2", 8),
    mov("r3", src),
    add("r3", offset),
    call("probe_read_kernel"),
  ];
  // The walked dentry's name (NUL included) to the seq_file; an empty or
  // unreadable one ends the walk as truncated.
  const writeName: Item[] = [
    ldx("u64", "r3", "r10", DENTRY),
    ...read8(TMP, "r3", off("dentry", "d_name") + off("qstr", "name")),
    mov("r1", "r10"),
    add("r1", BUF),
    mov("r2", -BUF),
    ldx("u64", "r3", "r10", TMP),
    call("probe_read_kernel_str"),
    jsle("r0", 1, "truncated"),
    jsgt("r0", -BUF, "truncated"),
    mov("r1", "r7"),
    mov("r2", "r10"),
    add("r2", BUF),
    mov("r3", "r0"),
    call("seq_write"),
  ];
  const body: Item[] = [
    mov("r6", "r1"),
    ldx("u64", "r7", "r6", off("bpf_iter__task", "meta")),
    ldx("u64", "r7", "r7", off("bpf_iter_meta", "seq")),
    ldx("u64", "r8", "r6", off("bpf_iter__task", "task")),
    jeq("r8", 0, "out"),
    // Processes only: threads share the executable.
    ldx("u32", "r1", "r8", off("task_struct", "pid")),
    ldx("u32", "r2", "r8", off("task_struct", "tgid")),
    jne("r1", "r2", "out"),
    stx("u32", "r10", HEADER, "r2"),
    st("u32", "r10", HEADER + 4, 0),
    ldx("u64", "r1", "r8", startTimeOffset(btf)),
    stx("u64", "r10", HEADER + 8, "r1"),
    // Kernel threads (no mm) and processes exiting have no executable: no record.
    ldx("u64", "r1", "r8", off("task_struct", "mm")),
    jeq("r1", 0, "out"),
    ldx("u64", "r9", "r1", off("mm_struct", "exe_file")),
    jeq("r9", 0, "out"),
    ...read8(DENTRY, "r9", off("file", "f_path") + off("path", "dentry")),
    ...read8(MNT, "r9", off("file", "f_path") + off("path", "mnt")),
    st("u8", "r10", END, 0),
    st("u8", "r10", END + 1, 0),
    mov("r1", "r7"),
    mov("r2", "r10"),
    add("r2", HEADER),
    mov("r3", 16),
    call("seq_write"),
    // Unlinked: the dentry is unhashed (d_hash.pprev NULL) and not a root.
    ldx("u64", "r3", "r10", DENTRY),
    ...read8(TMP, "r3", off("dentry", "d_hash") + off("hlist_bl_node", "pprev")),
    ldx("u64", "r1", "r10", TMP),
    jne("r1", 0, "level.0"),
    ldx("u64", "r3", "r10", DENTRY),
    ...read8(PARENT, "r3", off("dentry", "d_parent")),
    ldx("u64", "r1", "r10", DENTRY),
    ldx("u64", "r2", "r10", PARENT),
    jeq("r1", "r2", "level.0"),
    st("u8", "r10", END + 1, DELETED),
  ];
  for (let i = 0; i < depth; i++) {
    const next = `level.${i + 1}`;
    const cross = `cross.${i}`;
    body.push(
      label(`level.${i}`),
      ldx("u64", "r3", "r10", DENTRY),
      jeq("r3", 0, "truncated"),
      // The root of its mount, or a root dentry: go on in the parent mount.
      ldx("u64", "r3", "r10", MNT),
      ...read8(TMP, "r3", off("vfsmount", "mnt_root")),
      ldx("u64", "r1", "r10", DENTRY),
      ldx("u64", "r2", "r10", TMP),
      jeq("r1", "r2", cross),
      ldx("u64", "r3", "r10", DENTRY),
      ...read8(PARENT, "r3", off("dentry", "d_parent")),
      ldx("u64", "r1", "r10", DENTRY),
      ldx("u64", "r2", "r10", PARENT),
      // A leaf that is its own parent but not a mount's root is a pseudo
      // file (a memfd): the kernel names it "/<name> (deleted)" (simple_dname).
      jeq("r1", "r2", i === 0 ? "pseudo" : cross),
      // Its name, then on to the parent.
      ...writeName,
      ldx("u64", "r1", "r10", PARENT),
      stx("u64", "r10", DENTRY, "r1"),
      ja(next),
      // struct mount holds the vfsmount at mountMnt: its parent mount and
      // mountpoint; the namespace's root mount is its own parent.
      label(cross),
      ldx("u64", "r3", "r10", MNT),
      ...read8(TMP, "r3", off("mount", "mnt_parent") - mountMnt),
      ldx("u64", "r1", "r10", TMP),
      jeq("r1", 0, "truncated"),
      ldx("u64", "r2", "r10", MNT),
      sub("r2", mountMnt),
      jeq("r1", "r2", "done"),
      ldx("u64", "r3", "r10", MNT),
      ...read8(DENTRY, "r3", off("mount", "mnt_mountpoint") - mountMnt),
      ldx("u64", "r1", "r10", TMP),
      add("r1", mountMnt),
      stx("u64", "r10", MNT, "r1"),
      ja(next),
    );
  }
  body.push(
    label("pseudo"),
    st("u8", "r10", END + 1, DELETED),
    ...writeName,
    ja("done"),
    label(`level.${depth}`),
    label("truncated"),
    ldx("u8", "r1", "r10", END + 1),
    add("r1", TRUNCATED),
    stx("u8", "r10", END + 1, "r1"),
    label("done"),
    mov("r1", "r7"),
    mov("r2", "r10"),
    add("r2", END),
    mov("r3", 2),
    call("seq_write"),
    label("out"),
    mov("r0", 0),
    exit(),
  );
  return body;
}

/** The exe walk's program (not loaded), unrolled to `depth` steps. */
export function exePathSpec(btf: Btf = loadKernelBtf(), depth = MAX_EXE_DEPTH) {
  if (!Number.isInteger(depth) || depth < 1 || depth > 64) {
    throw new RangeError("depth must be an integer from 1 to 64");
  }
  return iteratorSpec(btf, "task", exeProgram(btf, depth), "q_exe");
}

let loaded: Program | undefined;

/** Decodes the program's output: one entry per process record. */
export function decodeExePaths(bytes: Uint8Array): ExePath[] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("bytes must be a Uint8Array");
  const out: ExePath[] = [];
  const text = new TextDecoder();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  while (o + 16 <= bytes.length) {
    const pid = view.getUint32(o, true);
    const startTimeNs = view.getBigUint64(o + 8, true);
    o += 16;
    const names: string[] = [];
    for (;;) {
      const nul = bytes.indexOf(0, o);
      if (nul < 0) return out; // cut short: not a whole record
      const name = text.decode(bytes.subarray(o, nul));
      o = nul + 1;
      if (name === "") break;
      names.push(name);
    }
    if (o >= bytes.length) return out;
    const status = bytes[o]!;
    o += 1;
    const tail = names.reverse().join("/");
    out.push({
      pid,
      startTimeNs,
      path: status & TRUNCATED ? tail : `/${tail}`,
      deleted: (status & DELETED) !== 0,
      truncated: (status & TRUNCATED) !== 0,
    });
  }
  return out;
}

/** Every process's executable path (kernel threads have none and are left out). */
export async function exePaths(): Promise<ExePath[]> {
  if (!loaded) {
    const btf = loadKernelBtf();
    loaded = loadIteratorProgram(exePathSpec(btf), "task", btf);
  }
  const link = createIterator(loaded, "task");
  try {
    return decodeExePaths(await consumeOwnReader(link.open(), (r) => r.readAll()));
  } finally {
    link.close();
  }
}

/** Closes the exe program (loaded again on next use). */
export function closeExePaths(): void {
  loaded?.close();
  loaded = undefined;
}
