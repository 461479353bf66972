import { InstructionError } from "@ts-ebpf/spec";

/**
 * A program the DSL cannot build: invalid register, immediate or offset out
 * of range, unknown or duplicate label, unknown helper, jump out of range.
 * The message names the instruction and, when known, its position. An
 * InstructionError (the instruction model's), with the DSL's name.
 */
export class DslError extends InstructionError {
  override readonly name: string = "DslError";
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
