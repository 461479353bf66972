// Open-coded iterators (6.4+): a loop over a kernel iterator's kfunc triple
// bpf_iter_<type>_new / _next / _destroy with the iterator's state on the
// program's stack. The verifier requires _destroy on every path that called
// _new, so the loop's only ways out run it: _next returning NULL, and a jump
// to the loop's `<label>_end` (break). `exit` inside the body is refused.
import type { Btf } from "@ts-ebpf/btf";
import { CallSrc, Class, JmpOp } from "@ts-ebpf/spec";
import { add, ja, jeq, kfunc, label, ldx, mov, type Reg, type RegOrImm } from "./builders.js";
import { DslError } from "./errors.js";
import { type Instruction, type Item, isLabel } from "./insn.js";

/** Iterator types with open-coded kfuncs, and the kernel each arrived in. */
export const OPEN_CODED_ITERATORS = {
  num: "6.4",
  task: "6.7",
  css: "6.7",
  css_task: "6.7",
  task_vma: "6.7",
  bits: "6.11",
  kmem_cache: "6.13",
  dmabuf: "6.16",
} as const;

export type OpenCodedIterator = keyof typeof OPEN_CODED_ITERATORS;

export interface OpenIterLoopOptions {
  /** Iterator type: bpf_iter_<type>_new / _next / _destroy. */
  readonly type: OpenCodedIterator;
  /**
   * Where the state lives: its offset from r10 (negative, 8-aligned), with
   * room for struct bpf_iter_<type>. The loop does not touch the stack above it.
   */
  readonly stack: number;
  /**
   * Instructions run before _new that set its arguments after the state
   * pointer (r2..r5: num's start and end, task's task and flags...). They
   * must not use r1.
   */
  readonly args?: readonly Item[];
  /**
   * The body, run once per element with r0 = _next's non-NULL result. Jump to
   * `${label}_end` to leave early (destroy still runs); `${label}_next` to continue.
   */
  readonly body: readonly Item[];
  /** Label prefix, unique in the program (nested loops take different ones). */
  readonly label: string;
  /**
   * Kernel types: the state's size is checked against struct bpf_iter_<type>
   * (and the kfuncs' presence), so a loop for a kernel without them fails
   * here rather than in the verifier.
   */
  readonly kernelTypes?: Btf;
}

const EXIT = Class.JMP | JmpOp.EXIT;

/** The state's size and alignment, from kernel types (8 / 8 for num without them). */
export function openIterStateLayout(
  type: OpenCodedIterator,
  kernelTypes?: Btf,
): { size: number; align: number } {
  if (!Object.hasOwn(OPEN_CODED_ITERATORS, type))
    throw new DslError(
      `unknown open-coded iterator ${JSON.stringify(type)} (known: ${Object.keys(OPEN_CODED_ITERATORS).join(", ")})`,
    );
  if (kernelTypes === undefined) {
    if (type === "num") return { size: 8, align: 8 };
    throw new DslError(
      `the ${type} iterator's state size needs kernel types (struct bpf_iter_${type})`,
    );
  }
  const t = kernelTypes.findType(`bpf_iter_${type}`, "struct");
  if (t === undefined || kernelTypes.findType(`bpf_iter_${type}_new`, "func") === undefined)
    throw new DslError(
      `this kernel has no open-coded ${type} iterator (struct bpf_iter_${type} and its kfuncs arrived in ${OPEN_CODED_ITERATORS[type]})`,
    );
  // The kernel's iterator states hold u64 words: 8-byte alignment.
  return { size: t.size, align: 8 };
}

