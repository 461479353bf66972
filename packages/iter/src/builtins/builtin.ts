// A built-in iterator is one definition (defineBuiltin): its target, the
// fields it copies, the converter to the public record, and how bpf-iter
// shows it. The record's TypeScript type is derived from the fields and the
// converter, and the program, decoder and CLI table all come from the same
// object. Defining one registers it: builtinLink, decodeBuiltin, the CLI's
// commands and `list` find it by target.
//
// A built-in over a map's elements (sockmap, bpf_sk_storage_map) takes the
// map as its parameter, and its record holds the map's key or value: those
// fields are sized by the map (`map.sized`), so its program and decoder are
// made per key/value size, from the sizes the kernel reports for the map.

import { loadKernelBtf, type RecordLayout } from "@ts-ebpf/btf";
import { type Decoder, scalarReadSource } from "@ts-ebpf/spec";
import { BpfMapTypeName } from "@ts-ebpf/spec/constants";
import { BpfError, BpfMap, loadProgram, type Program } from "@ts-ebpf/syscall";
import type { Column, Row } from "../cli/format.js";
import { IteratorError, IteratorParamError } from "../errors.js";
import {
  attachLoadedIterator,
  createIterator,
  type IteratorLink,
  loadIteratorProgram,
  targetBtfId,
} from "../link.js";
import { consumeOwnReader } from "../owned-fd.js";
import { checkParams, type IteratorParams } from "../params.js";
import { dropKeptBuffers, trust } from "../read-buffers.js";
import { decodeRecords, type ReaderOptions } from "../reader.js";
import {
  dropCachedProgram,
  programCacheKey,
  readCachedProgram,
  writeCachedProgram,
} from "./program-cache.js";
import { compileRecord, type FieldDef, type FieldKind, type RecordProgram } from "./record.js";

/** The JavaScript value a field of `kind` decodes to. */
export type FieldValue<K extends FieldKind> = K extends "u64"
  ? bigint
  : K extends "bytes"
    ? Uint8Array
    : K extends "char" | "str"
      ? string
      : number;

/** The decoded record of `fields`, before the converter: one key per field. */
export type RawRecord<F extends readonly FieldDef[]> = {
  [D in F[number] as D["name"]]: FieldValue<D["kind"]>;
};

/** The bpf-iter command of a built-in. */
export interface BuiltinCommand {
  /** Command name ("tasks"). */
  readonly command: string;
  /** Other names of the command. */
  readonly aliases?: readonly string[];
  /** One line for the usage text. */
  readonly help: string;
  readonly columns: readonly Column[];
}

/** How bpf-iter shows a built-in's records. */
export interface BuiltinCli<R> extends BuiltinCommand {
  /** Cells computed from a record, added in table and JSON output (e.g. a hex range). */
  readonly extra?: (record: R) => Row;
  /** The table row of a record when it is not the record itself (JSON keeps the record). */
  readonly tableRow?: (record: R) => Row;
  /**
   * Every column is a field of the definition, shown as it decodes: a table
   * without parameters is read with a program of the columns' fields alone
   * (bpf-iter tasks: fewer pointer loads for the verifier to check).
   */
  readonly tableFromFields?: boolean;
}

/** What a built-in over a map's elements knows of the map it is given. */
export interface MapOfBuiltin<N extends string = string> {
  /** BPF_MAP_TYPE_* the target walks (another map is a TypeError before anything loads). */
  readonly types: readonly number[];
  /**
   * Fields copying the bytes a context pointer points to (kind "bytes", no
   * path), each as long as the map's key_size or value_size.
   */
  readonly sized: Readonly<Partial<Record<N, "keySize" | "valueSize">>>;
}

interface Definition<F extends readonly FieldDef[]> {
  /** Iterator target. */
  readonly target: string;
  /** Context member that is NULL at the end of the iteration. */
  readonly object: string;
  readonly fields: F;
  /** For a target walking a map's elements: the map it needs as `{ map }`. */
  readonly map?: MapOfBuiltin<F[number]["name"]>;
}

