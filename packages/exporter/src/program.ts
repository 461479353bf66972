// The exporter's task iterator program: one fixed-size record per task with
// exactly what the process metrics need, member offsets from the running
// kernel's BTF. The generic `tasks()` built-in would need the task_file
// iterator besides (one record per open file) to count fds; this program
// counts them in the kernel instead (a popcount of the fd table's open_fds
// bitmap, at the thread-group leader only: threads share it), and copies the
// memory and CPU counters the built-in does not have. Decoding is a loop over
// a DataView, no object per field.

import type { Btf } from "@ts-ebpf/btf";
import {
  add,
  and,
  call,
  type Item,
  ja,
  jeq,
  jge,
  jgt,
  jne,
  jslt,
  label,
  ldImm64,
  ldx,
  lsh,
  type MemSize,
  mov,
  mul,
  rsh,
  st,
  stx,
  sub,
} from "@ts-ebpf/dsl";
import { iteratorSpec, writeRecordAndExit } from "@ts-ebpf/iter";
import type { ProgramSpec } from "@ts-ebpf/spec";

/** Most fd-table words (64 fds each) counted per process: 65,536 fds. */
export const MAX_FD_WORDS = 1024;
/** fd-table words read per helper call (a 256-fd table: one call). */
const FD_BLOCK_WORDS = 4;
/** Bytes of the executable's name kept (the dentry name: a basename). */
export const EXE_LEN = 64;
const COMM_LEN = 16;

/** One field of the record: where it sits, and the task_struct path(s) it is read from. */
interface FieldSpec {
  readonly name: string;
  readonly size: 4 | 8;
  /** task_struct member paths tried in order (renamed members across kernels). */
  readonly paths: readonly string[];
  /** Read only at a thread-group leader (shared by its threads). */
  readonly leader?: boolean;
  /** Leave 0 where the kernel lacks every path. */
  readonly optional?: boolean;
  /** Added (in the kernel) to this field instead of having a slot; `clamp`: negative reads as 0. */
  readonly into?: string;
  readonly clamp?: boolean;
  /** Copied only when the program is asked for it. */
  readonly when?: "cgroup";
  /**
   * Read through bpf_probe_read_kernel when an alternative path matched:
   * 6.1's verifier refuses a direct load inside mm_struct's array of
   * atomic_long_t ("Type 'atomic_long_t' is not a struct").
   */
  readonly probeAlt?: boolean;
}

// Slots in this order; 8-byte fields first keeps every one aligned.
const FIELDS: readonly FieldSpec[] = [
  /** ns since boot, as /proc/<pid>/stat's starttime (start_time before 5.5 was monotonic). */
  { name: "startTime", size: 8, paths: ["start_boottime", "real_start_time"] },
  { name: "utime", size: 8, paths: ["utime"] },
  { name: "stime", size: 8, paths: ["stime"] },
  { name: "runtime", size: 8, paths: ["se.sum_exec_runtime"] },
  /** Resident pages: file + anon + shmem, summed below. */
  { name: "rss", size: 8, paths: [] },
  { name: "cgroupId", size: 8, paths: ["cgroups.dfl_cgrp.kn.id"], leader: true, when: "cgroup" },
  { name: "tgid", size: 4, paths: ["tgid"] },
  { name: "pid", size: 4, paths: ["pid"] },
  { name: "uid", size: 4, paths: ["real_cred.uid.val"] },
  { name: "state", size: 4, paths: ["__state", "state"] },
  { name: "exitState", size: 4, paths: ["exit_state"] },
  { name: "flags", size: 4, paths: ["flags"] },
  // Threads that exited: the kernel keeps their times in the signal struct.
  { name: "deadUtime", size: 8, paths: ["signal.utime"], leader: true, into: "utime" },
  { name: "deadStime", size: 8, paths: ["signal.stime"], leader: true, into: "stime" },
  {
    name: "deadRuntime",
    size: 8,
    paths: ["signal.sum_sched_runtime"],
    leader: true,
    into: "runtime",
  },
  // percpu_counter since 6.2 (its approximate count, as /proc shows), atomic_long before.
  {
    name: "rssFile",
    size: 8,
    probeAlt: true,
    paths: ["mm.rss_stat[0].count", "mm.rss_stat.count[0].counter"],
    leader: true,
    into: "rss",
    clamp: true,
  },
  {
    name: "rssAnon",
    size: 8,
    probeAlt: true,
    paths: ["mm.rss_stat[1].count", "mm.rss_stat.count[1].counter"],
    leader: true,
    into: "rss",
    clamp: true,
  },
  {
    name: "rssShmem",
    size: 8,
    probeAlt: true,
    paths: ["mm.rss_stat[3].count", "mm.rss_stat.count[3].counter"],
    leader: true,
    into: "rss",
    clamp: true,
  },
];

