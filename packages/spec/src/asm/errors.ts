/**
 * Fields that do not form an instruction (unknown opcode, register above
 * r10, offset or immediate out of range, a reserved field set), bytes that
 * are not instructions, or a reference that cannot be resolved at load.
 * `reason` is the problem alone; `index` and `instruction` say where, when known.
 */
export class InstructionError extends Error {
  override readonly name: string = "InstructionError";
  /** Index of the instruction in its listing (not the 8-byte slot), when known. */
  readonly index: number | undefined;
  /** The instruction as text, when one is involved. */
  readonly instruction: string | undefined;
  /** The problem alone, without position and instruction. */
  readonly reason: string;

  constructor(
    reason: string,
    where: { index?: number | undefined; instruction?: string | undefined } = {},
    options?: ErrorOptions,
  ) {
    const parts: string[] = [];
    if (where.index !== undefined) parts.push(`insn ${where.index}`);
    if (where.instruction !== undefined) parts.push(`\`${where.instruction}\``);
    super(parts.length > 0 ? `${parts.join(" ")}: ${reason}` : reason, options);
    this.index = where.index;
    this.instruction = where.instruction;
    this.reason = reason;
  }
}
