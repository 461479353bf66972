// @ts-ebpf/syscall: bpf(2) from TypeScript. The addon loads on the first syscall.

export type {
  BtfExtRecords,
  Instruction,
  MapFdSource,
  MapReference,
  MapSpec,
  ProgramSpec,
  ReadonlyData,
} from "@ts-ebpf/spec";
export {
  Capability,
  type CapabilityName,
  effectiveCapabilities,
  missingBpfCapabilities,
} from "./caps.js";
export type { Codec } from "./codec.js";
export * as codecs from "./codec.js";
// Commands: typed functions over bpf(2); fds they return belong to the caller.
// Named one by one: every exported command checks each buffer against what
// the kernel will copy; the modules' other exports are internal.
export { type BtfLoadOptions, btfLoad } from "./commands/btf.js";
export { getFdById, getNextId, ids, type ObjectKind } from "./commands/id.js";
export {
  type BtfInfo,
  btfInfo,
  type IterLinkInfo,
  type LinkInfo,
  linkInfo,
  type MapInfo,
  mapInfo,
  objGetInfoByFd,
  type ProgInfo,
  progInfo,
} from "./commands/info.js";
export {
  encodeIterLinkInfo,
  type IterLinkParams,
  iterCreate,
  type LinkCreateOptions,
  linkCreate,
  linkDetach,
  linkUpdate,
  rawTracepointOpen,
} from "./commands/link.js";
export {
  BatchError,
  type BatchOptions,
  type BatchResult,
  isPerCpuMapType,
  type LookupBatchOptions,
  type MapCreateOptions,
  mapBatchTokenSize,
  mapCreate,
  mapDeleteBatch,
  mapDeleteElem,
  mapFreeze,
  mapGetNextKey,
  mapLookupAndDeleteBatch,
  mapLookupBatch,
  mapLookupElem,
  mapUpdateBatch,
  mapUpdateElem,
  mapValueSlotSize,
  possibleCpus,
} from "./commands/map.js";
export { objGet, objPin } from "./commands/obj.js";
export {
  EAGAIN_RETRY_BUDGET_MS,
  MIN_LOG_SIZE,
  type ProgLoadOptions,
  type ProgLoadResult,
  progLoad,
  progTestRun,
  type TestRunOptions,
  type TestRunResult,
} from "./commands/prog.js";
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
  dupAbove2,
  expectKind,
  FdError,
  type FdKind,
  fdKind,
  ObjectKindError,
  objectKind,
  sameOpenFile,
} from "./fds.js";
// Handles that own their fd.
export { Btf } from "./handles/btf.js";
export { FdHandle, type PinOptions } from "./handles/fd.js";
export { Link, openIteratorFd } from "./handles/link.js";
export {
  BpfMap,
  type MapCodecs,
  type MapOptions,
  type MapShape,
} from "./handles/map.js";
export { Program } from "./handles/program.js";
export { BpfAttrLayout, type FieldLayout, type StructLayout } from "./layout/layouts.gen.js";
export { type LoadOptions, loadProgram } from "./load.js";
export {
  NamespaceError,
  type NetnsIteratorFd,
  openIteratorFdInNetns,
  openIteratorFdsInNetns,
} from "./netns.js";
export { bpffsMountPoints, kernelVersion, type SystemInfo, system } from "./system.js";
