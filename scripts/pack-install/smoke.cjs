// CommonJS users: require() of the ESM packages (Node 20.19+ and 22.12+ load ES
// modules synchronously from require).
const { tasks } = require("@ts-ebpf/iter");
const { BpfMapType } = require("@ts-ebpf/spec/constants");
const { disassemble } = require("@ts-ebpf/dsl");
const { loadKernelBtf } = require("@ts-ebpf/btf");

if (typeof disassemble !== "function" || BpfMapType.HASH !== 1) {
  throw new Error("require() gave incomplete modules");
}
if (loadKernelBtf().typeCount === 0) throw new Error("no kernel BTF types");
tasks().then((all) => {
  if (!all.some((t) => t.pid === process.pid)) throw new Error("tasks() misses this process");
  console.log(`ok require(): ${all.length} tasks`);
});
