// checkPrintfFormat mirrors the kernel's bpf_bprintf_prepare(): cross-checked
// here against the running kernel. One iterator program calls bpf_seq_printf
// with many formats (12 arguments each, all a pointer to task->comm) and
// prints each call's return value; the kernel must return 0 exactly for the
// formats the DSL accepts and -EINVAL for the others. A few refusals are
// deliberately stricter than some kernels (non-ASCII text, an empty format,
// `%p%`, a control character right after `%p`): those are not compared.
import { loadKernelBtf } from "@ts-ebpf/btf";
import { describeKernel, missingFromKernel } from "@ts-ebpf/testing";
import fc from "fast-check";
import { expect, it } from "vitest";
import {
  add,
  buildIterProgram,
  call,
  checkPrintfFormat,
  fieldAddress,
  HelperId,
  type Item,
  iterContext,
  iterReturn,
  jne,
  ldStr,
  MAX_PRINTF_ARGS,
  mov,
  PrintfFormatError,
  seqPrintf,
  stx,
} from "../src/index.js";
import { runIterator } from "./run-iterator.js";

const EINVAL = 22;

/** bpf_seq_printf's return value for each format, on the first task of one iterator run. */
function kernelResults(formats: readonly string[]): number[] {
  const btf = loadKernelBtf();
  const ctx = iterContext(btf, "task", "r6");
  const frame = 8 * MAX_PRINTF_ARGS;
  const calls: Item[][] = formats.map((fmt, k) => [
    ...fieldAddress(btf, "r9", "r8", "task_struct", "comm"),
    ...Array.from({ length: MAX_PRINTF_ARGS }, (_, a) => stx("u64", "r10", -frame + 8 * a, "r9")),
    mov("r1", "r7"),
    // Raw call: seqPrintf would refuse half of these formats.
    ldStr("r2", fmt),
    mov("r3", new TextEncoder().encode(fmt).length + 1),
    mov("r4", "r10"),
    add("r4", -frame),
    mov("r5", frame),
    call(HelperId.seq_printf),
    mov("r9", "r0"),
    ...seqPrintf("r7", `\n#${k}=%d\n`, ["r9"]),
  ]);
  const built = buildIterProgram(ctx, [
    ctx.save(),
    ctx.meta.seq("r7"),
    ctx.loadNonNull("r8", "task"),
    ctx.meta.seqNum("r1"),
    jne("r1", 0, "out"),
    calls,
    iterReturn(0),
  ]);
  const text = runIterator(built.spec, "latin1");
  const results = new Map<number, number>();
  for (const m of text.matchAll(/\n#(\d+)=(-?\d+)\n/g)) results.set(Number(m[1]), Number(m[2]));
  return formats.map((fmt, k) => {
    const r = results.get(k);
    if (r === undefined) throw new Error(`no result for format ${k} ${JSON.stringify(fmt)}`);
    return r;
  });
}

/** The DSL's verdict: "ok", "refused", or "stricter" (refused, but some kernels accept it). */
function verdict(fmt: string): "ok" | "refused" | "stricter" {
  try {
    checkPrintfFormat(fmt);
    return "ok";
  } catch (e) {
    if (!(e instanceof PrintfFormatError)) throw e;
    // Kernels before the 2025 fix skip the character after a plain %p unchecked.
    const afterPlainP = /%[-+ 0]*(?:[1-9]\d*)?p$/.test(fmt.slice(0, e.position));
    const versionDependent =
      fmt === "" || e.specifier.startsWith("%p%") || afterPlainP || /[^\0-\x7f]/.test(e.specifier);
    return versionDependent ? "stricter" : "refused";
  }
}

function compare(formats: readonly string[]): void {
  const results = kernelResults(formats);
  const mismatches = formats.flatMap((fmt, k) => {
    const v = verdict(fmt);
    const r = results[k]!;
    if (v === "stricter") return [];
    if ((v === "ok" && r === 0) || (v === "refused" && r === -EINVAL)) return [];
    return [`${JSON.stringify(fmt)}: DSL says ${v}, kernel returned ${r}`];
  });
  expect(mismatches).toEqual([]);
}

/**
 * Why the comparison cannot run here: before 5.13 bpf_seq_printf parsed formats
 * its own way; checkPrintfFormat mirrors the shared bpf_bprintf_prepare(),
 * whose FUNC in the kernel's BTF proves which parser the kernel has.
 */
function olderParser(): string | undefined {
  const present = loadKernelBtf().findType("bpf_bprintf_prepare", "func") !== undefined;
  return missingFromKernel(
    "bpf_bprintf_prepare (the format parser checkPrintfFormat mirrors)",
    present,
    "5.13",
  );
}

describeKernel("printf formats against the running kernel's bpf_seq_printf", () => {
  it("accepts and refuses the same hand-picked formats", (ctx) => {
    const older = olderParser();
    if (older) return ctx.skip(older);
    const formats = [
      "%d %i %u %x %X\n",
      "%ld %lli %llu %lx %llX",
      "%c%s",
      "%p %pK %px %ps %pS %pB",
      "%pi4 %pI4 %pi6 %pI6",
      "%pks %pus",
      "%-16s|%08x|%+d|% d|%-+ 0 12lld",
      "100%% %d%%",
      "%pKfoo %pi4x",
      "%o",
      "%d %o\n",
      "%f",
      "%n",
      "%.2d",
      "%#x",
      "%*d",
      "%hd",
      "%zu",
      "%lc",
      "%lllx",
      "%",
      "%12345678",
      "%sfoo",
      "%s%",
      "%pksx",
      "%pa",
      "%pI5",
      "%d\u0001",
      "\u007f",
      "%p%%",
      "é",
      "",
    ];
    compare(formats);
    expect(formats.filter((f) => verdict(f) === "refused").length).toBeGreaterThan(15);
  });

  it("accepts and refuses the same random formats", (ctx) => {
    const older = olderParser();
    if (older) return ctx.skip(older);
    const token = fc.constantFrom(
      ..."% %% d i u x X l ll c s p k K S B I 4 6 o f . 0 1 9 - + # h z a , \n \t \u0001".split(
        " ",
      ),
      " ",
    );
    // Widths stay below the seq_file buffer (a longer line fails with E2BIG instead).
    const format = fc
      .array(token, { minLength: 1, maxLength: 9 })
      .map((t) => t.join(""))
      .filter((f) => !/\d{4}/.test(f));
    const seed = Date.now() | 0;
    const formats = fc.sample(format, { numRuns: 300, seed });
    try {
      for (let i = 0; i < formats.length; i += 100) compare(formats.slice(i, i + 100));
    } catch (e) {
      throw new Error(`seed ${seed}: ${(e as Error).message}`);
    }
  });
});
