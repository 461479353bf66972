/**
 * @ts-ebpf/btf — read BPF Type Format: the running kernel's types, iterator
 * targets, member offsets, a C printer, and record layouts with decoders.
 * Pure TypeScript; the parser works on a Uint8Array (use "@ts-ebpf/btf/core"
 * in a browser, which leaves out the /sys/kernel/btf loader).
 *
 * Loading
 * - `loadKernelBtf(opts?)` → Btf: /sys/kernel/btf/vmlinux, parsed once per process.
 *   `loadKernelBtf({ module: "nf_tables" })` / `loadModuleBtf(name)`: split BTF of a
 *   module on top of vmlinux.
 * - `parseBtf(bytes, base?)` → Btf: any BTF blob (a .BTF section, a file); `base`
 *   for split BTF.
 *
 * Queries (methods of Btf; a type reference is an id, a BtfType, or a name such
 * as "task_struct", "struct task_struct", "u32")
 * - `findType(name, kind?)` → BtfType | undefined (lowest id with that name/kind);
 *   `findTypeIds(name, kind?)` → every id.
 * - `type(id)`, `kindOf(id)`, `nameOf(id)`, `types()`, `typeCount`, `lookup(ref)`.
 * - `funcId("bpf_iter_task")` → id of the FUNC (attach_btf_id); BtfError if absent.
 * - `memberOffset("task_struct", "pid")` → { offset (bytes), bitOffset, bitSize
 *   (bitfields), type, size, hops }. Dotted paths go through nested and anonymous
 *   structs/unions and `[n]` array indexes; through a pointer ("mm.exe_file") the
 *   pointer offsets are listed in `hops` and `offset` is inside the pointee.
 * - `sizeOf(ref)`, `alignOf(ref)`, `resolve(ref)` (through typedefs and
 *   const/volatile/restrict/type tags), `composite(ref)`.
 * - `enumValues(name)` → [{ name, value }] (number for ENUM, bigint for ENUM64).
 * - `iteratorTargets()` → every FUNC bpf_iter_<name> with a context struct
 *   bpf_iter__<name>: { name, funcId, contextId, contextSize, members }.
 * - `formatC(ref)` → the definition bpftool's `format c` prints for the type;
 *   `typeName(ref)` → its C spelling ("struct task_struct *").
 * - `layout(ref)` → RecordLayout of a BTF struct/union.
 *
 * Record layouts (each is a Codec { size, encode, decode } for map keys/values)
 * - `struct({ pid: u32, comm: char(16), start: u64 }, { packed?, align? })`: C layout
 *   rules. Field types: u8 u16 u32 u64 i8 i16 i32 i64 f32 f64 ptr, char(n) (string
 *   up to NUL), bytes(n), array(t, n), nested struct(...), aligned(t, n).
 * - `layout.size`, `.align`, `.fields` [{ name, offset, size, type }], `.offsetOf(path)`,
 *   `.decode(bytes, offset?)`, `.decodeAll(bytes)`, `.encode(value)`, `.encodeInto(...)`.
 *   u64/i64/ptr decode to bigint.
 *
 * Errors: `BtfError` (with `.offset`, the byte offset in the blob, or -1) for
 * malformed BTF and names that are not there; TypeError/RangeError for bad arguments.
 */
export * from "./core.js";
export {
  clearKernelBtfCache,
  KERNEL_BTF_DIR,
  type LoadKernelBtfOptions,
  loadKernelBtf,
  loadModuleBtf,
} from "./kernel.js";
