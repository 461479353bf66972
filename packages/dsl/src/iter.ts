// Conveniences for BPF iterator programs: context fields by name (offsets
// from BTF at build time, never hard-coded), NULL checks, and the seq_file
// helpers bpf_seq_write / bpf_seq_printf.
import type { Btf, MemberLocation } from "@ts-ebpf/btf";
import type { ProgramSpec } from "@ts-ebpf/spec";
import {
  BpfAttachType,
  BpfProgType,
  iterContextStruct,
  iterFuncName,
} from "@ts-ebpf/spec/constants";
import {
  add,
  call,
  exit,
  jeq,
  label,
  ldImm64,
  ldStr,
  ldx,
  mov,
  type Reg,
  regNumber,
  st,
  stx,
} from "./builders.js";
import { DslError } from "./errors.js";
import { HelperId } from "./helpers.js";
import type { Instruction, Item, MemSize } from "./insn.js";
import { checkPrintfFormat, MAX_PRINTF_ARGS } from "./printf.js";
import { type Body, type BuiltProgram, buildProgram, program } from "./program.js";

/** Default label the NULL checks jump to; `iterReturn()` defines it. */
export const OUT = "out";

/** At most this many u64 arguments to bpf_seq_printf (MAX_BPRINTF_VARARGS). */
export const SEQ_PRINTF_MAX_ARGS = MAX_PRINTF_ARGS;

/** What the iterator conveniences need from a Btf (a `Btf` from @ts-ebpf/btf has it). */
export type BtfLike = Pick<Btf, "memberOffset" | "funcId">;

const SIZE_BY_BYTES: Record<number, MemSize> = { 1: "u8", 2: "u16", 4: "u32", 8: "u64" };

function locate(btf: BtfLike, struct: string, path: string): MemberLocation {
  try {
    return btf.memberOffset(struct, path);
  } catch (e) {
    throw new DslError(`field ${JSON.stringify(path)} of ${struct}: ${(e as Error).message}`);
  }
}

/** An access to field `struct.path` of the object `base` points at, into `dst`. */
export type FieldAccess = (
  btf: BtfLike,
  dst: Reg,
  base: Reg,
  struct: string,
  path: string,
) => Instruction[];

/**
 * Loads `struct.path` from the object `base` points at into `dst`, following
 * pointers on the way ("mm.exe_file" loads mm, then exe_file). Every pointer
 * on the path must be one the verifier knows is not NULL.
 */
export const loadField: FieldAccess = (btf, dst, base, struct, path) => {
  const loc = locate(btf, struct, path);
  if (loc.bitSize !== 0)
    throw new DslError(`field ${path} of ${struct} is a bitfield; load its storage and mask`);
  const size = SIZE_BY_BYTES[loc.size];
  if (size === undefined) {
    throw new DslError(
      `field ${path} of ${struct} is ${loc.size} bytes, not a scalar or pointer; use fieldAddress`,
    );
  }
  const out: Instruction[] = [];
  let from = base;
  for (const hop of loc.hops) {
    out.push(ldx("u64", dst, from, hop));
    from = dst;
  }
  out.push(ldx(size, dst, from, loc.offset));
  return out;
};

/** `dst = &base->path` (arrays such as task_struct.comm, nested structs). No pointer hops. */
export const fieldAddress: FieldAccess = (btf, dst, base, struct, path) => {
  const loc = locate(btf, struct, path);
  if (loc.hops.length > 0)
    throw new DslError(`field ${path} of ${struct} is behind a pointer; load the pointer first`);
  const out: Instruction[] = [];
  if (dst !== base) out.push(mov(dst, base));
  if (loc.offset !== 0) out.push(add(dst, loc.offset));
  return out;
};

/** `if reg == 0 goto target` (default: the `out` label of iterReturn()). */
export const exitIfNull = (reg: Reg, target: string = OUT): Instruction => jeq(reg, 0, target);

/** `target:` `r0 = ret` `exit`: the common end of an iterator program. */
export const iterReturn = (ret = 0, target: string = OUT): Item[] => [
  label(target),
  mov("r0", ret),
  exit(),
];

