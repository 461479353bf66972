// @ts-ebpf/elf/spec reads objects into specs and binds them to kernel types
// it is given: its built files reach no Node built-in, no loader and no
// kernel BTF read, so parsing runs in a browser and is the same on any machine.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadKernelBtf, parseBtf } from "@ts-ebpf/btf";
import type { Instruction } from "@ts-ebpf/spec";
import { describe, expect, it } from "vitest";
import { typeOffsets } from "../src/btf-fix.js";
import { bindProgramSpec, parseCollection, parseElf } from "../src/index.js";
import { fixture } from "./fixtures.js";

const dist = join(import.meta.dirname, "..", "dist");

/** The built files `entry` imports, transitively (relative imports), and the packages they name. */
function closure(entry: string): { files: string[]; packages: Set<string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(/\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
      const spec = m[1]!;
      if (spec.startsWith(".")) queue.push(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  }
  return { files, packages };
}

describe("@ts-ebpf/elf/spec", () => {
  it("imports only pure packages and never reads the kernel's BTF", () => {
    const { files, packages } = closure(join(dist, "pure.js"));
    expect(files.length).toBeGreaterThan(5);
    expect([...packages].sort()).toEqual([
      "@ts-ebpf/btf",
      "@ts-ebpf/spec",
      "@ts-ebpf/spec/constants",
    ]);
    for (const file of files) {
      const source = readFileSync(file, "utf8");
      // No import of the kernel BTF reader, no file reads, no Node-only Buffer.
      expect(source, file).not.toMatch(
        /\bloadKernelBtf\b[^;]*\bfrom\b|readFileSync|\bBuffer\.from/,
      );
    }
  });

  it("binds late: the same parsed program resolves against whatever kernel types it is given", () => {
    const bytes = fixture("task");
    const program = parseCollection(bytes).programs.dump_task!;
    const local = program.localTypes!;
    const taskStruct = local.findType("task_struct", "struct");
    if (taskStruct?.kind !== "struct") throw new Error("fixture: no struct task_struct");
    const pidIndex = taskStruct.members.findIndex((m) => m.name === "pid");
    const isPidLoad = (i: Instruction) =>
      i.core?.typeId === taskStruct.id && i.core.access === `0:${pidIndex}`;
    const at = program.instructions.findIndex(isPidLoad);
    expect(at).toBeGreaterThan(0);

    // Against the running kernel: its offset of task_struct.pid.
    const kernel = loadKernelBtf();
    const onKernel = bindProgramSpec(program, kernel);
    expect(onKernel.instructions[at]!.off).toBe(kernel.memberOffset("task_struct", "pid").offset);
    expect(onKernel.attachBtfId).toBe(kernel.funcId("bpf_iter_task"));

    // Against other kernel types, where pid sits at byte 4096 (the object's
    // own BTF with that member moved): the same parsed spec gets 4096.
    const blob = new Uint8Array(parseElf(bytes).contents(parseElf(bytes).section(".BTF")!));
    const member = typeOffsets(blob).offsets[taskStruct.id - 1]! + 12 + pidIndex * 12;
    new DataView(blob.buffer).setUint32(member + 8, 4096 * 8, true);
    const other = bindProgramSpec(program, parseBtf(blob));
    expect(other.instructions[at]!.off).toBe(4096);
    expect(other.attachBtfId).toBeUndefined(); // no bpf_iter_task there: the kernel will say so
    // The parsed spec itself is unchanged: its relocation still waits.
    expect(program.instructions[at]!.core).toBeDefined();
  });
});
