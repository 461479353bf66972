// @ts-ebpf/elf/spec: clang-compiled BPF ELF objects read into specs, bound to
// kernel types passed in. Pure: no loader, no Node built-ins, no kernel read
// (what @ts-ebpf/elf adds is loadCollection, which loads them).
export { type BtfExt, parseBtfExt } from "./btf-ext.js";
export { fixupBtf } from "./btf-fix.js";
export {
  type BindOptions,
  type BoundProgramSpec,
  bindProgramSpec,
  CoreReloKind,
  POISON_HELPER,
  type PoisonedInstruction,
  resolveCore,
} from "./core.js";
export { CoreRelocationError, ElfError } from "./errors.js";
export {
  bindKsyms,
  type ExternSpec,
  KCONFIG_MAP,
  type KconfigKind,
  type KconfigValues,
  kernelVersionCode,
  type ModuleKsym,
  type ModuleKsymLookup,
  moduleKsymId,
  POISON_KFUNC_BASE,
} from "./externs.js";
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
