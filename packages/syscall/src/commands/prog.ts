// Program commands: PROG_LOAD (with verifier log growth) and PROG_TEST_RUN.

import { BpfCmd } from "@ts-ebpf/spec/constants";
import { Attr } from "../attr.js";
import { Errno } from "../errno.js";
import { BpfError, check, lastLines, VerifierError } from "../errors.js";
import { checkNewFd, fdNotZero } from "../fds.js";
import * as v from "../validate.js";

export interface ProgLoadOptions {
  /** `enum bpf_prog_type` (BpfProgType). */
  type: number;
  /** Encoded instructions, 8 bytes per slot. */
  instructions: Uint8Array;
  license: string;
  name?: string;
  expectedAttachType?: number;
  attachBtfId?: number;
  attachBtfObjFd?: number;
  /** Name of the attach target, used in error messages only. */
  attachTarget?: string;
  attachProgFd?: number;
  /** BPF_F_* program flags (BpfProgLoadFlag). */
  flags?: number;
  progBtfFd?: number;
  /** `struct bpf_func_info` records (needs progBtfFd). */
  funcInfo?: Uint8Array;
  /** Bytes per func info record (8 today). */
  funcInfoRecSize?: number;
  /** `struct bpf_line_info` records (needs progBtfFd): verifier logs then show source lines. */
  lineInfo?: Uint8Array;
  /** Bytes per line info record (16 today). */
  lineInfoRecSize?: number;
  kernVersion?: number;
  /**
   * fd_array: fds that instructions refer to by index (a module kfunc call's
   * `off` is the index of its module's BTF fd here; index 0 is unused). The
   * caller keeps the fds open until the load returns.
   */
  fdArray?: readonly number[];
  /**
   * Verifier log level (BpfLogLevel). 0 loads without a log and, on a
   * verifier rejection, loads again with level 1 to explain it.
   */
  logLevel?: number;
  /** First log buffer size (at least 128); grown on ENOSPC. Default 64 KiB. */
  logSize?: number;
}

export interface ProgLoadResult {
  fd: number;
  /** The verifier log when logLevel > 0. */
  log: string;
  /** Log buffer size that was finally used (0 without a log). */
  logSize: number;
}

/** Kernel limit on the log buffer (UINT_MAX >> 2). */
const MAX_LOG_SIZE = 0x3fffffff;
const DEFAULT_LOG_SIZE = 64 * 1024;
/** Smallest log buffer every kernel accepts. */
export const MIN_LOG_SIZE = 128;

/** Everything PROG_LOAD sends, read from the options once (getters run once, before any call). */
interface LoadPlan {
  type: number;
  insns: Uint8Array;
  insnCount: number;
  license: Uint8Array;
  name: Uint8Array;
  logLevel: number;
  logSize: number;
  kernVersion: number;
  flags: number;
  expectedAttachType: number;
  progBtfFd: number;
  attachBtfId: number;
  attachProgFd: number | undefined;
  attachBtfObjFd: number | undefined;
  attachTarget: string | undefined;
  funcInfo: ExtInfo | undefined;
  lineInfo: ExtInfo | undefined;
  fdArray: Uint8Array | undefined;
}

/** A .BTF.ext record array as PROG_LOAD takes it: rec_size × cnt bytes at the pointer. */
interface ExtInfo {
  records: Uint8Array;
  recSize: number;
  count: number;
}

