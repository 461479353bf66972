// loadProgram(spec): creates the spec's maps and read-only data maps, resolves
// the instructions' map references to their fds and encodes them (the one
// place a program is encoded, spec's encodeProgram), loads, and returns a
// Program that owns the maps it created.

import {
  checkProgram,
  encodeProgram,
  InstructionError,
  type MapFdSource,
  type MapReference,
  type MapSpec,
  type ProgramSpec,
} from "@ts-ebpf/spec";
import { BpfMapFlag, BpfMapType } from "@ts-ebpf/spec/constants";
import { FdHandle, ownFd } from "./handles/fd.js";
import { BpfMap } from "./handles/map.js";
import { Program } from "./handles/program.js";
import * as v from "./validate.js";

export interface LoadOptions {
  /** Maps the caller owns, by the name instructions refer to them by; they win over spec maps. */
  maps?: Readonly<Record<string, MapFdSource>>;
  /** Verifier log level (BpfLogLevel); the log is kept in Program.log. */
  logLevel?: number;
  /** First verifier log size in bytes (grown on ENOSPC). */
  logSize?: number;
  /**
   * The program's BTF (a BTF_LOAD fd the caller keeps open): passed as
   * prog_btf_fd, with the spec's funcInfo / lineInfo. Without it they are not passed.
   */
  btf?: { readonly fd: number };
}

/**
 * An object name the kernel accepts (15 bytes of [A-Za-z0-9_.]) made from any
 * name: other characters become "_". Program and map names of specs
 * (".rodata", "my-map") go through it, for loadProgram and @ts-ebpf/elf.
 */
export function kernelObjectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15);
}

/** MAP_CREATE options for a spec's map (its BTF ids, if any, are the caller's to add). */
export function specMapCreateOptions(name: string, spec: MapSpec) {
  return {
    type: spec.type,
    keySize: spec.keySize,
    valueSize: spec.valueSize,
    maxEntries: spec.maxEntries,
    flags: spec.flags ?? 0,
    name: kernelObjectName(name),
  };
}

/**
 * Sets a newly created spec map up: writes its contents (global data: value 0
 * of an array map, cut to the value slot) and freezes it when the spec asks.
 * loadProgram and @ts-ebpf/elf's loadCollection both set their maps up here.
 */
export function initializeSpecMap(
  map: BpfMap,
  name: string,
  spec: Pick<MapSpec, "contents" | "freeze">,
): void {
  if (spec.contents !== undefined) {
    const value = new Uint8Array(map.valueSlotSize);
    value.set(v.bytes(`maps.${name}.contents`, spec.contents).subarray(0, value.length));
    map.set(new Uint8Array(4), value);
  }
  if (spec.freeze) map.freeze();
}

function createSpecMaps(
  spec: ProgramSpec,
  created: BpfMap<unknown, unknown>[],
  byName: Record<string, MapFdSource>,
) {
  for (const m of spec.maps ?? []) {
    const map = BpfMap.create(specMapCreateOptions(m.name, m));
    created.push(map as BpfMap<unknown, unknown>);
    initializeSpecMap(map, m.name, m);
    byName[m.name] = map;
  }
  for (const ro of spec.readonlyData ?? []) {
    const data = v.bytes(`readonlyData.${ro.name}.bytes`, ro.bytes);
    const map = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: Math.max(1, data.byteLength),
      maxEntries: 1,
      flags: BpfMapFlag.RDONLY_PROG,
      name: kernelObjectName(ro.name),
    });
    created.push(map as BpfMap<unknown, unknown>);
    initializeSpecMap(map, ro.name, { contents: data, freeze: true });
    byName[ro.name] = map;
  }
}

/** A handle's private fd (see FdHandle), or the fd of any other `{ fd }`. */
function fdOf(source: MapFdSource): number {
  return source instanceof FdHandle ? ownFd(source) : source.fd;
}

function resolve(
  ref: MapReference,
  byName: Record<string, MapFdSource>,
  callerMaps: Record<string, MapFdSource>,
): number {
  if ("handle" in ref) return fdOf(ref.handle);
  const source = callerMaps[ref.name] ?? byName[ref.name];
  if (!source)
    throw new RangeError(
      `an instruction refers to map "${ref.name}", which neither the spec nor options.maps has`,
    );
  return fdOf(source);
}

/**
 * Runs `step` on the spec's instructions (checkProgram or encodeProgram),
 * turning an InstructionError into a RangeError naming spec.instructions;
 * other errors (a map reference nothing resolves) pass through.
 */
function onInstructions<T>(step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof InstructionError)
      throw new RangeError(`spec.instructions: ${e.message}`, { cause: e });
    throw e;
  }
}

function btfFields(spec: ProgramSpec, options: LoadOptions) {
  if (options.btf === undefined) return {};
  return {
    progBtfFd:
      options.btf instanceof FdHandle ? ownFd(options.btf) : v.fd("options.btf.fd", options.btf.fd),
    ...(spec.funcInfo
      ? { funcInfo: spec.funcInfo.records, funcInfoRecSize: spec.funcInfo.recordSize }
      : {}),
    ...(spec.lineInfo
      ? { lineInfo: spec.lineInfo.records, lineInfoRecSize: spec.lineInfo.recordSize }
      : {}),
  };
}

export function loadProgram(spec: ProgramSpec, options: LoadOptions = {}): Program {
  if (typeof spec !== "object" || spec === null)
    throw new TypeError("loadProgram needs a ProgramSpec");
  if (!Array.isArray(spec.instructions))
    throw new TypeError("spec.instructions must be an array of instructions");
  if (spec.instructions.length === 0) throw new RangeError("spec.instructions is empty");
  // Every instruction and reference checked before a map is created for them.
  onInstructions(() => checkProgram(spec.instructions));
  const callerMaps = options.maps ?? {};
  const created: BpfMap<unknown, unknown>[] = [];
  const byName: Record<string, MapFdSource> = {};
  try {
    createSpecMaps(spec, created, byName);
    const mapFd = (ref: MapReference) => resolve(ref, byName, callerMaps);
    // Module kfuncs: their module's BTF fd in fd_array (index 0 unused, as
    // libbpf does); the fds stay the caller's (KsymReference.module).
    const fdArray: number[] = [0];
    const fdArrayIndex = (module: { readonly fd: number }): number => {
      const fd = v.fd("ksym module fd", module.fd);
      const at = fdArray.indexOf(fd, 1);
      if (at > 0) return at;
      fdArray.push(fd);
      return fdArray.length - 1;
    };
    const insns = onInstructions(() => encodeProgram(spec.instructions, { mapFd, fdArrayIndex }));
    return Program.load(
      {
        type: spec.type,
        instructions: insns,
        license: spec.license,
        name: spec.name ? kernelObjectName(spec.name) : "",
        expectedAttachType: spec.expectedAttachType ?? 0,
        attachBtfId: spec.attachBtfId ?? 0,
        ...(spec.attachBtfObjFd === undefined ? {} : { attachBtfObjFd: spec.attachBtfObjFd }),
        ...(spec.attachTarget === undefined ? {} : { attachTarget: spec.attachTarget }),
        flags: spec.flags ?? 0,
        logLevel: options.logLevel ?? 0,
        ...(options.logSize === undefined ? {} : { logSize: options.logSize }),
        ...btfFields(spec, options),
        ...(fdArray.length > 1 ? { fdArray } : {}),
      },
      created,
    );
  } catch (e) {
    for (const m of created) m.close();
    throw e;
  }
}
