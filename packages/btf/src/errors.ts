/**
 * The one error type of this package. `offset` is the byte offset in the BTF
 * blob where the problem was found (-1 when the problem is not about bytes,
 * e.g. a name that is not in the BTF).
 */
export class BtfError extends Error {
  override readonly name = "BtfError";
  readonly offset: number;

  constructor(message: string, offset = -1) {
    super(offset >= 0 ? `BTF at byte ${offset}: ${message}` : `BTF: ${message}`);
    this.offset = offset;
  }
}
