// Compiles a record description into an iterator program: for each object the
// program copies fields (offsets from the running kernel's BTF) into one
// fixed-size record on the stack and emits it with bpf_seq_write. The same
// description gives the decoder, so program and decoder cannot disagree.

import type { Btf, FieldType, RecordLayout } from "@ts-ebpf/btf";
import { bytes, char, i32, struct, u8, u16, u32, u64 } from "@ts-ebpf/btf";
import {
  add,
  assemble,
  be,
  call,
  exit,
  type Item,
  jeq,
  label,
  ldx,
  type MemSize,
  mov,
  type Reg,
  st,
  stx,
} from "@ts-ebpf/dsl/assembler";
import type { ProgramSpec } from "@ts-ebpf/spec";
import {
  BpfAttachType,
  BpfProgType,
  iterContextStruct,
  iterFuncName,
} from "@ts-ebpf/spec/constants";
import { IteratorError } from "../errors.js";

/** How a field is copied and decoded. */
export type FieldKind =
  | "u8"
  | "u16"
  | "u32"
  | "i32"
  | "u64"
  /** A big-endian 16-bit value (ports), stored in host order. */
  | "be16"
  /** 1 when the member (a pointer, say) is not zero, else 0: its value never leaves the kernel. */
  | "nonzero"
  /** `len` raw bytes of an array member (addresses). */
  | "bytes"
  /** A char array member, decoded up to its NUL. */
  | "char"
  /** A `char *` member: the string it points to, up to `len` bytes with the NUL. */
  | "str"
  /**
   * A `struct path` member, as bpf_d_path writes it (up to `len` bytes): the
   * verifier wants a trusted pointer, so only a path inside a context object
   * (task_file's file.f_path) or one trusted hop away.
   */
  | "dpath";

export interface FieldDef {
  /** Key of the decoded object. */
  readonly name: string;
  /** Member of the context struct `bpf_iter__<target>` the value comes from. */
  readonly ctx: string;
  /** Dotted path inside the object the context member points to (through pointers too). */
  readonly path?: string;
  readonly kind: FieldKind;
  /** Bytes for bytes/char/str (default: the member's size for bytes/char). */
  readonly len?: number;
  /** Alternative paths tried in order when the first is absent (members renamed across kernels). */
  readonly alt?: readonly string[];
  /** Leave zero when the kernel lacks the member instead of failing. */
  readonly optional?: boolean;
  /**
   * Copy a scalar (u8/u16/u32/i32/u64) with bpf_probe_read_kernel instead of
   * a direct load: for members the verifier's BTF walk refuses to reach
   * (inside arrays of typedef'd structs before 5.11).
   */
  readonly probeRead?: boolean;
}

export interface RecordProgram<T> {
  readonly spec: ProgramSpec;
  readonly layout: RecordLayout<T>;
  /** Fields left zero because the running kernel lacks them. */
  readonly missing: readonly string[];
  /**
   * Instruction slot where each field's code starts (`field.<name>`) and where
   * the filter starts (`filter`): a verifier complaint maps back to its cause.
   */
  readonly marks: ReadonlyMap<string, number>;
}

/** Extra code of a record program (queries). */
export interface RecordOptions {
  /**
   * Code run once the record is filled, before it is written: it jumps to the
   * label "out" to drop the object and falls through to keep it. `at(name)` is
   * the stack offset (from r10) of a field in the record.
   */
  readonly filter?: (at: (name: string) => number) => readonly Item[];
}

const SCALAR_SIZE: Record<string, MemSize> = { 1: "u8", 2: "u16", 4: "u32", 8: "u64" };

/**
 * Longest char array (comm, a map's or a device's name) copied with direct
 * loads instead of bpf_probe_read_kernel. The verifier lets a program load a
 * scalar of any width anywhere inside an array member of a BTF object (its
 * "mtrue_end" rule, as the C task iterator loads comm), and two loads cost
 * less than a helper call per object: tasks() at 50,000 threads spent 1.35x
 * the C task iterator's kernel time with the call.
 */
const DIRECT_CHAR_MAX = 32;

/** `len` bytes at `offset` from the pointer in `from` to the stack at `at`, by bpf_probe_read_kernel. */
function probeRead(from: Reg, offset: number, at: number, len: number): Item[] {
  return [
    add(from, offset),
    mov("r1", "r10"),
    add("r1", at),
    mov("r2", len),
    call("probe_read_kernel"),
  ];
}

