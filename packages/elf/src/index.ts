// @ts-ebpf/elf: load clang-compiled BPF ELF objects (libbpf-style).
export { type BtfExt, parseBtfExt } from "./btf-ext.js";
export { fixupBtf } from "./btf-fix.js";
export {
  Collection,
  type CollectionProgram,
  type LoadCollectionOptions,
  loadCollection,
  loadCollectionSpec,
  ProgramLoadError,
} from "./collection.js";
export {
  type BoundProgramSpec,
  bindProgramSpec,
  CoreReloKind,
  POISON_HELPER,
  type PoisonedInstruction,
  resolveCore,
} from "./core.js";
export { CoreRelocationError, ElfError } from "./errors.js";
export {
  ElfFile,
  type ElfRelocation,
  type ElfSymbol,
  parseElf,
  type Section,
  SHT,
  STB,
  STT,
} from "./reader.js";
export { type SectionKind, sectionKind } from "./sections.js";
export {
  type CollectionSpec,
  type ElfMapSpec,
  type ElfProgramSpec,
  type GlobalVariable,
  parseCollection,
} from "./spec.js";
