// Per-process facts from the exporter's task records (program.ts): thread
// records folded into their process, CPU split as the kernel splits it for
// /proc (cputime_adjust), state letters as /proc shows them.

import type { ProcessRecordLayout } from "./program.js";

/** One process (thread group) as one iterator read saw it. */
export interface ProcessSample {
  readonly tgid: number;
  /** The leader's comm ("" when the leader was not seen). */
  comm: string;
  /** Basename of the executable ("" for kernel threads, or when not read). */
  exe: string;
  uid: number;
  /** cgroup v2 id (kernfs node id) of the leader. */
  cgroupId: number;
  /** Start, in ns since boot (as /proc/<pid>/stat's starttime). */
  startTime: number;
  /** The leader's state letter as /proc shows it: R S D T t X Z P I. */
  state: string;
  /** Task records seen (threads, the leader included). */
  threads: number;
  /** Open fds (0 for kernel threads). */
  fds: number;
  /** The fd table was larger than the program counts (MAX_FD_WORDS): `fds` is a lower bound. */
  fdsTruncated: boolean;
  /** Resident pages (file + anon + shmem). */
  rssPages: number;
  /** CPU time in ns: sum over live threads plus the exited ones, as the kernel keeps them. */
  runtime: number;
  utime: number;
  stime: number;
  kernelThread: boolean;
}

const PF_KTHREAD = 0x00200000;
const TASK_REPORT = 0x7f;
const TASK_IDLE = 0x402; // TASK_UNINTERRUPTIBLE | TASK_NOLOAD
const TASK_RTLOCK_WAIT = 0x1000;
const STATE_LETTERS = "RSDTtXZPI";

/** The letter /proc/<pid>/stat shows for a task (fs/proc/array.c task_state_index). */
export function stateLetter(state: number, exitState: number): string {
  if ((state & TASK_IDLE) === TASK_IDLE) return "I";
  if (state === TASK_RTLOCK_WAIT) return "D";
  const report = (state | exitState) & TASK_REPORT;
  return STATE_LETTERS[32 - Math.clz32(report)] ?? "?";
}

const LAYOUT_FIELDS = [
  "tgid",
  "pid",
  "uid",
  "state",
  "exitState",
  "flags",
  "startTime",
  "utime",
  "stime",
  "runtime",
  "rss",
  "cgroupId",
] as const;

/** A sample as the decoder keeps it between reads. */
export interface FoldedSample extends ProcessSample {
  /** The read that last saw the process. */
  gen: number;
  /** The leader's comm as four u32 words (its string is made again only when they change). */
  readonly commKey: number[];
}

/** A sample of a process not seen yet. */
export function newFoldedSample(tgid: number): FoldedSample {
  return {
    tgid,
    comm: "",
    commKey: [-1, -1, -1, -1],
    exe: "",
    uid: 0,
    cgroupId: 0,
    startTime: 0,
    state: "?",
    threads: 0,
    fds: 0,
    fdsTruncated: false,
    rssPages: 0,
    runtime: 0,
    utime: 0,
    stime: 0,
    kernelThread: false,
    gen: 0,
  };
}

/**
 * Decodes the task records of successive reads into per-process samples,
 * in two steps: `fold` adds every record to its process, `finish` splits
 * each process's CPU time, drops the processes the read did not see and
 * hands each other one to a visitor. The samples (made by `create`: the
 * exporter's carry its counters, so that one pass and one map serve both)
 * and their comm strings, while a process keeps its comm, are reused from
 * one read to the next: a scrape of 10,000 processes allocates next to
 * nothing.
 */
export class ProcessFolder<S extends FoldedSample> {
  readonly #layout: ProcessRecordLayout;
  readonly #create: (tgid: number) => S;
  /** The processes of the last read, by tgid. */
  readonly samples = new Map<number, S>();
  #gen = 0;

  constructor(layout: ProcessRecordLayout, create: (tgid: number) => S) {
    if (typeof layout !== "object" || layout === null) {
      throw new TypeError("layout must be a ProcessRecordLayout (processProgram(...).layout)");
    }
    const { size } = layout;
    if (!Number.isInteger(size) || size < 8 || size > 4096 || size % 8 !== 0) {
      throw new RangeError(
        `layout.size must be a multiple of 8 from 8 to 4096, got ${String(size)}`,
      );
    }
    const inRecord = (name: string, off: unknown, len: number) => {
      if (!Number.isInteger(off) || (off as number) < 0 || (off as number) + len > size) {
        throw new RangeError(`layout: ${name} at ${String(off)} is outside a ${size}-byte record`);
      }
      if ((off as number) % 4 !== 0) throw new RangeError(`layout: ${name} is not 4-byte aligned`);
    };
    for (const name of LAYOUT_FIELDS) inRecord(`offsets.${name}`, layout.offsets?.[name], 8);
    inRecord("comm", layout.comm, 16);
    inRecord("fds", layout.fds, 4);
    inRecord("fdsTruncated", layout.fdsTruncated, 4);
    if (layout.exe !== -1) inRecord("exe", layout.exe, 64);
    this.#layout = layout;
    this.#create = create;
  }

  /** The number of the last read (a sample's `gen` when that read saw it). */
  get generation(): number {
    return this.#gen;
  }

