// Text form of instructions, in llvm-objdump's syntax (the verifier's is a
// close cousin; the parser reads both). Where llvm-objdump has no syntax or
// prints something ambiguous, we follow llvm's assembler or the kernel.
import { formatRaw, type MapReference } from "@ts-ebpf/spec";
import { helperName } from "./helpers.js";
import {
  type AluName,
  type AtomicName,
  classify,
  type Form,
  type Instruction,
  type Item,
  isLabel,
  type JmpName,
  LdImm64Src,
  type Operand,
} from "./insn.js";

export const ALU_OPERATORS: Record<AluName, string> = {
  add: "+=",
  sub: "-=",
  mul: "*=",
  div: "/=",
  sdiv: "s/=",
  or: "|=",
  and: "&=",
  lsh: "<<=",
  rsh: ">>=",
  mod: "%=",
  smod: "s%=",
  xor: "^=",
  mov: "=",
  arsh: "s>>=",
};
export const JMP_OPERATORS: Record<JmpName, string> = {
  jeq: "==",
  jne: "!=",
  jgt: ">",
  jge: ">=",
  jlt: "<",
  jle: "<=",
  jsgt: "s>",
  jsge: "s>=",
  jslt: "s<",
  jsle: "s<=",
  jset: "&",
};
export const ATOMIC_OPERATORS: Partial<Record<AtomicName, string>> = {
  add: "+=",
  or: "|=",
  and: "&=",
  xor: "^=",
};

/** Signed hex the way llvm-objdump prints immediates: 0x1f, -0x1. */
export function hex(v: number | bigint): string {
  return v < 0 ? `-0x${(-BigInt(v)).toString(16)}` : `0x${v.toString(16)}`;
}
/** `+0x3` / `-0x1`: a relative offset. */
const rel = (v: number): string => (v < 0 ? hex(v) : `+${hex(v)}`);
const mem = (reg: number, off: number): string =>
  `r${reg} ${off < 0 ? "-" : "+"} ${hex(Math.abs(off))}`;

/** `map[name:.rodata]`, `map[fd:5]`: how a map reference prints. */
export function printMapReference(map: MapReference): string {
  if ("name" in map) {
    return /^[A-Za-z_.$][\w.$]*$/.test(map.name)
      ? `map[name:${map.name}]`
      : `map[name:${JSON.stringify(map.name)}]`;
  }
  return `map[fd:${map.handle.fd}]`;
}

function operand(src: Operand, prefix: string): string {
  return "reg" in src ? `${prefix}${src.reg}` : hex(src.imm);
}

function ldImm64(insn: Instruction, f: Extract<Form, { kind: "ld_imm64" }>): string {
  const dst = `r${f.dst}`;
  const valueSuffix = (base: string) => `${base}[0]${f.imm2 < 0 ? f.imm2 : `+${f.imm2}`}`;
  switch (f.pseudo) {
    case LdImm64Src.IMM: {
      const v = BigInt.asIntN(64, (BigInt(f.imm2) << 32n) | BigInt(f.imm >>> 0));
      return `${dst} = ${hex(v)} ll`;
    }
    case LdImm64Src.MAP_FD:
      return `${dst} = ${insn.map ? printMapReference(insn.map) : `map[fd:${f.imm}]`}`;
    case LdImm64Src.MAP_VALUE:
      if (insn.str !== undefined) {
        return `${dst} = str(${JSON.stringify(insn.str)})${f.imm2 === 0 ? "" : f.imm2 < 0 ? f.imm2 : `+${f.imm2}`}`;
      }
      return `${dst} = ${valueSuffix(insn.map ? printMapReference(insn.map) : `map[fd:${f.imm}]`)}`;
    case LdImm64Src.BTF_ID:
      return `${dst} = btf[id:${f.imm}]`;
    case LdImm64Src.FUNC:
      return `${dst} = func[${insn.target ?? `pc${rel(f.imm)}`}]`;
    case LdImm64Src.MAP_IDX:
      return `${dst} = map[idx:${f.imm}]`;
    default:
      return `${dst} = ${valueSuffix(`map[idx:${f.imm}]`)}`;
  }
}

