// CO-RE: `.BTF.ext` relocations, kept on their instructions by
// parseCollection, resolved against kernel types at load (bindProgramSpec;
// loadCollection passes the running kernel's by default), as libbpf's
// relo_core.c does. A local access spec ("0:1:2": index into the root
// type, then member / element indexes) is matched by member names against
// kernel types of the same essential name (`task_struct___old` matches
// `task_struct`); the instruction gets the kernel's offset, size, existence,
// signedness, shifts, type id or enum value. A relocation that cannot be
// resolved poisons its instruction (an invalid helper call), so it fails only
// when the verifier reaches it, as with libbpf.
import { type Btf, BtfError, type BtfType, type CompositeType } from "@ts-ebpf/btf";
import {
  CallSrc,
  Class,
  type Instruction,
  JmpOp,
  LD_IMM64,
  opClass,
  opSize,
  opSource,
  Size,
  Source,
  slotsOf,
  withOpSize,
} from "@ts-ebpf/spec";
import type { CoreRelocationRecord } from "./btf-ext.js";
import { CoreRelocationError, ElfError } from "./errors.js";
import { bindKsyms, type ModuleKsymLookup } from "./externs.js";
import { attachTargetName, sectionKind } from "./sections.js";
import type { ElfProgramSpec } from "./spec.js";

export const CoreReloKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

const KIND_NAMES = [
  "byte_off",
  "byte_sz",
  "field_exists",
  "signed",
  "lshift_u64",
  "rshift_u64",
  "local_type_id",
  "target_type_id",
  "type_exists",
  "type_size",
  "enumval_exists",
  "enumval_value",
  "type_matches",
];

/** libbpf's poison: a call to this helper id fails verification if reached. */
export const POISON_HELPER = 0xbad2310;

type Step = { kind: "member"; name: string; index: number } | { kind: "array"; index: number };

interface FieldSpec {
  /** Bit offset of the accessed field from the root pointer. */
  bitOffset: number;
  /** The accessed field's type id (unresolved) and bitfield size (0 if none). */
  type: number;
  bitfieldSize: number;
  /** Type id of the root. */
  root: number;
}

interface Resolved {
  /** Value for the local (compile-time) layout; the instruction must hold it. */
  local: number | bigint;
  /** Value for the kernel; undefined: poison. */
  target: number | bigint | undefined;
  /** Field sizes for load-size adjustment (byte offset relos on memory instructions). */
  localSize?: number;
  targetSize?: number;
  /**
   * Whether a load/store may change size to the target's field size: both
   * sides pointers or both unsigned integers (zero extension keeps the
   * value), as libbpf allows; otherwise such an access is poisoned.
   */
  sizeAdjustable?: boolean;
  /**
   * Whether the instruction must hold the local value (libbpf's `validate`).
   * False for a bitfield's relocations but its signedness: clang may encode a
   * placeholder there (a bitfield's offset, size and shifts are ambiguous),
   * and the relocation's value replaces it.
   */
  validate: boolean;
  reason?: string;
}

/** Name without a `___flavor` suffix. */
export function essentialName(name: string): string {
  const i = name.indexOf("___");
  return i > 0 ? name.slice(0, i) : name;
}

function isComposite(t: BtfType): t is CompositeType {
  return t.kind === "struct" || t.kind === "union";
}

function parseAccess(access: string): number[] {
  if (!/^\d+(:\d+)*$/.test(access)) throw new ElfError(`bad CO-RE access string "${access}"`);
  return access.split(":").map(Number);
}

