// @ts-ebpf/dsl: write, assemble and read BPF programs. Pure TypeScript: it
// builds on @ts-ebpf/spec (the instruction model, ProgramSpec, constants) and
// @ts-ebpf/btf, never the addon.
export * from "./assemble.js";
export * from "./builders.js";
export * from "./disassemble.js";
export * from "./errors.js";
export * from "./helpers.js";
export * from "./insn.js";
export * from "./iter.js";
export * from "./openiter.js";
export * from "./parse.js";
export * from "./print.js";
export * from "./printf.js";
export * from "./program.js";
export { checkInstruction } from "./validate.js";
export * from "./verifier.js";