/** A built-in iterator: the definition, and the program compiled from it on first use. */
export interface Builtin<R> {
  readonly target: string;
  readonly object: string;
  readonly fields: readonly FieldDef[];
  readonly cli: BuiltinCommand;
  /** Set for a built-in over a map's elements: it needs `{ map }`. */
  readonly map?: MapOfBuiltin;
  /** Every record of one run of the iterator. */
  read(params: IteratorParams | undefined, options: ReaderOptions): Promise<R[]>;
  readSync(params: IteratorParams | undefined, options: ReaderOptions): R[];
  /** A new link running this built-in's program (the caller closes it). */
  link(params?: IteratorParams): IteratorLink;
  /** Decoder of the raw records the program writes (a map built-in's depends on `{ map }`). */
  layout(params?: IteratorParams): RecordLayout<Record<string, unknown>>;
  /** Records written by this built-in's program (e.g. read from a pin), converted. */
  decode(bytes: Uint8Array, params?: IteratorParams): R[];
  /** What bpf-iter prints for one run: the records with their extra cells, or table rows. */
  readRows(params: IteratorParams | undefined, table: boolean): Promise<object[]>;
  /**
   * readRows read on this thread: for a one-shot command, which has nothing
   * to do meanwhile (no thread-pool hop, no worker_threads module to load).
   */
  readRowsSync(params: IteratorParams | undefined, table: boolean): object[];
  /** What bpf-iter prints for records read from a pin. */
  decodeRows(bytes: Uint8Array, table: boolean, params?: IteratorParams): object[];
  /** What bpf-iter prints for records read some other way (e.g. in other network namespaces). */
  rows(records: readonly R[], table: boolean): object[];
  /** Closes the cached programs and link (reloaded on next use). */
  close(): void;
}

/** The record type of a built-in: `BuiltinRecord<typeof TASK>`. */
export type BuiltinRecord<B> = B extends Builtin<infer R> ? R : never;

const registry = new Map<string, Builtin<object>>();

/**
 * One key of a public record read straight from the record's bytes: a field
 * of the raw record as it decodes, or a key computed from some fields'
 * values (`compute(...values of from)`).
 */
export type DirectKey<F extends readonly FieldDef[]> =
  | F[number]["name"]
  | {
      readonly key: string;
      readonly from: readonly F[number]["name"][];
      // biome-ignore lint/suspicious/noExplicitAny: the fields' values, in `from` order
      readonly compute: (...values: any[]) => unknown;
    };

/** Defines and registers a built-in whose records are `convert` of the decoded fields. */
export function defineBuiltin<const F extends readonly FieldDef[], R extends object>(
  def: Definition<F> & {
    readonly convert: (raw: RawRecord<F>) => R;
    /**
     * The keys of `convert`'s record, in its order, for a reader that builds
     * the public record from the bytes in one step (no raw record per
     * object): the hot built-ins (tasks). Must give what `convert` gives
     * (tested); where code generation is refused, `convert` is used.
     */
    readonly direct?: readonly DirectKey<F>[];
    readonly cli: BuiltinCli<NoInfer<R>>;
  },
): Builtin<R>;
/** Defines and registers a built-in whose records are the decoded fields as they are. */
export function defineBuiltin<const F extends readonly FieldDef[]>(
  def: Definition<F> & { readonly convert?: undefined; readonly cli: BuiltinCli<RawRecord<F>> },
): Builtin<RawRecord<F>>;
export function defineBuiltin<const F extends readonly FieldDef[], R extends object>(
  def: Definition<F> &
    (
      | {
          readonly convert: (raw: RawRecord<F>) => R;
          readonly direct?: readonly DirectKey<F>[];
          readonly cli: BuiltinCli<R>;
        }
      | { readonly convert?: undefined; readonly cli: BuiltinCli<RawRecord<F>> }
    ),
): Builtin<R> | Builtin<RawRecord<F>> {
  if (registry.has(def.target)) throw new Error(`two built-ins for target ${def.target}`);
  const builtin =
    def.convert === undefined
      ? register(makeBuiltin(def, undefined, def.cli))
      : register(makeBuiltin(def, def.convert, def.cli, def.direct));
  return builtin;
}

