// Program commands: PROG_LOAD (with verifier log growth) and PROG_TEST_RUN.
import { Attr } from "../attr.js";
import { BpfCmd } from "../constants/enums.gen.js";
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

function validateLoad(o: ProgLoadOptions) {
  if (typeof o !== "object" || o === null)
    throw new TypeError("progLoad options must be an object");
  v.u32("type", o.type);
  const insns = v.bytes("instructions", o.instructions);
  if (insns.byteLength === 0 || insns.byteLength % 8 !== 0) {
    throw new RangeError(
      `instructions must be a non-empty multiple of 8 bytes, got ${insns.byteLength}`,
    );
  }
  const license = Buffer.from(`${v.string("license", o.license)}\0`, "utf8");
  const name = v.objName("name", o.name ?? "");
  const logLevel = v.u32("logLevel", o.logLevel ?? 0);
  // Kernels before 6.4 refuse log buffers under 128 bytes (EINVAL).
  const logSize = Math.max(MIN_LOG_SIZE, v.positiveU32("logSize", o.logSize ?? DEFAULT_LOG_SIZE));
  if (logSize > MAX_LOG_SIZE) throw new RangeError(`logSize must be at most ${MAX_LOG_SIZE}`);
  const funcInfo = extInfo("funcInfo", o.funcInfo, o.funcInfoRecSize);
  const lineInfo = extInfo("lineInfo", o.lineInfo, o.lineInfoRecSize);
  if ((funcInfo || lineInfo) && o.progBtfFd === undefined)
    throw new RangeError("funcInfo and lineInfo need progBtfFd (the program's BTF)");
  return { insns, license, name, logLevel, logSize, funcInfo, lineInfo };
}

/** Checks a .BTF.ext record array: whole records of a plausible size. */
function extInfo(
  what: string,
  records: Uint8Array | undefined,
  recSize: number | undefined,
): { records: Uint8Array; recSize: number; count: number } | undefined {
  if (records === undefined) return undefined;
  v.bytes(what, records);
  const size = v.positiveU32(`${what}RecSize`, recSize ?? 0);
  if (records.byteLength % size !== 0)
    throw new RangeError(`${what} (${records.byteLength} bytes) is not whole ${size}-byte records`);
  return { records, recSize: size, count: records.byteLength / size };
}

