// Externs of an ELF object (libbpf's bpf_object__collect_externs and
// bpf_object__resolve_externs): `__kconfig` variables, laid out in a
// read-only `.kconfig` map whose contents are filled at load from the
// running kernel's config (or the caller's values); `__ksym` variables and
// kfuncs, whose instructions carry a KsymReference resolved against kernel
// types at load. A weak extern nothing defines resolves to absent: a zero
// kconfig value, a null ksym address, a kfunc call poisoned (the verifier
// refuses it only if it can reach it, so `bpf_ksym_exists()` guards work).
import type { Btf } from "@ts-ebpf/btf";
import { CallSrc, type Instruction, LD_IMM64, LdImm64Src } from "@ts-ebpf/spec";
import { ElfError } from "./errors.js";

/** How a kconfig value is stored (from the extern's BTF type). */
export type KconfigKind = "bool" | "tristate" | "char" | "int" | "chars";

export type ExternSpec =
  | {
      readonly kind: "kconfig";
      readonly name: string;
      readonly weak: boolean;
      /** Offset and size in the `.kconfig` map's value. */
      readonly offset: number;
      readonly size: number;
      readonly type: KconfigKind;
      readonly signed: boolean;
    }
  | {
      readonly kind: "ksym";
      readonly name: string;
      readonly weak: boolean;
      /** A kfunc (FUNC) rather than a variable. */
      readonly func: boolean;
      /** A variable declared without a type (`extern const void x __ksym`): its kallsyms address. */
      readonly typeless: boolean;
    };

/** The `.kconfig` map's name, as libbpf calls it. */
export const KCONFIG_MAP = ".kconfig";

/** Values for `__kconfig` externs by name: "y" / "n" / "m", numbers, strings, booleans. */
export type KconfigValues = Readonly<Record<string, string | number | bigint | boolean>>;

/** The externs a .BTF declares in its `.kconfig` and `.ksyms` DATASECs, with the .kconfig layout. */
export function collectExterns(
  btf: Btf | undefined,
  weakNames: ReadonlySet<string>,
): { externs: Record<string, ExternSpec>; kconfigSize: number } {
  const externs: Record<string, ExternSpec> = Object.create(null);
  let kconfigSize = 0;
  if (!btf) return { externs, kconfigSize };
  const kconfig = btf.findType(".kconfig", "datasec");
  for (const vsi of kconfig?.vars ?? []) {
    const v = btf.type(vsi.type);
    if (v.kind !== "var") continue;
    const t = btf.resolve(v.type);
    const size = btf.sizeOf(v.type);
    let type: KconfigKind;
    let signed = false;
    if (t.kind === "int") {
      type = t.bool ? "bool" : t.char && size === 1 ? "char" : "int";
      signed = t.signed;
    } else if (t.kind === "enum" && t.name === "libbpf_tristate") type = "tristate";
    else if (t.kind === "enum") {
      type = "int";
      signed = t.signed;
    } else if (t.kind === "array" && btf.sizeOf(t.type) === 1) type = "chars";
    else throw new ElfError(`__kconfig extern ${v.name}: unsupported type ${t.kind}`);
    if (type === "int" && ![1, 2, 4, 8].includes(size))
      throw new ElfError(`__kconfig extern ${v.name}: ${size}-byte integer`);
    const align = type === "chars" ? 1 : size;
    const offset = Math.ceil(kconfigSize / align) * align;
    kconfigSize = offset + size;
    externs[v.name] = {
      kind: "kconfig",
      name: v.name,
      weak: weakNames.has(v.name),
      offset,
      size,
      type,
      signed,
    };
  }
  const ksyms = btf.findType(".ksyms", "datasec");
  for (const vsi of ksyms?.vars ?? []) {
    const v = btf.type(vsi.type);
    if (v.kind !== "var" && v.kind !== "func") continue;
    externs[v.name] = {
      kind: "ksym",
      name: v.name,
      weak: weakNames.has(v.name),
      func: v.kind === "func",
      typeless: v.kind === "var" && btf.resolve(v.type).kind === "void",
    };
  }
  return { externs, kconfigSize };
}

/** KERNEL_VERSION(a, b, c) of a release string such as "6.18.0-1-amd64" (c capped at 255, as libbpf does). */
export function kernelVersionCode(releaseString: string): number {
  if (typeof releaseString !== "string") throw new TypeError("releaseString must be a string");
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(releaseString);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(255, Number(m[3] ?? 0));
}

/**
 * The `.kconfig` map's value: each extern's value from `values` (the caller's
 * `kconfig` option), then libbpf's LINUX_* specials, then the kernel's
 * config. A missing value is zero for a weak extern and an ElfError otherwise.
 */
