// @ts-ebpf/syscall/internal: what the other @ts-ebpf packages share with this
// one and are the only users of (not public API: no stability promise).

export { programInfoOf } from "./handles/program.js";
export { initializeSpecMap, kernelObjectName, specMapCreateOptions } from "./load.js";
