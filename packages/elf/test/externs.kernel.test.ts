// Externs against the running kernel: __kconfig values (from its config and
// from options.kconfig), typed and typeless __ksym variables, kfunc calls (the
// bpf_iter_num open-coded iterator, 6.4) and weak externs the kernel lacks,
// in a SEC("syscall") program run with BPF_PROG_TEST_RUN.
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { CallSrc, LdImm64Src } from "@ts-ebpf/spec";
import { describeKernel, missingFromKernel, skipWithoutFeature } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import {
  bindProgramSpec,
  ElfError,
  kernelVersionCode,
  loadCollection,
  parseCollection,
  readKernelConfig,
} from "../src/index.js";
import { fixture } from "./fixtures.js";

const btf = loadKernelBtf();
// The kernel finds a typed ksym variable's address in kallsyms: data symbols
// are there only with CONFIG_KALLSYMS_ALL (the Debian guests; not this host).
const noKsymVar = skipWithoutFeature(
  "kernel variables in kallsyms (CONFIG_KALLSYMS_ALL)",
  / runqueues$/m.test(readFileSync("/proc/kallsyms", "utf8")),
);
// Why a test skips here, or undefined: the kernel's BTF lacks what it needs
// and its release predates the first with it (a newer kernel without it fails).
const noIterNum = missingFromKernel(
  "bpf_iter_num kfuncs",
  btf.findType("bpf_iter_num_new", "func") !== undefined,
  "6.4",
);
const noSyscallProg = missingFromKernel(
  "BPF_PROG_TYPE_SYSCALL programs",
  btf.findType("bpf_prog_type", "enum")?.values.some((v) => v.name === "BPF_PROG_TYPE_SYSCALL") ===
    true,
  "5.14",
);

/** The program's global variables as the kernel left them (.bss and .data). */
function globals(c: ReturnType<typeof loadCollection>) {
  const value = (name: string) => {
    const v = c.spec.variables[name]!;
    const data = c.maps[v.map]!.get(new Uint8Array(4)) as Uint8Array;
    return { data, view: new DataView(data.buffer, data.byteOffset, data.byteLength), v };
  };
  return {
    u32: (name: string) => value(name).view.getUint32(value(name).v.offset, true),
    i32: (name: string) => value(name).view.getInt32(value(name).v.offset, true),
    u64: (name: string) => value(name).view.getBigUint64(value(name).v.offset, true),
    str: (name: string) => {
      const { data, v } = value(name);
      const bytes = data.subarray(v.offset, v.offset + v.size);
      const end = bytes.indexOf(0);
      return new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end));
    },
  };
}

it("parseCollection keeps kfunc calls and ksym loads as named references, kconfig loads on .kconfig", () => {
  const spec = parseCollection(fixture("externs"));
  const insns = spec.programs.externs!.instructions;
  const kfuncs = insns.filter((i) => i.src === CallSrc.KFUNC && i.ksym).map((i) => i.ksym!.name);
  expect(kfuncs).toEqual([
    "bpf_iter_num_new",
    "bpf_iter_num_next",
    "bpf_iter_num_next",
    "bpf_iter_num_destroy",
    "ts_ebpf_no_such_kfunc",
  ]);
  const vars = insns.filter((i) => i.src === LdImm64Src.BTF_ID).map((i) => i.ksym?.name);
  expect(vars).toEqual(expect.arrayContaining(["bpf_prog_put", "ts_ebpf_no_such_kfunc"]));
  expect(spec.maps[".kconfig"]).toMatchObject({ maxEntries: 1, freeze: true });
  expect(spec.externs.CONFIG_HZ).toMatchObject({ kind: "kconfig", type: "int", weak: false });
  expect(spec.externs.CONFIG_BPF_SYSCALL).toMatchObject({ type: "bool" });
  expect(spec.externs.CONFIG_LOCALVERSION).toMatchObject({ type: "chars", size: 16, weak: true });
  expect(spec.externs.ts_ebpf_no_such_kfunc).toMatchObject({
    kind: "ksym",
    func: true,
    weak: true,
  });
  expect(spec.externs.bpf_prog_put).toMatchObject({ kind: "ksym", typeless: true });
});

it("kernelVersionCode packs a release as KERNEL_VERSION, the patch capped at 255", () => {
  expect(kernelVersionCode("6.18.0-1-amd64")).toBe((6 << 16) | (18 << 8));
  expect(kernelVersionCode("5.10.300")).toBe((5 << 16) | (10 << 8) | 255);
  expect(kernelVersionCode("nonsense")).toBe(0);
});