/** Prints one form (targets as labels when the instruction names one). */
export function printForm(f: Form, insn: Instruction): string {
  const target = (off: number) => insn.target ?? rel(off);
  switch (f.kind) {
    case "alu": {
      const p = f.wide ? "r" : "w";
      return `${p}${f.dst} ${ALU_OPERATORS[f.op]} ${operand(f.src, p)}`;
    }
    case "neg": {
      const p = f.wide ? "r" : "w";
      return `${p}${f.dst} = -${p}${f.dst}`;
    }
    case "movsx": {
      const p = f.wide ? "r" : "w";
      return `${p}${f.dst} = (s${f.bits})${p}${f.src}`;
    }
    case "endian":
      return `r${f.dst} = ${f.order}${f.bits} r${f.dst}`;
    case "ja":
      return `goto ${target(f.off)}`;
    case "gotol":
      return `gotol ${target(f.imm)}`;
    case "jcond": {
      const p = f.wide ? "r" : "w";
      return `if ${p}${f.dst} ${JMP_OPERATORS[f.op]} ${operand(f.src, p)} goto ${target(f.off)}`;
    }
    case "call":
      return `call ${helperName(f.id) ?? hex(f.id)}`;
    case "call_subprog":
      return `call ${insn.target ?? `pc${rel(f.imm)}`}`;
    case "call_kfunc":
      // By name: the verifier's spelling, `call bpf_iter_num_new#12345` once resolved.
      if (insn.ksym !== undefined)
        return insn.ksym.btfId === undefined
          ? `call ${insn.ksym.name}`
          : `call ${insn.ksym.name}#${insn.ksym.btfId}`;
      return f.off === 0 ? `call kfunc#${f.id}` : `call kfunc#${f.id},${f.off}`;
    case "exit":
      return "exit";
    case "ld_imm64":
      return ldImm64(insn, f);
    case "ldx":
      return `r${f.dst} = *(${f.sx ? f.size.replace("u", "s") : f.size} *)(${mem(f.src, f.off)})`;
    case "st":
      return `*(${f.size} *)(${mem(f.dst, f.off)}) = ${hex(f.imm)}`;
    case "stx":
      return `*(${f.size} *)(${mem(f.dst, f.off)}) = r${f.src}`;
    case "atomic": {
      const addr = mem(f.dst, f.off);
      const wide = f.size === "u64";
      const p = wide ? "r" : "w";
      const operator = ATOMIC_OPERATORS[f.op];
      if (operator) return `lock *(${f.size} *)(${addr}) ${operator} r${f.src}`;
      switch (f.op) {
        case "xchg":
          return wide
            ? `r${f.src} = xchg_64(${addr}, r${f.src})`
            : `w${f.src} = xchg32_32(${addr}, w${f.src})`;
        case "cmpxchg":
          return wide
            ? `r0 = cmpxchg_64(${addr}, r0, r${f.src})`
            : `w0 = cmpxchg32_32(${addr}, w0, w${f.src})`;
        case "load_acquire":
          return `r${f.dst} = load_acquire((${f.size} *)(${mem(f.src, f.off)}))`;
        case "store_release":
          return `store_release((${f.size} *)(${addr}), r${f.src})`;
        default:
          return `${p}${f.src} = atomic_${f.op}((${f.size} *)(${addr}), ${p}${f.src})`;
      }
    }
    case "ld_abs":
      return `r0 = *(${f.size} *)skb[${hex(f.imm)}]`;
    case "ld_ind":
      return f.imm === 0
        ? `r0 = *(${f.size} *)skb[r${f.src}]`
        : `r0 = *(${f.size} *)skb[r${f.src} ${f.imm < 0 ? "-" : "+"} ${hex(Math.abs(f.imm))}]`;
  }
}

/** Raw fields, for messages about instructions that are not valid. */
export const printRaw = formatRaw;

/** One instruction as text; invalid fields print raw (`.insn opcode=...`). */
export function printInstruction(insn: Instruction): string {
  let form: Form;
  try {
    form = classify(insn);
  } catch {
    return printRaw(insn);
  }
  return printForm(form, insn);
}

/** A listing: labels on their own line (`name:`), instructions indented. */
export function print(items: readonly Item[]): string {
  return items
    .map((item) => (isLabel(item) ? `${item.label}:` : `  ${printInstruction(item)}`))
    .join("\n");
}
