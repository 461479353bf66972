// Fix-ups libbpf makes before BTF_LOAD so the kernel accepts clang's .BTF:
// clang leaves DATASEC sizes at 0 and the offsets of global (non-static)
// variables unset; both come from the ELF section and symbol table.
import { BtfError, parseBtf } from "@ts-ebpf/btf";
import { ElfError } from "./errors.js";
import type { ExternSpec } from "./externs.js";
import { ElfFile, latin1, STT } from "./reader.js";

const KIND_DATASEC = 15;
const KIND_VAR = 14;

/** Bytes after the 12-byte common header of a BTF type (-1: unknown kind). */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1: // INT
    case 14: // VAR
    case 17: // DECL_TAG
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
    case 15: // DATASEC
      return 12 * vlen;
    case 6: // ENUM
    case 13: // FUNC_PROTO
      return 8 * vlen;
    case 19: // ENUM64
      return 12 * vlen;
    case 0:
    case 2:
    case 7:
    case 8:
    case 9:
    case 10:
    case 11:
    case 12:
    case 16:
    case 18:
      return 0;
    default:
      return -1;
  }
}

/** Byte offset of each type (index = id - 1) in a BTF blob. */
export function typeOffsets(blob: Uint8Array): { offsets: number[]; strStart: number } {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const hdrLen = view.getUint32(4, true);
  const start = hdrLen + view.getUint32(8, true);
  const end = start + view.getUint32(12, true);
  const offsets: number[] = [];
  for (let p = start; p < end; ) {
    const info = view.getUint32(p + 4, true);
    const extra = extraBytes((info >>> 24) & 0x1f, info & 0xffff);
    if (extra < 0) throw new ElfError(`.BTF: unknown kind at byte ${p}`);
    offsets.push(p);
    p += 12 + extra;
  }
  return { offsets, strStart: hdrLen + view.getUint32(16, true) };
}

/**
 * A copy of `.BTF` with DATASEC sizes and global variable offsets filled in
 * from the ELF object (libbpf's btf_fixup_datasec).
 */
export function fixupBtf(
  blob: Uint8Array,
  elf: ElfFile,
  externs: Readonly<Record<string, ExternSpec>> = {},
): Uint8Array {
  if (!(blob instanceof Uint8Array)) throw new TypeError("fixupBtf: blob must be a Uint8Array");
  if (!(elf instanceof ElfFile)) throw new TypeError("fixupBtf: elf must be an ElfFile");
  // The walk below trusts the header and the type extents: check them first.
  try {
    parseBtf(blob);
  } catch (e) {
    if (e instanceof BtfError) throw new ElfError(`.BTF: ${e.message}`, -1, { cause: e });
    throw e;
  }
  const out = new Uint8Array(blob);
  const view = new DataView(out.buffer);
  const { offsets, strStart } = typeOffsets(out);
  // OBJECT symbols by section and name, looked up once per variable: a
  // search of the symbol table per variable is quadratic on hostile input.
  const objects = new Map<string, number>();
  for (const s of elf.symbols) {
    const key = `${s.section}:${s.name}`;
    if (s.type === STT.OBJECT && !objects.has(key)) objects.set(key, s.value);
  }
  const str = (off: number) => {
    const s = strStart + off;
    const e = out.indexOf(0, s);
    return latin1(out.subarray(s, e < 0 ? s : e));
  };
  for (const p of offsets) {
    const info = view.getUint32(p + 4, true);
    if ((info >>> 24) % 32 !== KIND_DATASEC) continue;
    const secName = str(view.getUint32(p, true));
    if (secName === ".kconfig" || secName === ".ksyms") {
      fixupExternSec(view, offsets, p, secName, str, externs);
      continue;
    }
    const section = elf.section(secName);
    if (!section) continue;
    if (view.getUint32(p + 8, true) === 0) view.setUint32(p + 8, section.size, true);
    const vlen = info & 0xffff;
    for (let i = 0; i < vlen; i++) {
      const vsi = p + 12 + i * 12;
      const varId = view.getUint32(vsi, true);
      const varAt = offsets[varId - 1];
      if (varAt === undefined)
        throw new ElfError(`.BTF: DATASEC ${secName} refers to type ${varId}`);
      const varInfo = view.getUint32(varAt + 4, true);
      if ((varInfo >>> 24) % 32 !== KIND_VAR) continue;
      const linkage = view.getUint32(varAt + 12, true);
      if (linkage !== 1) continue; // static offsets are set; externs are not ours
      const name = str(view.getUint32(varAt, true));
      const value = objects.get(`${section.index}:${name}`);
      if (value !== undefined) view.setUint32(vsi + 4, value, true);
    }
  }
  return out;
}

