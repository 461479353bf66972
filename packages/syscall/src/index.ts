// @ts-ebpf/syscall: bpf(2) from TypeScript. The addon loads on the first syscall.

export {
  Capability,
  type CapabilityName,
  effectiveCapabilities,
  missingBpfCapabilities,
} from "./caps.js";
export type { Codec } from "./codec.js";
export * as codecs from "./codec.js";
export * from "./commands/btf.js";
export * from "./commands/id.js";
export * from "./commands/info.js";
export * from "./commands/link.js";
// Commands: thin typed functions over bpf(2); fds they return belong to the caller.
export * from "./commands/map.js";
export { BatchError } from "./commands/map.js";
export * from "./commands/obj.js";
export * from "./commands/prog.js";
export * from "./constants/index.js";
export { Errno, errnoName } from "./errno.js";
export {
  BpfError,
  type BpfErrorOptions,
  failingInstruction,
  refusedByPolicy,
  VerifierError,
} from "./errors.js";
export {
  expectKind,
  FdError,
  type FdKind,
  fdKind,
  ObjectKindError,
  objectKind,
} from "./fds.js";
// Handles that own their fd.
export { FdHandle, type PinOptions } from "./handles/fd.js";
export { createIteratorLink, Link, openIteratorFd } from "./handles/link.js";
export {
  BpfMap,
  /** The map handle under the name the design uses (same class as BpfMap). */
  BpfMap as Map,
  type MapCodecs,
  type MapOptions,
  type MapShape,
  possibleCpus,
} from "./handles/map.js";
export { Program } from "./handles/program.js";
export { BpfAttrLayout, type FieldLayout, type StructLayout } from "./layout/layouts.gen.js";
export { applyRelocations, type LoadOptions, loadProgram } from "./load.js";
export * from "./spec.js";
export { bpffsMountPoints, kernelVersion, type SystemInfo, system } from "./system.js";
