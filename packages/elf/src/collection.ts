// loadCollection: creates an object's maps once, loads its BTF, binds every
// program to kernel types (CO-RE, attach targets: the running kernel's unless
// the caller passes others) and loads it against those maps (shared by name).
// The Collection owns all fds; close() / Symbol.dispose closes them.
import { closeSync, readFileSync } from "node:fs";
import { type Btf, loadKernelBtf } from "@ts-ebpf/btf";
import {
  BpfCmd,
  BpfError,
  BpfMap,
  btfLoad,
  loadProgram,
  type MapFdSource,
  type Program,
  refusedByPolicy,
  VerifierError,
} from "@ts-ebpf/syscall";
import { initializeSpecMap, specMapCreateOptions } from "@ts-ebpf/syscall/internal";
import { type BoundProgramSpec, bindProgramSpec, needsKernelTypes, POISON_HELPER } from "./core.js";
import { CoreRelocationError, ElfError } from "./errors.js";
import {
  KCONFIG_MAP,
  type KconfigValues,
  kconfigContents,
  type ModuleKsymLookup,
} from "./externs.js";
import { kallsymsLookup, kernelRelease, readKernelConfig } from "./kernel-config.js";
import { KernelModuleTypes } from "./kernel-modules.js";
import {
  type CollectionSpec,
  type ElfMapSpec,
  type ElfProgramSpec,
  parseCollection,
} from "./spec.js";

/** A loaded program of a collection: the Program handle plus its ELF facts. */
export type CollectionProgram = Program & {
  /** ELF section, e.g. "iter/task". */
  readonly section: string;
  /** Iterator target from an `iter/<target>` section; pass it to createIterator. */
  readonly iterTarget?: string;
};

export interface LoadCollectionOptions {
  /**
   * Kernel types CO-RE relocations and attach targets are resolved against
   * (default: the running kernel's, read only when a program needs them).
   */
  kernelTypes?: Btf;
  /** Verifier log level for every program (logs land in Program.log). */
  logLevel?: number;
  /** Maps the caller owns, by name: used instead of creating the object's map of that name. */
  maps?: Readonly<Record<string, MapFdSource>>;
  /**
   * Values for the object's `__kconfig` externs by name, over the running
   * kernel's (CONFIG_* from /proc/config.gz or /boot/config-$(uname -r);
   * LINUX_KERNEL_VERSION from uname): "y" / "n" / "m", numbers, quoted strings.
   */
  kconfig?: KconfigValues;
  /**
   * Where kfuncs and kernel variables vmlinux lacks are found (default: the
   * running kernel's modules when `kernelTypes` is not given, none when it
   * is, since module BTF is split on the running kernel's vmlinux).
   */
  modules?: ModuleKsymLookup;
}

/**
 * The kernel refused a program of the object for a reason other than the
 * verifier (whose VerifierError is thrown as is). A kernel refusal, not a
 * malformed object: a BpfError whose command, errno and code are the
 * refusal's (PROG_LOAD, e.g. EPERM), that also names the program and its
 * section; `cause` is the refusal's own BpfError.
 */
export class ProgramLoadError extends BpfError {
  override readonly name = "ProgramLoadError";
  readonly program: string;
  readonly section: string;

  constructor(program: string, section: string, message: string, options?: ErrorOptions) {
    const hasCause = typeof options === "object" && options !== null && "cause" in options;
    const cause: unknown = hasCause ? options.cause : undefined;
    const refusal = cause instanceof BpfError ? cause : undefined;
    super(refusal?.cmd ?? BpfCmd.PROG_LOAD, refusal?.errno ?? 0, {
      hint: refusal?.hint,
      ...(hasCause ? { cause } : {}),
    });
    this.message = `program ${program} (section ${section}): ${message}`;
    this.program = program;
    this.section = section;
  }
}