/**
 * Bytes a built-in's records are read in by default (the reader's own default
 * is 64 KiB): 32 seq buffers per trip through the thread pool. Against 256 KiB,
 * tasks() at 10,000 threads took 8% less CPU (16.1-16.4 -> 14.8-15.1 ms, wall
 * the same) and at 50,000 5% less CPU and 6% less wall (medians of 60, three
 * alternating runs each: 86-88 -> 82-84 ms CPU, 71-73 -> 67-69 ms wall).
 */
const RECORDS_CHUNK = 1024 * 1024;

/**
 * A reader of the public record straight from a record's bytes: each field
 * `keys` needs read once into a local (scalars with their DataView getter
 * inline, others with their field type's decodeAt), then one object literal
 * with the keys in order. Undefined when the layout lacks a field or code
 * generation is refused (a CSP): the caller converts a decoded record then.
 */
export function compileDirectReader<R>(
  layout: RecordLayout<Record<string, unknown>>,
  keys: readonly DirectKey<readonly FieldDef[]>[],
): ((view: DataView, offset: number) => R) | undefined {
  const byName = new Map(layout.fields.map((f) => [f.name, f]));
  const locals = new Map<string, string>();
  const lines: string[] = [];
  const readers: unknown[] = [];
  const local = (name: string): string | undefined => {
    let id = locals.get(name);
    if (id !== undefined) return id;
    const field = byName.get(name);
    if (!field) return undefined;
    id = `f${locals.size}`;
    locals.set(name, id);
    const at = `o + ${field.offset}`;
    const scalar = scalarReadSource(field.type, "v", at);
    if (scalar !== undefined) {
      lines.push(`const ${id} = ${scalar};`);
    } else {
      readers.push(field.type.decodeAt.bind(field.type));
      lines.push(`const ${id} = r[${readers.length - 1}](v, ${at});`);
    }
    return id;
  };
  const props: string[] = [];
  const computes: unknown[] = [];
  for (const k of keys) {
    if (typeof k === "string") {
      const id = local(k);
      if (id === undefined) return undefined;
      props.push(`${JSON.stringify(k)}: ${id}`);
    } else {
      const args = k.from.map(local);
      if (args.some((a) => a === undefined)) return undefined;
      computes.push(k.compute);
      props.push(`${JSON.stringify(k.key)}: c[${computes.length - 1}](${args.join(", ")})`);
    }
  }
  const source = `"use strict"; return function read(v, o) { ${lines.join(" ")} return { ${props.join(", ")} }; };`;
  try {
    // One factory per source: a reader made again for the same layout (the
    // program reloaded after closeBuiltins()) is a closure of the same code,
    // which keeps V8's type feedback and optimized code.
    let make = directFactories.get(source);
    if (!make) {
      make = new Function("r", "c", source) as DirectFactory;
      directFactories.set(source, make);
    }
    return make(readers, computes) as (view: DataView, offset: number) => R;
  } catch {
    return undefined;
  }
}

type DirectFactory = (
  readers: unknown[],
  computes: unknown[],
) => (view: DataView, offset: number) => unknown;
const directFactories = new Map<string, DirectFactory>();

function register<R extends object>(builtin: Builtin<R>): Builtin<R> {
  registry.set(builtin.target, builtin);
  return builtin;
}