export interface IterContext {
  /** Target name: "task", "bpf_map_elem", ... */
  readonly target: string;
  /** `struct bpf_iter__<target>`. */
  readonly struct: string;
  /** BTF id of FUNC `bpf_iter_<target>`: the program's attach_btf_id. */
  readonly attachBtfId: number;
  /** Register that holds the context pointer (save() puts it there). */
  readonly reg: Reg;
  /** `reg = r1`: keep the context pointer across helper calls. */
  save(): Instruction;
  /** Offset and size of a context member (e.g. "task", "meta"). */
  offsetOf(path: string): MemberLocation;
  /** `dst = ctx->path`, following pointers (e.g. "meta.seq_num"). */
  load(dst: Reg, path: string): Instruction[];
  /** `dst = ctx->member; if dst == NULL goto out`: the check the verifier insists on. */
  loadNonNull(dst: Reg, member: string, target?: string): Instruction[];
  readonly meta: {
    /** `dst = ctx->meta->seq`: the seq_file the helpers write to. */
    seq(dst: Reg): Instruction[];
    sessionId(dst: Reg): Instruction[];
    /** `dst = ctx->meta->seq_num` (0 on the first object of a session). */
    seqNum(dst: Reg): Instruction[];
  };
}

/**
 * Context access for an iterator target, resolved through BTF when the
 * program is built: `iterContext(btf, "task").load("r7", "task")`.
 */
export function iterContext(btf: BtfLike, target: string, reg: Reg = "r6"): IterContext {
  regNumber(reg, "context register");
  const struct = iterContextStruct(target);
  let attachBtfId: number;
  try {
    btf.memberOffset(struct, "meta");
    attachBtfId = btf.funcId(iterFuncName(target));
  } catch (e) {
    throw new DslError(
      `iterator target ${JSON.stringify(target)} is not in this kernel's BTF: ${(e as Error).message}`,
    );
  }
  const load = (dst: Reg, path: string) => loadField(btf, dst, reg, struct, path);
  return {
    target,
    struct,
    attachBtfId,
    reg,
    save: () => mov(reg, "r1"),
    offsetOf: (path) => locate(btf, struct, path),
    load,
    loadNonNull: (dst, member, to = OUT) => [...load(dst, member), exitIfNull(dst, to)],
    meta: {
      seq: (dst) => load(dst, "meta.seq"),
      sessionId: (dst) => load(dst, "meta.session_id"),
      seqNum: (dst) => load(dst, "meta.seq_num"),
    },
  };
}

/** Helper arguments are set up in r1..r5: a value there must not be overwritten first. */
function argumentRegister(r: Reg, slot: number, what: string): void {
  const n = regNumber(r, what);
  if (n === 0 || (n >= 1 && n <= 5 && n !== slot) || n === 10) {
    throw new DslError(
      `${what} in ${r} would be overwritten while the call is set up; keep it in r${slot} or r6..r9`,
    );
  }
}

/** bpf_seq_write(seq, data, len): `data` a register (with `len`) or a string constant. */
export function seqWrite(
  seq: Reg,
  data: Reg | { readonly str: string },
  len?: number | Reg,
): Instruction[] {
  argumentRegister(seq, 1, "seq");
  const out: Instruction[] = [];
  if (seq !== "r1") out.push(mov("r1", seq));
  let length: number | Reg;
  if (typeof data === "object") {
    out.push(ldStr("r2", data.str));
    length = len ?? new TextEncoder().encode(data.str).length;
  } else {
    argumentRegister(data, 2, "data");
    if (len === undefined) throw new DslError("seqWrite: length needed for data in a register");
    if (data !== "r2") out.push(mov("r2", data));
    length = len;
  }
  if (typeof length === "string") argumentRegister(length, 3, "len");
  if (length !== "r3") out.push(mov("r3", length));
  out.push(call(HelperId.seq_write));
  return out;
}

/** An argument of seqPrintf: a register, a constant, or a string constant (for %s). */
export type PrintfArg = Reg | number | bigint | { readonly str: string };

/**
 * Conversions in a printf format (`%%` excluded), as the kernel counts them;
 * PrintfFormatError for a format the kernel would reject (see checkPrintfFormat).
 */
export function countConversions(fmt: string): number {
  return checkPrintfFormat(fmt).length;
}

export interface SeqPrintfOptions {
  /**
   * Bytes at the top of the stack frame already in use: the argument array
   * goes below them, at r10 - stackUsed - 8 * args.length. Default 0.
   */
  readonly stackUsed?: number;
}

