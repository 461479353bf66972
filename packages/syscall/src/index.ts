// @ts-ebpf/syscall: bpf(2) from TypeScript.
export * from "./constants/index.js";
export * from "./spec.js";