/** Walks the local spec: steps (for matching) and the field it ends at. */
function localSpec(
  btf: Btf,
  typeId: number,
  access: number[],
): { steps: Step[]; field: FieldSpec } {
  const root = btf.resolve(typeId);
  let bitOffset = access[0]! * btf.sizeOf(root) * 8;
  let cur = typeId;
  let bitfieldSize = 0;
  const steps: Step[] = [];
  for (let i = 1; i < access.length; i++) {
    const idx = access[i]!;
    const t = btf.resolve(cur);
    if (isComposite(t)) {
      const m = t.members[idx];
      if (!m) throw new ElfError(`member ${idx} of ${t.kind} ${t.name} does not exist`);
      bitOffset += m.bitOffset;
      bitfieldSize = m.bitfieldSize;
      cur = m.type;
      // Anonymous members are only a path; the target is searched through them.
      if (m.name !== "") steps.push({ kind: "member", name: m.name, index: idx });
    } else if (t.kind === "array") {
      bitOffset += idx * btf.sizeOf(t.type) * 8;
      bitfieldSize = 0;
      cur = t.type;
      steps.push({ kind: "array", index: idx });
    } else {
      throw new ElfError(`access ${i} goes into ${t.kind} ${t.id}`);
    }
  }
  return { steps, field: { bitOffset, type: cur, bitfieldSize, root: typeId } };
}

/** libbpf's bpf_core_fields_are_compat. */
function fieldsCompatible(local: Btf, lid: number, target: Btf, tid: number, depth = 0): boolean {
  if (depth > 32) return false;
  const l = local.resolve(lid);
  const t = target.resolve(tid);
  if (isComposite(l) && isComposite(t)) return true;
  const enumLike = (k: string) => k === "enum" || k === "enum64";
  if (l.kind !== t.kind && !(enumLike(l.kind) && enumLike(t.kind))) return false;
  switch (l.kind) {
    case "ptr":
    case "float":
      return true;
    case "fwd":
    case "enum":
    case "enum64":
      return l.name === "" || essentialName(l.name) === essentialName(t.name);
    case "int":
      return l.kind === t.kind && l.bitOffset === 0 && (t as typeof l).bitOffset === 0;
    case "array":
      return t.kind === "array" && fieldsCompatible(local, l.type, target, t.type, depth + 1);
    default:
      return false;
  }
}

/** Finds a member by name in a target composite, through anonymous members. */
function findMember(
  target: Btf,
  t: CompositeType,
  name: string,
  depth = 0,
): { bitOffset: number; type: number; bitfieldSize: number } | undefined {
  if (depth > 32) return undefined;
  for (const m of t.members) {
    if (m.name === name)
      return { bitOffset: m.bitOffset, type: m.type, bitfieldSize: m.bitfieldSize };
    if (m.name === "") {
      const inner = target.resolve(m.type);
      if (!isComposite(inner)) continue;
      const found = findMember(target, inner, name, depth + 1);
      if (found) return { ...found, bitOffset: found.bitOffset + m.bitOffset };
    }
  }
  return undefined;
}

/** Matches local steps against a target candidate root; undefined when it does not match. */
function matchTarget(
  local: Btf,
  steps: Step[],
  access0: number,
  target: Btf,
  candidate: number,
  localTypes: number[],
): FieldSpec | undefined {
  let bitOffset = access0 * target.sizeOf(candidate) * 8;
  let cur = candidate;
  let bitfieldSize = 0;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const t = target.resolve(cur);
    if (step.kind === "member") {
      if (!isComposite(t)) return undefined;
      const m = findMember(target, t, step.name);
      if (!m) return undefined;
      if (!fieldsCompatible(local, localTypes[i]!, target, m.type)) return undefined;
      bitOffset += m.bitOffset;
      bitfieldSize = m.bitfieldSize;
      cur = m.type;
    } else {
      if (t.kind !== "array") return undefined;
      // A flexible array (0 elements) at the end accepts any index, as in libbpf.
      if (t.nelems !== 0 && step.index >= t.nelems) return undefined;
      bitOffset += step.index * target.sizeOf(t.type) * 8;
      bitfieldSize = 0;
      cur = t.type;
    }
  }
  return { bitOffset, type: cur, bitfieldSize, root: candidate };
}

