/**
 * A program the DSL cannot build: invalid register, immediate or offset out
 * of range, unknown or duplicate label, unknown helper, jump out of range.
 * The message names the instruction and, when known, its position.
 */
export class DslError extends Error {
  override readonly name: string = "DslError";
  /** Index of the instruction in its listing (not the 8-byte slot), when known. */
  readonly index: number | undefined;
  /** The instruction as text, when one is involved. */
  readonly instruction: string | undefined;
  /** The problem alone, without position and instruction. */
  readonly reason: string;

  constructor(reason: string, where: { index?: number; instruction?: string } = {}) {
    const parts: string[] = [];
    if (where.index !== undefined) parts.push(`insn ${where.index}`);
    if (where.instruction !== undefined) parts.push(`\`${where.instruction}\``);
    super(parts.length > 0 ? `${parts.join(" ")}: ${reason}` : reason);
    this.index = where.index;
    this.instruction = where.instruction;
    this.reason = reason;
  }
}

/** Malformed assembler text: a message with 1-based line and column. */
export class ParseError extends SyntaxError {
  override readonly name = "ParseError";
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(reason: string, line: number, column: number, sourceLine?: string) {
    const caret =
      sourceLine === undefined
        ? ""
        : `\n  ${sourceLine}\n  ${" ".repeat(Math.max(0, column - 1))}^`;
    super(`line ${line}, column ${column}: ${reason}${caret}`);
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}