/** A loop over an open-coded iterator (see OpenIterLoopOptions). */
export function openIterLoop(o: OpenIterLoopOptions): Item[] {
  if (typeof o !== "object" || o === null) throw new TypeError("openIterLoop needs options");
  const { size, align } = openIterStateLayout(o.type, o.kernelTypes);
  if (!Number.isInteger(o.stack) || o.stack >= 0 || o.stack < -512 || o.stack % align !== 0)
    throw new DslError(
      `stack ${o.stack}: the state needs a negative, ${align}-aligned offset from r10`,
    );
  if (o.stack + size > 0)
    throw new DslError(
      `stack ${o.stack}: ${size} bytes of bpf_iter_${o.type} do not fit below r10`,
    );
  if (!Array.isArray(o.body))
    throw new TypeError("body must be an array of instructions and labels");
  const args = o.args ?? [];
  if (!Array.isArray(args)) throw new TypeError("args must be an array of instructions");
  for (const item of [...args, ...o.body]) {
    if (!isLabel(item) && (item as Instruction).opcode === EXIT)
      throw new DslError(
        `exit inside the ${o.label} loop would skip bpf_iter_${o.type}_destroy: jump to ${o.label}_end instead`,
      );
  }
  for (const item of args)
    if (
      !isLabel(item) &&
      (item as Instruction).dst === 1 &&
      (item as Instruction).src !== CallSrc.KFUNC
    )
      throw new DslError(`args of the ${o.label} loop set r1, which holds the state pointer`);
  const next = `${o.label}_next`;
  const end = `${o.label}_end`;
  const state = (): Item[] => [mov("r1", "r10"), add("r1", o.stack)];
  return [
    ...args,
    ...state(),
    kfunc(`bpf_iter_${o.type}_new`),
    label(next),
    ...state(),
    kfunc(`bpf_iter_${o.type}_next`),
    jeq("r0", 0, end),
    ...o.body,
    ja(next),
    label(end),
    ...state(),
    kfunc(`bpf_iter_${o.type}_destroy`),
  ];
}

/**
 * `bpf_for(i, start, end)`: a num iterator loop with the current value in
 * `value` (a 32-bit load of _next's result) at the top of every pass.
 */
export function forRange(
  value: Reg,
  start: RegOrImm,
  end: RegOrImm,
  o: Omit<OpenIterLoopOptions, "type" | "args">,
): Item[] {
  if (start === "r1" || end === "r1") throw new DslError("forRange bounds cannot be in r1");
  if (end === "r2") throw new DslError("forRange's end cannot be in r2 (start goes there first)");
  return openIterLoop({
    ...o,
    type: "num",
    args: [mov("r2", start), mov("r3", end)],
    body: [ldx("u32", value, "r0", 0), ...o.body],
  });
}

const ARG_REGS = ["r1", "r2", "r3", "r4", "r5"] as const;

/**
 * A kfunc call with its arguments moved into r1..r5, checked against the
 * kfunc's FUNC_PROTO in `kernelTypes` before anything loads: the argument
 * count, and the kind of each (a pointer parameter takes a register or 0 for
 * NULL; a scalar one a register or a number; a struct by value nothing). The
 * call carries the FUNC's BTF id already. A register argument must not be
 * one an earlier argument's move overwrote.
 */
export function kfuncCall(kernelTypes: Btf, name: string, args: readonly RegOrImm[]): Item[] {
  if (typeof (kernelTypes as Partial<Btf> | undefined)?.findType !== "function")
    throw new TypeError("kernelTypes must be a Btf (e.g. loadKernelBtf())");
  if (typeof name !== "string") throw new TypeError("name must be a string");
  if (!Array.isArray(args)) throw new TypeError("args must be an array of registers and numbers");
  const func = kernelTypes.findType(name, "func");
  if (func === undefined) throw new DslError(`kfunc ${name} is not in these kernel types`);
  const proto = kernelTypes.type(func.type);
  if (proto.kind !== "func_proto") throw new DslError(`kfunc ${name} has no FUNC_PROTO`);
  const params = proto.params.filter((p) => p.type !== 0);
  const describe = () =>
    params.map((p) => `${p.name || "?"}: ${kernelTypes.resolve(p.type).kind}`).join(", ");
  if (args.length !== params.length)
    throw new DslError(
      `kfunc ${name} takes ${params.length} argument${params.length === 1 ? "" : "s"} (${describe()}), got ${args.length}`,
    );
  const out: Item[] = [];
  args.forEach((arg, i) => {
    const kind = kernelTypes.resolve(params[i]!.type).kind;
    const what = `kfunc ${name} argument ${i + 1} (${params[i]!.name || "?"}: ${kind})`;
    if (kind === "struct" || kind === "union")
      throw new DslError(`${what}: a struct passed by value cannot be an argument`);
    if (typeof arg === "number") {
      if (kind === "ptr" && arg !== 0)
        throw new DslError(`${what}: a pointer takes a register or 0 (NULL), not ${arg}`);
    } else {
      const n = Number(/^r(\d+)$/.exec(String(arg))?.[1] ?? Number.NaN);
      if (n >= 1 && n <= i)
        throw new DslError(
          `${what}: ${arg} was overwritten by argument ${n}'s move; use another register`,
        );
    }
    if (arg !== ARG_REGS[i]) out.push(mov(ARG_REGS[i]!, arg));
  });
  out.push(kfunc(name, undefined, func.id));
  return out;
}
