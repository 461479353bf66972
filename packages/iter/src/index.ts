// @ts-ebpf/iter: BPF iterators from TypeScript.
export * from "./errors.js";
export * from "./params.js";
export * from "./reader.js";
export * from "./targets.js";