/** Types of the fields each local step lands on (for compatibility checks). */
function stepTypes(btf: Btf, typeId: number, access: number[]): number[] {
  const out: number[] = [];
  let cur = typeId;
  for (let i = 1; i < access.length; i++) {
    const t = btf.resolve(cur);
    if (isComposite(t)) {
      const m = t.members[access[i]!]!;
      cur = m.type;
      if (m.name !== "") out.push(cur);
    } else if (t.kind === "array") {
      cur = t.type;
      out.push(cur);
    }
  }
  return out;
}

interface FieldValue {
  value: number;
  /** Bytes a memory access of the field reads: undefined for bitfields (never resized). */
  size: number | undefined;
  /** Whether the field is a bitfield (its local value is not checked, but for signedness). */
  bitfield: boolean;
  /** What a resize needs: "ptr", "unsigned" (an unsigned integer) or "other". */
  sizeClass: "ptr" | "unsigned" | "other";
}

/** libbpf's bpf_core_calc_field_relo for one spec. */
function fieldValue(btf: Btf, spec: FieldSpec, kind: number): FieldValue {
  const mt = btf.resolve(spec.type);
  const bitfield = spec.bitfieldSize > 0;
  let byteSize = mt.kind === "void" ? 0 : btf.sizeOf(mt);
  let byteOff = Math.floor(spec.bitOffset / 8);
  const bitSize = bitfield ? spec.bitfieldSize : byteSize * 8;
  if (bitfield) {
    byteOff = Math.floor(spec.bitOffset / 8 / byteSize) * byteSize;
    while (spec.bitOffset + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new ElfError("bitfield does not fit in 8 bytes");
      byteSize *= 2;
      byteOff = Math.floor(spec.bitOffset / 8 / byteSize) * byteSize;
    }
  }
  const signed =
    (mt.kind === "int" && mt.signed) || ((mt.kind === "enum" || mt.kind === "enum64") && mt.signed);
  const common = {
    // libbpf leaves a bitfield's access size unset, so its load is never resized.
    size: bitfield ? undefined : byteSize,
    bitfield,
    sizeClass:
      mt.kind === "ptr"
        ? ("ptr" as const)
        : mt.kind === "int" && !mt.signed
          ? ("unsigned" as const)
          : ("other" as const),
  };
  switch (kind) {
    case CoreReloKind.FIELD_BYTE_OFFSET:
      return { value: byteOff, ...common };
    case CoreReloKind.FIELD_BYTE_SIZE:
      return { value: byteSize, ...common };
    case CoreReloKind.FIELD_SIGNED:
      return { value: signed ? 1 : 0, ...common };
    case CoreReloKind.FIELD_LSHIFT_U64:
      return { value: 64 - (spec.bitOffset + bitSize - byteOff * 8), ...common };
    case CoreReloKind.FIELD_RSHIFT_U64:
      return { value: 64 - bitSize, ...common };
    default:
      return { value: 1, ...common };
  }
}

/** Kernel types that may stand for local type `id` (same essential name and kind). */
function candidates(local: Btf, id: number, target: Btf): number[] {
  const t = local.resolve(id);
  const name = essentialName(t.name);
  if (name === "") return [];
  const kinds = t.kind === "enum" || t.kind === "enum64" ? ["enum", "enum64"] : [t.kind];
  const out: number[] = [];
  for (const k of kinds) out.push(...target.findTypeIds(name, k as BtfType["kind"]));
  return out;
}

/**
 * libbpf's bpf_core_types_match, reduced: kinds, names, members and enumerators.
 * `seen` remembers each comparison (pair and depth, so the result is the same
 * as without it): a local struct listing the same pointer member many times,
 * level after level, otherwise makes the walk exponential in the depth.
 */
function typesMatch(
  local: Btf,
  lid: number,
  target: Btf,
  tid: number,
  depth = 0,
  seen = new Map<string, boolean>(),
): boolean {
  if (depth > 16) return false;
  const key = `${lid}:${tid}:${depth}`;
  const known = seen.get(key);
  if (known !== undefined) return known;
  const result = typesMatchOnce(local, lid, target, tid, depth, seen);
  seen.set(key, result);
  return result;
}

