// Test helpers: a few instruction encoders (the DSL is a separate package),
// kernel BTF lookups, and bpffs paths that clean up after themselves.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import {
  decode,
  type Instruction,
  LD_IMM64,
  LdImm64Src,
  type Relocation,
  slotsOf,
} from "@ts-ebpf/spec";

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
/** ld_imm64 (two slots); specInstructions() puts map references on it. */
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

/**
 * The instructions of `bytes` as a ProgramSpec carries them: decoded, with
 * each map reference (as mapReferences() lists them) on the instruction at
 * its slot (an ld_imm64 becomes map fd / map value; any other instruction
 * just gets the reference, for tests of the loader's refusal).
 */
export function specInstructions(
  bytes: Uint8Array,
  maps: readonly Relocation[] = [],
): Instruction[] {
  const insns = decode(bytes);
  const indexAt = new Map<number, number>();
  let slot = 0;
  insns.forEach((insn, i) => {
    indexAt.set(slot, i);
    slot += slotsOf(insn);
  });
  for (const m of maps) {
    const i = indexAt.get(m.insn);
    if (i === undefined) throw new Error(`test bug: no instruction starts at slot ${m.insn}`);
    const insn = insns[i]!;
    insns[i] =
      insn.opcode !== LD_IMM64
        ? { ...insn, map: m.map }
        : m.kind === "map_fd"
          ? { ...insn, src: LdImm64Src.MAP_FD, map: m.map }
          : { ...insn, src: LdImm64Src.MAP_VALUE, imm2: m.offset, map: m.map };
  }
  return insns;
}

/** `return 0` */
export const returnZero = () => concat(mov64Imm(0, 0), exit());

/** Id of FUNC `name` in vmlinux BTF, or undefined. */
export function funcId(name: string): number | undefined {
  return loadKernelBtf().findType(name, "func")?.id;
}

/** Byte offset of `member` in `struct name` (found through anonymous unions), from vmlinux BTF. */
export function memberOffset(struct: string, member: string): number {
  return loadKernelBtf().memberOffset(`struct ${struct}`, member).offset;
}

/**
 * Whether vmlinux BTF's `composite` ("struct bpf_prog_info", "union
 * bpf_iter_link_info") has `member`: which fields the running kernel knows.
 */
export function hasMember(composite: string, member: string): boolean {
  try {
    loadKernelBtf().memberOffset(composite, member);
    return true;
  } catch {
    return false;
  }
}

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
