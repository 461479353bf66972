// C rendering of BTF types, following libbpf's btf_dump (what `bpftool btf dump
// ... format c` prints): the same declarator rules, explicit bit padding,
// packed detection and enum size attributes. Differences: no `___N` renaming of
// duplicate names, and definitions are printed for the asked type only.
import type { Btf } from "./btf.js";
import { BtfError } from "./errors.js";
import type { BtfType, CompositeType, Enum64Type, EnumType } from "./types.js";

const PTR_SIZE = 8;
/** Longer declarator chains or deeper inline nesting are treated as loops. */
const MAX_CHAIN = 64;
/** Output bound: hostile BTF can nest anonymous types to exponential sizes. */
const MAX_OUTPUT = 4 << 20;

function checkBudget(c: Ctx, id: number): void {
  if (c.out.length > MAX_OUTPUT) {
    throw new BtfError(`type id ${id}: C text longer than ${MAX_OUTPUT} characters`);
  }
}

export interface FormatCOptions {
  /**
   * Print `__attribute__((mode(byte)))` / `mode(word)` on enums whose size C
   * would not infer, as libbpf >= 1.2 does (default true). bpftool built on
   * libbpf 1.1 (Debian 12's v7.1) leaves them out.
   */
  enumSizeAttributes?: boolean;
}

interface Ctx {
  readonly btf: Btf;
  readonly enumSizeAttributes: boolean;
  /** Print anonymous structs, unions and enums as `struct` rather than inline. */
  readonly skipAnonDefs: boolean;
  out: string;
  depth: number;
}

const pfx = (lvl: number): string => "\t".repeat(Math.min(lvl, 24));

function alignOrZero(btf: Btf, id: number): number {
  try {
    return btf.alignOf(id);
  } catch (e) {
    if (e instanceof BtfError) return 0;
    throw e;
  }
}

function sizeOrZero(btf: Btf, id: number): number {
  try {
    return btf.sizeOf(id);
  } catch (e) {
    if (e instanceof BtfError) return 0;
    throw e;
  }
}