function typesMatchOnce(
  local: Btf,
  lid: number,
  target: Btf,
  tid: number,
  depth: number,
  seen: Map<string, boolean>,
): boolean {
  const l = local.resolve(lid);
  const t = target.resolve(tid);
  if (l.kind !== t.kind) return false;
  if (l.name !== "" && essentialName(l.name) !== essentialName(t.name)) return false;
  switch (l.kind) {
    case "struct":
    case "union": {
      const tc = t as CompositeType;
      return l.members.every((m) => {
        const tm = tc.members.find((x) => x.name === m.name);
        return tm !== undefined && typesMatch(local, m.type, target, tm.type, depth + 1, seen);
      });
    }
    case "enum":
    case "enum64": {
      const names = new Set((t as typeof l).values.map((v) => v.name));
      return l.values.every((v) => names.has(v.name));
    }
    case "int":
      return l.size === (t as typeof l).size && l.signed === (t as typeof l).signed;
    case "ptr":
      return typesMatch(local, l.type, target, (t as typeof l).type, depth + 1, seen);
    case "array":
      return (
        l.nelems === (t as typeof l).nelems &&
        typesMatch(local, l.type, target, (t as typeof l).type, depth + 1, seen)
      );
    default:
      return true;
  }
}

/** The C-ish description of a relocation: "struct task_struct.pid", "enum pid_type::PIDTYPE_TGID". */
export function describeAccess(btf: Btf, rec: CoreRelocationRecord): string {
  try {
    const root = btf.resolve(rec.typeId);
    const head = `${root.kind === "union" || root.kind === "struct" || root.kind.startsWith("enum") ? `${root.kind.replace("64", "")} ` : ""}${root.name || "(anon)"}`;
    const access = parseAccess(rec.access);
    if (rec.kind === CoreReloKind.ENUMVAL_EXISTS || rec.kind === CoreReloKind.ENUMVAL_VALUE) {
      const e = root as { values?: readonly { name: string }[] };
      return `${head}::${e.values?.[access[0]!]?.name ?? `#${access[0]}`}`;
    }
    if (rec.kind >= CoreReloKind.TYPE_ID_LOCAL) return head;
    let text = access[0] === 0 ? head : `${head}[${access[0]}]`;
    let cur = rec.typeId;
    for (let i = 1; i < access.length; i++) {
      const t = btf.resolve(cur);
      if (isComposite(t)) {
        const m = t.members[access[i]!]!;
        if (m.name !== "") text += `.${m.name}`;
        cur = m.type;
      } else if (t.kind === "array") {
        text += `[${access[i]}]`;
        cur = t.type;
      }
    }
    return text;
  } catch {
    return `type ${rec.typeId} access ${rec.access}`;
  }
}

