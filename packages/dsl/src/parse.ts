// Parser for the text syntax: llvm-objdump's (what print() writes) and the
// verifier log's variants (decimal numbers, `pc+3`, `+8)` without a space,
// `call bpf_seq_write#127`, leading `12: (79)` positions). One statement per
// line; labels as `name:`; comments after `;` or `//`.
import type { MapReference } from "@ts-ebpf/spec";
import * as b from "./builders.js";
import { DslError, ParseError } from "./errors.js";
import { helperId } from "./helpers.js";
import {
  type AluName,
  type AtomicName,
  aluOff,
  aluOpcode,
  type Instruction,
  type Item,
  isInt,
  type JmpName,
  jmpOpcode,
  LdImm64Src,
  type MemSize,
  packetLoadOpcode,
} from "./insn.js";
import { ALU_OPERATORS, ATOMIC_OPERATORS, JMP_OPERATORS } from "./print.js";
import { checkInstruction } from "./validate.js";

type TokenKind = "ident" | "num" | "str" | "op";
interface Token {
  kind: TokenKind;
  text: string;
  /** 1-based column. */
  col: number;
  value?: bigint;
}

// Longest operators first; the `s` operators never clash with identifiers
// such as `s8` because a punctuation character follows their `s`.
const OPERATORS = [
  "s>>=",
  "<<=",
  ">>=",
  "s>=",
  "s<=",
  "s/=",
  "s%=",
  "+=",
  "-=",
  "*=",
  "/=",
  "|=",
  "&=",
  "^=",
  "%=",
  "==",
  "!=",
  ">=",
  "<=",
  "s>",
  "s<",
  ">",
  "<",
  "=",
  "&",
  "*",
  "(",
  ")",
  "[",
  "]",
  "+",
  "-",
  ":",
  ",",
  "#",
];
const escapeRegExp = (o: string) => o.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
/** One token at the sticky position: space, comment, number, operator, identifier (strings aside). */
const TOKEN = new RegExp(
  `([ \\t\\r]+)|(;|//)|(0x[0-9a-fA-F]+|\\d+)(?![\\w$])|(${OPERATORS.map(escapeRegExp).join("|")})|([A-Za-z_.$][\\w.$]*)`,
  "y",
);

class LineError extends Error {
  constructor(
    readonly reason: string,
    readonly col: number,
  ) {
    super(reason);
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/**
 * The string literal opening at `line[start]` (JSON's syntax, what print()
 * writes): its value and the index after its closing quote. Bad escapes and
 * raw control characters are LineErrors at their own column.
 */
function scanString(line: string, start: number): { value: string; end: number } {
  let value = "";
  let i = start + 1;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === '"') return { value, end: i + 1 };
    const code = ch.charCodeAt(0);
    if (code < 0x20) {
      const hex = code.toString(16).padStart(4, "0");
      throw new LineError(
        `control character U+${hex} in a string: write it as an escape (\\u${hex})`,
        i + 1,
      );
    }
    if (ch !== "\\") {
      value += ch;
      i++;
      continue;
    }
    const e = line[i + 1];
    if (e !== undefined && Object.hasOwn(SIMPLE_ESCAPES, e)) {
      value += SIMPLE_ESCAPES[e];
      i += 2;
    } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(line.slice(i + 2, i + 6))) {
      value += String.fromCharCode(Number.parseInt(line.slice(i + 2, i + 6), 16));
      i += 6;
    } else {
      if (e === undefined)
        throw new LineError("unterminated string: \\ at the end of the line", i + 1);
      const shown = e === "u" ? line.slice(i, i + 6) : `\\${e}`;
      throw new LineError(
        `invalid escape ${shown} in a string (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`,
        i + 1,
      );
    }
  }
  throw new LineError("unterminated string", start + 1);
}

