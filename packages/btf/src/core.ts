// Everything that works on bytes alone (no node:fs): import
// "@ts-ebpf/btf/core" in a browser.

// The field types of records are @ts-ebpf/spec's codecs (one codec shape).
export {
  bytes,
  type Codec,
  char,
  type FieldType,
  f32,
  f64,
  i8,
  i16,
  i32,
  i64,
  ptr,
  u8,
  u16,
  u32,
  u64,
} from "@ts-ebpf/spec";
export {
  Btf,
  type IteratorTarget,
  type IteratorTargetMember,
  MAX_RESOLVE_DEPTH,
  type MemberLocation,
  parseBtf,
  type TypeRef,
} from "./btf.js";
export { declaration, type FormatCOptions, formatC, typeName } from "./cprint.js";
export { BtfError } from "./errors.js";
export {
  aligned,
  array,
  type BtfCodecOptions,
  codecFromBtf,
  type DecodeAllOptions,
  type Infer,
  type LayoutField,
  layoutFromBtf,
  type RecordLayout,
  type RecordOf,
  type StructOptions,
  struct,
} from "./layout.js";
export * from "./types.js";