/**
 * `len` bytes at `offset` from the BTF pointer in `from` to the stack at
 * `at`, by loads and stores of the widest size the stack slot's alignment
 * allows (the verifier checks stack accesses for alignment on every arch).
 */
function directCopy(from: Reg, offset: number, at: number, len: number): Item[] {
  const out: Item[] = [];
  for (let done = 0; done < len; ) {
    const width = [8, 4, 2, 1].find((w) => len - done >= w && (at + done) % w === 0)!;
    const ms = SCALAR_SIZE[width]!;
    out.push(ldx(ms, "r0", from, offset + done), stx(ms, "r10", at + done, "r0"));
    done += width;
  }
  return out;
}
const MAX_RECORD = 448; // leaves stack for nothing else; the BPF stack is 512 bytes

function fieldType(def: FieldDef, len: number): FieldType<unknown> {
  switch (def.kind) {
    case "u8":
    case "nonzero":
      return u8;
    case "u16":
    case "be16":
      return u16;
    case "u32":
      return u32;
    case "i32":
      return i32;
    case "u64":
      return u64;
    case "bytes":
      return bytes(len);
    case "char":
    case "str":
    case "dpath":
      return char(len);
  }
}

interface Resolved {
  readonly def: FieldDef;
  /** Context member offset and whether it is a pointer. */
  readonly ctxOffset: number;
  readonly ctxPointer: boolean;
  readonly ctxSize: number;
  /** Inside the pointee: pointer hops then final offset and size. */
  readonly hops: readonly number[];
  readonly offset: number;
  readonly size: number;
  readonly len: number;
}

/** A context member (members sit in anonymous unions: `__bpf_md_ptr`). */
function ctxMember(
  btf: Btf,
  target: string,
  name: string,
): { offset: number; type: number } | undefined {
  const struct = iterContextStruct(target);
  if (!btf.findType(struct, "struct")) {
    throw new IteratorError(`kernel BTF has no struct ${struct}`);
  }
  try {
    const loc = btf.memberOffset(`struct ${struct}`, name);
    return { offset: loc.offset, type: loc.type };
  } catch {
    return undefined;
  }
}

function resolveField(btf: Btf, target: string, def: FieldDef): Resolved | undefined {
  const member = ctxMember(btf, target, def.ctx);
  if (!member) {
    if (def.optional) return undefined;
    throw new IteratorError(`struct bpf_iter__${target} has no member "${def.ctx}"`);
  }
  const ctxOffset = member.offset;
  const mtype = btf.resolve(member.type);
  const ctxSize = btf.sizeOf(member.type);
  if (def.path === undefined) {
    if (mtype.kind === "ptr") {
      // A pointer to bytes (a map's key or value, sized by the caller): `len` bytes of them.
      if (def.kind === "bytes" && def.len !== undefined && def.len > 0) {
        const len = def.len;
        return { def, ctxOffset, ctxPointer: true, ctxSize, hops: [], offset: 0, size: len, len };
      }
      throw new IteratorError(
        `field ${def.name}: ${def.ctx} is a pointer, give a path (or kind "bytes" and a len for the bytes it points to)`,
      );
    }
    return {
      def,
      ctxOffset,
      ctxPointer: false,
      ctxSize,
      hops: [],
      offset: 0,
      size: ctxSize,
      len: def.len ?? ctxSize,
    };
  }
  if (mtype.kind !== "ptr")
    throw new IteratorError(`field ${def.name}: ${def.ctx} is not a pointer`);
  const pointee = btf.resolve(mtype.type);
  let lastError: unknown;
  for (const path of [def.path, ...(def.alt ?? [])]) {
    try {
      const loc = btf.memberOffset(pointee.id, path);
      if (loc.bitSize !== 0) throw new IteratorError(`field ${def.name}: ${path} is a bitfield`);
      const len = def.len ?? loc.size;
      return {
        def,
        ctxOffset,
        ctxPointer: true,
        ctxSize,
        hops: loc.hops,
        offset: loc.offset,
        size: loc.size,
        len: def.kind === "bytes" || def.kind === "char" ? Math.min(len, loc.size) : len,
      };
    } catch (err) {
      lastError = err;
    }
  }
  if (def.optional) return undefined;
  throw new IteratorError(
    `field ${def.name}: ${pointee.name}.${def.path} not found in kernel BTF: ${String(lastError)}`,
  );
}

/**
 * The record of `fields` with `lens[i]` bytes for the i-th field's bytes or
 * characters (scalar fields have their own size): C layout, 8-aligned.
 */