/** Tokens of `line` from index `start` (columns count from the line's start). */
function tokenize(line: string, start = 0): Token[] {
  const tokens: Token[] = [];
  let at = start;
  while (at < line.length) {
    if (line[at] === '"') {
      const { value, end } = scanString(line, at);
      tokens.push({ kind: "str", text: value, col: at + 1 });
      at = end;
      continue;
    }
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(line);
    if (m === null) {
      const ch = String.fromCodePoint(line.codePointAt(at)!);
      throw new LineError(`unexpected character ${JSON.stringify(ch)}`, at + 1);
    }
    const col = at + 1;
    at = TOKEN.lastIndex;
    if (m[1] !== undefined) continue;
    if (m[2] !== undefined) break;
    if (m[3] !== undefined) tokens.push({ kind: "num", text: m[3], col, value: BigInt(m[3]) });
    else if (m[4] !== undefined) tokens.push({ kind: "op", text: m[4], col });
    else tokens.push({ kind: "ident", text: m[5]!, col });
  }
  return tokens;
}

const SIZE_NAMES = new Set(["u8", "u16", "u32", "u64", "s8", "s16", "s32"]);
const aluByOperator = new Map(
  Object.entries(ALU_OPERATORS).map(([name, op]) => [op, name as AluName]),
);
const jmpByOperator = new Map(
  Object.entries(JMP_OPERATORS).map(([name, op]) => [op, name as JmpName]),
);
const atomicByOperator = new Map(
  Object.entries(ATOMIC_OPERATORS).map(([name, op]) => [op, name as AtomicName]),
);

interface Reg {
  n: number;
  wide: boolean;
  col: number;
}

/** Context shared by the lines of one text: labels it defines, template arguments. */
interface ParseContext {
  labels: ReadonlySet<string>;
  args: readonly unknown[];
}