const KIND_INT = 1;
const KIND_STRUCT = 4;
const KIND_FUNC = 12;
const KIND_FUNC_PROTO = 13;
const VAR_GLOBAL_ALLOCATED = 1;
const FUNC_GLOBAL = 1;

/**
 * The kernel refuses extern linkage and FUNCs in a DATASEC (libbpf rewrites
 * them too): `.kconfig` variables become allocated at their offsets in the
 * `.kconfig` map; `.ksyms` becomes an anonymous struct of 4-byte ints (its
 * variables typed int, its kfuncs made global with every parameter named).
 */
function fixupExternSec(
  view: DataView,
  offsets: readonly number[],
  p: number,
  secName: string,
  str: (off: number) => string,
  externs: Readonly<Record<string, ExternSpec>>,
): void {
  const info = view.getUint32(p + 4, true);
  const vlen = info & 0xffff;
  const at = (id: number): number => {
    const o = offsets[id - 1];
    if (o === undefined) throw new ElfError(`.BTF: DATASEC ${secName} refers to type ${id}`);
    return o;
  };
  const kind = (o: number) => (view.getUint32(o + 4, true) >>> 24) & 0x1f;
  if (secName === ".kconfig") {
    let size = 0;
    for (let i = 0; i < vlen; i++) {
      const vsi = p + 12 + i * 12;
      const varAt = at(view.getUint32(vsi, true));
      if (kind(varAt) !== KIND_VAR) continue;
      view.setUint32(varAt + 12, VAR_GLOBAL_ALLOCATED, true);
      const e = externs[str(view.getUint32(varAt, true))];
      if (e?.kind === "kconfig") {
        view.setUint32(vsi + 4, e.offset, true);
        size = Math.max(size, e.offset + e.size);
      }
    }
    view.setUint32(p + 8, size, true);
    return;
  }
  let intId = 0;
  offsets.forEach((o, i) => {
    if (intId === 0 && kind(o) === KIND_INT && view.getUint32(o + 8, true) === 4) intId = i + 1;
  });
  if (intId === 0) return; // nothing to type the members with: BTF_LOAD refuses, programs load without BTF
  for (let i = 0; i < vlen; i++) {
    const vsi = p + 12 + i * 12;
    const typeAt = at(view.getUint32(vsi, true));
    if (kind(typeAt) === KIND_VAR) {
      view.setUint32(typeAt + 12, VAR_GLOBAL_ALLOCATED, true);
      view.setUint32(typeAt + 8, intId, true);
    } else if (kind(typeAt) === KIND_FUNC) {
      const nameOff = view.getUint32(typeAt, true);
      view.setUint32(typeAt + 4, (KIND_FUNC << 24) | FUNC_GLOBAL, true);
      const protoAt = at(view.getUint32(typeAt + 8, true));
      if (kind(protoAt) === KIND_FUNC_PROTO) {
        const params = view.getUint32(protoAt + 4, true) & 0xffff;
        for (let j = 0; j < params; j++) {
          const param = protoAt + 12 + j * 8;
          if (view.getUint32(param, true) === 0 && view.getUint32(param + 4, true) !== 0)
            view.setUint32(param, nameOff, true);
        }
      }
    }
    // The entry becomes a struct member: no name, an int at bit i * 32.
    view.setUint32(vsi, 0, true);
    view.setUint32(vsi + 4, intId, true);
    view.setUint32(vsi + 8, i * 32, true);
  }
  view.setUint32(p, 0, true);
  view.setUint32(p + 4, (KIND_STRUCT << 24) | vlen, true);
  view.setUint32(p + 8, vlen * 4, true);
}
