// What the TypeScript side of each scenario calls, gathered from the
// workspace packages. A capability whose package (or export) has not landed
// yet is reported with the reason instead, and the scenario shows
// "not available yet" for it rather than failing.
import type { Outcome } from "./measure.js";

/** An open map handle (or fd) for one pinned bench map. */
export interface TsMap extends Disposable {
  readonly fd: number;
}

/** A loaded task iterator reused across reads (the "warm" case). */
export interface WarmTasks extends Disposable {
  read(): Promise<Outcome>;
}

export interface TsApi {
  openPinnedMap?: (path: string) => TsMap;
  /** MAP_LOOKUP_BATCH loop, `batch` elements per call; items = elements. */
  lookupBatchDump?: (map: TsMap, batch: number) => Outcome;
  /** GET_NEXT_KEY + LOOKUP_ELEM loop; items = elements. */
  nextKeyDump?: (map: TsMap) => Outcome;
  /** `calls` single-element lookups of keys 0..entries-1; items = calls. */
  lookupLoop?: (map: TsMap, entries: number, calls: number) => Outcome;
  /** mapElems(map) to raw bytes: items = 16-byte records, bytes = total. */
  mapElemsRaw?: (map: TsMap, chunkSize?: number) => Promise<Outcome>;
  /** mapElems(map) decoded into { key, value } records. */
  mapElemsDecoded?: (map: TsMap) => Promise<Outcome>;
  /** tasks() from scratch: load, link, read, close. */
  tasksCold?: () => Promise<Outcome>;
  /** tasks() with the program loaded once; each read() is a fresh iterator fd. */
  tasksWarm?: () => Promise<WarmTasks>;
  /** Parse /sys/kernel/btf/vmlinux (bytes read beforehand); items = types. */
  parseVmlinuxBtf?: (bytes: Uint8Array) => Outcome;
  /** Assemble a prepared program of n instructions; items = instructions. */
  prepareAssembly?: (n: number) => () => Outcome;
  /** Why each missing capability is missing. */
  missing: Partial<Record<Exclude<keyof TsApi, "missing">, string>>;
}

async function importPackage(name: string): Promise<Record<string, unknown> | string> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch (e) {
    return `${name} does not load: ${(e as Error).message.split("\n")[0]}`;
  }
}

export async function loadTsApi(): Promise<TsApi> {
  const api: TsApi = { missing: {} };
  const pkgs = {
    syscall: await importPackage("@ts-ebpf/syscall"),
    iter: await importPackage("@ts-ebpf/iter"),
    btf: await importPackage("@ts-ebpf/btf"),
    dsl: await importPackage("@ts-ebpf/dsl"),
  };
  const why = (pkg: keyof typeof pkgs, exportName: string): string => {
    const p = pkgs[pkg];
    return typeof p === "string" ? p : `@ts-ebpf/${pkg} has no ${exportName} yet`;
  };
  api.missing.openPinnedMap = why("syscall", "pinned map handle");
  api.missing.lookupBatchDump = why("syscall", "map lookup batch");
  api.missing.nextKeyDump = why("syscall", "map get next key");
  api.missing.lookupLoop = why("syscall", "map lookup");
  api.missing.mapElemsRaw = why("iter", "mapElems");
  api.missing.mapElemsDecoded = why("iter", "mapElems");
  api.missing.tasksCold = why("iter", "tasks");
  api.missing.tasksWarm = why("iter", "tasks");
  api.missing.parseVmlinuxBtf = why("btf", "parseBtf");
  api.missing.prepareAssembly = why("dsl", "assemble");
  return api;
}