function planLoad(o: ProgLoadOptions): LoadPlan {
  if (typeof o !== "object" || o === null)
    throw new TypeError("progLoad options must be an object");
  const type = v.u32("type", o.type);
  const insns = v.bytes("instructions", o.instructions);
  const license = Buffer.from(`${v.string("license", o.license)}\0`, "utf8");
  const name = v.objName("name", o.name ?? "");
  const logLevel = v.u32("logLevel", o.logLevel ?? 0);
  // Kernels before 6.4 refuse log buffers under 128 bytes (EINVAL).
  const logSize = Math.max(MIN_LOG_SIZE, v.positiveU32("logSize", o.logSize ?? DEFAULT_LOG_SIZE));
  if (logSize > MAX_LOG_SIZE) throw new RangeError(`logSize must be at most ${MAX_LOG_SIZE}`);
  const kernVersion = v.u32("kernVersion", o.kernVersion ?? 0);
  const flags = v.u32("flags", o.flags ?? 0);
  const expectedAttachType = v.u32("expectedAttachType", o.expectedAttachType ?? 0);
  const progBtfFd = o.progBtfFd === undefined ? undefined : v.fd("progBtfFd", o.progBtfFd);
  const attachBtfId = v.u32("attachBtfId", o.attachBtfId ?? 0);
  const attachProgFd =
    o.attachProgFd === undefined ? undefined : fdNotZero("attachProgFd", o.attachProgFd);
  const attachBtfObjFd =
    o.attachBtfObjFd === undefined ? undefined : fdNotZero("attachBtfObjFd", o.attachBtfObjFd);
  const attachTarget =
    o.attachTarget === undefined ? undefined : v.string("attachTarget", o.attachTarget);
  const fdArray = fdArrayBytes(o.fdArray);
  const funcInfoRecords = o.funcInfo;
  const funcInfoRecSize = o.funcInfoRecSize;
  const lineInfoRecords = o.lineInfo;
  const lineInfoRecSize = o.lineInfoRecSize;
  // Sizes last: no option getter runs after a buffer was measured.
  const funcInfo = extInfo("funcInfo", funcInfoRecords, funcInfoRecSize);
  const lineInfo = extInfo("lineInfo", lineInfoRecords, lineInfoRecSize);
  if ((funcInfo || lineInfo) && progBtfFd === undefined)
    throw new RangeError("funcInfo and lineInfo need progBtfFd (the program's BTF)");
  const insnBytes = v.byteLength(insns);
  if (insnBytes === 0 || insnBytes % 8 !== 0) {
    throw new RangeError(`instructions must be a non-empty multiple of 8 bytes, got ${insnBytes}`);
  }
  return {
    type,
    insns,
    insnCount: insnBytes / 8,
    license,
    name,
    logLevel,
    logSize,
    kernVersion,
    flags,
    expectedAttachType,
    progBtfFd: progBtfFd ?? 0,
    attachBtfId,
    attachProgFd,
    attachBtfObjFd,
    attachTarget,
    funcInfo,
    lineInfo,
    fdArray,
  };
}

/** fd_array as the kernel reads it: 32-bit fds (entry 0 may be 0: unused). */
function fdArrayBytes(fds: unknown): Uint8Array | undefined {
  if (fds === undefined) return undefined;
  if (!Array.isArray(fds)) throw new TypeError("fdArray must be an array of fds");
  if (fds.length === 0 || fds.length > 0x8000)
    throw new RangeError(`fdArray must hold 1 to ${0x8000} fds, got ${fds.length}`);
  const out = new Int32Array(fds.length);
  fds.forEach((fd, i) => {
    out[i] = i === 0 && fd === 0 ? 0 : v.fd(`fdArray[${i}]`, fd);
  });
  return new Uint8Array(out.buffer);
}

/** Checks a .BTF.ext record array: whole records of a plausible size. */
function extInfo(what: string, records: unknown, recSize: unknown): ExtInfo | undefined {
  if (records === undefined) return undefined;
  const bytes = v.bytes(what, records);
  const size = v.positiveU32(`${what}RecSize`, recSize ?? 0);
  const length = v.byteLength(bytes);
  if (length % size !== 0)
    throw new RangeError(`${what} (${length} bytes) is not whole ${size}-byte records`);
  return { records: bytes, recSize: size, count: length / size };
}

function attempt(p: LoadPlan, logLevel: number, log: Uint8Array | null) {
  const attr = new Attr("prog_load")
    .u32("prog_type", p.type)
    .u32("insn_cnt", p.insnCount)
    .ptr("insns", p.insns, p.insnCount * 8)
    .ptr("license", p.license, p.license.byteLength)
    .u32("log_level", log ? logLevel : 0)
    .u32("log_size", log ? log.byteLength : 0)
    .ptr("log_buf", log, log ? log.byteLength : 0)
    .u32("kern_version", p.kernVersion)
    .u32("prog_flags", p.flags)
    .chars("prog_name", p.name)
    .u32("expected_attach_type", p.expectedAttachType)
    .u32("prog_btf_fd", p.progBtfFd)
    .u32("attach_btf_id", p.attachBtfId);
  for (const [info, fields] of [
    [p.funcInfo, ["func_info_rec_size", "func_info", "func_info_cnt"]],
    [p.lineInfo, ["line_info_rec_size", "line_info", "line_info_cnt"]],
  ] as const) {
    if (!info || info.count === 0) continue;
    const [recSize, pointer, count] = fields;
    attr
      .u32(recSize, info.recSize)
      .ptr(pointer, info.records, info.recSize * info.count)
      .u32(count, info.count);
  }
  if (p.fdArray) attr.ptr("fd_array", p.fdArray, p.fdArray.byteLength);
  if (p.attachProgFd !== undefined) attr.u32("attach_prog_fd", p.attachProgFd);
  else if (p.attachBtfObjFd !== undefined) attr.u32("attach_btf_obj_fd", p.attachBtfObjFd);
  // log_true_size (6.4+) is written back only when the size covers it; ask for
  // it only when a log is in play so older kernels see a shorter attr.
  if (log && attr.size > 0) attr.out("log_true_size");
  const r = attr.call(BpfCmd.PROG_LOAD);
  return { r, logTrueSize: log ? attr.readU32("log_true_size") : 0 };
}

