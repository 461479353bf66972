// Test helpers: a few instruction encoders (the DSL is a separate package),
// kernel BTF lookups, and bpffs paths that clean up after themselves.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { readKernelBtf } from "../scripts/btf-tables.mjs";

export function insn(
  opcode: number,
  dst: number,
  src: number,
  off: number,
  imm: number,
): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = opcode;
  b[1] = (dst & 0xf) | ((src & 0xf) << 4);
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return b;
}

export const mov64Imm = (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm);
export const mov64Reg = (dst: number, src: number) => insn(0xbf, dst, src, 0, 0);
export const ldxdw = (dst: number, src: number, off: number) => insn(0x79, dst, src, off, 0);
export const jeqImm = (dst: number, imm: number, off: number) => insn(0x15, dst, 0, off, imm);
export const call = (helper: number) => insn(0x85, 0, 0, 0, helper);
export const exit = () => insn(0x95, 0, 0, 0, 0);
/** ld_imm64 (two slots); relocations fill src_reg and imm. */
export const ldImm64 = (dst: number, imm = 0) =>
  concat(insn(0x18, dst, 0, 0, imm), insn(0, 0, 0, 0, 0));

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** `return 0` */
export const returnZero = () => concat(mov64Imm(0, 0), exit());

const BTF_KIND_STRUCT = 4;
const BTF_KIND_FUNC = 12;
let types: ReturnType<typeof readKernelBtf> | undefined;
const btf = () => {
  types ??= readKernelBtf();
  return types;
};

/** Id of FUNC `name` in vmlinux BTF, or undefined. */
export function funcId(name: string): number | undefined {
  const id = btf().findIndex((t) => t.kind === BTF_KIND_FUNC && t.name === name);
  return id < 0 ? undefined : id;
}

/** Byte offset of `member` in `struct name`, from vmlinux BTF. */
export function memberOffset(struct: string, member: string): number {
  const types = btf();
  const t = types.find((x) => x.kind === BTF_KIND_STRUCT && x.name === struct);
  // Members may sit in anonymous unions (__bpf_md_ptr), so search through them.
  const find = (members: RawMembers, base: number): number | undefined => {
    for (const m of members ?? []) {
      if (m.name === member) return base + m.bitOffset;
      if (m.name === "") {
        const inner = find(types[m.type]?.members, base + m.bitOffset);
        if (inner !== undefined) return inner;
      }
    }
    return undefined;
  };
  const bits = find(t?.members, 0);
  if (bits === undefined) throw new Error(`no ${struct}.${member} in kernel BTF`);
  return bits / 8;
}
type RawMembers = ReturnType<typeof readKernelBtf>[number]["members"];

let pins = 0;
/** A fresh path under /sys/fs/bpf for this process. */
export function pinPath(what: string): string {
  return `/sys/fs/bpf/ts_ebpf_test_${process.pid}_${what}_${pins++}`;
}

/** Removes this process's pins. */
export function removePins(): void {
  if (!existsSync("/sys/fs/bpf")) return;
  for (const name of readdirSync("/sys/fs/bpf")) {
    if (name.startsWith(`ts_ebpf_test_${process.pid}_`))
      rmSync(`/sys/fs/bpf/${name}`, { force: true });
  }
}

export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

export const BPF_FUNC_seq_write = 127;