export function recordLayout(
  fields: readonly FieldDef[],
  lens: readonly number[],
): RecordLayout<Record<string, unknown>> {
  const shape: Record<string, FieldType<unknown>> = {};
  fields.forEach((def, i) => {
    shape[def.name] = fieldType(def, lens[i]!);
  });
  return struct(shape, { align: 8 }) as unknown as RecordLayout<Record<string, unknown>>;
}

/** Stack offset (negative, from r10) of the record. */
const recordBase = (size: number) => -size;

/**
 * Builds the program and decoder for `fields` over target `target`. The first
 * pointer member named by `object` is NULL-checked (the end-of-iteration call).
 */
export function compileRecord<T = Record<string, unknown>>(
  btf: Btf,
  target: string,
  object: string,
  fields: readonly FieldDef[],
  name = `iter_${target}`.slice(0, 15),
  options: RecordOptions = {},
): RecordProgram<T> {
  const meta = ctxMember(btf, target, "meta");
  const obj = ctxMember(btf, target, object);
  if (!meta || !obj) throw new IteratorError(`struct bpf_iter__${target} lacks meta or ${object}`);
  const seqOff = btf.memberOffset("bpf_iter_meta", "seq").offset;

  const resolved: Resolved[] = [];
  const missing: string[] = [];
  for (const def of fields) {
    const r = resolveField(btf, target, def);
    if (r) resolved.push(r);
    else missing.push(def.name);
  }
  const lens = fields.map((def) => resolved.find((x) => x.def === def)?.len ?? def.len ?? 8);
  const layout = recordLayout(fields, lens) as unknown as RecordLayout<T>;
  // Aligned to 8: the program zeroes and writes whole u64 words, and the
  // layout's size already counts the tail padding.
  const size = layout.size;
  if (size > MAX_RECORD) throw new IteratorError(`record of ${size} bytes exceeds ${MAX_RECORD}`);
  const base = recordBase(size);

  const body: Item[] = [
    mov("r6", "r1"),
    ldx("u64", "r7", "r6", meta.offset),
    ldx("u64", "r7", "r7", seqOff),
    ldx("u64", "r8", "r6", obj.offset),
    jeq("r8", 0, "out"),
  ];
  for (let off = 0; off < size; off += 8) body.push(st("u64", "r10", base + off, 0));

  // A pointer member of the object that several fields go through (task's
  // nsproxy for six, cred for two) is loaded once and kept on the stack below
  // the record. Since 6.4 the verifier checks each load of a pointer from a
  // trusted pointer by looking names up in vmlinux BTF (btf_nested_type_is_trusted:
  // linear searches of its ~100k types, about 1.3 ms per load here): loading
  // the task built-in took 16 ms of bpf-iter tasks' start-up.
  const sharedHop = new Map<number, number>(); // first hop's offset -> its stack slot
  const throughObject = (r: Resolved) =>
    r.ctxPointer && r.ctxOffset === obj.offset && r.hops.length > 0;
  const hopUses = new Map<number, number>();
  for (const r of resolved) {
    if (throughObject(r)) hopUses.set(r.hops[0]!, (hopUses.get(r.hops[0]!) ?? 0) + 1);
  }
  for (const [hop, uses] of hopUses) {
    const slot = base - 8 * (sharedHop.size + 1);
    if (uses < 2 || slot < -512) continue;
    sharedHop.set(hop, slot);
    body.push(ldx("u64", "r3", "r8", hop), stx("u64", "r10", slot, "r3"));
  }

  for (const r of resolved) {
    body.push(label(`field.${r.def.name}`));
    const at = base + layout.offsetOf(r.def.name);
    if (!r.ctxPointer) {
      const ms = SCALAR_SIZE[r.size];
      if (!ms) throw new IteratorError(`field ${r.def.name}: context member of ${r.size} bytes`);
      body.push(ldx(ms, "r0", "r6", r.ctxOffset), stx(ms, "r10", at, "r0"));
      continue;
    }
    // r3 walks from the context pointer through the hops.
    const from: Reg = "r3";
    const slot = throughObject(r) ? sharedHop.get(r.hops[0]!) : undefined;
    if (slot !== undefined) body.push(ldx("u64", from, "r10", slot));
    else if (r.ctxOffset === obj.offset) body.push(mov(from, "r8"));
    // Every context pointer may be NULL and the verifier wants the check.
    else body.push(ldx("u64", from, "r6", r.ctxOffset), jeq(from, 0, "out"));
    for (const hop of slot === undefined ? r.hops : r.hops.slice(1)) {
      body.push(ldx("u64", from, from, hop));
    }
    switch (r.def.kind) {
      case "char":
      case "bytes":
        body.push(
          ...(r.def.kind === "char" && r.len <= DIRECT_CHAR_MAX
            ? directCopy(from, r.offset, at, r.len)
            : probeRead(from, r.offset, at, r.len)),
        );
        break;
      case "dpath":
        // A pointer loaded on the way may be NULL: the helper is then not called.
        if (r.hops.length > 0) body.push(jeq(from, 0, `skip.${r.def.name}`));
        body.push(
          mov("r1", from),
          add("r1", r.offset),
          mov("r2", "r10"),
          add("r2", at),
          mov("r3", r.len),
          call("d_path"),
        );
        if (r.hops.length > 0) body.push(label(`skip.${r.def.name}`));
        break;
      case "str":
        body.push(
          ldx("u64", from, from, r.offset),
          mov("r1", "r10"),
          add("r1", at),
          mov("r2", r.len),
          call("probe_read_kernel_str"),
        );
        break;
      default: {
        const ms = SCALAR_SIZE[r.size];
        if (!ms) throw new IteratorError(`field ${r.def.name}: member of ${r.size} bytes`);
        if (r.def.probeRead && (r.def.kind === "be16" || r.def.kind === "nonzero")) {
          throw new IteratorError(`field ${r.def.name}: probeRead copies the value as it is`);
        }
        if (r.def.probeRead) {
          // Into the zeroed slot, at least as wide: a narrower member reads as zero-extended.
          body.push(...probeRead(from, r.offset, at, r.size));
          break;
        }
        body.push(ldx(ms, "r0", from, r.offset));
        if (r.def.kind === "be16") body.push(be("r0", 16));
        // 1 for any value but 0 (no arithmetic on a pointer): no address in the record.
        if (r.def.kind === "nonzero")
          body.push(mov("r1", 0), jeq("r0", 0, 1), mov("r1", 1), mov("r0", "r1"));
        // Store with the record's width (a narrower member is zero-extended by ldx).
        const width = layout.fields.find((f) => f.name === r.def.name)!.size;
        const ws = SCALAR_SIZE[width]!;
        body.push(stx(ws, "r10", at, "r0"));
      }
    }
  }
  if (options.filter) {
    body.push(label("filter"), ...options.filter((name) => base + layout.offsetOf(name)));
  }
  body.push(...writeRecordAndExit(base, size));
  const assembled = assemble(body);
  return {
    spec: specOf(btf, target, assembled.instructions, name),
    layout,
    missing,
    marks: assembled.labels,
  };
}