/** Offsets of the record's fields (bytes). */
export interface ProcessRecordLayout {
  readonly size: number;
  readonly offsets: Readonly<Record<string, number>>;
  /** Offset of the comm (16 bytes). */
  readonly comm: number;
  /** Offset of the open fd count (u32; leaders only). */
  readonly fds: number;
  /** Offset of the "fd table larger than counted" flag (u32). */
  readonly fdsTruncated: number;
  /** Offset of the executable name, or -1 when not copied. */
  readonly exe: number;
  /** Fields left 0 because this kernel lacks them. */
  readonly missing: readonly string[];
}

export interface ProcessProgram {
  readonly spec: ProgramSpec;
  readonly layout: ProcessRecordLayout;
}

/** What the record copies besides the always-present fields. */
export interface ProcessProgramOptions {
  /** Copy the executable's name (grouping by exe). */
  readonly exe?: boolean;
  /** Copy the cgroup v2 id (grouping by cgroup); 0 otherwise. */
  readonly cgroup?: boolean;
  /** Most fd-table words counted per process (default MAX_FD_WORDS). */
  readonly maxFdWords?: number;
}

interface Located {
  readonly hops: readonly number[];
  readonly offset: number;
  readonly size: number;
  /** Which of the paths matched (0: the first). */
  readonly index: number;
}

function locate(btf: Btf, paths: readonly string[]): Located | undefined {
  for (const [index, path] of paths.entries()) {
    try {
      const loc = btf.memberOffset("task_struct", path);
      if (loc.bitSize !== 0) continue;
      return { hops: loc.hops, offset: loc.offset, size: loc.size, index };
    } catch {
      // next spelling
    }
  }
  return undefined;
}

const SIZE: Record<number, MemSize> = { 1: "u8", 2: "u16", 4: "u32", 8: "u64" };

/**
 * r0 = the value at `loc` from the task in r8, through pointer hops in r3
 * (a NULL pointer on the way reads as 0: loads through BTF pointers are
 * fault-checked by the kernel).
 */
function load(loc: Located): Item[] {
  const size = SIZE[loc.size];
  if (!size) throw new Error(`task member of ${loc.size} bytes`);
  if (loc.hops.length === 0) return [ldx(size, "r0", "r8", loc.offset)];
  const out: Item[] = [mov("r3", "r8")];
  for (const hop of loc.hops) out.push(ldx("u64", "r3", "r3", hop));
  out.push(ldx(size, "r0", "r3", loc.offset));
  return out;
}

/** r9 += popcount(r0), with r1, r2 as scratch. */
function popcountInto(): Item[] {
  return [
    mov("r1", "r0"),
    rsh("r1", 1),
    ldImm64("r2", 0x5555555555555555n),
    and("r1", "r2"),
    sub("r0", "r1"),
    ldImm64("r2", 0x3333333333333333n),
    mov("r1", "r0"),
    and("r1", "r2"),
    rsh("r0", 2),
    and("r0", "r2"),
    add("r0", "r1"),
    mov("r1", "r0"),
    rsh("r1", 4),
    add("r0", "r1"),
    ldImm64("r2", 0x0f0f0f0f0f0f0f0fn),
    and("r0", "r2"),
    ldImm64("r2", 0x0101010101010101n),
    mul("r0", "r2"),
    rsh("r0", 56),
    add("r9", "r0"),
  ];
}

