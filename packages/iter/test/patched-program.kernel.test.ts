// The target check of createIterator and IteratorLink.update reads a Program's
// info from its private fd (attack review of issue 13): an own `info` on a
// genuine Program, or an object dressed as a Program, cannot answer for it.
import { loadKernelBtf } from "@ts-ebpf/btf";
import { BpfMap, loadProgram, Program } from "@ts-ebpf/syscall";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { createIterator, IteratorError } from "../src/index.js";
import { lacksLoadedTargetCheck, lacksTarget, openFds, tinyHash } from "./helpers.js";
import { ksymAddressProgram, taskLineProgram } from "./programs.js";

/** Makes `prog.info()` claim the program was loaded for `target`. */
function claimTarget(prog: Program, target: string): void {
  const real = prog.info();
  const fakeId = loadKernelBtf().findType(`bpf_iter_${target}`, "func")?.id;
  expect(fakeId).toBeGreaterThan(0);
  Object.defineProperty(prog, "info", { value: () => ({ ...real, attachBtfId: fakeId }) });
}

describeKernel("the target check cannot be answered by the caller's object", () => {
  it("an own info() on a genuine Program does not pass a task program as bpf_map", (ctx) => {
    const why = lacksLoadedTargetCheck();
    if (why) return ctx.skip(why);
    using taskProg = loadProgram(taskLineProgram("task\n"));
    claimTarget(taskProg, "bpf_map");
    const before = openFds();
    expect(() => createIterator(taskProg, "bpf_map").close()).toThrow(IteratorError);
    expect(() => createIterator(taskProg, "bpf_map")).toThrow(
      /loaded for the task iterator, not for bpf_map/,
    );
    expect(openFds()).toBe(before);
    // The real target still works.
    using link = createIterator(taskProg, "task");
    expect(link.info().target).toBe("task");
  });

  it("IteratorLink.update does not take a ksym program whose info() claims task", (ctx) => {
    const why = lacksLoadedTargetCheck();
    if (why) return ctx.skip(why);
    const noKsym = lacksTarget("ksym");
    if (noKsym) return ctx.skip(noKsym);
    using taskProg = loadProgram(taskLineProgram("task\n"));
    using link = createIterator(taskProg, "task");
    using ksymProg = loadProgram(ksymAddressProgram());
    claimTarget(ksymProg, "task");
    expect(() => link.update(ksymProg)).toThrow(/loaded for the ksym iterator, not for task/);
  });

  it("a map handle given Program.prototype is refused before any link is made", () => {
    using map = tinyHash("iter_disguise");
    using taskProg = loadProgram(taskLineProgram("task\n"));
    const real = taskProg.info();
    Object.setPrototypeOf(map, Program.prototype);
    Object.defineProperty(map, "info", { value: () => real });
    const before = openFds();
    expect(() => createIterator(map as unknown as Program, "task")).toThrow(TypeError);
    expect(openFds()).toBe(before);
    Object.setPrototypeOf(map, BpfMap.prototype);
  });
});