class LineParser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly ctx: ParseContext,
    private readonly endCol: number,
  ) {}

  private peek(k = 0): Token | undefined {
    return this.tokens[this.pos + k];
  }
  private col(): number {
    return this.peek()?.col ?? this.endCol;
  }
  private fail(reason: string, col = this.col()): never {
    throw new LineError(reason, col);
  }
  private describe(t: Token | undefined): string {
    return t === undefined ? "end of line" : JSON.stringify(t.text);
  }
  private next(): Token {
    const t = this.peek();
    if (t === undefined) this.fail("unexpected end of line");
    this.pos++;
    return t!;
  }
  private is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && (t.kind === "op" || t.kind === "ident") && t.text === text;
  }
  private accept(text: string): boolean {
    if (this.is(text)) {
      this.pos++;
      return true;
    }
    return false;
  }
  private expect(text: string): Token {
    if (!this.is(text))
      this.fail(`expected ${JSON.stringify(text)}, found ${this.describe(this.peek())}`);
    return this.next();
  }
  end(): void {
    if (this.peek() !== undefined) this.fail(`unexpected ${this.describe(this.peek())}`);
  }

  private isReg(k = 0): boolean {
    const t = this.peek(k);
    return t?.kind === "ident" && /^[rw]\d+$/.test(t.text);
  }
  private reg(): Reg {
    const t = this.peek();
    if (t?.kind === "ident" && /^[rw]\d+$/.test(t.text)) {
      const n = Number(t.text.slice(1));
      if (n > 10 || t.text.length > 3 || (t.text.length === 3 && n < 10))
        this.fail(`invalid register ${t.text} (r0..r10)`);
      this.pos++;
      return { n, wide: t.text[0] === "r", col: t.col };
    }
    return this.fail(`expected a register, found ${this.describe(t)}`);
  }
  /** A signed number: optional sign, decimal or hex. */
  private number(): bigint {
    const neg = this.accept("-");
    if (!neg) this.accept("+");
    const t = this.peek();
    if (t?.kind !== "num") this.fail(`expected a number, found ${this.describe(t)}`);
    this.pos++;
    return neg ? -t!.value! : t!.value!;
  }
  private isNumber(): boolean {
    const t = this.peek();
    return t?.kind === "num" || ((this.is("-") || this.is("+")) && this.peek(1)?.kind === "num");
  }
  private int(bits: number, what: string): number {
    const col = this.col();
    const v = this.number();
    if (v < -(1n << BigInt(bits - 1)) || v >= 1n << BigInt(bits - 1))
      this.fail(`${what} ${v} out of range (signed ${bits}-bit)`, col);
    return Number(v);
  }
  /** A 32-bit immediate; unsigned values up to 2^32-1 wrap for 32-bit operations. */
  private imm(wide: boolean): number {
    const col = this.col();
    const v = this.number();
    if (!wide && v >= 1n << 31n && v < 1n << 32n) return Number(BigInt.asIntN(32, v));
    if (v < -(1n << 31n) || v >= 1n << 31n)
      this.fail(`immediate ${v} out of range (signed 32-bit)`, col);
    return Number(v);
  }

  /** `+0x3`, `-1`, `pc+3`, or a label: a jump target. */
  private target(): b.JumpTarget {
    if (this.accept("pc")) return this.int(32, "offset");
    if (this.isNumber()) return this.int(32, "offset");
    const t = this.next();
    if (t.kind !== "ident")
      this.fail(`expected a label or offset, found ${this.describe(t)}`, t.col);
    return t.text;
  }

  /** `(rN + off)` with the `(` already consumed: the register and offset. */
  private address(): { reg: Reg; off: number } {
    const reg = this.reg();
    let off = 0;
    if (this.is("+") || this.is("-")) {
      const neg = this.next().text === "-";
      const col = this.col();
      const v = this.number();
      off = Number(neg ? -v : v);
      if (!isInt(off, 16)) this.fail(`offset ${off} out of range (signed 16-bit)`, col);
    }
    this.expect(")");
    return { reg, off };
  }
  /** `*(u64 *)` / `(u64 *)`, returning the size name. */
  private sizeCast(): { size: string; col: number } {
    this.expect("(");
    const t = this.next();
    if (t.kind !== "ident" || !SIZE_NAMES.has(t.text))
      this.fail(
        `expected a size (u8, u16, u32, u64, s8, s16, s32), found ${this.describe(t)}`,
        t.col,
      );
    this.expect("*");
    this.expect(")");
    return { size: t.text, col: t.col };
  }
  private unsignedSize(s: { size: string; col: number }): MemSize {
    if (!s.size.startsWith("u"))
      this.fail(`${s.size} is only valid for sign-extending loads`, s.col);
    return s.size as MemSize;
  }

  statement(): Instruction {
    const t = this.peek()!;
    if (t.kind === "ident") {
      switch (t.text) {
        case "exit":
          this.pos++;
          return b.exit();
        case "goto":
          this.pos++;
          return b.ja(this.target());
        case "gotol":
          this.pos++;
          return b.gotol(this.target());
        case "if":
          this.pos++;
          return this.conditional();
        case "call":
          this.pos++;
          return this.call();
        case "lock":
          this.pos++;
          return this.lock();
        case "store_release": {
          this.pos++;
          this.expect("(");
          const size = this.unsignedSize(this.sizeCast());
          this.expect("(");
          const { reg, off } = this.address();
          this.expect(",");
          const src = this.reg();
          this.expect(")");
          return b.atomic("store_release", size, rname(reg), off, rname(src));
        }
      }
      if (this.isReg()) return this.assignment();
    }
    if (this.is("*")) {
      this.pos++;
      const size = this.unsignedSize(this.sizeCast());
      this.expect("(");
      const { reg, off } = this.address();
      this.expect("=");
      if (this.isReg()) return b.stx(size, rname(reg), off, rname(this.reg()));
      return b.st(size, rname(reg), off, this.int(32, "immediate"));
    }
    return this.fail(`unknown instruction starting with ${this.describe(t)}`, t.col);
  }

  private conditional(): Instruction {
    const dst = this.reg();
    const opTok = this.next();
    const op = jmpByOperator.get(opTok.text);
    if (op === undefined)
      this.fail(
        `expected a comparison (==, !=, >, s<, &, ...), found ${this.describe(opTok)}`,
        opTok.col,
      );
    let fields: Pick<Instruction, "opcode" | "src" | "imm">;
    if (this.isReg()) {
      const src = this.reg();
      if (src.wide !== dst.wide) this.fail("mixed r and w registers", src.col);
      fields = { opcode: jmpOpcode(dst.wide, op!, true), src: src.n, imm: 0 };
    } else {
      fields = { opcode: jmpOpcode(dst.wide, op!, false), src: 0, imm: this.imm(dst.wide) };
    }
    this.expect("goto");
    const target = this.target();
    return build({
      ...fields,
      dst: dst.n,
      ...(typeof target === "string" ? { off: 0, target } : { off: target }),
    });
  }

  private call(): Instruction {
    if (this.accept("pc")) return b.callSubprog(this.int(32, "offset"));
    if (this.isNumber()) {
      const col = this.col();
      const v = this.number();
      if (v < 0n || v >= 1n << 31n) this.fail(`invalid helper id ${v}`, col);
      return b.call(Number(v));
    }
    const t = this.next();
    if (t.kind !== "ident")
      this.fail(`expected a helper, kfunc or label, found ${this.describe(t)}`, t.col);
    if (t.text === "kfunc" && this.accept("#")) {
      const id = this.int(32, "BTF id");
      const off = this.accept(",") ? this.int(16, "BTF fd index") : 0;
      return b.callKfunc(id, off);
    }
    if (this.ctx.labels.has(t.text)) return b.callSubprog(t.text);
    // The verifier prints kernel functions as `call bpf_rcu_read_lock#75012`;
    // a name that is neither a helper nor a label is a kfunc by name.
    if (!isHelper(t.text)) {
      if (!this.accept("#")) return b.kfunc(t.text);
      const col = this.col();
      const btfId = this.int(32, "BTF id");
      if (btfId <= 0) this.fail(`invalid BTF id ${btfId}`, col);
      return b.kfunc(t.text, undefined, btfId);
    }
    let id: number;
    try {
      id = helperId(t.text);
    } catch (e) {
      if (e instanceof DslError)
        this.fail(`unknown helper or label ${JSON.stringify(t.text)}`, t.col);
      throw e;
    }
    if (this.accept("#")) {
      // Verifier style `call bpf_seq_write#127`: the number must agree.
      const col = this.col();
      if (BigInt(id!) !== this.number()) this.fail(`helper ${t.text} has id ${id!}`, col);
    }
    return b.call(id!);
  }

  private lock(): Instruction {
    this.expect("*");
    const size = this.unsignedSize(this.sizeCast());
    this.expect("(");
    const { reg, off } = this.address();
    const opTok = this.next();
    const op = atomicByOperator.get(opTok.text);
    if (op === undefined)
      this.fail(`expected +=, |=, &= or ^=, found ${this.describe(opTok)}`, opTok.col);
    return b.atomic(op!, size, rname(reg), off, rname(this.reg()));
  }

  private assignment(): Instruction {
    const dst = this.reg();
    const p = dst.wide ? "r" : "w";
    const opTok = this.next();
    if (opTok.text !== "=") {
      const op = aluByOperator.get(opTok.text);
      if (op === undefined || opTok.kind !== "op")
        this.fail(`expected an assignment operator, found ${this.describe(opTok)}`, opTok.col);
      return this.alu(op!, dst);
    }
    const t = this.peek();
    if (t === undefined) return this.fail("expected a value after =");
    if (this.is("*")) {
      this.pos++;
      const s = this.sizeCast();
      if (this.accept("skb")) return this.ldSkb(dst, this.unsignedSize(s));
      this.expect("(");
      const { reg, off } = this.address();
      return s.size.startsWith("s")
        ? b.ldxsx(s.size as "s8", rname(dst), rname(reg), off)
        : b.ldx(s.size as MemSize, rname(dst), rname(reg), off);
    }
    if (this.is("(") && this.peek(1)?.kind === "ident" && /^s(8|16|32)$/.test(this.peek(1)!.text)) {
      this.pos++;
      const bits = Number(this.next().text.slice(1)) as 8 | 16 | 32;
      this.expect(")");
      const src = this.reg();
      if (src.wide !== dst.wide) this.fail("mixed r and w registers", src.col);
      if (!dst.wide && bits === 32)
        this.fail("w registers sign-extend from s8 or s16 only", src.col);
      return dst.wide
        ? b.movsx(rname(dst), rname(src), bits)
        : b.movsx32(rname(dst), rname(src), bits as 8 | 16);
    }
    if (this.is("-") && this.isReg(1)) {
      this.pos++;
      const src = this.reg();
      if (src.n !== dst.n || src.wide !== dst.wide)
        this.fail(`negation must be ${p}${dst.n} = -${p}${dst.n}`, src.col);
      return dst.wide ? b.neg(rname(dst)) : b.neg32(rname(dst));
    }
    if (t.kind === "ident") {
      const swap = /^(be|le|bswap)(16|32|64)$/.exec(t.text);
      if (swap) {
        this.pos++;
        const src = this.reg();
        if (src.n !== dst.n)
          this.fail(`byte swap must be r${dst.n} = ${t.text} r${dst.n}`, src.col);
        const bits = Number(swap[2]) as 16 | 32 | 64;
        const f = swap[1] === "be" ? b.be : swap[1] === "le" ? b.le : b.bswap;
        return f(rname(dst), bits);
      }
      const fetch = /^atomic(?:64)?_(fetch_(?:add|or|and|xor)|xchg|cmpxchg)$/.exec(t.text);
      if (fetch) {
        this.pos++;
        return this.atomicCall(dst, fetch[1] as AtomicName, true);
      }
      if (t.text === "xchg_64" || t.text === "xchg32_32") {
        this.pos++;
        return this.atomicCall(dst, "xchg", false);
      }
      if (t.text === "cmpxchg_64" || t.text === "cmpxchg32_32") {
        this.pos++;
        return this.atomicCall(dst, "cmpxchg", false);
      }
      if (t.text === "load_acquire") {
        this.pos++;
        this.expect("(");
        const size = this.unsignedSize(this.sizeCast());
        this.expect("(");
        const { reg, off } = this.address();
        this.expect(")");
        return b.atomic("load_acquire", size, rname(dst), off, rname(reg));
      }
      if (t.text === "str" && this.is("(", 1)) {
        if (!dst.wide) this.fail("ld_imm64 needs an r register", dst.col);
        this.pos += 2;
        const text = this.next();
        if (text.kind !== "str")
          this.fail(`expected a string, found ${this.describe(text)}`, text.col);
        this.expect(")");
        const offset = this.is("+") || this.is("-") ? this.int(32, "string offset") : 0;
        return b.ldStr(rname(dst), text.text, offset);
      }
      if (t.text === "map" || t.text === "btf" || t.text === "func") {
        if (!dst.wide) this.fail("ld_imm64 needs an r register", dst.col);
        this.pos++;
        return this.pseudo(dst, t.text);
      }
      if (this.isReg()) {
        const src = this.reg();
        if (src.wide !== dst.wide) this.fail("mixed r and w registers", src.col);
        return dst.wide ? b.mov(rname(dst), rname(src)) : b.mov32(rname(dst), rname(src));
      }
    }
    if (this.isNumber()) {
      const col = this.col();
      const v = this.number();
      if (this.accept("ll")) {
        if (!dst.wide) this.fail("ld_imm64 needs an r register", dst.col);
        if (v < -(1n << 63n) || v >= 1n << 64n) this.fail(`64-bit constant ${v} out of range`, col);
        return b.ldImm64(rname(dst), v);
      }
      if (!dst.wide && v >= 1n << 31n && v < 1n << 32n)
        return b.mov32(rname(dst), Number(BigInt.asIntN(32, v)));
      if (v >= -(1n << 31n) && v < 1n << 31n)
        return (dst.wide ? b.mov : b.mov32)(rname(dst), Number(v));
      // The verifier prints ld_imm64 without `ll`: a constant too wide for mov is one.
      if (dst.wide && v >= -(1n << 63n) && v < 1n << 64n) return b.ldImm64(rname(dst), v);
      this.fail(`constant ${v} out of range`, col);
    }
    return this.fail(`unexpected ${this.describe(t)}`, t.col);
  }

  private alu(op: AluName, dst: Reg): Instruction {
    const off = aluOff(op);
    if (op === "mov") this.fail("unexpected mov");
    if (this.isReg()) {
      const src = this.reg();
      if (src.wide !== dst.wide) this.fail("mixed r and w registers", src.col);
      return build({ opcode: aluOpcode(dst.wide, op, true), dst: dst.n, src: src.n, off, imm: 0 });
    }
    return build({
      opcode: aluOpcode(dst.wide, op, false),
      dst: dst.n,
      src: 0,
      off,
      imm: this.imm(dst.wide),
    });
  }

  /** `name((u64 *)(r1 + 0), r2)` or `name(r1 + 0, r0, r2)` after the name. */
  private atomicCall(dst: Reg, op: AtomicName, castForm: boolean): Instruction {
    this.expect("(");
    let size: MemSize = dst.wide ? "u64" : "u32";
    let reg: Reg;
    let off = 0;
    if (castForm || this.is("(")) {
      size = this.unsignedSize(this.sizeCast());
      this.expect("(");
      ({ reg, off } = this.address());
    } else {
      // llvm's `xchg_64(r1 + 0x0, r2)`: an address without parentheses.
      reg = this.reg();
      if (this.is("+") || this.is("-")) {
        const neg = this.next().text === "-";
        const v = this.number();
        off = Number(neg ? -v : v);
      }
    }
    this.expect(",");
    let src = this.reg();
    if (op === "cmpxchg") {
      if (src.n !== 0 || dst.n !== 0) this.fail("cmpxchg compares with and returns in r0", src.col);
      this.expect(",");
      src = this.reg();
    } else if (src.n !== dst.n) {
      this.fail(`${op} returns the old value in its source register (r${src.n})`, dst.col);
    }
    this.expect(")");
    if (!isInt(off, 16)) this.fail(`offset ${off} out of range (signed 16-bit)`);
    return b.atomic(op, size, rname(reg), off, rname(src));
  }

  private ldSkb(dst: Reg, size: MemSize): Instruction {
    if (dst.n !== 0) this.fail("legacy packet loads write r0", dst.col);
    this.expect("[");
    if (this.isReg()) {
      const src = this.reg();
      let imm = 0;
      if (this.is("+") || this.is("-")) {
        const neg = this.next().text === "-";
        const v = this.int(33, "offset");
        imm = neg ? -v : v;
      }
      this.expect("]");
      return build({ opcode: packetLoadOpcode(size, true), dst: 0, src: src.n, off: 0, imm });
    }
    const imm = this.int(32, "offset");
    this.expect("]");
    return build({ opcode: packetLoadOpcode(size, false), dst: 0, src: 0, off: 0, imm });
  }

  /** After `map`, `btf` or `func`: the ld_imm64 pseudo forms. */
  private pseudo(dst: Reg, kind: string): Instruction {
    const d = rname(dst);
    this.expect("[");
    if (kind === "func") {
      const target = this.target();
      this.expect("]");
      return b.ldFunc(d, target);
    }
    const key = this.next();
    if (kind === "btf") {
      if (key.text !== "id") this.fail("expected btf[id:N]", key.col);
      this.expect(":");
      const id = this.int(32, "BTF id");
      this.expect("]");
      return b.ldBtfId(d, id);
    }
    let map: MapReference | undefined;
    let imm = 0;
    let pseudoBase: number = LdImm64Src.MAP_FD;
    this.expect(":");
    switch (key.text) {
      case "name": {
        const n = this.next();
        if (n.kind !== "ident" && n.kind !== "str")
          this.fail(`expected a map name, found ${this.describe(n)}`, n.col);
        map = { name: n.text };
        break;
      }
      case "fd":
      case "id":
        // `id:` as the verifier prints it: the kernel's map id stands where the fd was.
        imm = this.int(32, "map fd");
        break;
      case "idx":
        imm = this.int(32, "map index");
        pseudoBase = LdImm64Src.MAP_IDX;
        break;
      case "arg": {
        const colArg = this.col();
        const i = Number(this.number());
        const ref = this.ctx.args[i];
        if (!isMapReference(ref)) this.fail("template argument is not a map reference", colArg);
        map = ref as MapReference;
        break;
      }
      default:
        this.fail(
          `expected name:, fd:, id: or idx: in map[...], found ${this.describe(key)}`,
          key.col,
        );
    }
    this.expect("]");
    if (!this.accept("[")) {
      this.accept("ll");
      if (pseudoBase === LdImm64Src.MAP_IDX) return b.ldPseudo(d, LdImm64Src.MAP_IDX, imm);
      return map ? b.ldMapFd(d, map) : b.ldPseudo(d, LdImm64Src.MAP_FD, imm);
    }
    const zeroCol = this.col();
    if (this.number() !== 0n) this.fail("only value 0 of a map can be addressed", zeroCol);
    this.expect("]");
    const offset = this.is("+") || this.is("-") ? this.int(32, "value offset") : 0;
    this.accept("ll");
    if (pseudoBase === LdImm64Src.MAP_IDX)
      return b.ldPseudo(d, LdImm64Src.MAP_IDX_VALUE, imm, offset);
    return map ? b.ldMapValue(d, map, offset) : b.ldPseudo(d, LdImm64Src.MAP_VALUE, imm, offset);
  }
}

