// Issue 13, finding 7: parse() threw a plain SyntaxError, without line and
// column, for a string literal with a bad escape or a control character.
// Every bad input must be a ParseError that says where.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { asm, ParseError, parse, parseInstruction } from "../src/index.js";

function parseError(text: string): ParseError {
  try {
    parse(text);
  } catch (e) {
    expect(e, JSON.stringify(text)).toBeInstanceOf(ParseError);
    return e as ParseError;
  }
  throw new Error(`${JSON.stringify(text)} parsed`);
}

// Pieces of the syntax, so that random text gets past the tokenizer and into
// every statement form, not only "unexpected character".
const piece = fc.constantFrom(
  ...'r0 r1 r10 r11 w1 w12 = += -= s>>= s/= == != s< & * ( ) [ ] + - : , # ; // 0 1 -1 0x7fffffff 0x80000000 0xffffffffffffffff 99999999999999999999 ll u8 u16 u32 u64 s8 s16 s32 skb goto gotol if call exit pc kfunc lock load_acquire store_release atomic_fetch_add xchg_64 cmpxchg_64 cmpxchg32_32 be16 le64 bswap32 map btf func str name id idx fd arg bpf_seq_write bpf_seq_write#127 label: L1 12: (79) " \\ \\q \\u12 \\u0041 \\n \t \n \r \u0000 \u0001 \u007f é 😀 \ud800 \u2028'.split(
    " ",
  ),
  " ",
);
const syntaxLike = fc.array(piece, { maxLength: 14 }).map((p) => p.join(" "));
const syntaxLikeTight = fc.array(piece, { maxLength: 14 }).map((p) => p.join(""));
const anyText = fc.string({ unit: "binary", maxLength: 40 });
// String literals where print() puts them, with escapes good and bad.
const stringLiteral = fc
  .tuple(
    fc.constantFrom("r1 = str(", "r2 = map[name:", "  r3 = str("),
    fc.array(
      fc.constantFrom("a", "%d", "\\", "\\q", "\\n", "\\u00", "\\u00e9", "\t", "\u0001", '"', "é"),
      {
        maxLength: 6,
      },
    ),
    fc.constantFrom('")', '"]', '"', ""),
  )
  .map(([head, body, tail]) => `${head}"${body.join("")}${tail}`);

describe("parse errors", () => {
  it("a bad escape or a control character in a string is a ParseError at its column", () => {
    const cases: [string, number, number, RegExp][] = [
      ['r1 = str("a\\qb")', 1, 12, /invalid escape \\q/],
      ['r0 = 0\n  r2 = str("%d\\x41")', 2, 15, /invalid escape \\x/],
      ['r1 = str("\\u12")', 1, 11, /invalid escape \\u12"/],
      ['r1 = str("tab\there")', 1, 14, /control character U\+0009/],
      ['r1 = str("nul\u0000")', 1, 14, /control character U\+0000/],
      ['r1 = str("open', 1, 10, /unterminated string/],
      ['r1 = str("ends with backslash\\', 1, 30, /unterminated string: \\ at the end/],
      ['r1 = map[name:"a\\\'"]', 1, 17, /invalid escape \\'/],
    ];
    for (const [text, line, column, reason] of cases) {
      const e = parseError(text);
      expect([e.line, e.column], text).toEqual([line, column]);
      expect(e.message, text).toMatch(reason);
    }
    // asm`` reads the raw template text: the same errors, the same type.
    expect(() => asm`r1 = str("bad \q")`).toThrow(ParseError);
    expect(() => parseInstruction('r1 = str("\\z")')).toThrow(ParseError);
    // Good escapes still read as JSON reads them.
    expect(parse('r1 = str("\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9 ok")')[0]).toMatchObject({
      str: '"\\/\b\f\n\r\té ok',
    });
  });

  it("parse of any string succeeds or throws a ParseError with line and column >= 1", () => {
    const property = fc.property(
      fc.oneof(syntaxLike, syntaxLikeTight, anyText, stringLiteral),
      (text) => {
        try {
          parse(text);
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
          const lines = text.split("\n").length;
          if (!(e.line >= 1 && e.line <= lines)) throw new Error(`line ${e.line} of ${lines}`);
          if (!(Number.isInteger(e.column) && e.column >= 1)) throw new Error(`column ${e.column}`);
        }
      },
    );
    fc.assert(property, { numRuns: 2500 });
  });
});