/** The map a map built-in is given, as its own handle (a duplicate of the caller's fd). */
function openMapParam(
  target: string,
  of: MapOfBuiltin,
  params: IteratorParams | undefined,
): BpfMap {
  // The target's parameter check: { map } present, an fd of 3 or more, read once.
  const checked = checkParams(target, params);
  if (checked.kind !== "map") throw new IteratorParamError(`the ${target} iterator needs { map }`);
  // Its sizes come from the kernel, from the very map the link will walk.
  const map = BpfMap.fromFd(checked.mapFd);
  if (!of.types.includes(map.type)) {
    map.close();
    const name = (t: number) => BpfMapTypeName[t] ?? `type ${t}`;
    throw new TypeError(
      `the ${target} iterator walks ${of.types.map(name).join(" or ")} maps; map fd ${checked.mapFd} is a ${name(map.type)} map`,
    );
  }
  return map;
}

/** One compiled shape: the program for these field lengths, loaded on first use. */
interface Shaped<F extends readonly FieldDef[]> {
  readonly program: RecordProgram<RawRecord<F>>;
  loaded?: Program;
  /** Its key in the on-disk program cache (when the cache is on). */
  readonly cacheKey?: string;
  /** Read from the cache, not compiled from BTF in this process. */
  readonly cached?: boolean;
}

