// Resolves the paths a query selects ("real_parent.tgid", "cred.uid.val",
// "file.f_inode.i_ino") against the running kernel's BTF: where each value
// sits (a context member, then a dotted path through structs and pointers,
// the form record.ts compiles) and how its bytes decode (signedness, enum
// names, strings, arrays). A whole struct expands into its members.

import type { Btf, BtfType, CompositeType } from "@ts-ebpf/btf";
import { iterContextStruct } from "@ts-ebpf/spec/constants";
import type { FieldKind } from "../builtins/record.js";
import { QueryError } from "./errors.js";

/** How a selected value's bytes become a JavaScript value. */
export type ValueType =
  | { readonly type: "int"; readonly size: number; readonly signed: boolean }
  | { readonly type: "bool"; readonly size: number }
  | {
      readonly type: "enum";
      readonly size: number;
      readonly signed: boolean;
      readonly names: ReadonlyMap<number, string>;
    }
  /** A char array (`len` bytes with the NUL) or a kernel `char *` read up to `len` bytes. */
  | { readonly type: "string"; readonly len: number; readonly pointer: boolean }
  | {
      readonly type: "array";
      readonly count: number;
      readonly elem: { readonly size: number; readonly signed: boolean };
    };

/** One value the program copies: where it is and what it is. */
export interface Leaf {
  /** The path as the user wrote it, whole-struct members appended ("cred.uid.val"). */
  readonly path: string;
  /** Keys of the value in the output object, below the selected name (whole structs). */
  readonly nested: readonly string[];
  /** Context member the path starts from. */
  readonly ctx: string;
  /** Path inside what the context member points to (record.ts's `path`), undefined for a scalar context member. */
  readonly inner: string | undefined;
  readonly value: ValueType;
  /** How record.ts copies it. */
  readonly kind: FieldKind;
  /** Bytes copied for char/str/bytes. */
  readonly len?: number;
  /** C spelling of the type, for messages and documentation. */
  readonly cType: string;
  /**
   * The value sits in an array element (after the last pointer hop): read it
   * with bpf_probe_read_kernel, not a direct load. Before 5.11 or so the
   * verifier's BTF walk refuses a load inside an array of typedef'd structs
   * (5.10: "Type 'atomic_long_t' is not a struct" for mm.rss_stat.count[0].counter).
   */
  readonly probeRead?: boolean;
}

/** Bytes a `char *` is read up to when the query does not say (with the NUL). */
export const DEFAULT_STRING_LENGTH = 64;
const MAX_DEPTH = 4;
/** Bytes of a char array read at least (longer ones are cut there unless stringLength says more). */
const LONG_CHAR_ARRAY = 128;
/** Bytes of a path written by bpf_d_path (at least). */
const DPATH_LENGTH = 128;

interface CtxMember {
  readonly name: string;
  readonly type: number;
}

/** Members of struct bpf_iter__<target>, through the anonymous unions (__bpf_md_ptr). */
export function contextMembers(btf: Btf, target: string): CtxMember[] {
  const name = iterContextStruct(target);
  const t = btf.findType(name, "struct");
  if (!t) throw new QueryError(`the kernel has no ${target} iterator (no struct ${name} in BTF)`);
  const out: CtxMember[] = [];
  const walk = (c: CompositeType) => {
    for (const m of c.members) {
      if (m.name === "") {
        const inner = btf.resolve(m.type);
        if (inner.kind === "struct" || inner.kind === "union") walk(inner);
      } else out.push({ name: m.name, type: m.type });
    }
  };
  walk(btf.composite(t.id));
  return out.filter((m) => m.name !== "meta");
}

/**
 * Names a path may start with that are not context members: a socket
 * target's `sk` is its socket as struct sock. `via` is the context member and
 * `prefix` the path from what it points to down to the struct sock.
 */