/** The task program and its record layout for the running kernel's BTF. */
export function processProgram(btf: Btf, options: ProcessProgramOptions = {}): ProcessProgram {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object ({ exe?, cgroup?, maxFdWords? })");
  }
  const ctx = (member: string) => btf.memberOffset("bpf_iter__task", member).offset;
  const metaOff = ctx("meta");
  const taskOff = ctx("task");
  const seqOff = btf.memberOffset("bpf_iter_meta", "seq").offset;

  const offsets: Record<string, number> = {};
  const missing: string[] = [];
  let at = 0;
  const located: { field: FieldSpec; loc: Located; at: number }[] = [];
  for (const field of FIELDS) {
    if (field.into === undefined) {
      offsets[field.name] = at;
      at += field.size;
    }
    if (field.paths.length === 0) continue; // computed
    if (field.when === "cgroup" && !options.cgroup) continue;
    const loc = locate(btf, field.paths);
    if (!loc) {
      if (!field.optional) {
        throw new Error(`kernel BTF: task_struct has none of ${field.paths.join(", ")}`);
      }
      missing.push(field.name);
    } else if (field.size === 4 && loc.size === 8) {
      // Before 5.14 the state was a long: its low half (little-endian) holds every TASK_* bit.
      located.push({ field, loc: { ...loc, size: 4 }, at: offsets[field.into ?? field.name]! });
    } else if (loc.size !== field.size && !(field.size === 4 && loc.size < 4)) {
      throw new Error(`kernel BTF: task_struct.${field.paths[loc.index]} is ${loc.size} bytes`);
    } else {
      located.push({ field, loc, at: offsets[field.into ?? field.name]! });
    }
  }
  const fds = at;
  const fdsTruncated = at + 4;
  const comm = Math.ceil((at + 8) / 8) * 8; // 8-byte stores
  at = comm + COMM_LEN;
  const exe = options.exe ? at : -1;
  if (options.exe) at += EXE_LEN;
  const size = Math.ceil(at / 8) * 8;
  const maxWords = options.maxFdWords ?? MAX_FD_WORDS;
  if (!Number.isInteger(maxWords) || maxWords < 1 || maxWords > MAX_FD_WORDS) {
    throw new RangeError(
      `maxFdWords must be an integer from 1 to ${MAX_FD_WORDS}, got ${String(maxWords)}`,
    );
  }
  const base = -size; // record on the stack at r10 - size
  const word = base - 8; // one word read by the helper (older kernels' RSS counters)
  const block = word - FD_BLOCK_WORDS * 8; // fd-table words read by the helper
  const wordCount = block - 8;
  const blockCount = wordCount - 8;

  const commLoc = locate(btf, ["comm"]);
  const filesFdt = locate(btf, ["files.fdt"]);
  const fdtOpen = btf.memberOffset("fdtable", "open_fds").offset;
  const fdtMax = btf.memberOffset("fdtable", "max_fds").offset;
  const openFdsInit = btf.memberOffset("files_struct", "open_fds_init").offset;
  if (!commLoc || !filesFdt) throw new Error("kernel BTF: task_struct lacks comm or files.fdt");

  const body: Item[] = [
    mov("r6", "r1"),
    ldx("u64", "r7", "r6", metaOff),
    ldx("u64", "r7", "r7", seqOff),
    ldx("u64", "r8", "r6", taskOff),
    jeq("r8", 0, "out"),
  ];
  for (let off = 0; off < size; off += 8) body.push(st("u64", "r10", base + off, 0));
  // comm: two 8-byte loads from the task itself (no helper call).
  body.push(
    ldx("u64", "r0", "r8", commLoc.offset),
    stx("u64", "r10", base + comm, "r0"),
    ldx("u64", "r0", "r8", commLoc.offset + 8),
    stx("u64", "r10", base + comm + 8, "r0"),
  );
  for (const { field, loc, at: off } of located) {
    if (field.leader) continue;
    body.push(...load(loc), stx(field.size === 8 ? "u64" : "u32", "r10", base + off, "r0"));
  }
  // Leader-only fields: threads share the mm, the fd table and the signal struct.
  body.push(
    ldx("u32", "r0", "r10", base + offsets.tgid!),
    ldx("u32", "r1", "r10", base + offsets.pid!),
    jne("r0", "r1", "emit"),
  );
  for (const { field, loc, at: off } of located) {
    if (!field.leader) continue;
    if (field.probeAlt && loc.index > 0) {
      // r0 = the 8 bytes at loc, copied by the helper into the scratch word.
      body.push(
        mov("r3", "r8"),
        ...loc.hops.map((hop) => ldx("u64", "r3", "r3", hop)),
        add("r3", loc.offset),
        mov("r1", "r10"),
        add("r1", word),
        mov("r2", 8),
        call("probe_read_kernel"),
        ldx("u64", "r0", "r10", word),
      );
    } else {
      body.push(...load(loc));
    }
    if (field.into !== undefined) {
      // Added to its field's slot; a negative counter (percpu_counter's estimate) adds 0.
      const skip = `skip_${field.name}`;
      if (field.clamp) body.push(jslt("r0", 0, skip));
      body.push(ldx("u64", "r1", "r10", base + off), add("r0", "r1"));
      body.push(stx("u64", "r10", base + off, "r0"));
      if (field.clamp) body.push(label(skip));
    } else {
      body.push(stx(field.size === 8 ? "u64" : "u32", "r10", base + off, "r0"));
    }
  }
  if (options.exe) {
    const exeName = locate(btf, ["mm.exe_file.f_path.dentry.d_name.name"]);
    if (!exeName) throw new Error("kernel BTF: no mm.exe_file.f_path.dentry.d_name.name");
    body.push(
      ...load(exeName), // the name pointer; NULL for kernel threads (the read then fails: "")
      mov("r3", "r0"),
      mov("r1", "r10"),
      add("r1", base + exe),
      mov("r2", EXE_LEN),
      call("probe_read_kernel_str"),
    );
  }
  // Open fds: count the set bits of files->fdt->open_fds, max_fds bits long.
  // A table never expanded (max_fds = 64) is the one inside files_struct:
  // its one word is read directly, without a helper call. A larger one is
  // read FD_BLOCK_WORDS words per helper call (a call per word was most of
  // the program's cost for the common 256-fd table), then the 2- and 1-word
  // remainders (tables are a multiple of 64 bits; the bitmap ends where the
  // close-on-exec bitmap begins, so nothing past it is read).
  const blockBytes = FD_BLOCK_WORDS * 8;
  const maxBlocks = Math.ceil(maxWords / FD_BLOCK_WORDS);
  const popcountWords = (at: number, n: number): Item[] =>
    Array.from({ length: n }, (_, i) => [
      ldx("u64", "r0", "r10", at + i * 8),
      ...popcountInto(),
    ]).flat();
  /** r3 = the bitmap (r8) + the byte offset in r3; then `n` words of it into the block. */
  const readWords = (n: number): Item[] => [
    add("r3", "r8"),
    mov("r1", "r10"),
    add("r1", block),
    mov("r2", n * 8),
    call("probe_read_kernel"),
    ...popcountWords(block, n),
  ];
  body.push(
    mov("r3", "r8"),
    ...filesFdt.hops.map((hop) => ldx("u64", "r3", "r3", hop)), // struct files_struct *
    jeq("r3", 0, "emit"),
    ldx("u64", "r4", "r3", filesFdt.offset), // struct fdtable *
    jeq("r4", 0, "emit"),
    ldx("u32", "r0", "r4", fdtMax),
    mov("r9", 0), // bits set
    jgt("r0", 64, "wide"),
    ldx("u64", "r0", "r3", openFdsInit),
    ...popcountInto(),
    ja("counted"),
    label("wide"),
    ldx("u64", "r8", "r4", fdtOpen), // unsigned long * (a plain number to the verifier)
    add("r0", 63),
    rsh("r0", 6), // words in the table
    jge("r0", maxWords + 1, "truncated"),
    ja("words"),
    label("truncated"),
    st("u32", "r10", base + fdsTruncated, 1),
    mov("r0", maxWords),
    label("words"),
    stx("u64", "r10", wordCount, "r0"), // words counted
    rsh("r0", Math.log2(FD_BLOCK_WORDS)),
    stx("u64", "r10", blockCount, "r0"), // whole blocks among them
    mov("r6", 0), // blocks counted
    label("blocks"),
    jge("r6", maxBlocks, "rest"),
    ldx("u64", "r0", "r10", blockCount),
    jge("r6", "r0", "rest"),
    mov("r3", "r6"),
    mul("r3", blockBytes),
    ...readWords(FD_BLOCK_WORDS),
    add("r6", 1),
    ja("blocks"),
    label("rest"),
    // Two words at (count & ~3) * 8 when count & 2; one at (count - 1) * 8 when count & 1.
    ldx("u64", "r3", "r10", wordCount),
    and("r3", 2),
    jeq("r3", 0, "rest_one"),
    ldx("u64", "r3", "r10", wordCount),
    rsh("r3", 2),
    lsh("r3", 5),
    ...readWords(2),
    label("rest_one"),
    ldx("u64", "r3", "r10", wordCount),
    and("r3", 1),
    jeq("r3", 0, "counted"),
    ldx("u64", "r3", "r10", wordCount),
    sub("r3", 1),
    lsh("r3", 3),
    ...readWords(1),
    label("counted"),
    stx("u32", "r10", base + fds, "r9"),
    ...writeRecordAndExit(base, size, "emit"),
  );
  return {
    spec: iteratorSpec(btf, "task", body, "bpf_iter_procs"),
    layout: { size, offsets, comm, fds, fdsTruncated, exe, missing },
  };
}
