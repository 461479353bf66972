// Errors of bpf(2): the command, errno and its name, and a hint at the cause.
import { getSystemErrorMap } from "node:util";
import { BpfCmd, BpfCmdName } from "@ts-ebpf/spec/constants";
import { effectiveCapabilities, missingBpfCapabilities } from "./caps.js";
import { Errno, errnoName } from "./errno.js";
import { memlockHint } from "./memlock.js";

const systemErrors = getSystemErrorMap();

function describeErrno(errno: number): string {
  const message = systemErrors.get(-errno)?.[1];
  if (message) return message;
  if (errno === Errno.ENOTSUPP) return "operation not supported by this kernel (ENOTSUPP)";
  if (errno === Errno.EBADFD) return "file descriptor in bad state";
  return "unknown error";
}

export interface BpfErrorOptions extends ErrorOptions {
  /** Extra words about the cause, e.g. the attach target that is missing. */
  hint?: string;
}

export class BpfError extends Error {
  /** Command name without the BPF_ prefix, e.g. "PROG_LOAD". */
  readonly command: string;
  readonly cmd: number;
  readonly errno: number;
  /** e.g. "EPERM". */
  readonly code: string;
  readonly hint: string | undefined;

  constructor(cmd: number, errno: number, options: BpfErrorOptions = {}) {
    const command = BpfCmdName[cmd] ?? `command ${cmd}`;
    const code = errnoName(errno);
    const hint = options.hint ?? defaultHint(cmd, errno);
    super(
      `BPF_${command}: ${code} (${describeErrno(errno)})${hint ? `: ${hint}` : ""}`,
      typeof options === "object" && options !== null && "cause" in options
        ? { cause: options.cause }
        : undefined,
    );
    this.name = "BpfError";
    this.command = command;
    this.cmd = cmd;
    this.errno = errno;
    this.code = code;
    this.hint = hint;
  }
}

/** PROG_LOAD rejected by the verifier; `log` holds its reasoning. */
export class VerifierError extends BpfError {
  readonly log: string;
  /** Index of the instruction the verifier stopped at, parsed from the log. */
  readonly instruction: number | undefined;

  constructor(cmd: number, errno: number, log: string, options: BpfErrorOptions = {}) {
    const instruction = failingInstruction(log);
    const tail = lastLines(log, 3);
    const at = instruction === undefined ? "" : ` at instruction ${instruction}`;
    super(cmd, errno, { hint: options.hint ?? `verifier rejected the program${at}: ${tail}` });
    this.name = "VerifierError";
    this.log = log;
    this.instruction = instruction;
  }
}

/** The log's last `n` meaningful lines (without the statistics lines). */
export function lastLines(log: string, n: number): string {
  const lines = log
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("processed ") && !l.startsWith("verification time"));
  return lines.slice(-n).join(" | ");
}

/** The last instruction line ("12: (85) call ...") the verifier printed. */
export function failingInstruction(log: string): number | undefined {
  let last: number | undefined;
  for (const m of log.matchAll(/^(\d+): \([0-9a-f]{2}\)/gm)) last = Number(m[1]);
  return last;
}

/** Commands the kernel allows only with CAP_SYS_ADMIN (CAP_BPF is not enough). */
const SYS_ADMIN_ONLY = new Set<number>([
  BpfCmd.PROG_GET_NEXT_ID,
  BpfCmd.MAP_GET_NEXT_ID,
  BpfCmd.LINK_GET_NEXT_ID,
  BpfCmd.BTF_GET_NEXT_ID,
  BpfCmd.PROG_GET_FD_BY_ID,
  BpfCmd.MAP_GET_FD_BY_ID,
  BpfCmd.LINK_GET_FD_BY_ID,
  BpfCmd.BTF_GET_FD_BY_ID,
]);

const MAP_WRITES = new Set<number>([
  BpfCmd.MAP_UPDATE_ELEM,
  BpfCmd.MAP_DELETE_ELEM,
  BpfCmd.MAP_UPDATE_BATCH,
  BpfCmd.MAP_DELETE_BATCH,
  BpfCmd.MAP_LOOKUP_AND_DELETE_BATCH,
  BpfCmd.MAP_FREEZE,
]);

function defaultHint(cmd: number, errno: number): string | undefined {
  if (errno === Errno.EPERM) {
    if (SYS_ADMIN_ONLY.has(cmd) && !effectiveCapabilities().includes("CAP_SYS_ADMIN")) {
      return `walking or opening objects by id needs CAP_SYS_ADMIN; this process has ${
        effectiveCapabilities().join(", ") || "none"
      }`;
    }
    const missing = missingBpfCapabilities();
    if (missing.length > 0) {
      return `missing capabilities ${missing.join(", ")} (or CAP_SYS_ADMIN); this process has ${
        effectiveCapabilities().join(", ") || "none"
      }`;
    }
    if (MAP_WRITES.has(cmd)) return "the map is frozen, or this fd was opened read-only";
    const memlock = memlockHint(cmd);
    if (memlock) return memlock;
    return "capabilities are present: check kernel lockdown, LSM policy or the object's permissions";
  }
  return undefined;
}

/**
 * A BPF_PROG_LOAD refused with EPERM although the process holds every BPF
 * capability: the kernel's security policy (lockdown, a BPF LSM program)
 * refuses this kind of program, not the caller's privileges.
 */
export function refusedByPolicy(err: unknown): err is BpfError {
  return (
    err instanceof BpfError &&
    err.cmd === BpfCmd.PROG_LOAD &&
    err.errno === Errno.EPERM &&
    missingBpfCapabilities().length === 0
  );
}

/** Throws a BpfError when `result` is a negated errno, else returns it. */
export function check(cmd: number, result: number, options?: BpfErrorOptions): number {
  if (result < 0) throw new BpfError(cmd, -result, options);
  return result;
}
