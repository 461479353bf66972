// The generated helper table against the running kernel's `enum bpf_func_id`.
// On an older kernel the enum is a prefix of ours: compare the ids it has.
import { loadKernelBtf } from "@ts-ebpf/btf";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { HelperId, helperName } from "../src/index.js";

describeKernel("helper ids vs kernel BTF", () => {
  it("every BPF_FUNC_* of this kernel has the same id in helpers.gen.ts", () => {
    const values = loadKernelBtf().enumValues("bpf_func_id");
    const kernel = new Map<string, number>();
    for (const v of values) {
      if (!v.name.startsWith("BPF_FUNC_") || v.name === "BPF_FUNC_unspec") continue;
      kernel.set(v.name.slice("BPF_FUNC_".length), Number(v.value));
    }
    expect(kernel.size).toBeGreaterThan(100);
    for (const [name, id] of kernel) {
      expect(HelperId[name as keyof typeof HelperId], name).toBe(id);
    }
    // Ours may run past an older kernel's end, never disagree below it.
    const max = Math.max(...kernel.values());
    for (const [name, id] of Object.entries(HelperId)) {
      if (id <= max) expect(kernel.get(name), `${name} = ${id}`).toBe(id);
    }
    expect([helperName(126), helperName(127), helperName(150)]).toEqual([
      "bpf_seq_printf",
      "bpf_seq_write",
      "bpf_seq_printf_btf",
    ]);
  });
});
