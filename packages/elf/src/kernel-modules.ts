// The running kernel's modules as a place to find kfuncs and kernel variables
// that vmlinux lacks (libbpf's load_module_btfs + find_ksym_btf_id): every
// kernel BTF object other than vmlinux, walked by id (BTF_GET_NEXT_ID), its
// types parsed split on vmlinux's. The BTF object fds stay open until
// close(): a module kfunc's program carries its module's fd in PROG_LOAD's
// fd_array (a module variable's in imm2), and the kernel takes its own
// reference at load.
import { Btf as BtfTypes } from "@ts-ebpf/btf";
import { BpfError, Btf as BtfObject, ids } from "@ts-ebpf/syscall";
import { type ModuleKsym, type ModuleKsymLookup, moduleKsymId } from "./externs.js";

interface KernelModule {
  readonly name: string;
  readonly object: BtfObject;
  readonly types: BtfTypes;
}

export class KernelModuleTypes implements Disposable {
  readonly #vmlinux: BtfTypes;
  #modules: KernelModule[] | undefined;
  #closed = false;

  /** `vmlinux`: the running kernel's vmlinux types (loadKernelBtf()), the modules' base. */
  constructor(vmlinux: BtfTypes) {
    if (!(vmlinux instanceof BtfTypes))
      throw new TypeError("vmlinux must be a Btf of the running kernel (loadKernelBtf())");
    this.#vmlinux = vmlinux;
  }

  /** The modules with BTF, read on first use (names in id order). */
  get names(): string[] {
    return this.#load().map((m) => m.name);
  }

  /**
   * The module defining kfunc (`"func"`) or variable (`"var"`) `name`, with
   * the id in its BTF and its BTF object's fd (valid until close()); the
   * first module by BTF id, as libbpf picks. Undefined when none does.
   */
  find(name: string, kind: "func" | "var"): ModuleKsym | undefined {
    if (typeof name !== "string") throw new TypeError("name must be a string");
    if (kind !== "func" && kind !== "var") throw new TypeError('kind must be "func" or "var"');
    for (const m of this.#load()) {
      const btfId = moduleKsymId(m.types, name, kind);
      if (btfId !== undefined) return { btfId, module: { fd: m.object.fd, name: m.name } };
    }
    return undefined;
  }

  /** `find` as a ModuleKsymLookup for bindKsyms / bindProgramSpec. */
  get lookup(): ModuleKsymLookup {
    return (name, kind) => this.find(name, kind);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const m of this.#modules ?? []) m.object.close();
    this.#modules = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #load(): KernelModule[] {
    if (this.#closed) throw new Error("KernelModuleTypes is closed");
    if (this.#modules !== undefined) return this.#modules;
    const out: KernelModule[] = [];
    try {
      for (const id of ids("btf")) {
        let object: BtfObject;
        try {
          object = BtfObject.fromId(id);
        } catch (e) {
          // Freed between the id walk and the open (a program's BTF, an unloaded module).
          if (e instanceof BpfError && e.code === "ENOENT") continue;
          throw e;
        }
        try {
          const info = object.info({ withData: true });
          if (!info.kernelBtf || info.name === "vmlinux" || info.btf === undefined) {
            object.close();
            continue;
          }
          out.push({ name: info.name, object, types: new BtfTypes(info.btf, this.#vmlinux) });
        } catch (e) {
          object.close();
          throw e;
        }
      }
    } catch (e) {
      for (const m of out) m.object.close();
      throw e;
    }
    this.#modules = out;
    return out;
  }
}