function makeBuiltin<F extends readonly FieldDef[], R extends object>(
  def: Definition<F>,
  convert: ((raw: RawRecord<F>) => R) | undefined,
  cli: BuiltinCli<R>,
  direct?: readonly DirectKey<F>[],
): Builtin<R> {
  const of = def.map;
  /**
   * The decoder of public records for one layout: the raw record itself,
   * a direct reader, or convert of the raw record, in one pass (no array
   * of raw records mapped afterwards).
   */
  const publicDecoders = new WeakMap<object, Decoder<R>>();
  const publicDecoder = (layout: RecordLayout<RawRecord<F>>): Decoder<R> => {
    let decoder = publicDecoders.get(layout);
    if (decoder) return decoder;
    if (!convert) decoder = layout as unknown as Decoder<R>;
    else {
      const read =
        (direct &&
          compileDirectReader<R>(
            layout as unknown as RecordLayout<Record<string, unknown>>,
            direct as readonly DirectKey<readonly FieldDef[]>[],
          )) ??
        ((view: DataView, offset: number): R => convert(layout.decodeAt(view, offset)));
      const size = layout.size;
      decoder = {
        size,
        decodeAt: read,
        decode: (bytes: Uint8Array, offset = 0): R =>
          read(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset),
      };
    }
    // Its records copy what they keep: readRecords may reuse its read buffers.
    trust(Object.freeze(decoder));
    publicDecoders.set(layout, decoder);
    return decoder;
  };
  /** Compiled programs by the lengths of the map-sized fields ("" without a map). */
  const shapes = new Map<string, Shaped<F>>();
  /** Link without parameters, created on first use and kept for the process. */
  let shared: IteratorLink | undefined;
  /** Set once a cached program failed: compile from BTF from then on (and store that). */
  let skipCache = false;

  const compiled = (map: BpfMap | undefined): Shaped<F> => {
    const sized = of?.sized as Readonly<Record<string, "keySize" | "valueSize">> | undefined;
    const fields =
      map && sized
        ? def.fields.map((f) => (sized[f.name] ? { ...f, len: map[sized[f.name]!] } : f))
        : def.fields;
    const key = map ? fields.map((f) => f.len ?? "").join(",") : "";
    let shaped = shapes.get(key);
    if (shaped) return shaped;
    // Without a map, the CLI's cache may hold the program: no kernel BTF read.
    const cacheKey = map ? undefined : programCacheKey(def.target, def.object, fields);
    const fromCache =
      cacheKey === undefined || skipCache
        ? undefined
        : readCachedProgram<RawRecord<F>>(cacheKey, fields);
    if (fromCache) {
      shaped = { program: fromCache, cacheKey, cached: true };
      shapes.set(key, shaped);
    } else {
      const btf = loadKernelBtf();
      targetBtfId(def.target, btf);
      let program: RecordProgram<RawRecord<F>>;
      try {
        program = compileRecord<RawRecord<F>>(btf, def.target, def.object, fields);
      } catch (err) {
        if (!map || !(err instanceof IteratorError)) throw err;
        throw new IteratorError(
          `the ${def.target} built-in cannot copy the elements of a map with ${map.keySize}-byte keys and ${map.valueSize}-byte values: ${err.message}`,
          { cause: err },
        );
      }
      shaped = cacheKey === undefined ? { program } : { program, cacheKey };
      shapes.set(key, shaped);
    }
    return shaped;
  };
  /** A new link, and the layout of the records its program writes. */
  const linkWithLayout = (params: IteratorParams | undefined) => {
    let shaped: Shaped<F>;
    let link: IteratorLink;
    if (!of) {
      shaped = compiled(undefined);
      if (shaped.cached) {
        const fromCache = linkOfCached(shaped, params);
        if (fromCache) return { link: fromCache, layout: shaped.program.layout };
        shaped = compiled(undefined); // compiled from BTF this time
      }
      if (!shaped.loaded) {
        shaped.loaded = loadIteratorProgram(shaped.program.spec, def.target);
        if (shaped.cacheKey !== undefined)
          writeCachedProgram(shaped.cacheKey, def.fields, shaped.program);
      }
      link = createIterator(shaped.loaded, def.target, params);
    } else {
      // The map is opened once (its fd read once): program, layout and link are of that map.
      // The link holds its own reference on the map, so the handle can go once it exists.
      using map = openMapParam(def.target, of, params);
      shaped = compiled(map);
      shaped.loaded ??= loadIteratorProgram(shaped.program.spec, def.target);
      link = createIterator(shaped.loaded, def.target, { map });
    }
    return { link, layout: shaped.program.layout };
  };
  /**
   * The link of a program read from the cache, or undefined when loading or
   * linking it fails: the program is forgotten and the caller compiles it
   * from BTF (whose errors are the ones reported, and whose program replaces
   * the file).
   */
  const linkOfCached = (
    shaped: Shaped<F>,
    params: IteratorParams | undefined,
  ): IteratorLink | undefined => {
    let link: IteratorLink | undefined;
    try {
      shaped.loaded ??= loadProgram(shaped.program.spec);
      if (params === undefined) link = attachLoadedIterator(shaped.loaded, def.target);
    } catch (err) {
      shaped.loaded?.close();
      shapes.delete("");
      skipCache = true;
      // A program the verifier refuses, or whose link walks another target, is no good:
      // its file goes. Another error (EAGAIN, EPERM...) says nothing of the file.
      const refused = err instanceof BpfError && (err.code === "EINVAL" || err.code === "EACCES");
      if (refused || err instanceof IteratorError) dropCachedProgram(shaped.cacheKey!);
      return undefined;
    }
    // Parameters are checked against kernel BTF, and the program with them (createIterator).
    return link ?? createIterator(shaped.loaded, def.target, params);
  };
  const newLink = (params: IteratorParams | undefined): IteratorLink => linkWithLayout(params).link;
  /** The link of one run (the shared one without parameters), and its records' layout. */
  const runOf = (params: IteratorParams | undefined) => {
    if (of || params !== undefined) return linkWithLayout(params);
    shared ??= newLink(undefined);
    return { link: shared, layout: compiled(undefined).program.layout };
  };
  const layoutOf = (params: IteratorParams | undefined) => {
    if (!of) return compiled(undefined).program.layout;
    using map = openMapParam(def.target, of, params);
    return compiled(map).program.layout;
  };
  const done = (link: IteratorLink) => {
    if (link !== shared) link.close();
  };
  const { extra, tableRow } = cli;
  /** The table's own built-in (unregistered): the columns' fields, records as they decode. */
  let tableOnly: Builtin<object> | undefined;
  if (cli.tableFromFields) {
    const keys = cli.columns.map((c) => c.key);
    if (of || extra || tableRow || keys.some((k) => !def.fields.some((f) => f.name === k)))
      throw new Error(`${def.target}: tableFromFields needs columns that are fields, no map`);
    const fields = def.fields.filter((f) => keys.includes(f.name));
    tableOnly = makeBuiltin({ target: def.target, object: def.object, fields }, undefined, {
      ...cli,
      tableFromFields: false,
    });
  }
  const show = (records: R[], table: boolean): object[] => {
    if (table && tableRow) return records.map(tableRow);
    if (extra) return records.map((r) => ({ ...r, ...extra(r) }));
    return records.map((r) => ({ ...r }));
  };

  return {
    target: def.target,
    object: def.object,
    fields: def.fields,
    cli,
    ...(of ? { map: of as MapOfBuiltin } : {}),
    async read(params, options) {
      const { link, layout } = runOf(params);
      try {
        // Bigger reads than the reader's default: readRecords gathers seq buffers
        // with readv, 32 per trip through the thread pool.
        return await consumeOwnReader(link.open({ chunkSize: RECORDS_CHUNK, ...options }), (r) =>
          r.readRecords(publicDecoder(layout)),
        );
      } finally {
        done(link);
      }
    },
    readSync(params, options) {
      const { link, layout } = runOf(params);
      try {
        return link.open(options).readRecordsSync(publicDecoder(layout));
      } finally {
        done(link);
      }
    },
    async readRows(params, table) {
      if (table && params === undefined && tableOnly) return tableOnly.read(undefined, {});
      return show(await this.read(params, {}), table);
    },
    readRowsSync(params, table) {
      if (table && params === undefined && tableOnly)
        return tableOnly.readSync(undefined, { chunkSize: RECORDS_CHUNK });
      return show(this.readSync(params, { chunkSize: RECORDS_CHUNK }), table);
    },
    rows: (records, table) => show([...records], table),
    decodeRows(bytes, table, params) {
      return show(this.decode(bytes, params), table);
    },
    link: newLink,
    layout: (params) => layoutOf(params) as RecordLayout<Record<string, unknown>>,
    decode: (bytes, params) => decodeRecords(bytes, publicDecoder(layoutOf(params))),
    close() {
      tableOnly?.close();
      shared?.close();
      shared = undefined;
      for (const shaped of shapes.values()) shaped.loaded?.close();
      shapes.clear();
    },
  };
}