/** Resolves one relocation: the local value and the kernel's (undefined: poison). */
export function resolveCore(rec: CoreRelocationRecord, local: Btf, target: Btf): Resolved {
  const access = parseAccess(rec.access);
  const kind = rec.kind;
  if (kind === CoreReloKind.TYPE_ID_LOCAL)
    return { local: rec.typeId, target: rec.typeId, validate: true };
  if (kind <= CoreReloKind.FIELD_RSHIFT_U64) {
    const { steps, field } = localSpec(local, rec.typeId, access);
    const localValue = fieldValue(local, field, kind);
    // "We might disagree with compiler" (libbpf): a bitfield's offset, size and
    // left shift in the instruction may be clang's placeholder; its signedness
    // and right shift (64 - bit size) are never ambiguous, so they are checked.
    const validate =
      !localValue.bitfield ||
      kind === CoreReloKind.FIELD_SIGNED ||
      kind === CoreReloKind.FIELD_RSHIFT_U64;
    const types = stepTypes(local, rec.typeId, access);
    const results: FieldValue[] = [];
    for (const c of candidates(local, rec.typeId, target)) {
      const m = matchTarget(local, steps, access[0]!, target, c, types);
      if (m) results.push(fieldValue(target, m, kind));
    }
    if (kind === CoreReloKind.FIELD_EXISTS)
      return { local: 1, target: results.length > 0 ? 1 : 0, validate: true };
    if (results.length === 0)
      return {
        local: localValue.value,
        target: undefined,
        validate,
        reason: "no matching field in the kernel's BTF",
      };
    const first = results[0]!;
    if (results.some((r) => r.value !== first.value))
      return {
        local: localValue.value,
        target: undefined,
        validate,
        reason: `ambiguous: ${results.length} kernel types match with different results`,
      };
    const localSize = kind === CoreReloKind.FIELD_BYTE_OFFSET ? (localValue.size ?? 0) : 0;
    const targetSize = kind === CoreReloKind.FIELD_BYTE_OFFSET ? (first.size ?? 0) : 0;
    return {
      local: localValue.value,
      target: first.value,
      localSize,
      targetSize,
      sizeAdjustable:
        localSize === targetSize ||
        (localSize > 0 &&
          targetSize > 0 &&
          localValue.sizeClass !== "other" &&
          localValue.sizeClass === first.sizeClass),
      validate,
    };
  }
  if (kind === CoreReloKind.ENUMVAL_EXISTS || kind === CoreReloKind.ENUMVAL_VALUE) {
    const l = local.resolve(rec.typeId);
    if (l.kind !== "enum" && l.kind !== "enum64")
      throw new ElfError("enum relocation on a non-enum");
    const v = l.values[access[0]!];
    if (!v) throw new ElfError(`enumerator ${access[0]} does not exist`);
    let found: number | bigint | undefined;
    for (const c of candidates(local, rec.typeId, target)) {
      const t = target.resolve(c);
      if (t.kind !== "enum" && t.kind !== "enum64") continue;
      const tv = t.values.find((x) => essentialName(x.name) === essentialName(v.name));
      if (tv) {
        found = tv.value;
        break;
      }
    }
    if (kind === CoreReloKind.ENUMVAL_EXISTS)
      return { local: 1, target: found === undefined ? 0 : 1, validate: true };
    return found === undefined
      ? {
          local: v.value,
          target: undefined,
          validate: true,
          reason: "no such enumerator in the kernel's BTF",
        }
      : { local: v.value, target: found, validate: true };
  }
  // Type-based relocations.
  const cands = candidates(local, rec.typeId, target);
  const matching =
    kind === CoreReloKind.TYPE_MATCHES
      ? cands.filter((c) => typesMatch(local, rec.typeId, target, c))
      : cands;
  const localSize = (() => {
    try {
      return local.sizeOf(rec.typeId);
    } catch {
      return 0;
    }
  })();
  switch (kind) {
    case CoreReloKind.TYPE_EXISTS:
    case CoreReloKind.TYPE_MATCHES:
      return { local: 1, target: matching.length > 0 ? 1 : 0, validate: true };
    case CoreReloKind.TYPE_ID_TARGET:
      return matching[0] === undefined
        ? {
            local: rec.typeId,
            target: undefined,
            validate: true,
            reason: "no such type in the kernel's BTF",
          }
        : { local: rec.typeId, target: matching[0], validate: true };
    case CoreReloKind.TYPE_SIZE:
      return matching[0] === undefined
        ? {
            local: localSize,
            target: undefined,
            validate: true,
            reason: "no such type in the kernel's BTF",
          }
        : { local: localSize, target: target.sizeOf(matching[0]), validate: true };
    default:
      throw new ElfError(`unknown CO-RE relocation kind ${kind}`);
  }
}

export interface PoisonedInstruction {
  /** Slot (8-byte index) of the instruction in its program, as the verifier counts. */
  readonly insn: number;
  readonly access: string;
  readonly kind: string;
  readonly reason: string;
}

/** A program spec bound to kernel types: CO-RE applied, the attach target's BTF id found. */
export interface BoundProgramSpec extends ElfProgramSpec {
  /** Instructions poisoned by CO-RE relocations the kernel types cannot satisfy. */
  readonly poisoned: readonly PoisonedInstruction[];
}

