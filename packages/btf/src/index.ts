/**
 * @ts-ebpf/btf — read BPF Type Format: the running kernel's types, iterator
 * targets, member offsets, a C printer, and record layouts with decoders.
 * Pure TypeScript, never loads the native addon. The parser works on a
 * Uint8Array; "@ts-ebpf/btf/core" is the same API without the /sys/kernel/btf
 * loader (no Node imports), for browsers.
 *
 * Loading
 * - `loadKernelBtf(opts?)` → Btf: /sys/kernel/btf/vmlinux, parsed once per process
 *   (cached; `clearKernelBtfCache()` drops it). `{ module: "nf_tables" }` or
 *   `loadModuleBtf(name)`: a module's split BTF on top of vmlinux. `{ dir }` reads
 *   another directory laid out like /sys/kernel/btf.
 * - `parseBtf(bytes, base?)` → Btf: any BTF blob (a .BTF section, a file); pass
 *   `base` for split BTF. Parsing checks the header and the extent of every type
 *   (one pass); types, names and the name index are decoded lazily.
 *
 * Queries (methods of Btf). A type reference (TypeRef) is an id, a BtfType, or a
 * name: "task_struct", "struct task_struct", "union bpf_attr", "enum bpf_map_type", "u32".
 * - `findType(name, kind?)` → BtfType | undefined: lowest id with that name (and kind);
 *   `findTypeIds(name, kind?)` → every id, base first.
 * - `type(id)`, `kindOf(id)`, `nameOf(id)`, `types()`, `lookup(ref)`; `typeCount`
 *   (one past the last id), `firstId`, `base`.
 * - `funcId("bpf_iter_task")` → id of that FUNC (a program's attach_btf_id); BtfError
 *   when the kernel lacks it.
 * - `memberOffset("task_struct", "pid")` → MemberLocation { offset (bytes), bitOffset,
 *   bitSize (0 unless a bitfield), type (id), size (bytes), hops }. Paths are dotted,
 *   go through nested and anonymous structs/unions and `[n]` indexes ("comm[0]");
 *   through a pointer ("mm.exe_file") each pointer's offset is appended to `hops`
 *   and `offset` is then inside the pointee.
 * - `sizeOf(ref)`, `alignOf(ref)`, `resolve(ref)` (through typedefs and const /
 *   volatile / restrict / type tags), `composite(ref)` (the struct/union behind it).
 * - `enumValues(ref)` → [{ name, value }]: numbers for ENUM, bigints for ENUM64;
 *   `enumerator("BPF_TRACE_ITER")` → { enum (id), value } of one constant.
 * - `iteratorTargets()` → every FUNC bpf_iter_<name> with a context struct
 *   bpf_iter__<name>: { name, funcId, contextId, contextSize, members: [{ name,
 *   offset, type, typeName }] } sorted by name (anonymous unions opened up).
 * - `formatC(ref, { enumSizeAttributes? })` → the definition `bpftool btf dump file
 *   ... format c` prints for the type; `typeName(ref)` → its C spelling
 *   ("struct task_struct *", "char[16]").
 * - `layout<T>(ref)` → RecordLayout of a BTF struct/union, members at BTF's offsets.
 *
 * Record layouts. Every RecordLayout, and every field type, is a `Codec` of
 * @ts-ebpf/spec, the one codec shape: map handles take them for keys and values
 * as they are, iterator readers decode records with them.
 * - `struct({ pid: u32, comm: char(16), start: u64 }, { packed?, align? })`: C layout
 *   rules (each field at its alignment, size padded to the largest). Field types:
 *   u8 u16 u32 u64 i8 i16 i32 i64 f32 f64 ptr, char(n) (string up to the first NUL),
 *   bytes(n) (the scalars are spec's, re-exported), array(t, n), a nested
 *   struct(...), aligned(t, n).
 * - `.size`, `.align`, `.fields` [{ name, offset, size, type }], `.offsetOf("a.b")`,
 *   `.decode(bytes, offset?)`, `.decodeAt(view, offset)` (in place),
 *   `.decodeAll(bytes, { allowTrailing? })` (back-to-back records; compiled readers),
 *   `.encode(value)` (new bytes), `.encode(value, bytes, offset?)` / `.encodeInto(...)`,
 *   `.encodeAt(value, view, offset)`.
 *   64-bit integers and pointers decode to bigint; BTF bitfields to numbers (bigint
 *   above 32 bits); anonymous struct/union members appear as their fields.
 *
 * Errors: `BtfError` (`.offset` is the byte offset in the blob, or -1) for
 * malformed or hostile BTF and for names that are not there; bounded work on any
 * input (reference loops, self-containing structs, fan-out, huge counts).
 * A BTF layout is refused (BtfError, when it is made) for a struct larger than
 * 16 MiB, with more than 64 KiB past its last member, or decoding to more than
 * 2^22 values. The name index is built once (a type with a bad name offset is
 * left out; `type(id)` reports it); failed decodes, alignments and lookups are
 * remembered. TypeError / RangeError for bad arguments.
 */
export * from "./core.js";
export {
  clearKernelBtfCache,
  KERNEL_BTF_DIR,
  type LoadKernelBtfOptions,
  loadKernelBtf,
  loadModuleBtf,
} from "./kernel.js";