const rname = (r: Reg): b.Reg => `r${r.n}` as b.Reg;

function build(insn: Instruction): Instruction {
  checkInstruction(insn);
  return insn;
}

function isHelper(name: string): boolean {
  try {
    helperId(name);
    return true;
  } catch {
    return false;
  }
}

export function isMapReference(v: unknown): v is MapReference {
  if (typeof v !== "object" || v === null) return false;
  if ("name" in v) return typeof (v as { name: unknown }).name === "string";
  if ("handle" in v) {
    const h = (v as { handle: unknown }).handle;
    return typeof h === "object" && h !== null && typeof (h as { fd: unknown }).fd === "number";
  }
  return false;
}

const LABEL_DEF = /^\s*(?:\d+:\s*(?:\([0-9a-f]{2}\)\s*)?)?([A-Za-z_.$][\w.$]*)\s*:/;
/** `12: (79) ` in verifier logs, `  12:\t79 12 ...\t` in llvm-objdump output. */
const POSITION_PREFIX =
  /^(\s*\d+:\s*(?:\([0-9a-f]{2}\)\s*|(?:[0-9a-f]{2}[ \t]+){8}(?:(?:[0-9a-f]{2}[ \t]+){8})?)?)/;

function parseWith(text: string, args: readonly unknown[]): Item[] {
  if (typeof text !== "string") throw new TypeError(`text must be a string, not ${typeof text}`);
  const lines = text.split("\n");
  const labels = new Set<string>();
  for (const line of lines) {
    const m = LABEL_DEF.exec(line.replace(POSITION_PREFIX, ""));
    if (m) labels.add(m[1]!);
  }
  const ctx: ParseContext = { labels, args };
  const items: Item[] = [];
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const prefix = POSITION_PREFIX.exec(raw)?.[0] ?? "";
    try {
      let tokens = tokenize(raw, prefix.length);
      while (
        tokens.length >= 2 &&
        tokens[0]!.kind === "ident" &&
        tokens[1]!.text === ":" &&
        !/^[rw]\d+$/.test(tokens[0]!.text)
      ) {
        items.push(b.label(tokens[0]!.text));
        tokens = tokens.slice(2);
      }
      if (tokens.length === 0) return;
      const p = new LineParser(tokens, ctx, raw.length + 1);
      const insn = p.statement();
      p.end();
      items.push(insn);
    } catch (e) {
      if (e instanceof LineError) throw new ParseError(e.reason, lineNo, e.col, raw);
      if (e instanceof DslError) {
        const col = raw.length - raw.trimStart().length + 1;
        throw new ParseError(e.message, lineNo, col, raw);
      }
      throw e;
    }
  });
  return items;
}

/** Parses a listing into labels and instructions; ParseError with line and column. */
export function parse(text: string): Item[] {
  return parseWith(text, []);
}

/**
 * Tagged template: asm`r1 = ${map}` with numbers, bigints, strings and map
 * references ({ name } or { handle }) interpolated.
 */
export function asm(strings: TemplateStringsArray, ...values: unknown[]): Item[] {
  const args: unknown[] = [];
  // Raw text, so `str("%d\n")` keeps its escape for the string token.
  let text = strings.raw[0]!;
  values.forEach((v, i) => {
    if (typeof v === "number" || typeof v === "bigint") text += String(v);
    else if (typeof v === "string") text += v;
    else if (isMapReference(v)) {
      text += `map[arg:${args.length}]`;
      args.push(v);
    } else throw new TypeError(`asm: cannot interpolate ${typeof v} at argument ${i}`);
    text += strings.raw[i + 1]!;
  });
  return parseWith(text, args);
}

/** Parses exactly one instruction (no labels). */
export function parseInstruction(text: string): Instruction {
  const items = parseWith(text, []);
  const [only] = items;
  if (items.length !== 1 || only === undefined || "label" in only) {
    throw new ParseError("expected exactly one instruction", 1, 1, text);
  }
  return only;
}
