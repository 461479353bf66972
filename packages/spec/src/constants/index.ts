// @ts-ebpf/spec/constants: pure tables, no native code. Safe to import from
// the DSL and in a browser.
export * from "./enums.gen.js";
export * from "./iter-targets.js";
export * from "./uapi.js";