function decodeLog(log: Uint8Array | null): string {
  if (!log) return "";
  const end = log.indexOf(0);
  return Buffer.from(log.subarray(0, end < 0 ? log.length : end)).toString("utf8");
}

function attachHint(p: LoadPlan): string | undefined {
  if (!p.attachBtfId && !p.attachTarget) return undefined;
  const what = p.attachTarget
    ? `${p.attachTarget} (BTF id ${p.attachBtfId || "?"})`
    : `BTF id ${p.attachBtfId}`;
  return `attach target ${what} does not exist in this kernel's BTF or does not accept this program type`;
}

/**
 * How long PROG_LOAD's EAGAIN is retried. The verifier gives up with EAGAIN
 * when a signal is pending (a profiler's SIGPROF every millisecond, a child's
 * SIGCHLD), and a retry verifies from the start, so EAGAIN is retried until
 * the kernel stops reporting it (as cilium/ebpf does), within this budget.
 */
export const EAGAIN_RETRY_BUDGET_MS = 10_000;

/**
 * Milliseconds on a monotonic clock. Not performance.now(): the global's
 * first use loads node:perf_hooks (~1.5 ms of a CLI run's start-up).
 */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Runs `load` again while it returns -EAGAIN, for at most `budgetMs` → its
 * last result (≥ 0, another -errno, or -EAGAIN when the budget ran out) and
 * how many times EAGAIN was seen. The one place PROG_LOAD's EAGAIN is retried.
 */
export function retryEagain(
  load: () => number,
  budgetMs = EAGAIN_RETRY_BUDGET_MS,
  now: () => number = monotonicMs,
): { result: number; eagain: number } {
  const start = now();
  let eagain = 0;
  for (;;) {
    const result = load();
    if (result !== -Errno.EAGAIN) return { result, eagain };
    eagain++;
    if (now() - start >= budgetMs) return { result, eagain };
  }
}

/**
 * BPF_PROG_LOAD → fd. Grows the log buffer on ENOSPC; retries EAGAIN (see
 * EAGAIN_RETRY_BUDGET_MS); a rejected program throws VerifierError with the
 * log and the failing instruction.
 */
export function progLoad(o: ProgLoadOptions): ProgLoadResult {
  const p = planLoad(o);
  let logLevel = p.logLevel;
  let logSize = p.logSize;
  // One budget for the whole call, however often the log grows.
  const deadline = monotonicMs() + EAGAIN_RETRY_BUDGET_MS;
  for (;;) {
    const log = logLevel > 0 ? new Uint8Array(logSize) : null;
    let logTrueSize = 0;
    const { result: r, eagain } = retryEagain(() => {
      const a = attempt(p, logLevel, log);
      logTrueSize = a.logTrueSize;
      return a.r;
    }, deadline - monotonicMs());
    if (r >= 0) {
      const fd = checkNewFd(BpfCmd.PROG_LOAD, r);
      return { fd, log: decodeLog(log), logSize: log ? logSize : 0 };
    }
    const errno = -r;
    if (errno === Errno.EAGAIN) {
      throw new BpfError(BpfCmd.PROG_LOAD, errno, {
        hint: `the verifier was interrupted by a signal ${eagain} times in a row over ${EAGAIN_RETRY_BUDGET_MS / 1000} s (a profiler or timer signalling this thread faster than the program verifies?)`,
      });
    }
    if (errno === Errno.ENOSPC && log) {
      if (logSize >= MAX_LOG_SIZE) throw new VerifierError(BpfCmd.PROG_LOAD, errno, decodeLog(log));
      // The kernel says how much it needed (6.4+); otherwise grow fourfold.
      logSize = Math.min(MAX_LOG_SIZE, Math.max(logSize * 4, logTrueSize + 1));
      continue;
    }
    if ((errno === Errno.EACCES || errno === Errno.EINVAL) && !log && p.logLevel === 0) {
      // Load again with a log to say why.
      logLevel = 1;
      continue;
    }
    const text = decodeLog(log);
    if (log && (errno === Errno.EACCES || errno === Errno.EINVAL)) {
      // A log with only statistics: the program was refused before
      // verification, typically for its attach target.
      const said = lastLines(text, 1) !== "";
      const hint = said
        ? undefined
        : (attachHint(p) ??
          "refused before verification (program type, attach type or flags unsupported by this kernel?)");
      throw new VerifierError(BpfCmd.PROG_LOAD, errno, text, hint ? { hint } : {});
    }
    if (errno === Errno.ENOENT || errno === Errno.EINVAL || errno === Errno.ESRCH) {
      const hint = attachHint(p);
      throw new BpfError(BpfCmd.PROG_LOAD, errno, hint ? { hint } : {});
    }
    throw new BpfError(BpfCmd.PROG_LOAD, errno);
  }
}

