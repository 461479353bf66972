// @ts-ebpf/spec: the pure description of BPF objects. Every other package
// builds on it; it imports nothing (no Node built-ins, no addon), so it
// installs without a compiler and runs in a browser.
export * from "./asm/index.js";
export * from "./codec.js";
export * from "./constants/index.js";
export * from "./program.js";
