// A TypeScript consumer, typechecked with `strict` against the installed
// declarations (and run after compiling): the published types must be complete.

import { readFileSync } from "node:fs";
import { type Btf, loadKernelBtf } from "@ts-ebpf/btf";
import { assemble, type Instruction, parse } from "@ts-ebpf/dsl";
import { type CollectionSpec, parseCollection } from "@ts-ebpf/elf";
import { type IteratorLink, type Task, tasks } from "@ts-ebpf/iter";
import type { ProgramSpec } from "@ts-ebpf/spec";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { type BpfError, BpfMap, codecs } from "@ts-ebpf/syscall";

const btf: Btf = loadKernelBtf();
const insns: readonly Instruction[] = assemble(parse("r0 = 0\nexit\n")).instructions;
const spec: CollectionSpec = parseCollection(
  readFileSync(new URL("./task.bpf.o", import.meta.url)),
);
const first: ProgramSpec | undefined = Object.values(spec.programs)[0];
let link: IteratorLink | undefined;
const mine: Task | undefined = (await tasks()).find((t) => t.pid === process.pid);

const map: BpfMap<number, bigint> = BpfMap.create({
  type: BpfMapType.ARRAY,
  keySize: 4,
  valueSize: 8,
  maxEntries: 1,
  key: codecs.u32,
  value: codecs.u64,
});
map.set(0, 42n);
const value: bigint | undefined = map.get(0);
map.close();
const notFound: BpfError | undefined = undefined;
if (
  value !== 42n ||
  !mine ||
  insns.length !== 2 ||
  !first ||
  btf.typeCount < 1000 ||
  link ||
  notFound
) {
  throw new Error("consumer.ts: unexpected results");
}
console.log(`ok typed consumer: ${first.name ?? "program"} parsed, map value ${value}`);