export interface TestRunOptions {
  progFd: number;
  dataIn?: Uint8Array;
  dataOut?: Uint8Array;
  ctxIn?: Uint8Array;
  ctxOut?: Uint8Array;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

export interface TestRunResult {
  retval: number;
  /** Average ns per run. */
  duration: number;
  dataSizeOut: number;
  ctxSizeOut: number;
}

/**
 * BPF_PROG_TEST_RUN (BPF_PROG_RUN). Every buffer goes with its size: the
 * kernel copies the whole output packet through data_out when data_size_out
 * is 0, so an empty dataOut or ctxOut is refused (leave it out for no output).
 */
export function progTestRun(o: TestRunOptions): TestRunResult {
  if (typeof o !== "object" || o === null)
    throw new TypeError("progTestRun options must be an object");
  // Each option is read once; sizes are taken after the last read.
  const progFd = v.fd("progFd", o.progFd);
  const buffers = {
    dataIn: o.dataIn === undefined ? undefined : v.bytes("dataIn", o.dataIn),
    dataOut: o.dataOut === undefined ? undefined : v.bytes("dataOut", o.dataOut),
    ctxIn: o.ctxIn === undefined ? undefined : v.bytes("ctxIn", o.ctxIn),
    ctxOut: o.ctxOut === undefined ? undefined : v.bytes("ctxOut", o.ctxOut),
  };
  const repeat = v.u32("repeat", o.repeat ?? 0);
  const flags = v.u32("flags", o.flags ?? 0);
  const cpu = v.u32("cpu", o.cpu ?? 0);
  const batchSize = v.u32("batchSize", o.batchSize ?? 0);
  const size = (b: Uint8Array | undefined) => (b === undefined ? 0 : v.byteLength(b));
  // data and ctx: an input and an output buffer each, every one with its size.
  const pairs = [
    ["data", buffers.dataIn, buffers.dataOut],
    ["ctx", buffers.ctxIn, buffers.ctxOut],
  ] as const;
  const sizes = pairs.map(([which, input, output]) => {
    const sizeIn = size(input);
    const sizeOut = size(output);
    if (output !== undefined && sizeOut === 0) {
      throw new RangeError(
        `${which}Out must be at least 1 byte (with size 0 the kernel writes its whole output), got 0`,
      );
    }
    return { sizeIn, sizeOut };
  });
  const attr = new Attr("test")
    .u32("prog_fd", progFd)
    .out("retval")
    .u32("repeat", repeat)
    .out("duration")
    .u32("flags", flags)
    .u32("cpu", cpu)
    .u32("batch_size", batchSize);
  pairs.forEach(([which, input, output], i) => {
    const { sizeIn, sizeOut } = sizes[i]!;
    attr
      .u32(`${which}_size_in`, sizeIn)
      .u32(`${which}_size_out`, sizeOut)
      .ptr(`${which}_in`, input, sizeIn)
      .ptr(`${which}_out`, output, sizeOut);
    // The kernel writes the output's size back when an output buffer is given.
    if (output) attr.out(`${which}_size_out`);
  });
  check(BpfCmd.PROG_TEST_RUN, attr.call(BpfCmd.PROG_TEST_RUN));
  return {
    retval: attr.readU32("retval"),
    duration: attr.readU32("duration"),
    dataSizeOut: attr.readU32("data_size_out"),
    ctxSizeOut: attr.readU32("ctx_size_out"),
  };
}