function isPacked(btf: Btf, t: CompositeType): boolean {
  let maxAlign = 1;
  for (const m of t.members) {
    const align = alignOrZero(btf, m.type);
    if (align && m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return true;
    maxAlign = Math.max(align, maxAlign);
  }
  return t.size % maxAlign !== 0;
}

const roundup = (x: number, to: number): number => Math.ceil(x / to) * to;

function emitBitPadding(
  c: Ctx,
  curOffIn: number,
  nextOff: number,
  nextAlign: number,
  inBitfield: boolean,
  lvl: number,
): void {
  const pads: [string, number][] = [
    ["long", PTR_SIZE * 8],
    ["int", 32],
    ["short", 16],
    ["char", 8],
  ];
  let curOff = curOffIn;
  if (curOff >= nextOff) return;
  // One line per 64 bits of padding: refuse gaps that would exceed the output bound.
  if (c.out.length + ((nextOff - curOff) / 64) * (lvl + 10) > MAX_OUTPUT) {
    throw new BtfError(`padding of ${nextOff - curOff} bits is too large to print`);
  }
  let newOff = 0;
  let padBits = 0;
  let padType = "";
  for (const [name, bits] of pads) {
    padBits = bits;
    padType = name;
    newOff = roundup(curOff, bits);
    if (newOff <= nextOff) break;
  }
  if (newOff > curOff && newOff <= nextOff) {
    if (
      inBitfield ||
      (newOff === nextOff && roundup(curOff, nextAlign * 8) !== newOff) ||
      (newOff !== nextOff && nextOff - newOff <= newOff - curOff)
    ) {
      c.out += `\n${pfx(lvl)}${padType}: ${inBitfield ? newOff - curOff : 0};`;
    }
    curOff = newOff;
  }
  while (curOff !== nextOff) {
    const bits = Math.min(nextOff - curOff, padBits);
    if (bits === padBits) {
      c.out += `\n${pfx(lvl)}${padType}: ${padBits};`;
      curOff += bits;
      continue;
    }
    for (let i = pads.length - 1; i >= 0; i--) {
      const [name, pbits] = pads[i]!;
      padType = name;
      padBits = pbits;
      if (pbits < bits) continue;
      c.out += `\n${pfx(lvl)}${name}: ${bits};`;
      curOff += bits;
      break;
    }
  }
}

function emitStructDef(c: Ctx, t: CompositeType, lvl: number): void {
  if (++c.depth > MAX_CHAIN) {
    throw new BtfError(`type id ${t.id}: anonymous types nest deeper than ${MAX_CHAIN} (a loop?)`);
  }
  const isStruct = t.kind === "struct";
  const align = alignOrZero(c.btf, t.id);
  const packed = isStruct ? isPacked(c.btf, t) : false;
  c.out += `${t.kind}${t.name ? ` ${t.name}` : ""} {`;
  let off = 0;
  let prevBitfield = false;
  for (const m of t.members) {
    const mAlign = packed ? 1 : alignOrZero(c.btf, m.type);
    const inBitfield = prevBitfield && m.bitfieldSize !== 0;
    emitBitPadding(c, off, m.bitOffset, mAlign, inBitfield, lvl + 1);
    checkBudget(c, t.id);
    c.out += `\n${pfx(lvl + 1)}`;
    emitTypeDecl(c, m.type, m.name, lvl + 1);
    if (m.bitfieldSize) {
      c.out += `: ${m.bitfieldSize}`;
      off = m.bitOffset + m.bitfieldSize;
      prevBitfield = true;
    } else {
      off = m.bitOffset + sizeOrZero(c.btf, m.type) * 8;
      prevBitfield = false;
    }
    c.out += ";";
  }
  if (isStruct) emitBitPadding(c, off, t.size * 8, align, false, lvl + 1);
  if (t.members.length || t.size) c.out += `\n${pfx(lvl)}}`;
  else c.out += "}";
  if (packed) c.out += " __attribute__((packed))";
  c.depth--;
}

function emitEnumDef(c: Ctx, t: EnumType | Enum64Type, lvl: number): void {
  c.out += `enum${t.name ? ` ${t.name}` : ""}`;
  if (t.values.length === 0) return;
  c.out += " {";
  for (const v of t.values) {
    checkBudget(c, t.id);
    if (t.kind === "enum") {
      c.out += `\n${pfx(lvl + 1)}${v.name} = ${v.value},`;
    } else {
      c.out += `\n${pfx(lvl + 1)}${v.name} = ${v.value}${t.signed ? "LL" : "ULL"},`;
    }
  }
  c.out += `\n${pfx(lvl)}}`;
  if (!c.enumSizeAttributes) return;
  if (t.size === 1) {
    c.out += " __attribute__((mode(byte)))";
  } else if (t.size === 8 && PTR_SIZE === 8) {
    const needsWordMode =
      t.kind === "enum" ||
      (t as Enum64Type).values.every((v) => BigInt.asUintN(64, v.value) >> 32n === 0n);
    if (needsWordMode) c.out += " __attribute__((mode(word)))";
  }
}

const isMod = (t: BtfType): boolean =>
  t.kind === "volatile" || t.kind === "const" || t.kind === "restrict" || t.kind === "type_tag";

function emitMods(c: Ctx, stack: BtfType[]): void {
  while (stack.length) {
    const t = stack[stack.length - 1]!;
    if (t.kind === "volatile") c.out += "volatile ";
    else if (t.kind === "const") c.out += "const ";
    else if (t.kind === "restrict") c.out += "restrict ";
    else return;
    stack.pop();
  }
}

function dropMods(stack: BtfType[]): void {
  while (stack.length && isMod(stack[stack.length - 1]!)) stack.pop();
}

function emitName(c: Ctx, name: string, lastWasPtr: boolean): void {
  c.out += `${name && !lastWasPtr ? " " : ""}${name}`;
}

/** Emits `type name` in C declarator syntax (libbpf's btf_dump_emit_type_decl). */
function emitTypeDecl(c: Ctx, id: number, fname: string, lvl: number): void {
  checkBudget(c, id);
  const stack: BtfType[] = [];
  let t = c.btf.type(id);
  for (;;) {
    stack.push(t);
    if (stack.length > MAX_CHAIN) {
      throw new BtfError(`type id ${id}: declarator chain longer than ${MAX_CHAIN} (a loop?)`);
    }
    if (t.kind === "void") break;
    if (
      t.kind === "ptr" ||
      t.kind === "volatile" ||
      t.kind === "const" ||
      t.kind === "restrict" ||
      t.kind === "type_tag" ||
      t.kind === "array"
    ) {
      t = c.btf.type(t.type);
    } else if (t.kind === "func_proto") {
      t = c.btf.type(t.returnType);
    } else {
      break;
    }
  }
  if (++c.depth > MAX_CHAIN) {
    throw new BtfError(`type id ${id}: declarations nest deeper than ${MAX_CHAIN} (a loop?)`);
  }
  emitTypeChain(c, stack, fname, lvl);
  c.depth--;
}

function emitTypeChain(c: Ctx, stack: BtfType[], fname: string, lvl: number): void {
  let lastWasPtr = true;
  while (stack.length) {
    const t = stack.pop()!;
    switch (t.kind) {
      case "void":
        emitMods(c, stack);
        c.out += "void";
        lastWasPtr = false;
        continue;
      case "int":
      case "float":
        emitMods(c, stack);
        c.out += t.name;
        break;
      case "struct":
      case "union":
        emitMods(c, stack);
        if (!t.name && !c.skipAnonDefs) emitStructDef(c, t, lvl);
        else c.out += `${t.kind}${t.name ? ` ${t.name}` : ""}`;
        break;
      case "enum":
      case "enum64":
        emitMods(c, stack);
        if (!t.name && !c.skipAnonDefs) emitEnumDef(c, t, lvl);
        else c.out += `enum ${t.name}`;
        break;
      case "fwd":
        emitMods(c, stack);
        c.out += `${t.fwdKind} ${t.name}`;
        break;
      case "typedef":
        emitMods(c, stack);
        c.out += t.name;
        break;
      case "ptr":
        c.out += lastWasPtr ? "*" : " *";
        break;
      case "volatile":
        c.out += " volatile";
        break;
      case "const":
        c.out += " const";
        break;
      case "restrict":
        c.out += " restrict";
        break;
      case "type_tag":
        emitMods(c, stack);
        c.out += t.attribute
          ? ` __attribute__((${t.name}))`
          : ` __attribute__((btf_type_tag("${t.name}")))`;
        break;
      case "array": {
        dropMods(stack);
        if (stack.length === 0) {
          emitName(c, fname, lastWasPtr);
          c.out += `[${t.nelems}]`;
          return;
        }
        const multidim = stack[stack.length - 1]!.kind === "array";
        if (fname && !lastWasPtr) c.out += " ";
        if (!multidim) c.out += "(";
        emitTypeChain(c, stack, fname, lvl);
        if (!multidim) c.out += ")";
        c.out += `[${t.nelems}]`;
        return;
      }
      case "func_proto": {
        dropMods(stack);
        if (stack.length) {
          c.out += " (";
          emitTypeChain(c, stack, fname, lvl);
          c.out += ")";
        } else {
          emitName(c, fname, lastWasPtr);
        }
        c.out += "(";
        const ps = t.params;
        if (ps.length === 0 || (ps.length === 1 && ps[0]!.type === 0)) {
          c.out += "void)";
          return;
        }
        for (let i = 0; i < ps.length; i++) {
          if (i > 0) c.out += ", ";
          if (i === ps.length - 1 && ps[i]!.type === 0) {
            c.out += "...";
            break;
          }
          emitTypeDecl(c, ps[i]!.type, ps[i]!.name, lvl);
        }
        c.out += ")";
        return;
      }
      default:
        // FUNC, VAR, DATASEC, DECL_TAG cannot appear in a declarator chain.
        throw new BtfError(`${t.kind} ${t.id} cannot be part of a C declaration`);
    }
    lastWasPtr = t.kind === "ptr";
  }
  emitName(c, fname, lastWasPtr);
}

/** `type name` (or just the type when `name` is "") as C would declare it. */
export function declaration(btf: Btf, id: number, name: string): string {
  const c: Ctx = { btf, skipAnonDefs: true, enumSizeAttributes: true, out: "", depth: 0 };
  emitTypeDecl(c, id, name, 0);
  return c.out;
}

/** The C spelling of a type: "struct task_struct *", "char[16]", "int (*)(void)". */
export function typeName(btf: Btf, id: number): string {
  return declaration(btf, id, "");
}

/**
 * The definition of one type as `bpftool btf dump file ... format c` prints it
 * (without the trailing blank line): structs, unions, enums and typedefs in
 * full; other kinds as a declaration.
 */
export function formatC(btf: Btf, id: number, options: FormatCOptions = {}): string {
  const t = btf.type(id);
  const c: Ctx = {
    btf,
    skipAnonDefs: false,
    enumSizeAttributes: options.enumSizeAttributes ?? true,
    out: "",
    depth: 0,
  };
  switch (t.kind) {
    case "struct":
    case "union":
      emitStructDef(c, t, 0);
      break;
    case "enum":
    case "enum64":
      emitEnumDef(c, t, 0);
      break;
    case "typedef":
      if (t.type === 0 && t.name === "__gnuc_va_list") {
        c.out += "typedef __builtin_va_list __gnuc_va_list";
      } else {
        c.out += "typedef ";
        emitTypeDecl(c, t.type, t.name, 0);
      }
      break;
    case "fwd":
      c.out += `${t.fwdKind} ${t.name}`;
      break;
    case "func":
      emitTypeDecl(c, t.type, t.name, 0);
      break;
    case "var":
      if (t.linkage === "extern") c.out += "extern ";
      else if (t.linkage === "static") c.out += "static ";
      emitTypeDecl(c, t.type, t.name, 0);
      break;
    case "datasec":
    case "decl_tag":
      throw new BtfError(`${t.kind} ${t.id} "${t.name}" has no C form`);
    default:
      emitTypeDecl(c, t.id, "", 0);
      return c.out;
  }
  return `${c.out};`;
}
