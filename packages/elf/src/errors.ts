// The package's typed errors: malformed objects are ElfError (never a crash),
// unsupported or inconsistent BPF content is ElfError too. Neither of the
// others is about a malformed object: a CO-RE relocation that fails against
// the kernel types it is bound to is a CoreRelocationError (it names the
// field and the type, as libbpf does), and a program the kernel refuses is
// collection.ts's ProgramLoadError, a BpfError (which keeps this module free
// of the loader).

/** A malformed or unsupported ELF object. `offset` is the byte offset involved, or -1. */
export class ElfError extends Error {
  override readonly name: string = "ElfError";
  readonly offset: number;

  constructor(message: string, offset = -1, options?: ErrorOptions) {
    super(offset >= 0 ? `ELF at byte ${offset}: ${message}` : `ELF: ${message}`, options);
    this.offset = offset;
  }
}

/**
 * A CO-RE relocation that cannot be applied against the kernel types a
 * program is bound to (or whose poisoned instruction the verifier reached).
 * Not an ElfError: the object may be fine, the kernel differs. `cause` is the
 * ElfError or BtfError of a malformed record, or the VerifierError.
 */
export class CoreRelocationError extends Error {
  override readonly name = "CoreRelocationError";
  /** Program (or section) the relocation belongs to. */
  readonly program: string;
  /** The access as C, e.g. "struct task_struct.pid" or "enum foo::BAR". */
  readonly access: string;

  constructor(program: string, access: string, message: string, options?: ErrorOptions) {
    super(`program ${program}: CO-RE relocation of ${access}: ${message}`, options);
    this.program = program;
    this.access = access;
  }
}
