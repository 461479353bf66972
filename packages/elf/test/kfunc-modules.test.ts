// kfuncs and kernel variables that vmlinux lacks, found in a kernel module's
// BTF (bindKsyms' `modules` lookup, as libbpf's find_ksym_btf_id walks
// module BTF after vmlinux): the reference carries the module's BTF object,
// which the encoder turns into an fd_array index (kfunc) or imm2 (variable).

import { Btf } from "@ts-ebpf/btf";
import { kfunc } from "@ts-ebpf/dsl";
import { CallSrc, encodeProgram, LD_IMM64, LdImm64Src } from "@ts-ebpf/spec";
import { btfBlob } from "@ts-ebpf/testing";
import { describe, expect, it } from "vitest";
import { bindKsyms, type ModuleKsymLookup, parseCollection } from "../src/index.js";
import { fixture } from "./fixtures.js";

// Kernel types without a single type: every symbol must come from a module.
const emptyVmlinux = new Btf(btfBlob(new Uint8Array(0), new Uint8Array([0])));
const conntrack = { fd: 41, name: "nf_conntrack" };
const asked: string[] = [];
const modules: ModuleKsymLookup = (name, kind) => {
  asked.push(`${kind} ${name}`);
  if (name === "bpf_xdp_ct_lookup" && kind === "func") return { btfId: 70001, module: conntrack };
  if (name === "bpf_ct_release" && kind === "func") return { btfId: 70002, module: conntrack };
  if (name === "mod_var" && kind === "var") return { btfId: 70003, module: { fd: 42, name: "m" } };
  return undefined;
};

describe("module kfuncs", () => {
  it("a kfunc vmlinux lacks binds to the module's id and BTF object; the encoder puts it in fd_array", () => {
    const program = parseCollection(fixture("module_kfunc")).programs.ct_lookup!;
    const bound = bindKsyms(
      program.instructions,
      emptyVmlinux,
      program.externs,
      "ct_lookup",
      undefined,
      modules,
    );
    const calls = bound.filter((i) => i.ksym !== undefined);
    expect(calls.map((i) => [i.src, i.ksym])).toEqual([
      [CallSrc.KFUNC, { name: "bpf_xdp_ct_lookup", btfId: 70001, module: conntrack }],
      [CallSrc.KFUNC, { name: "bpf_ct_release", btfId: 70002, module: conntrack }],
    ]);
    // One fd_array slot per module, shared by its kfuncs (index 0 unused, as libbpf leaves it).
    const slots: number[] = [0];
    // opts.error's CO-RE relocation (vmlinux.h's preserve_access_index) is not under test here.
    const withoutCore = bound.map(({ core: _core, ...insn }) => insn);
    const bytes = encodeProgram(withoutCore, {
      mapFd: () => 7,
      fdArrayIndex: (m) => {
        if (!slots.includes(m.fd)) slots.push(m.fd);
        return slots.indexOf(m.fd);
      },
    });
    expect(slots).toEqual([0, 41]);
    const view = new DataView(bytes.buffer);
    let slot = 0;
    const encodedCalls: [number, number][] = [];
    for (const insn of bound) {
      if (insn.ksym !== undefined)
        encodedCalls.push([view.getInt16(slot * 8 + 2, true), view.getInt32(slot * 8 + 4, true)]);
      slot += insn.opcode === LD_IMM64 ? 2 : 1;
    }
    // off = fd_array index, imm = the FUNC's id in the module's BTF.
    expect(encodedCalls).toEqual([
      [1, 70001],
      [1, 70002],
    ]);
  });

  it("vmlinux is searched first: the module lookup is asked only for what vmlinux lacks", () => {
    asked.length = 0;
    const program = parseCollection(fixture("module_kfunc")).programs.ct_lookup!;
    bindKsyms(program.instructions, emptyVmlinux, program.externs, "ct_lookup", undefined, modules);
    expect(asked).toEqual(["func bpf_xdp_ct_lookup", "func bpf_ct_release"]);
  });

  it("a module variable's ld_imm64 carries its module's BTF fd in imm2", () => {
    const insn = {
      ...kfunc("x"),
      opcode: LD_IMM64,
      src: LdImm64Src.BTF_ID,
      dst: 1,
      off: 0,
      imm: 0,
      imm2: 0,
      ksym: { name: "mod_var" },
    };
    const externs = {
      mod_var: { kind: "ksym", name: "mod_var", weak: false, func: false, typeless: false },
    } as const;
    const [bound] = bindKsyms([insn], emptyVmlinux, externs, "p", undefined, modules);
    expect(bound!.ksym).toEqual({ name: "mod_var", btfId: 70003, module: { fd: 42, name: "m" } });
    const bytes = encodeProgram([bound!], { mapFd: () => 7 });
    const view = new DataView(bytes.buffer);
    expect([view.getInt32(4, true), view.getInt32(12, true)]).toEqual([70003, 42]);
  });

  it("a strong kfunc in neither vmlinux nor a module names both; a weak one is poisoned", () => {
    const program = parseCollection(fixture("module_kfunc")).programs.ct_lookup!;
    expect(() =>
      bindKsyms(
        program.instructions,
        emptyVmlinux,
        program.externs,
        "ct_lookup",
        undefined,
        () => undefined,
      ),
    ).toThrow(
      /program ct_lookup: kfunc bpf_xdp_ct_lookup is not in the kernel's BTF \(vmlinux and its modules\)/,
    );
    const weak = {
      bpf_xdp_ct_lookup: { ...program.externs!.bpf_xdp_ct_lookup!, weak: true },
      bpf_ct_release: { ...program.externs!.bpf_ct_release!, weak: true },
    };
    const poisoned = bindKsyms(program.instructions, emptyVmlinux, weak, "ct_lookup");
    expect(poisoned.filter((i) => i.ksym !== undefined)).toEqual([]);
  });

  it("a lookup answering something other than { btfId, module: { fd, name } } is a TypeError", () => {
    const program = parseCollection(fixture("module_kfunc")).programs.ct_lookup!;
    for (const answer of [
      { btfId: 0, module: conntrack },
      { btfId: 5, module: { fd: 1, name: "x" } },
      { btfId: 5 },
      7,
    ])
      expect(() =>
        bindKsyms(
          program.instructions,
          emptyVmlinux,
          program.externs,
          "ct_lookup",
          undefined,
          (() => answer) as unknown as ModuleKsymLookup,
        ),
      ).toThrow(TypeError);
    expect(() =>
      bindKsyms(
        program.instructions,
        emptyVmlinux,
        program.externs,
        "ct_lookup",
        undefined,
        5 as unknown as ModuleKsymLookup,
      ),
    ).toThrow(/modules must be a function/);
  });
});
