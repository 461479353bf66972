// @ts-ebpf/dsl/assembler: the instruction builders and the assembler, what a
// program generator needs (@ts-ebpf/iter's built-ins and queries). The same
// functions as the index's; importing this entry evaluates 9 modules instead
// of 16: not the text parser, the disassembler, the verifier-log reader,
// printf checks, program() or the iterator helpers, which an ES module index
// cannot leave out once it re-exports them.
export * from "./assemble.js";
export * from "./builders.js";
export * from "./errors.js";
export * from "./helpers.js";
export * from "./insn.js";