export function kconfigContents(
  externs: Readonly<Record<string, ExternSpec>>,
  size: number,
  values: KconfigValues | undefined,
  kernel: () => Record<string, string> | undefined,
  kernelTypes: () => Btf | undefined,
  kernelRelease: string,
): Uint8Array {
  const out = new Uint8Array(Math.max(1, size));
  const view = new DataView(out.buffer);
  for (const e of Object.values(externs)) {
    if (e.kind !== "kconfig") continue;
    let value: string | number | bigint | boolean | undefined = values?.[e.name];
    if (value === undefined) value = special(e.name, kernelTypes, kernelRelease);
    if (value === undefined && e.name.startsWith("CONFIG_")) {
      const config = kernel();
      if (config === undefined && !e.weak)
        throw new ElfError(
          `__kconfig extern ${e.name}: the running kernel's config is not readable: neither /proc/config.gz nor /boot/config-${kernelRelease} exists or can be read (where libbpf looks too); pass the value in options.kconfig, or declare the extern __weak to read it as unset`,
        );
      value = config?.[e.name];
    }
    if (value === undefined) {
      if (e.weak || e.name.startsWith("CONFIG_")) continue; // unset CONFIG_ is "n": zero
      throw new ElfError(
        `__kconfig extern ${e.name}: no value (not a CONFIG_ option nor libbpf's)`,
      );
    }
    writeKconfig(view, out, e, value);
  }
  return out;
}

function special(
  name: string,
  kernelTypes: () => Btf | undefined,
  kernelRelease: string,
): number | undefined {
  switch (name) {
    case "LINUX_KERNEL_VERSION":
      return kernelVersionCode(kernelRelease);
    case "LINUX_HAS_BPF_COOKIE":
      return kernelTypes()?.findType("bpf_get_attach_cookie_proto", "var") ? 1 : 0;
    case "LINUX_HAS_SYSCALL_WRAPPER": {
      const t = kernelTypes();
      return t?.findType("__x64_sys_bpf", "func") || t?.findType("__arm64_sys_bpf", "func") ? 1 : 0;
    }
    default:
      return undefined;
  }
}

function writeKconfig(
  view: DataView,
  out: Uint8Array,
  e: Extract<ExternSpec, { kind: "kconfig" }>,
  raw: string | number | bigint | boolean,
): void {
  const bad = (why: string): ElfError =>
    new ElfError(`__kconfig extern ${e.name}: value ${String(raw)} ${why}`);
  const text = typeof raw === "string" ? raw : undefined;
  if (e.type === "bool" || e.type === "tristate") {
    let v: number;
    if (typeof raw === "boolean") v = raw ? 1 : 0;
    else if (text === "y") v = 1;
    else if (text === "n") v = 0;
    else if (text === "m") v = e.type === "tristate" ? 2 : -1;
    else if (typeof raw === "number" && (raw === 0 || raw === 1)) v = raw;
    else throw bad(`is not y/n${e.type === "tristate" ? "/m" : ""}`);
    if (v < 0) throw bad("is a module: not a bool");
    if (e.size === 1) view.setUint8(e.offset, v);
    else view.setUint32(e.offset, v, true);
    return;
  }
  if (e.type === "chars" || (e.type === "char" && text?.startsWith('"'))) {
    if (text === undefined || !text.startsWith('"') || !text.endsWith('"') || text.length < 2)
      throw bad("is not a quoted string");
    const bytes = new TextEncoder().encode(text.slice(1, -1));
    out.set(bytes.subarray(0, e.size - 1), e.offset);
    return;
  }
  let n: bigint;
  try {
    n =
      typeof raw === "boolean"
        ? BigInt(raw)
        : text === "y"
          ? 1n
          : text === "n"
            ? 0n
            : text === "m"
              ? 2n
              : BigInt(raw as string | number | bigint);
  } catch {
    throw bad("is not a number");
  }
  const bits = BigInt(e.size * 8);
  const fits = e.signed
    ? n >= -(1n << (bits - 1n)) && n < 1n << (bits - 1n)
    : n >= 0n && n < 1n << bits;
  if (!fits) throw bad(`does not fit ${e.size} bytes`);
  const u = BigInt.asUintN(Number(bits), n);
  if (e.size === 8) view.setBigUint64(e.offset, u, true);
  else if (e.size === 4) view.setUint32(e.offset, Number(u), true);
  else if (e.size === 2) view.setUint16(e.offset, Number(u), true);
  else view.setUint8(e.offset, Number(u));
}

/** libbpf's poison for a call to a weak kfunc the kernel lacks: an invalid helper id. */
export const POISON_KFUNC_BASE = 2002000000;

/** A kernel symbol found in a module's BTF: its id there (split on vmlinux) and the module's BTF object. */
export interface ModuleKsym {
  readonly btfId: number;
  /** The module's BTF object fd (kept open by whoever answered until the program loads) and name. */
  readonly module: { readonly fd: number; readonly name: string };
}

/**
 * Where the kernel's modules define a kfunc ("func") or variable ("var") that
 * vmlinux lacks; undefined when none does. @ts-ebpf/elf's KernelModuleTypes
 * answers it for the running kernel (/sys/kernel/btf/<module>).
 */