function attempt(
  o: ProgLoadOptions,
  p: ReturnType<typeof validateLoad>,
  logLevel: number,
  log: Uint8Array | null,
) {
  const attr = new Attr("prog_load")
    .u32("prog_type", o.type)
    .u32("insn_cnt", p.insns.byteLength / 8)
    .ptr("insns", p.insns)
    .ptr("license", p.license)
    .u32("log_level", log ? logLevel : 0)
    .u32("log_size", log ? log.byteLength : 0)
    .ptr("log_buf", log)
    .u32("kern_version", v.u32("kernVersion", o.kernVersion ?? 0))
    .u32("prog_flags", v.u32("flags", o.flags ?? 0))
    .chars("prog_name", p.name)
    .u32("expected_attach_type", v.u32("expectedAttachType", o.expectedAttachType ?? 0))
    .u32("prog_btf_fd", o.progBtfFd === undefined ? 0 : v.fd("progBtfFd", o.progBtfFd))
    .u32("attach_btf_id", v.u32("attachBtfId", o.attachBtfId ?? 0));
  if (p.funcInfo && p.funcInfo.count > 0) {
    attr
      .u32("func_info_rec_size", p.funcInfo.recSize)
      .ptr("func_info", p.funcInfo.records)
      .u32("func_info_cnt", p.funcInfo.count);
  }
  if (p.lineInfo && p.lineInfo.count > 0) {
    attr
      .u32("line_info_rec_size", p.lineInfo.recSize)
      .ptr("line_info", p.lineInfo.records)
      .u32("line_info_cnt", p.lineInfo.count);
  }
  if (o.attachProgFd !== undefined)
    attr.u32("attach_prog_fd", fdNotZero("attachProgFd", o.attachProgFd));
  else if (o.attachBtfObjFd !== undefined)
    attr.u32("attach_btf_obj_fd", fdNotZero("attachBtfObjFd", o.attachBtfObjFd));
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

function attachHint(o: ProgLoadOptions): string | undefined {
  if (!o.attachBtfId && !o.attachTarget) return undefined;
  const what = o.attachTarget
    ? `${o.attachTarget} (BTF id ${o.attachBtfId ?? "?"})`
    : `BTF id ${o.attachBtfId}`;
  return `attach target ${what} does not exist in this kernel's BTF or does not accept this program type`;
}

/** How often PROG_LOAD is retried on EAGAIN (libbpf: 5). */
const EAGAIN_RETRIES = 5;

/**
 * BPF_PROG_LOAD → fd. Grows the log buffer on ENOSPC; retries EAGAIN, which
 * the verifier returns when a signal (a child's SIGCHLD is enough) is pending;
 * a rejected program throws VerifierError with the log and the failing instruction.
 */
export function progLoad(o: ProgLoadOptions): ProgLoadResult {
  const p = validateLoad(o);
  let logLevel = p.logLevel;
  let logSize = p.logSize;
  let eagain = 0;
  for (;;) {
    const log = logLevel > 0 ? new Uint8Array(logSize) : null;
    const { r, logTrueSize } = attempt(o, p, logLevel, log);
    if (r >= 0) {
      const fd = checkNewFd(BpfCmd.PROG_LOAD, r);
      return { fd, log: decodeLog(log), logSize: log ? logSize : 0 };
    }
    const errno = -r;
    if (errno === Errno.EAGAIN && eagain++ < EAGAIN_RETRIES) continue;
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
        : (attachHint(o) ??
          "refused before verification (program type, attach type or flags unsupported by this kernel?)");
      throw new VerifierError(BpfCmd.PROG_LOAD, errno, text, hint ? { hint } : {});
    }
    if (errno === Errno.ENOENT || errno === Errno.EINVAL || errno === Errno.ESRCH) {
      const hint = attachHint(o);
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

/** BPF_PROG_TEST_RUN (BPF_PROG_RUN). */
export function progTestRun(o: TestRunOptions): TestRunResult {
  if (typeof o !== "object" || o === null)
    throw new TypeError("progTestRun options must be an object");
  for (const k of ["dataIn", "dataOut", "ctxIn", "ctxOut"] as const) {
    if (o[k] !== undefined) v.bytes(k, o[k]);
  }
  const attr = new Attr("test")
    .u32("prog_fd", v.fd("progFd", o.progFd))
    .out("retval")
    .u32("data_size_in", o.dataIn?.byteLength ?? 0)
    .u32("data_size_out", o.dataOut?.byteLength ?? 0)
    .ptr("data_in", o.dataIn)
    .ptr("data_out", o.dataOut)
    .u32("repeat", v.u32("repeat", o.repeat ?? 0))
    .out("duration")
    .u32("ctx_size_in", o.ctxIn?.byteLength ?? 0)
    .u32("ctx_size_out", o.ctxOut?.byteLength ?? 0)
    .ptr("ctx_in", o.ctxIn)
    .ptr("ctx_out", o.ctxOut)
    .u32("flags", v.u32("flags", o.flags ?? 0))
    .u32("cpu", v.u32("cpu", o.cpu ?? 0))
    .u32("batch_size", v.u32("batchSize", o.batchSize ?? 0));
  // The kernel writes data_size_out / ctx_size_out back when buffers are given.
  if (o.dataOut) attr.out("data_size_out");
  if (o.ctxOut) attr.out("ctx_size_out");
  check(BpfCmd.PROG_TEST_RUN, attr.call(BpfCmd.PROG_TEST_RUN));
  return {
    retval: attr.readU32("retval"),
    duration: attr.readU32("duration"),
    dataSizeOut: attr.readU32("data_size_out"),
    ctxSizeOut: attr.readU32("ctx_size_out"),
  };
}
