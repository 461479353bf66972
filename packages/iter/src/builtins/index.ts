// Built-in typed iterators: one program per target, compiled once per process
// from the running kernel's BTF, emitting fixed binary records decoded into
// plain objects. Each call opens a fresh iterator fd. The built-ins are
// defined in defs.ts, one definition each (see builtin.ts).

import type { MapFdOwner } from "../params.js";
import { closeBuiltinPrograms } from "./builtin.js";
import { closeMapElemPrograms } from "./map-elems.js";
import { closeNamespacePrograms } from "./namespaces.js";
import { closePidnsPrograms } from "./pidns.js";

export {
  type Builtin,
  type BuiltinCli,
  type BuiltinRecord,
  builtinLayout,
  builtinLink,
  builtinOf,
  builtinRecordSize,
  builtins,
  decodeBuiltin,
  type FieldValue,
  type RawRecord,
} from "./builtin.js";
// defs.ts exports each built-in's function and record type (the definitions stay private).
export * from "./defs.js";
export * from "./map-elems.js";
export {
  type FoundNamespace,
  type InNetns,
  NETNS_TARGETS,
  type NetnsFile,
  type NetnsOptions,
  type NetnsSelector,
  netnsFiles,
  netnsFilesSync,
  netnsMounts,
  networkNamespaces,
  ownNetnsInode,
  readPerNetns,
  type SkippedNamespace,
  type TaskNamespaces,
  taskNamespaces,
  taskNamespacesSync,
} from "./namespaces.js";
export {
  cgroupPaths,
  type NsIds,
  type PidnsSelector,
  pidnsInode,
  readNsIds,
  type TaskViewFields,
  type TaskViewQuery,
} from "./pidns.js";
export {
  compileRecord,
  type FieldDef,
  type FieldKind,
  iteratorSpec,
  type RecordProgram,
  writeRecordAndExit,
} from "./record.js";

/** Closes the cached programs and links of the built-ins (they are reloaded on next use). */
export function closeBuiltins(): void {
  closeBuiltinPrograms();
  closeMapElemPrograms();
  closePidnsPrograms();
  closeNamespacePrograms();
}

export type { MapFdOwner };