const SIZE_OF_BYTES: Record<number, number> = { 1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW };
const BYTES_OF_SIZE: Record<number, number> = {
  [Size.B]: 1,
  [Size.H]: 2,
  [Size.W]: 4,
  [Size.DW]: 8,
};

/** libbpf's poison: a helper call that fails verification if the verifier reaches it. */
const POISON: Instruction = {
  opcode: Class.JMP | JmpOp.CALL,
  dst: 0,
  src: CallSrc.HELPER,
  off: 0,
  imm: POISON_HELPER,
};

/**
 * Applies the CO-RE relocations on `instructions` against `target` (kernel
 * types), `local` being the object's BTF they refer to. Returns new
 * instructions, slot for slot (a poisoned ld_imm64 becomes two poison
 * calls), and the poisoned ones. `program` names the program in errors:
 * CoreRelocationError for an instruction that does not hold what its
 * relocation says or a malformed record.
 */
export function applyCoreRelocations(
  instructions: readonly Instruction[],
  local: Btf | undefined,
  target: Btf,
  program: string,
): { instructions: Instruction[]; poisoned: PoisonedInstruction[] } {
  const out: Instruction[] = [];
  const poisoned: PoisonedInstruction[] = [];
  let slot = 0;
  for (const insn of instructions) {
    const at = slot;
    slot += slotsOf(insn);
    if (insn.core === undefined) {
      out.push(insn);
      continue;
    }
    const { core, ...plain } = insn;
    const rec: CoreRelocationRecord = { ...core, insnOff: at * 8 };
    const kindName = KIND_NAMES[rec.kind] ?? `kind ${rec.kind}`;
    const access = local ? describeAccess(local, rec) : `type ${rec.typeId} access ${rec.access}`;
    const fail = (message: string, cause?: unknown) =>
      new CoreRelocationError(
        program,
        access,
        `${kindName} (access ${rec.access}): ${message}`,
        cause === undefined ? undefined : { cause },
      );
    if (!local) throw fail("the object has no .BTF for it to refer to");
    let r: Resolved;
    try {
      r = resolveCore(rec, local, target);
    } catch (e) {
      // What malformed BTF or records raise; anything else is a bug, not wrapped.
      if (e instanceof ElfError || e instanceof BtfError) throw fail(e.message, e);
      throw e;
    }
    if (r.target === undefined) {
      poisoned.push({ insn: at, access, kind: kindName, reason: r.reason ?? "unresolved" });
      for (let s = 0; s < slotsOf(insn); s++) out.push(POISON);
      continue;
    }
    const value = r.target;
    const cls = opClass(insn.opcode);
    if (cls === Class.ALU || cls === Class.ALU64) {
      // ALU / ALU64 with an immediate.
      if (opSource(insn.opcode) === Source.X)
        throw fail(`instruction ${at} is not an ALU with an immediate`);
      if (r.validate && insn.imm !== Number(r.local))
        throw fail(`instruction ${at} holds ${insn.imm}, expected the local value ${r.local}`);
      out.push({ ...plain, imm: Number(value) | 0 });
    } else if (cls === Class.LDX || cls === Class.ST || cls === Class.STX) {
      // Memory access: the offset is the field's byte offset.
      if (rec.kind !== CoreReloKind.FIELD_BYTE_OFFSET)
        throw fail(`instruction ${at} is a memory access, relocation kind is ${kindName}`);
      if (r.validate && insn.off !== Number(r.local))
        throw fail(
          `instruction ${at} has offset ${insn.off}, expected the local offset ${r.local}`,
        );
      if (Number(value) > 0x7fff) throw fail(`offset ${value} does not fit an instruction`);
      let opcode = insn.opcode;
      if (r.sizeAdjustable === false) {
        // libbpf poisons a resized access of anything but pointers and unsigned integers.
        poisoned.push({
          insn: at,
          access,
          kind: kindName,
          reason: `the field's size changed from ${r.localSize} to ${r.targetSize} bytes and it is not a pointer or an unsigned integer`,
        });
        out.push(POISON);
        continue;
      }
      // A field whose size changed: adjust the load/store size (libbpf does too).
      if (r.localSize !== undefined && r.targetSize !== undefined && r.localSize !== r.targetSize) {
        const size = SIZE_OF_BYTES[r.targetSize];
        if (BYTES_OF_SIZE[opSize(opcode)] !== r.localSize || size === undefined)
          throw fail(`field size changed from ${r.localSize} to ${r.targetSize} bytes`);
        opcode = withOpSize(opcode, size);
      }
      out.push({ ...plain, opcode, off: Number(value) });
    } else if (insn.opcode === LD_IMM64) {
      const v = BigInt(value);
      out.push({
        ...plain,
        imm: Number(BigInt.asIntN(32, v)),
        imm2: Number(BigInt.asIntN(32, v >> 32n)),
      });
    } else {
      throw fail(`instruction ${at} (opcode 0x${insn.opcode.toString(16)}) cannot be relocated`);
    }
  }
  return { instructions: out, poisoned };
}

