// Key and value codecs for Map handles: the codecs of @ts-ebpf/spec (one
// shape for maps, BTF record layouts and iterator records), gathered here as
// `codecs` for map users. A @ts-ebpf/btf record layout or a hand-written
// `{ size, encode, decode }` plugs in the same way.
export {
  bytes,
  type Codec,
  char,
  f32,
  f64,
  i8,
  i16,
  i32,
  i64,
  isCodec,
  ptr,
  u8,
  u16,
  u32,
  u64,
} from "@ts-ebpf/spec";
