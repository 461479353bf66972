import { release } from "node:os";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { describeKernel, olderThan } from "@ts-ebpf/testing";
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

  it("every target and link parameter is in this kernel exactly when it is as new as the table's first kernel for it", () => {
    const btf = loadKernelBtf();
    const have = new Set(btf.iteratorTargets().map((t) => t.name));
    const union = btf.findType("bpf_iter_link_info", "union");
    const params = new Set(union?.members.map((m) => m.name) ?? []);
    const wrong: string[] = [];
    const check = (what: string, present: boolean, since: string) => {
      const expected = !olderThan(since);
      if (present !== expected)
        wrong.push(
          `${what}: the table says ${since}, ${release()} ${present ? "has" : "lacks"} it`,
        );
    };
    for (const t of TARGETS) {
      check(`target ${t.name}`, have.has(t.name), t.since);
      if (t.params !== "none")
        check(`${t.name}'s ${t.params} parameter`, params.has(t.params), t.paramsSince ?? t.since);
    }
    expect(wrong).toEqual([]);
  });
});
