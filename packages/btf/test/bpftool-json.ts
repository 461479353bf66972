// bpftool's JSON view of a type (`bpftool -j btf dump file ...`), to compare
// our decoding with bpftool's type by type.
import type { BtfType } from "../src/index.js";

export type Json = { [k: string]: unknown };

const anon = (n: string) => (n === "" ? "(anon)" : n);

export function toBpftoolJson(t: BtfType): Json {
  const base: Json = { id: t.id, kind: t.kind.toUpperCase(), name: anon(t.name) };
  switch (t.kind) {
    case "int": {
      const enc = t.signed ? "SIGNED" : t.char ? "CHAR" : t.bool ? "BOOL" : "(none)";
      return { ...base, size: t.size, bits_offset: t.bitOffset, nr_bits: t.bits, encoding: enc };
    }
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
      return { ...base, type_id: t.type };
    case "array":
      return { ...base, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case "struct":
    case "union":
      return {
        ...base,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => ({
          name: anon(m.name),
          type_id: m.type,
          bits_offset: m.bitOffset,
          ...(m.bitfieldSize ? { bitfield_size: m.bitfieldSize } : {}),
        })),
      };
    case "enum":
    case "enum64":
      return {
        ...base,
        encoding: t.signed ? "SIGNED" : "UNSIGNED",
        size: t.size,
        vlen: t.values.length,
        values: t.values.map((v) => ({ name: v.name, val: String(v.value) })),
      };
    case "fwd":
      return { ...base, fwd_kind: t.fwdKind };
    case "func":
      return { ...base, type_id: t.type, linkage: t.linkage };
    case "func_proto":
      return {
        ...base,
        ret_type_id: t.returnType,
        vlen: t.params.length,
        params: t.params.map((p) => ({ name: anon(p.name), type_id: p.type })),
      };
    case "var":
      return { ...base, type_id: t.type, linkage: t.linkage };
    case "datasec":
      return {
        ...base,
        size: t.size,
        vlen: t.vars.length,
        vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })),
      };
    case "float":
      return { ...base, size: t.size };
    case "decl_tag":
      return { ...base, type_id: t.type, component_idx: t.componentIdx };
    case "void":
      return base;
  }
}

/**
 * Parses bpftool's JSON keeping integers beyond 2^53 exact (as strings): enum
 * values are printed as 64-bit integers.
 */
export function parseBpftoolJson(text: string): Json[] {
  const quoted = text.replace(/("val":)(-?\d{16,})/g, '$1"$2"');
  return (JSON.parse(quoted) as { types: Json[] }).types;
}

/** Enumerator values as bpftool prints them, reduced to the enum's width and sign. */
function enumVal(kind: unknown, signed: boolean, raw: unknown): string {
  const bits = kind === "ENUM" ? 32 : 64;
  const v = BigInt(raw as string | number);
  return (signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v)).toString();
}

/** bpftool's object reduced to the keys we produce (newer bpftools add keys). */
export function project(ours: Json, theirs: Json): Json {
  const out: Json = {};
  if (Array.isArray(theirs.values)) {
    const signed = theirs.encoding === "SIGNED";
    theirs = {
      ...theirs,
      values: (theirs.values as Json[]).map((v) => ({
        ...v,
        val: enumVal(theirs.kind, signed, v.val),
      })),
    };
  }
  for (const k of Object.keys(ours)) {
    const o = ours[k];
    const t = theirs[k];
    if (Array.isArray(o) && Array.isArray(t)) {
      out[k] = t.map((e, i) =>
        typeof e === "object" && e !== null && typeof o[i] === "object"
          ? project(o[i] as Json, e as Json)
          : e,
      );
    } else {
      out[k] = t;
    }
  }
  return out;
}

/** Splits `format c` output into definition blocks keyed by "struct x", "union x", "enum x", "typedef x". */
export function cBlocks(header: string): Map<string, string[]> {
  const blocks = new Map<string, string[]>();
  for (const block of header.split(/\n\n+/)) {
    const text = block.trim();
    let key: string | undefined;
    const head = /^(struct|union|enum) (\w+) \{/.exec(text);
    if (head) key = `${head[1]} ${head[2]}`;
    else if (text.startsWith("typedef ") && text.endsWith(";")) {
      const m = /(\w+)(?:\[\d+\])*\)?(?:\(.*\))?;$/.exec(text.replace(/\s+/g, " "));
      // typedef names: last identifier before ';', or inside (*name)(...)
      const fp = /\(\*(\w+)\)\(/.exec(text);
      key = `typedef ${fp && !text.includes("{") ? fp[1] : m?.[1]}`;
    }
    if (!key) continue;
    const list = blocks.get(key) ?? [];
    list.push(text);
    blocks.set(key, list);
  }
  return blocks;
}

export const normalizeC = (s: string): string => s.replace(/\s+/g, " ").trim();