/**
 * A program spec of a parsed object, bound to kernel types: its CO-RE
 * relocations applied against them (unresolvable ones poisoned, as libbpf
 * does) and its attach target's BTF id looked up (a missing target is left
 * for the kernel to report at load, with the name). Pure: the caller passes
 * the kernel types (loadCollection defaults to the running kernel's).
 */
export interface BindOptions {
  /** Addresses of typeless `__ksym` variables (loadCollection reads /proc/kallsyms). */
  kallsyms?: (name: string) => bigint | undefined;
  /**
   * Kernel symbols vmlinux lacks, looked up in the kernel's modules
   * (loadCollection uses KernelModuleTypes of the running kernel).
   */
  modules?: ModuleKsymLookup;
}

export function bindProgramSpec(
  program: ElfProgramSpec,
  kernelTypes: Btf,
  options: BindOptions = {},
): BoundProgramSpec {
  if (
    typeof program !== "object" ||
    program === null ||
    !Array.isArray(program.instructions) ||
    typeof program.name !== "string" ||
    typeof program.section !== "string"
  )
    throw new TypeError("bindProgramSpec needs a program spec of parseCollection");
  if (typeof (kernelTypes as Partial<Btf> | undefined)?.findType !== "function")
    throw new TypeError("bindProgramSpec: kernelTypes must be a Btf (e.g. loadKernelBtf())");
  if (typeof options !== "object" || options === null)
    throw new TypeError("bindProgramSpec: options must be an object");
  const { instructions, poisoned } = applyCoreRelocations(
    program.instructions,
    program.localTypes,
    kernelTypes,
    program.name,
  );
  const bound = program.instructions.some((i) => i.ksym !== undefined && i.ksym.btfId === undefined)
    ? bindKsyms(
        instructions,
        kernelTypes,
        program.externs ?? {},
        program.name,
        options.kallsyms,
        options.modules,
      )
    : instructions;
  let attachBtfId = program.attachBtfId;
  const kind = sectionKind(program.section);
  if (attachBtfId === undefined && kind !== undefined && attachTargetName(kind) !== undefined) {
    const t = kernelTypes.findType(
      attachTargetName(kind)!,
      kind.attach === "tp_btf" ? "typedef" : "func",
    );
    attachBtfId = t?.id;
  }
  return {
    ...program,
    instructions: bound,
    ...(attachBtfId === undefined ? {} : { attachBtfId }),
    poisoned,
  };
}

/** True when a program needs kernel types to load: CO-RE relocations or an attach target to find. */
export function needsKernelTypes(program: ElfProgramSpec): boolean {
  return (
    program.instructions.some((i) => i.core !== undefined || i.ksym !== undefined) ||
    (program.attachBtfId === undefined && program.attachTarget !== undefined)
  );
}