export type ModuleKsymLookup = (name: string, kind: "func" | "var") => ModuleKsym | undefined;

/**
 * The kfunc or variable `name` as a module's own split BTF defines it (types
 * of vmlinux, its base, do not count): its id, or undefined.
 */
export function moduleKsymId(
  moduleTypes: Btf,
  name: string,
  kind: "func" | "var",
): number | undefined {
  if (typeof (moduleTypes as Partial<Btf> | undefined)?.findTypeIds !== "function")
    throw new TypeError("moduleTypes must be a Btf (a module's split BTF)");
  if (typeof name !== "string") throw new TypeError("name must be a string");
  if (kind !== "func" && kind !== "var") throw new TypeError('kind must be "func" or "var"');
  return moduleTypes.findTypeIds(name, kind).find((id) => id >= moduleTypes.firstId);
}

/**
 * The instructions with every kernel symbol resolved against `kernelTypes`
 * (vmlinux), then, as libbpf does, against the kernel's modules (`modules`):
 * a kfunc call or ksym variable gets its BTF id (and, from a module, the
 * module's BTF object, which the loader puts in fd_array for a kfunc or in
 * imm2 for a variable); a typeless ksym its kallsyms address; a weak one the
 * kernel lacks becomes absent (address 0; a kfunc call poisoned). A strong
 * one the kernel lacks is an ElfError. Instructions whose references already
 * carry an id are kept.
 */
export function bindKsyms(
  instructions: readonly Instruction[],
  kernelTypes: Btf,
  externs: Readonly<Record<string, ExternSpec>> = {},
  program = "program",
  kallsyms: (name: string) => bigint | undefined = () => undefined,
  modules: ModuleKsymLookup = () => undefined,
): Instruction[] {
  if (!Array.isArray(instructions)) throw new TypeError("instructions must be an array");
  if (typeof (kernelTypes as Partial<Btf> | undefined)?.findType !== "function")
    throw new TypeError("kernelTypes must be a Btf (e.g. loadKernelBtf())");
  if (typeof externs !== "object" || externs === null)
    throw new TypeError("externs must be a record of ExternSpecs by name");
  if (typeof kallsyms !== "function") throw new TypeError("kallsyms must be a function");
  if (typeof modules !== "function") throw new TypeError("modules must be a function");
  let poison = 0;
  return instructions.map((insn) => {
    const ref = insn.ksym;
    if (ref === undefined || ref.btfId !== undefined) return insn;
    const ext = externs[ref.name];
    const weak = ext?.weak ?? false;
    const isCall = insn.opcode !== LD_IMM64;
    const absent = (where = "the kernel's BTF"): Instruction => {
      if (!weak)
        throw new ElfError(
          `program ${program}: ${isCall ? "kfunc" : "kernel symbol"} ${ref.name} is not in ${where}${isCall ? " (a kernel without it, or a module not loaded)" : ""}`,
        );
      const { ksym: _drop, ...rest } = insn;
      if (isCall) return { ...rest, src: 0, dst: 0, off: 0, imm: POISON_KFUNC_BASE + poison++ };
      return { ...rest, src: 0, imm: 0, imm2: 0 };
    };
    if (ext?.kind === "ksym" && ext.typeless) {
      const addr = kallsyms(ref.name);
      if (addr === undefined) return absent("/proc/kallsyms");
      const { ksym: _drop, ...rest } = insn;
      return {
        ...rest,
        src: 0,
        imm: Number(BigInt.asIntN(32, addr)),
        imm2: Number(BigInt.asIntN(32, addr >> 32n)),
      };
    }
    const wantFunc =
      isCall || ext?.kind === "ksym" ? (isCall ? true : (ext as { func: boolean }).func) : false;
    const kind = wantFunc ? "func" : "var";
    const src = isCall ? { src: CallSrc.KFUNC } : { src: LdImm64Src.BTF_ID };
    const t = kernelTypes.findType(ref.name, kind);
    if (t) return { ...insn, ...src, ksym: { name: ref.name, btfId: t.id } };
    const inModule = modules(ref.name, kind);
    if (inModule === undefined) return absent("the kernel's BTF (vmlinux and its modules)");
    checkModuleKsym(inModule, ref.name);
    return {
      ...insn,
      ...src,
      ksym: {
        name: ref.name,
        btfId: inModule.btfId,
        module: { fd: inModule.module.fd, name: inModule.module.name },
      },
    };
  });
}

function checkModuleKsym(found: ModuleKsym, name: string): void {
  const ok =
    typeof found === "object" &&
    found !== null &&
    Number.isInteger(found.btfId) &&
    found.btfId > 0 &&
    typeof found.module === "object" &&
    found.module !== null &&
    Number.isInteger(found.module.fd) &&
    found.module.fd > 2 &&
    typeof found.module.name === "string";
  if (!ok)
    throw new TypeError(
      `modules(${JSON.stringify(name)}) must answer { btfId, module: { fd, name } } (an fd above 2) or undefined`,
    );
}
