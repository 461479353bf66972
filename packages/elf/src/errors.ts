// The package's typed errors: malformed objects are ElfError (never a crash),
// unsupported or inconsistent BPF content is ElfError too, CO-RE failures
// CoreRelocationError (they name the field and the type, as libbpf does). A
// program the kernel refuses is not an ELF error: collection.ts's
// ProgramLoadError is a BpfError (and keeps this module free of the loader).

/** A malformed or unsupported ELF object. `offset` is the byte offset involved, or -1. */
export class ElfError extends Error {
  override readonly name: string = "ElfError";
  readonly offset: number;

  constructor(message: string, offset = -1, options?: ErrorOptions) {
    super(offset >= 0 ? `ELF at byte ${offset}: ${message}` : `ELF: ${message}`, options);
    this.offset = offset;
  }
}

/** A CO-RE relocation that cannot be resolved against the kernel's BTF. */
export class CoreRelocationError extends ElfError {
  override readonly name = "CoreRelocationError";
  /** Program (or section) the relocation belongs to. */
  readonly program: string;
  /** The access as C, e.g. "struct task_struct.pid" or "enum foo::BAR". */
  readonly access: string;

  constructor(program: string, access: string, message: string, options?: ErrorOptions) {
    super(`program ${program}: CO-RE relocation of ${access}: ${message}`, -1, options);
    this.program = program;
    this.access = access;
  }
}
