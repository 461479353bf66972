// The `where` language of queries, the same text in the API and on the
// command line:
//
//   expr    := or
//   or      := and (("or" | "||") and)*
//   and     := unary (("and" | "&&") unary)*
//   unary   := ("not" | "!") unary | "(" expr ")" | compare
//   compare := operand op operand        op: == != < <= > >= ^= (starts with)
//   operand := path | number | "string" | 'string' | true | false | ENUMERATOR
//
// It is type-checked against the selected values' BTF types and compiled
// into jumps that drop the object (label "out") before it is written.

import {
  arsh,
  type Item,
  ja,
  jeq,
  jge,
  jgt,
  jle,
  jlt,
  jne,
  jsge,
  jsgt,
  jsle,
  jslt,
  label,
  ldImm64,
  ldx,
  lsh,
  mov,
  type Reg,
} from "@ts-ebpf/dsl";
import { QueryError } from "./errors.js";
import type { Leaf } from "./paths.js";

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "^=";

export type Operand =
  | { readonly kind: "path"; readonly path: string }
  | { readonly kind: "number"; readonly value: bigint }
  | { readonly kind: "string"; readonly value: string };

/** A parsed predicate. */
export type Predicate =
  | { readonly op: "and" | "or"; readonly left: Predicate; readonly right: Predicate }
  | { readonly op: "not"; readonly operand: Predicate }
  | { readonly op: CompareOp; readonly left: Operand; readonly right: Operand };

type Token =
  | { t: "id"; v: string; at: number }
  | { t: "num"; v: bigint; at: number }
  | { t: "str"; v: string; at: number }
  | { t: "op"; v: string; at: number };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    let m = /^(==|!=|<=|>=|\^=|&&|\|\||[<>()!])/.exec(rest);
    if (m) {
      out.push({ t: "op", v: m[1]!, at: i });
      i += m[1]!.length;
      continue;
    }
    m = /^-?(0x[0-9a-fA-F]+|\d+)/.exec(rest);
    if (m) {
      const neg = m[0].startsWith("-");
      const v = BigInt(neg ? m[0].slice(1) : m[0]);
      out.push({ t: "num", v: neg ? -v : v, at: i });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = "";
      while (j < text.length && text[j] !== c) {
        if (text[j] === "\\" && j + 1 < text.length) j++;
        s += text[j];
        j++;
      }
      if (j >= text.length)
        throw new QueryError(`where: unterminated string starting at column ${i + 1}`);
      out.push({ t: "str", v: s, at: i });
      i = j + 1;
      continue;
    }
    m = /^[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*/.exec(rest);
    if (m) {
      out.push({ t: "id", v: m[0], at: i });
      i += m[0].length;
      continue;
    }
    throw new QueryError(
      `where: unexpected ${JSON.stringify(c)} at column ${i + 1} of ${JSON.stringify(text)}`,
    );
  }
  return out;
}

const COMPARE = new Set(["==", "!=", "<", "<=", ">", ">=", "^="]);

/** Parses the text of a `where` into a predicate (QueryError naming the column on a syntax error). */
export function parseWhere(text: string): Predicate {
  if (typeof text !== "string") throw new TypeError("where must be a string");
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const fail = (what: string): never => {
    const t = peek();
    throw new QueryError(
      `where: ${what} ${t ? `at column ${t.at + 1}` : "at the end"} of ${JSON.stringify(text)}`,
    );
  };
  const isWord = (w: string, alt: string) => {
    const t = peek();
    return t !== undefined && ((t.t === "id" && t.v === w) || (t.t === "op" && t.v === alt));
  };
  const operand = (): Operand => {
    const t = peek();
    if (!t) return fail("expected a field, number or string");
    pos++;
    if (t.t === "num") return { kind: "number", value: t.v };
    if (t.t === "str") return { kind: "string", value: t.v };
    if (t.t === "id") {
      if (t.v === "true") return { kind: "number", value: 1n };
      if (t.v === "false") return { kind: "number", value: 0n };
      return { kind: "path", path: t.v };
    }
    pos--;
    return fail("expected a field, number or string");
  };
  const unary = (): Predicate => {
    if (isWord("not", "!")) {
      pos++;
      return { op: "not", operand: unary() };
    }
    const t = peek();
    if (t?.t === "op" && t.v === "(") {
      pos++;
      const inner = or();
      const close = peek();
      if (close?.t !== "op" || close.v !== ")") fail('expected ")"');
      pos++;
      return inner;
    }
    const left = operand();
    const op = peek();
    if (op?.t !== "op" || !COMPARE.has(op.v)) {
      return fail("expected a comparison (== != < <= > >= ^=)");
    }
    pos++;
    const right = operand();
    return { op: op.v as CompareOp, left, right };
  };
  const and = (): Predicate => {
    let left = unary();
    while (isWord("and", "&&")) {
      pos++;
      left = { op: "and", left, right: unary() };
    }
    return left;
  };
  const or = (): Predicate => {
    let left = and();
    while (isWord("or", "||")) {
      pos++;
      left = { op: "or", left, right: and() };
    }
    return left;
  };
  const result = or();
  if (pos < tokens.length) fail("unexpected text");
  return result;
}