/**
 * bpf_seq_printf(seq, fmt, sizeof(fmt), data, 8 * args.length): the format
 * (NUL-terminated) goes to read-only data, the arguments to a u64 array on
 * the stack. A format the kernel would reject at run time (checkPrintfFormat:
 * `%o`, `%f`, a precision, ...) is a PrintfFormatError naming the specifier
 * and its index; more than 12 arguments, or a count that does not match the
 * format's conversions, is a DslError. Clobbers r0..r5.
 */
export function seqPrintf(
  seq: Reg,
  fmt: string,
  args: readonly PrintfArg[] = [],
  options: SeqPrintfOptions = {},
): Instruction[] {
  if (typeof fmt !== "string") throw new TypeError("seqPrintf: fmt must be a string");
  if (args.length > SEQ_PRINTF_MAX_ARGS) {
    throw new DslError(`seqPrintf: ${args.length} arguments, at most ${SEQ_PRINTF_MAX_ARGS}`, {
      instruction: `call bpf_seq_printf ${JSON.stringify(fmt)}`,
    });
  }
  // The kernel checks the format only when the helper runs, and then fails
  // every call: check it here, where the mistake can still be reported.
  const conversions = checkPrintfFormat(fmt).length;
  if (conversions !== args.length) {
    throw new DslError(
      `seqPrintf: format has ${conversions} conversions but ${args.length} arguments`,
      {
        instruction: `call bpf_seq_printf ${JSON.stringify(fmt)}`,
      },
    );
  }
  const stackUsed = options.stackUsed ?? 0;
  if (
    !Number.isInteger(stackUsed) ||
    stackUsed < 0 ||
    stackUsed % 8 !== 0 ||
    stackUsed + 8 * args.length > 512
  ) {
    throw new DslError(
      `seqPrintf: stackUsed ${stackUsed} must be a multiple of 8 leaving room in the 512-byte stack`,
    );
  }
  regNumber(seq, "seq");
  if (seq === "r0" || seq === "r10")
    throw new DslError(`seqPrintf: seq in ${seq}; keep it in r1 or r6..r9`);
  const base = -(stackUsed + 8 * args.length);
  const out: Instruction[] = [];
  args.forEach((arg, i) => {
    const off = base + 8 * i;
    if (typeof arg === "string") {
      if (arg === "r0")
        throw new DslError("seqPrintf: r0 is the scratch register; move the argument elsewhere");
      out.push(stx("u64", "r10", off, arg));
    } else if (typeof arg === "object") {
      out.push(ldStr("r0", arg.str), stx("u64", "r10", off, "r0"));
    } else if (
      typeof arg === "number" &&
      Number.isInteger(arg) &&
      arg >= -(2 ** 31) &&
      arg < 2 ** 31
    ) {
      out.push(st("u64", "r10", off, arg));
    } else {
      out.push(ldImm64("r0", arg), stx("u64", "r10", off, "r0"));
    }
  });
  if (seq !== "r1") out.push(mov("r1", seq));
  out.push(ldStr("r2", fmt), mov("r3", new TextEncoder().encode(fmt).length + 1));
  if (args.length > 0) out.push(mov("r4", "r10"), add("r4", base), mov("r5", 8 * args.length));
  else out.push(mov("r4", 0), mov("r5", 0));
  out.push(call(HelperId.seq_printf));
  return out;
}

export interface IterProgramOptions {
  readonly name?: string;
  /** Default "GPL" (bpf_seq_printf is GPL-only). */
  readonly license?: string;
}

const iterOptions = (ctx: IterContext, o: IterProgramOptions) => ({
  type: BpfProgType.TRACING,
  expectedAttachType: BpfAttachType.TRACE_ITER,
  attachBtfId: ctx.attachBtfId,
  license: o.license ?? "GPL",
  ...(o.name !== undefined && { name: o.name }),
});

/** program() for an iterator: TRACING, TRACE_ITER, attach_btf_id of `bpf_iter_<target>`. */
export function iterProgram(
  ctx: IterContext,
  body: Body,
  options: IterProgramOptions = {},
): ProgramSpec {
  return program(iterOptions(ctx, options), body);
}

/** iterProgram() keeping the listing, for verifier error reports. */
export function buildIterProgram(
  ctx: IterContext,
  body: Body,
  options: IterProgramOptions = {},
): BuiltProgram {
  return buildProgram(iterOptions(ctx, options), body);
}
