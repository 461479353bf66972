// References: what an instruction points at that is not a number yet (a
// label, a map, a string constant, a CO-RE access), which instructions may
// carry which, and the one place they are resolved and a program encoded for
// the kernel (encodeProgram, called by the loader).
import type { MapReference } from "../program.js";
import { InstructionError } from "./errors.js";
import {
  classify,
  encodeInto,
  type Form,
  formatRaw,
  INSN_SIZE,
  type Instruction,
  type KsymReference,
  slotsOf,
} from "./instruction.js";
import { LD_IMM64, LdImm64Src } from "./opcodes.js";

/** Forms whose target (off or imm) may be a label. */
export function takesTarget(f: Form): boolean {
  return (
    f.kind === "ja" ||
    f.kind === "gotol" ||
    f.kind === "jcond" ||
    f.kind === "call_subprog" ||
    (f.kind === "ld_imm64" && f.pseudo === LdImm64Src.FUNC)
  );
}

/** True for ld_imm64 map fd / map value: the instructions a map reference belongs on. */
export function takesMap(f: Form): boolean {
  return (
    f.kind === "ld_imm64" && (f.pseudo === LdImm64Src.MAP_FD || f.pseudo === LdImm64Src.MAP_VALUE)
  );
}

/** True for a kfunc call and an ld_imm64 BTF id: the instructions a ksym reference belongs on. */
export function takesKsym(f: Form): boolean {
  return f.kind === "call_kfunc" || (f.kind === "ld_imm64" && f.pseudo === LdImm64Src.BTF_ID);
}

/**
 * Why the instruction's references do not fit its form (a label on an add, a
 * map on a call...), or undefined when they do.
 */
export function referenceProblem(f: Form, insn: Instruction): string | undefined {
  if (insn.target !== undefined) {
    if (!takesTarget(f)) return "only jumps, calls of subprograms and func references take a label";
    if (typeof insn.target !== "string" || insn.target === "")
      return "label must be a non-empty string";
  }
  if (insn.map !== undefined && !takesMap(f))
    return "only ld_imm64 map fd / map value take a map reference";
  if (insn.str !== undefined) {
    if (typeof insn.str !== "string") return "str must be a string";
    if (!(f.kind === "ld_imm64" && f.pseudo === LdImm64Src.MAP_VALUE))
      return "only ld_imm64 map value takes a string constant";
  }
  if (insn.ksym !== undefined) {
    if (!takesKsym(f)) return "only kfunc calls and ld_imm64 BTF ids take a kernel symbol";
    const k: unknown = insn.ksym;
    if (typeof k !== "object" || k === null) return "ksym must be { name }";
    const { name, btfId, module } = k as Partial<KsymReference>;
    if (typeof name !== "string" || name === "") return "ksym name must be a non-empty string";
    if (btfId !== undefined && (!Number.isInteger(btfId) || btfId <= 0 || btfId >= 2 ** 31))
      return `ksym ${name}: btfId ${String(btfId)} is not a BTF type id`;
    if (
      module !== undefined &&
      (typeof module !== "object" ||
        module === null ||
        !Number.isInteger(module.fd) ||
        module.fd < 0 ||
        module.fd >= 2 ** 31)
    )
      return `ksym ${name}: module must be { fd } of a module's BTF object`;
  }
  return undefined;
}

/** Where a program refers to a map: an ld_imm64 map fd / map value, by slot. */
export type Relocation =
  /** `r = map[fd]`: src_reg = BPF_PSEUDO_MAP_FD, imm = map fd. */
  | { readonly kind: "map_fd"; readonly insn: number; readonly map: MapReference }
  /** `r = map[fd][0] + offset`: src_reg = BPF_PSEUDO_MAP_VALUE, imm = fd, next imm = offset. */
  | {
      readonly kind: "map_value";
      /** Slot (8-byte index) of the ld_imm64, as the kernel counts instructions. */
      readonly insn: number;
      readonly map: MapReference;
      readonly offset: number;
    };

/**
 * The map references of a program's instructions, by slot: what the loader
 * will patch with fds (for listings, tools and tests; the loader itself
 * resolves them in encodeProgram).
 */
export function mapReferences(instructions: readonly Instruction[]): Relocation[] {
  if (!Array.isArray(instructions)) throw new TypeError("instructions must be an array");
  const out: Relocation[] = [];
  let slot = 0;
  for (const insn of instructions) {
    if (typeof insn !== "object" || insn === null)
      throw new TypeError(`instructions[${out.length}] is not an instruction`);
    if (insn.map !== undefined && insn.opcode === LD_IMM64) {
      out.push(
        insn.src === LdImm64Src.MAP_VALUE
          ? { kind: "map_value", insn: slot, map: insn.map, offset: insn.imm2 ?? 0 }
          : { kind: "map_fd", insn: slot, map: insn.map },
      );
    }
    slot += slotsOf(insn);
  }
  return out;
}