/**
 * The end of a record program: at `writeLabel`, bpf_seq_write of the `size`
 * bytes at r10+`base` to the seq_file in r7 (where the record programs keep
 * it); at "out" (a skipped object jumps there), return 0.
 */
export function writeRecordAndExit(base: number, size: number, writeLabel = "write"): Item[] {
  if (!Number.isInteger(base) || base < -512 || base >= 0) {
    throw new RangeError(`base must be a stack offset in [-512, 0), got ${String(base)}`);
  }
  if (!Number.isInteger(size) || size <= 0 || base + size > 0) {
    throw new RangeError(
      `size must be 1..${-base} bytes (the record from base to r10), got ${String(size)}`,
    );
  }
  if (typeof writeLabel !== "string" || writeLabel === "" || writeLabel === "out") {
    throw new TypeError('writeLabel must be a label name other than "out"');
  }
  return [
    label(writeLabel),
    mov("r1", "r7"),
    mov("r2", "r10"),
    add("r2", base),
    mov("r3", size),
    call("seq_write"),
    label("out"),
    mov("r0", 0),
    exit(),
  ];
}

/** ProgramSpec of an iterator program for `target` (tracing, BPF_TRACE_ITER, GPL helpers). */
export function iteratorSpec(
  btf: Btf,
  target: string,
  body: readonly Item[],
  name: string,
): ProgramSpec {
  return specOf(btf, target, assemble(body).instructions, name);
}

function specOf(
  btf: Btf,
  target: string,
  instructions: ProgramSpec["instructions"],
  name: string,
): ProgramSpec {
  return {
    name,
    type: BpfProgType.TRACING,
    expectedAttachType: BpfAttachType.TRACE_ITER,
    attachBtfId: btf.funcId(iterFuncName(target)),
    license: "GPL",
    instructions,
  };
}
