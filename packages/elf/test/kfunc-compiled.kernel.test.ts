// The kfunc fixtures compiled here, against this kernel's vmlinux.h (bpftool),
// not only the committed objects: clang's kfunc calls print by name exactly
// where llvm-objdump -dr shows their relocations, and the objects load and
// run. Also a SEC("syscall") program's context in and out through
// BPF_PROG_TEST_RUN. The test-vm guests have no compiler: there the compiled
// half skips, saying so.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { add, exit, ldx, mov, print, program, stx } from "@ts-ebpf/dsl";
import { BpfProgLoadFlag, BpfProgType } from "@ts-ebpf/spec/constants";
import { loadProgram } from "@ts-ebpf/syscall";
import { describeKernel, missingFromKernel, skipWithoutTool } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadCollection, parseCollection } from "../src/index.js";
import { FIXTURES } from "./fixtures.js";

const inGuest = process.env.TS_EBPF_VM_REPO !== undefined;
const hasTool = (tool: string) => spawnSync(tool, ["--version"]).status === 0;
const tools = !inGuest && hasTool("clang") && hasTool("bpftool") && hasTool("llvm-objdump");
const btf = loadKernelBtf();

let dir = "";
/** Compiles test/fixtures/<name>.bpf.c against this kernel's vmlinux.h; the object's path. */
function compile(name: string): string {
  const out = join(dir, `${name}.bpf.o`);
  execFileSync("clang", [
    "-g",
    "-O2",
    "-target",
    "bpf",
    "-D__TARGET_ARCH_x86",
    `-I${dir}`,
    "-c",
    join(FIXTURES, `${name}.bpf.c`),
    "-o",
    out,
  ]);
  return out;
}

/** The symbols llvm-objdump -dr shows on each `call` relocation of a section, in order. */
function objdumpCallRelocations(object: string, section: string): string[] {
  const text = execFileSync("llvm-objdump", ["-dr", `--section=${section}`, object], {
    encoding: "utf8",
  });
  const lines = text.split("\n");
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (!/\tcall -0x1$|\tcall -1$/.test(line)) return;
    const reloc = /R_BPF_64_32\s+(\S+)/.exec(lines[i + 1] ?? "");
    if (reloc) out.push(reloc[1]!);
  });
  return out;
}

describeKernel("kfunc objects compiled against this kernel", () => {
  beforeAll(() => {
    if (!tools) return;
    dir = mkdtempSync(join(tmpdir(), "ts-ebpf-kfunc-"));
    writeFileSync(
      join(dir, "vmlinux.h"),
      execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"], {
        maxBuffer: 1 << 30,
      }),
    );
    copyFileSync(join(FIXTURES, "bpf_helpers.h"), join(dir, "bpf_helpers.h"));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const skipCompiled = (ctx: { skip: (note: string) => void }): boolean => {
    if (inGuest) {
      ctx.skip("the test-vm guests have no compiler (the committed objects run there)");
      return true;
    }
    if (skipWithoutTool(tools)) {
      ctx.skip("clang, bpftool or llvm-objdump missing");
      return true;
    }
    expect(tools, "clang, bpftool and llvm-objdump (setup.sh --test installs them)").toBe(true);
    return false;
  };

  it("kfunc calls print by name where llvm-objdump -dr shows their relocations", (ctx) => {
    if (skipCompiled(ctx)) return;
    for (const [name, section, program] of [
      ["externs", "syscall", "externs"],
      ["module_kfunc", "xdp", "ct_lookup"],
    ] as const) {
      const object = compile(name);
      const spec = parseCollection(readFileSync(object));
      const kfuncs = new Set(
        Object.values(spec.externs)
          .filter((e) => e.kind === "ksym" && e.func)
          .map((e) => e.name),
      );
      const ours = print(spec.programs[program]!.instructions)
        .split("\n")
        .map((l) => /^\s*call ([A-Za-z_]\w*)$/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined && kfuncs.has(n));
      const llvm = objdumpCallRelocations(object, section).filter((n) => kfuncs.has(n));
      expect(llvm.length).toBeGreaterThan(1);
      expect(ours).toEqual(llvm);
    }
  });

  it("the compiled objects load and run: bpf_iter_num sums 0..9, bpf_xdp_ct_lookup finds nothing", (ctx) => {
    if (skipCompiled(ctx)) return;
    {
      using c = loadCollection(compile("externs"));
      expect(c.programs.externs!.testRun().retval).toBe(0);
      const v = c.spec.variables.sum!;
      const data = c.maps[v.map]!.get(new Uint8Array(4)) as Uint8Array;
      expect(new DataView(data.buffer, data.byteOffset).getInt32(v.offset, true)).toBe(45);
    }
    const hasCt = btf.findType("bpf_xdp_ct_lookup", "func") !== undefined;
    if (!hasCt) return; // in a module here: kfunc-modules.kernel.test.ts covers that case
    using c = loadCollection(compile("module_kfunc"));
    expect(c.programs.ct_lookup!.testRun({ dataIn: new Uint8Array(64) }).retval).toBe(2);
    const v = c.spec.variables.lookup_error!;
    const data = c.maps[v.map]!.get(new Uint8Array(4)) as Uint8Array;
    expect(new DataView(data.buffer, data.byteOffset).getInt32(v.offset, true)).toBe(-2);
  });
});

// Why the SEC("syscall") test skips here, or undefined: the kernel's BTF has no such program type and predates its first kernel.
const noSyscallProg = missingFromKernel(
  "BPF_PROG_TYPE_SYSCALL programs",
  btf.findType("bpf_prog_type", "enum")?.values.some((v) => v.name === "BPF_PROG_TYPE_SYSCALL") ===
    true,
  "5.14",
);

describeKernel('SEC("syscall") programs: context in and out', () => {
  it("BPF_PROG_TEST_RUN gives the program ctxIn, and the kernel writes the context back into it", (test) => {
    if (noSyscallProg) return test.skip(noSyscallProg);
    // ctx[1] = ctx[0] * 2 + 1; return ctx[0] + 7
    const spec = program(
      {
        type: BpfProgType.SYSCALL,
        flags: BpfProgLoadFlag.SLEEPABLE,
        license: "GPL",
        name: "ctx_io",
      },
      [
        ldx("u32", "r2", "r1", 0),
        mov("r3", "r2"),
        add("r3", "r3"),
        add("r3", 1),
        stx("u32", "r1", 4, "r3"),
        mov("r0", "r2"),
        add("r0", 7),
        exit(),
      ],
    );
    using prog = loadProgram(spec);
    const ctx = new Uint8Array(new Uint32Array([20, 0]).buffer);
    // A syscall program has no ctx_out (the kernel refuses one: EINVAL): its
    // context is copied back to ctx_in.
    expect(prog.testRun({ ctxIn: ctx }).retval).toBe(27);
    expect([...new Uint32Array(ctx.buffer)]).toEqual([20, 41]);
    expect(() => prog.testRun({ ctxIn: ctx, ctxOut: new Uint8Array(8) })).toThrow(/EINVAL/);
  });
});
