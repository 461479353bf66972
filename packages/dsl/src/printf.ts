// Format strings of the kernel's printf-like helpers (bpf_seq_printf,
// bpf_trace_printk, bpf_snprintf, bpf_trace_vprintk), checked when the
// program is built. The kernel checks them in bpf_bprintf_prepare()
// (kernel/bpf/helpers.c) only when the helper runs: a format it rejects makes
// every call fail with -EINVAL, and an iterator prints nothing, without an
// error anywhere. This module is the one place that mirrors that grammar.
import { DslError } from "./errors.js";

/** At most this many u64 arguments (MAX_BPRINTF_VARARGS). */
export const MAX_PRINTF_ARGS = 12;

/** One conversion of a format: `%-16s` at index 3. */
export interface PrintfConversion {
  /** The conversion as written, flags and width included (`%08llx`, `%pI4`). */
  readonly text: string;
  /** Index of its `%` in the format. */
  readonly index: number;
}

/** A format the kernel would reject when the helper runs. */
export class PrintfFormatError extends DslError {
  override readonly name = "PrintfFormatError";
  /** The whole format. */
  readonly format: string;
  /** The offending specifier or character, as written (`%o`, `%.2d`, `"\x01"`); "" for an empty format. */
  readonly specifier: string;
  /** Index of the specifier (its `%`) or character in the format. */
  readonly position: number;

  constructor(
    format: string,
    specifier: string,
    position: number,
    problem: string,
    helper = "bpf_seq_printf",
  ) {
    const what = format === "" ? "the format" : `${JSON.stringify(specifier)} at index ${position}`;
    super(`${helper} format ${JSON.stringify(format)}: ${what} ${problem}`);
    this.format = format;
    this.specifier = specifier;
    this.position = position;
  }
}

/** What the helpers take, for error messages. */
const SUPPORTED =
  "the kernel takes %d %i %u %x %X (with l or ll), %c, %s, %p, %pK %px %ps %pS %pB %pi4 %pI4 %pi6 %pI6 %pks %pus, " +
  "flags 0 + - space and a width, and %%";

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
// The kernel's isspace() and ispunct() on ASCII; `undefined` is the terminating NUL.
const isSpace = (c: string | undefined) => c !== undefined && " \t\n\v\f\r".includes(c);
const isPunct = (c: string | undefined) =>
  c !== undefined && c.length === 1 && /[!-/:-@[-`{-~]/.test(c);
/** What may follow `%s` (and `%pks`, `%pus`, plain `%p`): end, space or punctuation. */
const endsWord = (c: string | undefined) => c === undefined || isSpace(c) || isPunct(c);
/** A C specifier as a reader would delimit it (`%.2f`, `%hhd`, `%lc`), for messages. */
const C_SPECIFIER = /%[-+ #0-9.*']*(?:hh|ll|[hlLqjzt])?[A-Za-z]?/y;

export interface CheckPrintfOptions {
  /** Helper named in error messages. Default "bpf_seq_printf". */
  readonly helper?: string;
}

/**
 * The conversions of `fmt` as bpf_bprintf_prepare() reads them, or a
 * PrintfFormatError naming the first specifier or character it would reject:
 *
 * - text: printable ASCII and the whitespace characters \t \n \v \f \r (kernels
 *   released before mid-2026 reject every byte above 0x7f, so non-ASCII text is
 *   refused too);
 * - `%%`;
 * - `%` [flags `0` `+` `-` space]* [width 1-9 digits*] then one of
 *   `d i u x X` after an optional `l` or `ll`; `c`; `s`; `p` alone or `pK px ps pS
 *   pB pi4 pI4 pi6 pI6 pks pus`. No precision, `#` flag, `*` width or `h`/`z`
 *   length;
 * - `%s`, `%pks`, `%pus` and a plain `%p` followed by the end, whitespace or
 *   punctuation (`%sfoo` is refused);
 * - `%p` directly followed by `%` is refused: kernels before the fix of
 *   bpf_bprintf_prepare's `%p` handling (2025) read the `%` as part of the `%p`.
 *
 * An empty format is refused too (newer kernels reject it; it prints nothing).
 */
export function checkPrintfFormat(
  fmt: string,
  options: CheckPrintfOptions = {},
): PrintfConversion[] {
  if (typeof fmt !== "string") throw new TypeError("printf format must be a string");
  const helper = options.helper ?? "bpf_seq_printf";
  const fail = (specifier: string, position: number, problem: string): never => {
    throw new PrintfFormatError(fmt, specifier, position, problem, helper);
  };
  if (fmt.length === 0) fail("", 0, "is empty: newer kernels reject it, and it prints nothing");
  const conversions: PrintfConversion[] = [];
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i]!;
    const code = ch.charCodeAt(0);
    if (code > 0x7e || (code < 0x20 && !isSpace(ch))) {
      const problem =
        code > 0x7f
          ? "is not ASCII: kernels released before mid-2026 reject any byte above 0x7f in a format"
          : "is a control character the kernel rejects in a format (printable ASCII and \\t \\n \\v \\f \\r only)";
      fail(String.fromCodePoint(fmt.codePointAt(i)!), i, problem);
    }
    if (ch !== "%") continue;
    if (fmt[i + 1] === "%") {
      i++;
      continue;
    }
    const start = i;
    const spec = (end: number) => fmt.slice(start, end + 1);
    i++;
    while (fmt[i] === "0" || fmt[i] === "+" || fmt[i] === "-" || fmt[i] === " ") i++;
    if (fmt[i] !== undefined && fmt[i]! >= "1" && fmt[i]! <= "9") {
      i++;
      while (isDigit(fmt[i])) i++;
    }
    const c = fmt[i];
    if (c === "p") {
      const next = fmt[i + 1];
      if ((next === "k" || next === "u") && fmt[i + 2] === "s") {
        i += 2;
        if (!endsWord(fmt[i + 1]))
          fail(
            spec(i + 1),
            start,
            `is not a conversion: %p${next}s must be followed by whitespace, punctuation or the end (${SUPPORTED})`,
          );
      } else if (next === "%") {
        fail(
          spec(i + 1),
          start,
          "reads differently across kernels (older ones take the % as part of %p): put a space or other punctuation between them",
        );
      } else if (endsWord(next)) {
        // plain %p
      } else if (next === "K" || next === "x" || next === "s" || next === "S" || next === "B") {
        i++;
      } else if ((next === "i" || next === "I") && (fmt[i + 2] === "4" || fmt[i + 2] === "6")) {
        i += 2;
      } else {
        fail(spec(i + 1), start, `is not a pointer format the kernel takes (${SUPPORTED})`);
      }
    } else if (c === "s") {
      if (!endsWord(fmt[i + 1]))
        fail(
          spec(i + 1),
          start,
          "is not a conversion: %s must be followed by whitespace, punctuation or the end",
        );
    } else if (c === "c") {
      // one character
    } else {
      if (fmt[i] === "l") i++;
      if (fmt[i] === "l") i++;
      const conv = fmt[i];
      if (conv !== "d" && conv !== "i" && conv !== "u" && conv !== "x" && conv !== "X") {
        C_SPECIFIER.lastIndex = start;
        C_SPECIFIER.exec(fmt);
        const written = fmt.slice(start, Math.max(C_SPECIFIER.lastIndex, i + 1));
        const what = conv === undefined ? "is incomplete" : "is not a conversion the kernel takes";
        fail(written, start, `${what} (${SUPPORTED})`);
      }
    }
    conversions.push({ text: spec(i), index: start });
  }
  return conversions;
}
