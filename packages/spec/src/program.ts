// ProgramSpec: the plain data shape a program is described by before loading.
// The DSL and @ts-ebpf/elf's parseCollection produce it; loadProgram() consumes it.
// Its instructions are the instruction model's (./asm), with their references:
// it holds no fds and no encoded bytes. Maps are referenced by name (resolved
// at load time from the spec's own map specs and read-only data, or from maps
// the caller passes) or by a handle the caller owns.
import type { Instruction } from "./asm/instruction.js";

/** Something that owns a map fd (a `BpfMap` handle satisfies it). */
export interface MapFdSource {
  readonly fd: number;
}

/** A map an instruction refers to: by name, or by a handle the caller keeps open. */
export type MapReference = { readonly name: string } | { readonly handle: MapFdSource };

/** A map the loader creates for the program (e.g. from an ELF `.maps` section). */
export interface MapSpec {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags?: number;
  /** Initial contents, written after creation (global data). */
  readonly contents?: Uint8Array;
  /** Freeze after writing contents (read-only data). */
  readonly freeze?: boolean;
}

/**
 * Read-only data (format strings, constants) placed in a one-entry array map
 * created with BPF_F_RDONLY_PROG, filled, and frozen by the loader. Relocations
 * reference it by `name` (by convention ".rodata") from ld_imm64 map value instructions.
 */
export interface ReadonlyData {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/**
 * `.BTF.ext` records for one program (func info or line info), instruction
 * offsets relative to the program's first instruction. Loaded with the
 * program when `LoadOptions.btf` gives the BTF they refer to.
 */
export interface BtfExtRecords {
  /** Bytes per record (func info: 8, line info: 16 today). */
  readonly recordSize: number;
  readonly records: Uint8Array;
}

export interface ProgramSpec {
  /** Up to 15 characters are kept by the kernel (BPF_OBJ_NAME_LEN - 1). */
  readonly name?: string;
  /** `enum bpf_prog_type` value (see BpfProgType in @ts-ebpf/spec/constants). */
  readonly type: number;
  /** `enum bpf_attach_type` value, e.g. BpfAttachType.TRACE_ITER. */
  readonly expectedAttachType?: number;
  /** Id of the attach target in kernel BTF (for iterators, FUNC `bpf_iter_<target>`). */
  readonly attachBtfId?: number;
  /** Name of the attach target (e.g. "bpf_iter_task"), for error messages. */
  readonly attachTarget?: string;
  /** fd of a module BTF object holding attachBtfId; 0 or absent means vmlinux. */
  readonly attachBtfObjFd?: number;
  readonly license: string;
  /**
   * The instructions, references unresolved: an ld_imm64 map fd / map value
   * names its map (`map`), which the loader resolves to an fd when it
   * encodes the program, once, for PROG_LOAD.
   */
  readonly instructions: readonly Instruction[];
  readonly readonlyData?: readonly ReadonlyData[];
  readonly maps?: readonly MapSpec[];
  /** Extra BPF_F_* program flags (e.g. BPF_F_SLEEPABLE). */
  readonly flags?: number;
  /** `struct bpf_func_info` records (BTF FUNC id per subprogram); needs LoadOptions.btf. */
  readonly funcInfo?: BtfExtRecords;
  /** `struct bpf_line_info` records (source lines in verifier logs); needs LoadOptions.btf. */
  readonly lineInfo?: BtfExtRecords;
}
