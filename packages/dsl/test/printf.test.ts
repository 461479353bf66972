// Issue 13, finding 7: bpf_seq_printf checks its format only when it runs,
// and a format it rejects makes every call fail: the iterator prints nothing
// and nobody reports an error. seqPrintf checks the format when the program
// is built, against the grammar of the kernel's bpf_bprintf_prepare().
import { describe, expect, it } from "vitest";
import {
  checkPrintfFormat,
  countConversions,
  DslError,
  MAX_PRINTF_ARGS,
  PrintfFormatError,
  SEQ_PRINTF_MAX_ARGS,
  seqPrintf,
} from "../src/index.js";

function formatError(fmt: string): PrintfFormatError {
  try {
    checkPrintfFormat(fmt);
  } catch (e) {
    expect(e, fmt).toBeInstanceOf(PrintfFormatError);
    return e as PrintfFormatError;
  }
  throw new Error(`format ${JSON.stringify(fmt)} was accepted`);
}

describe("printf formats (bpf_bprintf_prepare's grammar)", () => {
  it('seqPrintf refuses "%d %o\\n" when the program is built, naming %o and its index', () => {
    let error: unknown;
    try {
      seqPrintf("r7", "%d %o\n", ["r8", "r9"]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DslError);
    expect(error).toBeInstanceOf(PrintfFormatError);
    const e = error as PrintfFormatError;
    expect([e.specifier, e.position, e.format]).toEqual(["%o", 3, "%d %o\n"]);
    expect(e.message).toMatch(
      /bpf_seq_printf format "%d %o\\n": "%o" at index 3 is not a conversion/,
    );
  });

  it("accepts every conversion, flag, width and length the kernel takes", () => {
    const accepted: [string, string[]][] = [
      ["%d %i %u %x %X\n", ["%d", "%i", "%u", "%x", "%X"]],
      ["%ld %li %lu %lx %lX", ["%ld", "%li", "%lu", "%lx", "%lX"]],
      ["%lld %lli %llu %llx %llX", ["%lld", "%lli", "%llu", "%llx", "%llX"]],
      ["%c%s", ["%c", "%s"]],
      ["%p %pK %px %ps %pS %pB", ["%p", "%pK", "%px", "%ps", "%pS", "%pB"]],
      ["%pi4 %pI4 %pi6 %pI6", ["%pi4", "%pI4", "%pi6", "%pI6"]],
      ["%pks %pus", ["%pks", "%pus"]],
      ["%-16s|%08x|%+d|% d|%-+ 0 12lld", ["%-16s", "%08x", "%+d", "% d", "%-+ 0 12lld"]],
      ["100%% done %d%%", ["%d"]],
      ["%s. %s, %s\t%s", ["%s", "%s", "%s", "%s"]],
      // After %pK %px %ps %pS %pB and %pI4 the kernel checks nothing (vsnprintf skips letters).
      ["%pKfoo %pi4x", ["%pK", "%pi4"]],
      ["tab\tnewline\nvt\vff\fcr\r", []],
    ];
    for (const [fmt, conversions] of accepted) {
      expect(
        checkPrintfFormat(fmt).map((c) => c.text),
        fmt,
      ).toEqual(conversions);
    }
    expect(checkPrintfFormat("ab %-5d %s")).toEqual([
      { text: "%-5d", index: 3 },
      { text: "%s", index: 8 },
    ]);
  });

  it("refuses what the kernel refuses, naming the specifier and its index", () => {
    const refused: [string, string, number][] = [
      ["%o", "%o", 0],
      ["x %f", "%f", 2],
      ["%n", "%n", 0],
      ["%e %g %a", "%e", 0],
      ["%.2d", "%.2d", 0],
      ["%5.1s", "%5.1s", 0],
      ["%#x", "%#x", 0],
      ["%*d", "%*d", 0],
      ["%hd", "%hd", 0],
      ["%hhx", "%hhx", 0],
      ["%zu", "%zu", 0],
      ["%Lx", "%Lx", 0],
      ["%lc", "%lc", 0],
      ["%llc", "%llc", 0],
      ["%lllx", "%lll", 0],
      ["%ls", "%ls", 0],
      ["%", "%", 0],
      ["abc %", "%", 4],
      ["%12345678", "%12345678", 0],
      ["%--------", "%--------", 0],
      ["%s%", "%", 2],
      ["%sfoo", "%sf", 0],
      ["%pksx", "%pksx", 0],
      ["%pa", "%pa", 0],
      ["%pI5", "%pI", 0],
      ["%pM", "%pM", 0],
      ["%p%d", "%p%", 0],
      ["%d\u0001", "\u0001", 2],
      ["\u007f", "\u007f", 0],
      ["a\0b", "\0", 1],
      ["é", "é", 0],
      ["ok 😀", "😀", 3],
    ];
    for (const [fmt, specifier, position] of refused) {
      const e = formatError(fmt);
      expect([e.specifier, e.position], fmt).toEqual([specifier, position]);
      expect(e.message, fmt).toContain(`${JSON.stringify(specifier)} at index ${position}`);
    }
    expect(formatError("").message).toMatch(/the format is empty/);
  });

  it("seqPrintf keeps the 12-argument limit and the count check, and countConversions agrees", () => {
    expect(MAX_PRINTF_ARGS).toBe(12);
    expect(SEQ_PRINTF_MAX_ARGS).toBe(12);
    const twelve = Array.from({ length: 12 }, () => "r6" as const);
    expect(() => seqPrintf("r7", "%d".repeat(12), twelve)).not.toThrow();
    expect(() => seqPrintf("r7", "%d".repeat(13), [...twelve, "r6"])).toThrow(/at most 12/);
    expect(() => seqPrintf("r7", "%s %pI4 %c", ["r6"])).toThrow(/3 conversions but 1 arguments/);
    expect(countConversions("%pK %pks 100%% %-08llx")).toBe(3);
    expect(() => countConversions("%o")).toThrow(PrintfFormatError);
  });
});