type Comparison = Extract<Predicate, { readonly op: CompareOp }>;
const isComparison = (p: Predicate): p is Comparison =>
  p.op !== "and" && p.op !== "or" && p.op !== "not";

/** Every field path a predicate reads. */
export function predicatePaths(p: Predicate, out: string[] = []): string[] {
  if (p.op === "and" || p.op === "or") {
    predicatePaths(p.left, out);
    predicatePaths(p.right, out);
  } else if (p.op === "not") predicatePaths(p.operand, out);
  else if (isComparison(p)) {
    for (const o of [p.left, p.right]) if (o.kind === "path") out.push(o.path);
  }
  return out;
}

/** The predicate as text (canonical: the cache key and the CLI's echo). */
export function formatWhere(p: Predicate): string {
  const operand = (o: Operand) =>
    o.kind === "path" ? o.path : o.kind === "number" ? String(o.value) : JSON.stringify(o.value);
  if (p.op === "and" || p.op === "or")
    return `(${formatWhere(p.left)} ${p.op} ${formatWhere(p.right)})`;
  if (p.op === "not") return `not ${formatWhere(p.operand)}`;
  if (!isComparison(p)) return "";
  return `${operand(p.left)} ${p.op} ${operand(p.right)}`;
}

/** A predicate's field: the leaf and the record field name it was copied to. */
export interface BoundField {
  readonly leaf: Leaf;
  readonly name: string;
}

const FLIP: Record<CompareOp, CompareOp> = {
  "==": "==",
  "!=": "!=",
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
  "^=": "^=",
};

const JUMP = {
  "==": [jeq, jeq],
  "!=": [jne, jne],
  "<": [jlt, jslt],
  "<=": [jle, jsle],
  ">": [jgt, jsgt],
  ">=": [jge, jsge],
} as const;

const numeric = (leaf: Leaf) =>
  leaf.value.type === "int" || leaf.value.type === "bool" || leaf.value.type === "enum";
const isSigned = (leaf: Leaf) =>
  (leaf.value.type === "int" || leaf.value.type === "enum") && leaf.value.signed;
const sizeOf = (leaf: Leaf) =>
  leaf.value.type === "int" || leaf.value.type === "bool" || leaf.value.type === "enum"
    ? leaf.value.size
    : 0;
const describeLeaf = (leaf: Leaf) => `${leaf.path} (${leaf.cType})`;

function range(leaf: Leaf): [bigint, bigint] {
  const bits = BigInt(sizeOf(leaf) * 8);
  return isSigned(leaf)
    ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n]
    : [0n, (1n << bits) - 1n];
}

/**
 * Compiles a predicate into code that jumps to "out" when an object does not
 * match. `field(path)` gives the bound field of a path; `at(name)` its stack
 * offset in the record.
 */