const CONTEXT_VIEWS: Readonly<Record<string, Record<string, { via: string; prefix: string }>>> = {
  // tcp's context is a sock_common (request and timewait sockets are not full
  // socks): only struct sock's first member, __sk_common, is safe to read.
  tcp: { sk: { via: "sk_common", prefix: "" } },
  udp: { sk: { via: "udp_sk", prefix: "inet.sk." } },
  unix: { sk: { via: "unix_sk", prefix: "sk." } },
};

/** Named members of a struct or union, anonymous members' members included. */
function memberNames(btf: Btf, c: CompositeType, out: string[] = []): string[] {
  for (const m of c.members) {
    if (m.name) out.push(m.name);
    else {
      const inner = btf.resolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") memberNames(btf, inner, out);
    }
  }
  return out;
}

function findMember(
  btf: Btf,
  c: CompositeType,
  name: string,
): { type: number; bitfield: boolean } | undefined {
  for (const m of c.members) {
    if (m.name === name) return { type: m.type, bitfield: m.bitfieldSize !== 0 };
    if (m.name === "") {
      const inner = btf.resolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") {
        const found = findMember(btf, inner, name);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The names closest to `name` (edit distance, then a shared substring), at most `n`. */
export function nearestNames(name: string, names: readonly string[], n = 5): string[] {
  const scored = [...new Set(names)].map((candidate) => {
    let d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (candidate.includes(name) || name.includes(candidate)) d = Math.min(d, 2);
    return { candidate, d };
  });
  scored.sort((a, b) => a.d - b.d || a.candidate.localeCompare(b.candidate));
  return scored.slice(0, n).map((s) => s.candidate);
}

const describe = (btf: Btf, id: number) => {
  try {
    return btf.typeName(id);
  } catch {
    return `type ${id}`;
  }
};

/** Resolves one selected path into the values it copies (several for a whole struct). */
export function resolvePath(
  btf: Btf,
  target: string,
  path: string,
  stringLength = DEFAULT_STRING_LENGTH,
): Leaf[] {
  if (
    typeof path !== "string" ||
    !/^[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*$/.test(path)
  ) {
    throw new QueryError(
      `bad field path ${JSON.stringify(path)}: member names joined by dots, with [n] for array elements`,
    );
  }
  const members = contextMembers(btf, target);
  const segments = path.split(".");
  const first = segments[0]!.replace(/\[.*$/, "");
  const view = CONTEXT_VIEWS[target]?.[first];
  let ctx: CtxMember;
  let rest: string[];
  let prefix = "";
  const direct = members.find((m) => m.name === first);
  if (direct && !view) {
    ctx = direct;
    rest = segments.slice(1);
    if (segments[0] !== first)
      throw new QueryError(`${path}: the context member ${first} is not an array`);
  } else if (view) {
    ctx = members.find((m) => m.name === view.via)!;
    rest = segments.slice(1);
    prefix = view.prefix;
    if (target === "tcp") {
      // struct sock starts with __sk_common; the rest of it may not exist (timewait sockets).
      if (rest[0] !== "__sk_common") {
        throw new QueryError(
          `${path}: the tcp iterator gives a struct sock_common (request and timewait sockets are not full sockets); select sk.__sk_common.<member> or sk_common.<member>`,
        );
      }
      rest = rest.slice(1);
    }
  } else {
    // Relative to the target's object: the first pointer member (task, map, prog, ...).
    const object = members.find((m) => btf.resolve(m.type).kind === "ptr");
    if (!object) {
      throw new QueryError(
        `${target}: no member "${first}" in struct ${iterContextStruct(target)}; members: ${members.map((m) => m.name).join(", ")}`,
      );
    }
    ctx = object;
    rest = segments;
  }
  const ctxType = btf.resolve(ctx.type);
  if (rest.length === 0) {
    if (ctxType.kind === "ptr") {
      throw new QueryError(
        `${path} is a pointer to ${describe(btf, ctxType.type)}: select its members (${path}.<member>); pointers do not leave the kernel`,
      );
    }
    return leavesOf(
      btf,
      ctx.name,
      undefined,
      path,
      [],
      ctxType,
      describe(btf, ctx.type),
      stringLength,
      0,
    );
  }
  if (ctxType.kind !== "ptr") {
    throw new QueryError(
      `${path}: the context member ${ctx.name} is a ${describe(btf, ctx.type)}, it has no members`,
    );
  }
  let current = btf.resolve(ctxType.type);
  if (current.kind !== "struct" && current.kind !== "union") {
    throw new QueryError(
      `${path}: ${ctx.name} points to ${describe(btf, ctxType.type)}, not a struct`,
    );
  }
  // Walk the view's prefix (e.g. udp_sock -> inet.sk) the same way.
  const walked: string[] = [];
  /** Whether an array element was indexed since the last pointer hop. */
  let indexed = false;
  const all = [...(prefix ? prefix.slice(0, -1).split(".") : []), ...rest];
  const userStart = all.length - rest.length;
  const shown = (i: number) =>
    [ctx === direct ? ctx.name : view ? first : undefined, ...all.slice(userStart, i + 1)]
      .filter((x) => x !== undefined)
      .join(".");
  for (let i = 0; i < all.length; i++) {
    const seg = /^(\w+)((?:\[\d+\])*)$/.exec(all[i]!)!;
    const comp = current as CompositeType;
    const found = findMember(btf, comp, seg[1]!);
    const structName = `${comp.kind} ${comp.name || "(anonymous)"}`;
    if (!found) {
      const near = nearestNames(seg[1]!, memberNames(btf, comp));
      throw new QueryError(
        `${path}: ${structName} has no member "${seg[1]}"; nearest: ${near.join(", ")}`,
      );
    }
    if (found.bitfield) {
      throw new QueryError(
        `${path}: ${shown(i)} is a bitfield of ${structName}; bitfields cannot be selected`,
      );
    }
    walked.push(all[i]!);
    let t = btf.resolve(found.type);
    let tid = found.type;
    for (const _ of seg[2]!.match(/\d+/g) ?? []) {
      if (t.kind !== "array")
        throw new QueryError(`${path}: ${seg[1]} is a ${describe(btf, tid)}, not an array`);
      tid = t.type;
      t = btf.resolve(t.type);
      indexed = true;
    }
    if (i === all.length - 1) {
      const leaves = leavesOf(
        btf,
        ctx.name,
        walked.join("."),
        path,
        [],
        t,
        describe(btf, tid),
        stringLength,
        0,
      );
      if (!indexed) return leaves;
      return leaves.map((l) => (SCALAR_KINDS.has(l.kind) ? { ...l, probeRead: true } : l));
    }
    if (t.kind === "struct" || t.kind === "union") {
      current = t;
      continue;
    }
    if (t.kind === "ptr") {
      const pointee = btf.resolve(t.type);
      if (pointee.kind === "struct" || pointee.kind === "union") {
        current = pointee;
        indexed = false;
        continue;
      }
      throw new QueryError(
        `${path}: the path stops at ${shown(i)}, a ${describe(btf, tid)} (a pointer to no struct): remove .${all.slice(i + 1).join(".")}`,
      );
    }
    throw new QueryError(
      `${path}: the path stops at ${shown(i)}, a ${describe(btf, tid)} (not a struct or a pointer to one): remove .${all.slice(i + 1).join(".")}`,
    );
  }
  throw new QueryError(`${path}: empty path`);
}

const SCALAR_KIND: Record<number, FieldKind> = { 1: "u8", 2: "u16", 4: "u32", 8: "u64" };
const SCALAR_KINDS: ReadonlySet<FieldKind> = new Set(Object.values(SCALAR_KIND));

function leavesOf(
  btf: Btf,
  ctx: string,
  inner: string | undefined,
  path: string,
  nested: string[],
  t: BtfType,
  cType: string,
  stringLength: number,
  depth: number,
): Leaf[] {
  const base = { path, nested, ctx, inner, cType };
  const at = nested.length ? `${path} (member ${nested.join(".")})` : path;
  switch (t.kind) {
    case "int": {
      const kind = SCALAR_KIND[t.size];
      if (!kind)
        throw new QueryError(
          `${at} is a ${t.size}-byte integer (${cType}); only 1, 2, 4 and 8 bytes are read`,
        );
      return [
        {
          ...base,
          kind,
          value: t.bool
            ? { type: "bool", size: t.size }
            : { type: "int", size: t.size, signed: t.signed },
        },
      ];
    }
    case "enum":
    case "enum64": {
      const kind = SCALAR_KIND[t.size];
      if (!kind) throw new QueryError(`${at} is a ${t.size}-byte enum (${cType})`);
      const names = new Map<number, string>();
      for (const v of t.values) names.set(Number(v.value), v.name);
      return [{ ...base, kind, value: { type: "enum", size: t.size, signed: t.signed, names } }];
    }
    case "ptr": {
      const pointee = btf.resolve(t.type);
      if (pointee.kind === "int" && pointee.size === 1) {
        return [
          {
            ...base,
            kind: "str",
            len: stringLength,
            value: { type: "string", len: stringLength, pointer: true },
          },
        ];
      }
      throw new QueryError(
        `${at} is a pointer (${cType}): select a member of what it points to (${path}.<member>); pointers do not leave the kernel`,
      );
    }
    case "array": {
      const elem = btf.resolve(t.type);
      if (
        elem.kind === "int" &&
        elem.size === 1 &&
        (elem.char || /char/.test(describe(btf, t.type)))
      ) {
        // A long array (ksym's 512-byte name) is read up to max(stringLength, 128) bytes.
        const len = Math.min(t.nelems, Math.max(stringLength, LONG_CHAR_ARRAY));
        return [{ ...base, kind: "char", len, value: { type: "string", len, pointer: false } }];
      }
      if ((elem.kind === "int" || elem.kind === "enum") && SCALAR_KIND[elem.size] && t.nelems > 0) {
        const signed = elem.kind === "int" ? elem.signed : elem.signed;
        return [
          {
            ...base,
            kind: "bytes",
            len: t.nelems * elem.size,
            value: { type: "array", count: t.nelems, elem: { size: elem.size, signed } },
          },
        ];
      }
      throw new QueryError(
        `${at} is an array of ${describe(btf, t.type)}: select one element (${path}[0]...)`,
      );
    }
    case "struct":
    case "union": {
      // A struct path (file.f_path) is the file's name, written by bpf_d_path.
      if (t.kind === "struct" && t.name === "path" && depth === 0 && inner !== undefined) {
        const len = Math.max(stringLength, DPATH_LENGTH);
        return [{ ...base, kind: "dpath", len, value: { type: "string", len, pointer: true } }];
      }
      if (depth >= MAX_DEPTH) return [];
      const out: Leaf[] = [];
      const walk = (c: CompositeType, within: string[]) => {
        for (const m of c.members) {
          const mt = btf.resolve(m.type);
          if (m.name === "") {
            if (mt.kind === "struct" || mt.kind === "union") walk(mt, within);
            continue;
          }
          // Pointers, bitfields and what has no fixed readable form are left out of a whole struct.
          if (m.bitfieldSize !== 0 || mt.kind === "ptr" || mt.kind === "func_proto") continue;
          const innerPath =
            inner === undefined ? undefined : `${inner}.${[...within, m.name].join(".")}`;
          if (innerPath === undefined) continue;
          try {
            out.push(
              ...leavesOf(
                btf,
                ctx,
                innerPath,
                path,
                [...nested, ...within, m.name],
                mt,
                describe(btf, m.type),
                stringLength,
                depth + 1,
              ),
            );
          } catch {
            // A member with no readable form (a flexible array, a float) is skipped.
          }
        }
      };
      walk(t, []);
      if (out.length === 0) throw new QueryError(`${at} (${cType}) has no member that can be read`);
      return out;
    }
    default:
      throw new QueryError(`${at} is a ${t.kind} (${cType}), which a query cannot read`);
  }
}