/** Every built-in, in the order they were defined. */
export function builtins(): readonly Builtin<object>[] {
  return [...registry.values()];
}

/** The built-in of `target`, or undefined. */
export function builtinOf(target: string): Builtin<object> | undefined {
  return registry.get(target);
}

function builtinFor(target: string): Builtin<object> {
  const b = registry.get(target);
  if (!b) {
    throw new TypeError(
      `no built-in iterator for "${target}"; built-ins: ${[...registry.keys()].join(", ")}`,
    );
  }
  return b;
}

/** A new link running the built-in program of `target` (the caller closes it). */
export function builtinLink(target: string, params?: IteratorParams): IteratorLink {
  return builtinFor(target).link(params);
}

/** Bytes per record of the built-in of `target` (for a map's elements: of that `{ map }`). */
export function builtinRecordSize(target: string, params?: IteratorParams): number {
  return builtinFor(target).layout(params).size;
}

/** Record layout (decoder) of the built-in of `target`, e.g. to read a pinned one. */
export function builtinLayout(
  target: string,
  params?: IteratorParams,
): RecordLayout<Record<string, unknown>> {
  return builtinFor(target).layout(params);
}

/** Decodes the output of a built-in program (e.g. read from a pinned one) into typed objects. */
export function decodeBuiltin(
  target: string,
  bytes: Uint8Array,
  params?: IteratorParams,
): unknown[] {
  return builtinFor(target).decode(bytes, params);
}

/**
 * Closes the cached programs and links of every built-in (they are reloaded
 * on next use), and drops the read buffers they keep.
 */
export function closeBuiltinPrograms(): void {
  for (const b of registry.values()) b.close();
  dropKeptBuffers();
}
