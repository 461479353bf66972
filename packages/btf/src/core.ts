// Everything that works on bytes alone (no node:fs): import
// "@ts-ebpf/btf/core" in a browser.
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
  bytes,
  type Codec,
  char,
  type DecodeAllOptions,
  type FieldType,
  f32,
  f64,
  type Infer,
  i8,
  i16,
  i32,
  i64,
  type LayoutField,
  layoutFromBtf,
  ptr,
  type RecordLayout,
  type RecordOf,
  type StructOptions,
  struct,
  u8,
  u16,
  u32,
  u64,
} from "./layout.js";
export * from "./types.js";
