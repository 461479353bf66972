// The pure packages on their own: no addon installed, none loaded. Assembles
// and disassembles a program, reads the kernel's BTF, uses the constants.
import { readFileSync } from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { assemble, disassemble, parse } from "@ts-ebpf/dsl";
import { BpfProgType } from "@ts-ebpf/spec/constants";

const { bytes } = assemble(parse("r0 = 0\nexit\n"));
const text = disassemble(bytes);
if (!/r0 = 0/.test(text) || !/exit/.test(text)) throw new Error(`disassembly: ${text}`);
const btf = loadKernelBtf();
const task = btf.findType("task_struct");
if (!task) throw new Error("task_struct not found in the kernel's BTF");
if (BpfProgType.TRACING !== 26) throw new Error("constants");
const maps = readFileSync("/proc/self/maps", "utf8");
if (/\.node$/m.test(maps)) throw new Error("a native addon is mapped into this process");
console.log(
  `ok pure packages: assembled ${bytes.length} bytes, found task_struct, no addon mapped`,
);
