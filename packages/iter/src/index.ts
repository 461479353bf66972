// @ts-ebpf/iter: BPF iterators from TypeScript.
export * from "./builtins/index.js";
export * from "./errors.js";
export * from "./link.js";
export * from "./params.js";
export * from "./query/index.js";
export * from "./reader.js";
export * from "./supported.js";
export * from "./targets.js";