export class Collection implements Disposable {
  readonly maps: Readonly<Record<string, BpfMap>>;
  readonly programs: Readonly<Record<string, CollectionProgram>>;
  readonly spec: CollectionSpec;
  /** Why .BTF could not be loaded (programs then load without func and line info). */
  readonly btfError: Error | undefined;
  #closed = false;

  constructor(
    spec: CollectionSpec,
    maps: Record<string, BpfMap>,
    programs: Record<string, CollectionProgram>,
    btfError: Error | undefined,
  ) {
    this.spec = spec;
    this.maps = maps;
    this.programs = programs;
    this.btfError = btfError;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of Object.values(this.programs)) p.close();
    for (const m of Object.values(this.maps)) m.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Creates a map with its BTF type ids, or without them when the kernel refuses those (as libbpf does). */
function createMap(name: string, m: ElfMapSpec, btfFd: number | undefined): BpfMap {
  const options = specMapCreateOptions(name, m);
  if (btfFd !== undefined && m.btfValueTypeId) {
    try {
      return BpfMap.create({
        ...options,
        btfFd,
        btfKeyTypeId: m.btfKeyTypeId ?? 0,
        btfValueTypeId: m.btfValueTypeId,
      });
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
    }
  }
  return BpfMap.create(options);
}

function createMaps(
  spec: CollectionSpec,
  caller: Readonly<Record<string, MapFdSource>>,
  out: Record<string, BpfMap>,
  btfFd: number | undefined,
): void {
  for (const [name, m] of Object.entries(spec.maps)) {
    if (caller[name]) continue;
    const map = createMap(name, m, btfFd);
    out[name] = map;
    initializeSpecMap(map, name, m);
  }
}

/** The CO-RE error behind a verifier rejection at a poisoned instruction, if that is what it was. */
function poisonError(p: BoundProgramSpec, err: VerifierError): CoreRelocationError | undefined {
  if (p.poisoned.length === 0 || !err.log.includes(`unknown#${POISON_HELPER}`)) return undefined;
  const hit = p.poisoned.find((x) => x.insn === err.instruction) ?? p.poisoned[0]!;
  return new CoreRelocationError(
    p.name,
    hit.access,
    `${hit.kind}: ${hit.reason}; the verifier reached the poisoned instruction ${hit.insn}`,
    { cause: err },
  );
}

function loadOne(
  p: BoundProgramSpec,
  maps: Record<string, MapFdSource>,
  btf: { fd: number } | undefined,
  logLevel: number,
): Program {
  try {
    // The collection's maps are shared by name; the spec's own copies are not
    // created. PROG_LOAD's EAGAIN (a signal during verification) is retried
    // inside progLoad, the one place that retries it.
    return loadProgram({ ...p, maps: [] }, { maps, logLevel, ...(btf ? { btf } : {}) });
  } catch (err) {
    if (err instanceof VerifierError) {
      const core = poisonError(p, err);
      if (core) throw core;
      throw err;
    }
    if (err instanceof BpfError) throw loadError(p, err);
    throw err;
  }
}

function loadError(p: ElfProgramSpec, err: BpfError): ProgramLoadError {
  // EPERM with every capability present: a kernel policy about this kind of
  // program (some kernels refuse the map-reading iterator targets even to root).
  const refused = refusedByPolicy(err)
    ? p.iterTarget
      ? `the kernel refuses ${p.iterTarget} iterator programs even with the BPF capabilities (a security policy: lockdown, a BPF LSM program); `
      : "the kernel refuses this program even with the BPF capabilities (a security policy: lockdown, a BPF LSM program); "
    : "";
  return new ProgramLoadError(p.name, p.section, `${refused}${err.message}`, { cause: err });
}

/** The spec with its `.kconfig` map's contents filled in (the kernel's config and the caller's values). */
function withKconfig(
  spec: CollectionSpec,
  options: LoadCollectionOptions,
  kernel: () => Btf,
): CollectionSpec {
  const m = spec.maps[KCONFIG_MAP];
  if (m === undefined) return spec;
  if (
    options.kconfig !== undefined &&
    (typeof options.kconfig !== "object" || options.kconfig === null)
  )
    throw new TypeError("options.kconfig must be a record of values by name");
  let config: Record<string, string> | undefined | null = null;
  const contents = kconfigContents(
    spec.externs ?? {},
    m.valueSize,
    options.kconfig,
    () => {
      if (config === null) config = readKernelConfig();
      return config;
    },
    () => {
      try {
        return kernel();
      } catch {
        return undefined;
      }
    },
    kernelRelease(),
  );
  return { ...spec, maps: { ...spec.maps, [KCONFIG_MAP]: { ...m, contents } } };
}

/** Loads a parsed CollectionSpec: maps, BTF, then every program. */
export function loadCollectionSpec(
  spec: CollectionSpec,
  options: LoadCollectionOptions = {},
): Collection {
  const caller = options.maps ?? {};
  const maps: Record<string, BpfMap> = {};
  const programs: Record<string, CollectionProgram> = {};
  let btfFd: number | undefined;
  let btfError: Error | undefined;
  // The running kernel's module BTF, opened only when a kernel symbol is not in vmlinux.
  let moduleTypes: KernelModuleTypes | undefined;
  try {
    if (spec.btf) {
      try {
        btfFd = btfLoad(spec.btf).fd;
      } catch (e) {
        btfError = e as Error;
      }
    }
    // The running kernel's types are read only when a program needs them.
    let kernelTypes = options.kernelTypes;
    const kernel = (): Btf => {
      kernelTypes ??= loadKernelBtf();
      return kernelTypes;
    };
    createMaps(withKconfig(spec, options, kernel), caller, maps, btfFd);
    const byName: Record<string, MapFdSource> = { ...maps, ...caller };
    const kallsyms = kallsymsLookup();
    if (options.modules !== undefined && typeof options.modules !== "function")
      throw new TypeError("options.modules must be a lookup function (KernelModuleTypes.lookup)");
    const modules =
      options.modules ??
      (options.kernelTypes === undefined
        ? (name: string, kind: "func" | "var") => {
            moduleTypes ??= new KernelModuleTypes(kernel());
            return moduleTypes.find(name, kind);
          }
        : undefined);
    for (const [name, p] of Object.entries(spec.programs)) {
      const bound: BoundProgramSpec = needsKernelTypes(p)
        ? bindProgramSpec(p, kernel(), { kallsyms, ...(modules ? { modules } : {}) })
        : { ...p, poisoned: [] };
      const prog = loadOne(
        bound,
        byName,
        btfFd === undefined ? undefined : { fd: btfFd },
        options.logLevel ?? 0,
      );
      programs[name] = Object.assign(prog, {
        section: p.section,
        ...(p.iterTarget === undefined ? {} : { iterTarget: p.iterTarget }),
      });
    }
  } catch (e) {
    for (const p of Object.values(programs)) p.close();
    for (const m of Object.values(maps)) m.close();
    throw e;
  } finally {
    // Loaded programs hold their own reference to the BTF (and to module BTF in fd_array).
    if (btfFd !== undefined) closeSync(btfFd);
    moduleTypes?.close();
  }
  return new Collection(spec, maps, programs, btfError);
}

/** Reads an ELF object (a path or its bytes) and loads its maps and programs. */
export function loadCollection(
  source: string | Uint8Array,
  options: LoadCollectionOptions = {},
): Collection {
  let bytes: Uint8Array;
  if (typeof source === "string") {
    try {
      bytes = readFileSync(source);
    } catch (e) {
      throw new ElfError(`cannot read ${source}: ${(e as Error).message}`, -1, { cause: e });
    }
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    throw new TypeError("loadCollection needs a path or the object's bytes");
  }
  return loadCollectionSpec(parseCollection(bytes), options);
}