export function compileWhere(
  p: Predicate,
  field: (path: string) => BoundField,
  at: (name: string) => number,
): Item[] {
  let labels = 0;
  const fresh = () => `where.${labels++}`;
  const code: Item[] = [];
  /** The `ja`s: control does not fall through them. */
  const unconditional = new WeakSet<object>();
  const jump = (target: string) => {
    const insn = ja(target);
    unconditional.add(insn);
    return insn;
  };
  const enumValue = (leaf: Leaf, name: string): bigint | undefined => {
    if (leaf.value.type !== "enum") return undefined;
    for (const [v, n] of leaf.value.names) if (n === name) return BigInt(v);
    return undefined;
  };
  /** Loads a numeric field into `reg`, sign-extended when signed. */
  const load = (reg: Reg, f: BoundField) => {
    const size = sizeOf(f.leaf);
    const width = ({ 1: "u8", 2: "u16", 4: "u32", 8: "u64" } as const)[size as 1 | 2 | 4 | 8];
    code.push(ldx(width, reg, "r10", at(f.name)));
    if (isSigned(f.leaf) && size < 8) code.push(lsh(reg, 64 - size * 8), arsh(reg, 64 - size * 8));
  };
  const compare = (op: CompareOp, left: Operand, right: Operand, yes: string, no: string) => {
    if (left.kind !== "path") {
      if (right.kind !== "path") {
        throw new QueryError(
          `where: ${formatWhere({ op, left, right })} compares two constants; name a field`,
        );
      }
      return compare(FLIP[op], right, left, yes, no);
    }
    const lf = field(left.path);
    const leaf = lf.leaf;
    if (leaf.value.type === "string") {
      if (op !== "==" && op !== "!=" && op !== "^=") {
        throw new QueryError(
          `where: ${describeLeaf(leaf)} is a string: only ==, != and ^= (starts with) apply to it, not ${op}`,
        );
      }
      if (right.kind !== "string") {
        throw new QueryError(
          `where: ${describeLeaf(leaf)} is a string; compare it with a quoted string, not ${right.kind === "path" ? `the field ${right.path}` : `the number ${right.value}`}`,
        );
      }
      const bytes = new TextEncoder().encode(right.value);
      const cap = leaf.len ?? 0;
      const [match, miss] = op === "!=" ? [no, yes] : [yes, no];
      // A literal longer than what is copied (the NUL included) never matches.
      if (bytes.length > (op === "^=" ? cap : cap - 1)) {
        code.push(jump(miss));
        return;
      }
      const base = at(lf.name);
      for (let i = 0; i < bytes.length; i++) {
        code.push(ldx("u8", "r1", "r10", base + i), jne("r1", bytes[i]!, miss));
      }
      if (op !== "^=") code.push(ldx("u8", "r1", "r10", base + bytes.length), jne("r1", 0, miss));
      code.push(jump(match));
      return;
    }
    if (!numeric(leaf)) {
      throw new QueryError(
        `where: ${describeLeaf(leaf)} is an array; compare one element (${leaf.path}[0])`,
      );
    }
    if (op === "^=")
      throw new QueryError(
        `where: ^= (starts with) applies to strings; ${describeLeaf(leaf)} is a number`,
      );
    let signed = isSigned(leaf);
    load("r1", lf);
    if (right.kind === "string") {
      throw new QueryError(
        `where: ${describeLeaf(leaf)} is a number; compare it with a number, not the string ${JSON.stringify(right.value)}`,
      );
    }
    let value: bigint | undefined;
    if (right.kind === "number") value = right.value;
    else {
      const named = enumValue(leaf, right.path);
      if (named !== undefined) value = named;
      else {
        const rf = field(right.path);
        if (!numeric(rf.leaf)) {
          throw new QueryError(
            `where: ${describeLeaf(leaf)} is a number and ${describeLeaf(rf.leaf)} is not; they cannot be compared`,
          );
        }
        signed ||= isSigned(rf.leaf);
        load("r2", rf);
      }
    }
    const cond = JUMP[op][signed ? 1 : 0];
    if (value !== undefined) {
      const [lo, hi] = range(leaf);
      if (value < lo || value > hi) {
        throw new QueryError(
          `where: ${value} is outside the range of ${describeLeaf(leaf)} (${lo}..${hi})`,
        );
      }
      if (value >= -(1n << 31n) && value < 1n << 31n && (signed || value >= 0n)) {
        code.push(cond("r1", Number(value), yes));
      } else {
        code.push(ldImm64("r2", value), cond("r1", "r2", yes));
      }
    } else code.push(cond("r1", "r2", yes));
    code.push(jump(no));
  };
  const gen = (q: Predicate, yes: string, no: string) => {
    if (q.op === "and" || q.op === "or") {
      const mid = fresh();
      if (q.op === "and") gen(q.left, mid, no);
      else gen(q.left, yes, mid);
      code.push(label(mid));
      gen(q.right, yes, no);
    } else if (q.op === "not") gen(q.operand, no, yes);
    else if (isComparison(q)) compare(q.op, q.left, q.right, yes, no);
  };
  const keep = fresh();
  gen(p, keep, "out");
  code.push(label(keep), mov("r0", 0));
  return reachable(code, unconditional);
}

/**
 * The code without what no path reaches (the verifier refuses unreachable
 * instructions): a comparison decided at compile time (a string longer than
 * the field, an empty prefix) jumps past its siblings.
 */
function reachable(code: readonly Item[], unconditional: WeakSet<object>): Item[] {
  const at = new Map<string, number>();
  code.forEach((item, i) => {
    if ("label" in item) at.set(item.label, i);
  });
  const seen = new Set<number>();
  const todo = [0];
  while (todo.length > 0) {
    let i = todo.pop()!;
    while (i < code.length && !seen.has(i)) {
      seen.add(i);
      const item = code[i]!;
      const target = "label" in item ? undefined : item.target;
      if (target !== undefined && at.has(target)) todo.push(at.get(target)!);
      if (unconditional.has(item)) break;
      i++;
    }
  }
  const keep = code.at(-2);
  if (keep && "label" in keep && !seen.has(code.length - 2)) {
    // Never true: the write after the filter must still be reachable in the
    // kernel's control-flow check, so the drop is a conditional jump.
    return [mov("r1", 0), jeq("r1", 0, "out"), keep, mov("r0", 0)];
  }
  const kept = code.filter((_, i) => seen.has(i));
  // A goto to the label right after it is dropped (the kernel refused `ja +0` here).
  return kept.filter((item, i) => {
    if (!unconditional.has(item) || "label" in item) return true;
    for (let j = i + 1; j < kept.length; j++) {
      const next = kept[j]!;
      if (!("label" in next)) return true;
      if (next.label === item.target) return false;
    }
    return true;
  });
}