it("a strong ksym the kernel lacks is an ElfError naming it", () => {
  const spec = parseCollection(fixture("externs"));
  const p = spec.programs.externs!;
  const renamed = {
    ...p,
    instructions: p.instructions.map((i) =>
      // The first kfunc the program calls, so the error names it on every kernel
      // (before 6.4 the bpf_iter_num kfuncs after it are missing too).
      i.ksym?.name === "bpf_iter_num_new" ? { ...i, ksym: { name: "ts_ebpf_missing_new" } } : i,
    ),
  };
  const kallsyms = () => 1n;
  expect(() => bindProgramSpec(renamed, btf, { kallsyms })).toThrow(ElfError);
  expect(() => bindProgramSpec(renamed, btf, { kallsyms })).toThrow(
    /kfunc ts_ebpf_missing_new is not in the kernel's BTF/,
  );
  expect(() => bindProgramSpec(p, btf)).toThrow(/bpf_prog_put is not in \/proc\/kallsyms/);
});

describeKernel("externs", () => {
  it("a syscall program reads kconfig and ksyms and loops with bpf_iter_num [skips before 6.4]", (ctx) => {
    if (noIterNum) return ctx.skip(noIterNum);
    using c = loadCollection(fixture("externs"));
    expect(c.btfError).toBeUndefined(); // .kconfig and .ksyms rewritten as the kernel accepts
    const r = c.programs.externs!.testRun();
    expect(r.retval).toBe(0);
    const g = globals(c);
    expect(g.u32("kernel_version")).toBe(kernelVersionCode(release()));
    const config = readKernelConfig();
    if (config) {
      expect(g.i32("hz")).toBe(Number(config.CONFIG_HZ));
      expect(g.i32("bpf_syscall")).toBe(config.CONFIG_BPF_SYSCALL === "y" ? 1 : 0);
      expect(g.str("localversion")).toBe(JSON.parse(config.CONFIG_LOCALVERSION ?? '""'));
    }
    expect(g.i32("absent_option")).toBe(0);
    const kallsyms = readFileSync("/proc/kallsyms", "utf8");
    const fops = /^([0-9a-f]+) \S+ bpf_prog_put$/m.exec(kallsyms)?.[1];
    expect(g.u64("prog_fops")).toBe(BigInt(`0x${fops}`));
    expect(g.u64("absent_symbol")).toBe(0n);
    expect(g.i32("sum")).toBe(45); // 0 + 1 + ... + 9
    expect(g.i32("weak_called")).toBe(0); // the weak kfunc is absent: its call never ran
  });

  it("options.kconfig overrides the kernel's values [skips before 6.4]", (ctx) => {
    if (noIterNum) return ctx.skip(noIterNum);
    using c = loadCollection(fixture("externs"), {
      kconfig: { CONFIG_HZ: 123, LINUX_KERNEL_VERSION: 0x050a00, CONFIG_LOCALVERSION: '"-ts"' },
    });
    c.programs.externs!.testRun();
    const g = globals(c);
    expect(g.i32("hz")).toBe(123);
    expect(g.u32("kernel_version")).toBe(0x050a00);
    expect(g.str("localversion")).toBe("-ts");
  });

  it.skipIf(noKsymVar)(
    "a typed ksym variable is an ld_imm64 BTF id the kernel resolves [skips without CONFIG_KALLSYMS_ALL, and before 5.14]",
    (ctx) => {
      if (noSyscallProg) return ctx.skip(noSyscallProg);
      const spec = parseCollection(fixture("ksym_var"));
      const ld = spec.programs.ksym_var!.instructions.find((i) => i.ksym?.name === "runqueues");
      expect(ld?.src).toBe(LdImm64Src.BTF_ID);
      using c = loadCollection(fixture("ksym_var"));
      expect(c.programs.ksym_var!.testRun().retval).toBe(0);
      expect(globals(c).i32("rq_cpu")).toBe(0); // CPU 0's runqueue
    },
  );

  it("a kconfig value that does not fit is an ElfError [skips before 6.4]", (ctx) => {
    if (noIterNum) return ctx.skip(noIterNum);
    expect(() =>
      loadCollection(fixture("externs"), { kconfig: { CONFIG_BPF_SYSCALL: "m" } }),
    ).toThrow(/CONFIG_BPF_SYSCALL: value m is a module/);
    expect(() => loadCollection(fixture("externs"), { kconfig: { CONFIG_HZ: 2 ** 40 } })).toThrow(
      /does not fit 4 bytes/,
    );
  });
});
