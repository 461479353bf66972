// @ts-ebpf/elf: load clang-compiled BPF ELF objects (libbpf-style): the pure
// reading and binding of @ts-ebpf/elf/spec, plus the loader.
export {
  Collection,
  type CollectionProgram,
  type LoadCollectionOptions,
  loadCollection,
  loadCollectionSpec,
  ProgramLoadError,
} from "./collection.js";
export { kallsymsLookup, readKernelConfig } from "./kernel-config.js";
export { KernelModuleTypes } from "./kernel-modules.js";
export * from "./pure.js";