/** How the loader resolves references to numbers. */
export interface ReferenceResolver {
  /** The fd a map reference stands for; throws when there is none. */
  mapFd(ref: MapReference): number;
  /**
   * A module kfunc's index in PROG_LOAD's fd_array, where the loader places
   * the module's BTF fd (vmlinux kfuncs need none: index 0). Without it a
   * module kfunc cannot be encoded.
   */
  fdArrayIndex?(module: { readonly fd: number }): number;
}

/** Throws an InstructionError naming the instruction when the loader cannot encode it. */
function checkLoadable(insn: Instruction, index: number): void {
  const fail = (reason: string, cause?: unknown): never => {
    throw new InstructionError(
      reason,
      { index, instruction: formatRaw(insn) },
      cause === undefined ? undefined : { cause },
    );
  };
  let form: Form;
  try {
    form = classify(insn);
  } catch (e) {
    if (!(e instanceof InstructionError)) throw e;
    throw fail(e.reason, e);
  }
  const problem = referenceProblem(form, insn);
  if (problem !== undefined) fail(problem);
  if (insn.core !== undefined)
    fail(
      `CO-RE relocation (type ${insn.core.typeId}, access ${insn.core.access}) not applied: load the object with @ts-ebpf/elf, which applies it against kernel types`,
    );
  if (insn.str !== undefined && insn.map === undefined)
    fail("string constant not placed in read-only data (build the program with program())");
  if (insn.ksym !== undefined && insn.ksym.btfId === undefined)
    fail(
      `kernel symbol ${insn.ksym.name} has no BTF id: resolve it against kernel types first (@ts-ebpf/elf's bindKsyms, or loadCollection)`,
    );
  if (insn.map !== undefined && form.kind === "ld_imm64" && form.pseudo === LdImm64Src.MAP_VALUE) {
    if (form.imm2 < 0) fail(`map value offset ${form.imm2} is negative`);
  }
}

/**
 * Checks what encodeProgram checks before it resolves anything (every
 * instruction valid, every reference on an instruction that takes it, no
 * string constant unplaced, no CO-RE relocation unapplied), so a loader can
 * refuse a program before it creates maps for it. Returns the program's
 * length in slots. InstructionError naming the instruction; TypeError for
 * what is not a list of instructions.
 */
export function checkProgram(instructions: readonly Instruction[]): number {
  if (!Array.isArray(instructions)) throw new TypeError("instructions must be an array");
  let slots = 0;
  for (let index = 0; index < instructions.length; index++) {
    const insn: unknown = instructions[index];
    if (typeof insn !== "object" || insn === null)
      throw new TypeError(`instructions[${index}] is not an instruction`);
    checkLoadable(insn as Instruction, index);
    slots += slotsOf(insn as Instruction);
  }
  return slots;
}

/**
 * Encodes a program for PROG_LOAD: every instruction checked, every
 * reference resolved (a map to its fd in imm; a map value's offset stays in
 * imm2). InstructionError, naming the instruction, for an invalid
 * instruction, a reference on an instruction that cannot take it, a string
 * constant not placed in read-only data, a CO-RE relocation not applied, a
 * negative map value offset or a resolver answer that is not an fd. Errors
 * the resolver throws pass through. The instructions are not changed.
 */
export function encodeProgram(
  instructions: readonly Instruction[],
  resolver: ReferenceResolver,
): Uint8Array {
  const slots = checkProgram(instructions);
  const bytes = new Uint8Array(slots * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  let at = 0;
  instructions.forEach((insn, index) => {
    let out = insn;
    if (insn.map !== undefined) {
      const fd = resolver.mapFd(insn.map);
      if (!Number.isInteger(fd) || fd < 0 || fd >= 2 ** 31)
        throw new InstructionError(`map reference resolved to ${fd}, not an fd`, {
          index,
          instruction: formatRaw(insn),
        });
      out = { ...insn, imm: fd };
    }
    if (insn.ksym !== undefined) out = encodeKsym(insn, insn.ksym, index, resolver);
    encodeInto(view, at, out);
    at += slotsOf(insn) * INSN_SIZE;
  });
  return bytes;
}

/** The instruction with its kernel symbol's id (and module) in place. */
function encodeKsym(
  insn: Instruction,
  ref: KsymReference,
  index: number,
  resolver: ReferenceResolver,
): Instruction {
  const btfId = ref.btfId!;
  if (insn.opcode === LD_IMM64)
    // ld_imm64 BTF id: imm = the VAR's id, imm2 = its module's BTF fd (0: vmlinux).
    return { ...insn, imm: btfId, imm2: ref.module?.fd ?? 0 };
  let off = 0;
  if (ref.module !== undefined) {
    if (resolver.fdArrayIndex === undefined)
      throw new InstructionError(
        `kfunc ${ref.name} is in a module: the loader has no fd_array for its BTF`,
        { index, instruction: formatRaw(insn) },
      );
    off = resolver.fdArrayIndex(ref.module);
    if (!Number.isInteger(off) || off <= 0 || off > 0x7fff)
      throw new InstructionError(`kfunc ${ref.name}: fd_array index ${off} out of range`, {
        index,
        instruction: formatRaw(insn),
      });
  }
  return { ...insn, imm: btfId, off };
}
