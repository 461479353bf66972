import { loadKernelBtf } from "@ts-ebpf/btf";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { TARGETS } from "../src/index.js";

describeKernel("target table against the running kernel's BTF", () => {
  it("every target the kernel has takes the context members the table lists, in order", () => {
    const kernel = new Map(
      loadKernelBtf()
        .iteratorTargets()
        .map((t) => [t.name, t]),
    );
    let checked = 0;
    for (const t of TARGETS) {
      const found = kernel.get(t.name);
      if (!found) continue;
      checked++;
      expect(
        found.members.map((m) => m.name),
        `struct bpf_iter__${t.name}`,
      ).toEqual(["meta", ...t.context]);
    }
    // Every kernel this project supports (5.8+) has task, bpf_map, netlink and ipv6_route.
    expect(checked).toBeGreaterThanOrEqual(4);
  });
});
