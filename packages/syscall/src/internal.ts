// @ts-ebpf/syscall/internal: what the other @ts-ebpf packages share with this
// one and are the only users of (not public API: no stability promise).

// The fd-above-2 rules (fds.ts owns them), for iter's readers and pins.
export { fdAbove2, ownedAbove2 } from "./fds.js";
// Attaches any iterator program with any parameters: it cannot check that the
// parameters belong to the program's target (that needs BTF names); iter's
// createIterator is the checked public path.
export { attachIterator } from "./handles/link.js";
// Whether a Map handle's codec is the default (no codec given): mapElems decodes by BTF then.
export { isDefaultMapCodec } from "./handles/map.js";
export { programInfoOf } from "./handles/program.js";
export { initializeSpecMap, kernelObjectName, specMapCreateOptions } from "./load.js";
// markAsUntransferable without loading node:worker_threads up front (iter's reader).
export { markUntransferable } from "./untransferable.js";