  /** Adds the records of one read to their processes (finish() completes them). */
  fold(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("bytes must be a Uint8Array");
    const layout = this.#layout;
    const { size } = layout;
    if (bytes.length % size !== 0) {
      throw new RangeError(`task records: ${bytes.length} bytes is not a multiple of ${size}`);
    }
    // 32-bit words; a copy only when the bytes are not 4-byte aligned.
    const words =
      bytes.byteOffset % 4 === 0
        ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
        : new Uint32Array(Uint8Array.from(bytes).buffer);
    const w = (name: string) => layout.offsets[name]! / 4;
    const TGID = w("tgid");
    const PID = w("pid");
    const UID = w("uid");
    const STATE = w("state");
    const EXIT = w("exitState");
    const FLAGS = w("flags");
    const START = w("startTime");
    const UT = w("utime");
    const ST = w("stime");
    const RT = w("runtime");
    const RSS = w("rss");
    const CG = w("cgroupId");
    const COMM = layout.comm / 4;
    const FDS = layout.fds / 4;
    const TRUNC = layout.fdsTruncated / 4;
    const EXE = layout.exe;
    const stride = size / 4;
    const u64 = (i: number) => words[i]! + words[i + 1]! * 0x1_0000_0000;
    const gen = ++this.#gen;
    const samples = this.samples;
    const create = this.#create;
    const bytesView = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let r = 0; r < words.length; r += stride) {
      const tgid = words[r + TGID]!;
      const leader = words[r + PID] === tgid;
      let p = samples.get(tgid);
      if (!p) {
        p = create(tgid);
        samples.set(tgid, p);
      }
      if (p.gen !== gen) {
        // First record of this process in this read (for most processes, the only one).
        p.gen = gen;
        p.threads = 1;
        p.runtime = u64(r + RT);
        p.utime = u64(r + UT);
        p.stime = u64(r + ST);
        p.fds = 0;
        p.fdsTruncated = false;
        p.rssPages = 0;
        p.state = "";
      } else {
        p.threads++;
        p.runtime += u64(r + RT);
        p.utime += u64(r + UT);
        p.stime += u64(r + ST);
      }
      if (leader || p.state === "") {
        // The leader's facts (a thread's until the leader shows up).
        const key = p.commKey;
        const c = r + COMM;
        if (
          key[0] !== words[c] ||
          key[1] !== words[c + 1] ||
          key[2] !== words[c + 2] ||
          key[3] !== words[c + 3]
        ) {
          key[0] = words[c]!;
          key[1] = words[c + 1]!;
          key[2] = words[c + 2]!;
          key[3] = words[c + 3]!;
          p.comm = cstring(bytesView, c * 4, 16);
        }
        p.uid = words[r + UID]!;
        p.startTime = u64(r + START);
        p.state = stateLetter(words[r + STATE]!, words[r + EXIT]!);
        p.kernelThread = (words[r + FLAGS]! & PF_KTHREAD) !== 0;
      }
      if (leader) {
        if (EXE >= 0) p.exe = cstring(bytesView, r * 4 + EXE, 64);
        p.cgroupId = u64(r + CG);
        p.fds = words[r + FDS]!;
        p.fdsTruncated = words[r + TRUNC] !== 0;
        // The leader's times include those of its exited threads (added in the kernel).
        p.rssPages = u64(r + RSS);
      }
    }
  }

  /**
   * After fold(): each process's CPU time split as the kernel splits it,
   * the processes that read did not see dropped, `visit` called on the others.
   */
  finish(visit?: (p: S) => void): void {
    const gen = this.#gen;
    const samples = this.samples;
    samples.forEach((p, tgid) => {
      if (p.gen !== gen) {
        samples.delete(tgid);
        return;
      }
      // cputime_adjust(): the precise runtime, split in the ratio of the tick-sampled times.
      const { utime, stime } = p;
      if (stime === 0) {
        p.utime = p.runtime;
      } else if (utime === 0) {
        p.stime = p.runtime;
      } else {
        p.stime = Math.round((p.runtime * stime) / (utime + stime));
        p.utime = p.runtime - p.stime;
      }
      visit?.(p);
    });
  }
}

/** Decodes the task records of successive reads into per-process samples (see ProcessFolder). */
export class ProcessDecoder {
  readonly #folder: ProcessFolder<FoldedSample>;

  constructor(layout: ProcessRecordLayout) {
    this.#folder = new ProcessFolder(layout, newFoldedSample);
  }

  /** The processes of one read, by tgid (the same Map, updated, on every call). */
  decode(bytes: Uint8Array): Map<number, ProcessSample> {
    this.#folder.fold(bytes);
    this.#folder.finish();
    return this.#folder.samples;
  }
}

function cstring(bytes: Buffer, from: number, len: number): string {
  let end = from;
  const stop = from + len;
  while (end < stop && bytes[end] !== 0) end++;
  return bytes.toString("latin1", from, end);
}

/** The processes of one read of the task program's records, by tgid. */
export function decodeProcesses(
  bytes: Uint8Array,
  layout: ProcessRecordLayout,
): Map<number, ProcessSample> {
  return new ProcessDecoder(layout).decode(bytes);
}
