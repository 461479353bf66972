// The package's typed errors: malformed objects are ElfError (never a crash),
// unsupported or inconsistent BPF content is ElfError too, CO-RE failures
// CoreRelocationError (they name the field and the type, as libbpf does).

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

/**
 * A program of the object did not load for a reason other than the verifier
 * (whose VerifierError is thrown as is): names the program and its section;
 * the BpfError is the cause.
 */
export class ProgramLoadError extends ElfError {
  override readonly name = "ProgramLoadError";
  readonly program: string;
  readonly section: string;

  constructor(program: string, section: string, message: string, options?: ErrorOptions) {
    super(`program ${program} (section ${section}): ${message}`, -1, options);
    this.program = program;
    this.section = section;
  }
}
