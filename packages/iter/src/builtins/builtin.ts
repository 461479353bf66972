// A built-in iterator is one definition (defineBuiltin): its target, the
// fields it copies, the converter to the public record, and how bpf-iter
// shows it. The record's TypeScript type is derived from the fields and the
// converter, and the program, decoder and CLI table all come from the same
// object. Defining one registers it: builtinLink, decodeBuiltin, the CLI's
// commands and `list` find it by target.

import { loadKernelBtf, type RecordLayout } from "@ts-ebpf/btf";
import type { Program } from "@ts-ebpf/syscall";
import type { Column, Row } from "../cli/format.js";
import { createIterator, type IteratorLink, loadIteratorProgram, targetBtfId } from "../link.js";
import { consumeOwnReader } from "../owned-fd.js";
import type { IteratorParams } from "../params.js";
import { decodeRecords, type ReaderOptions } from "../reader.js";
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
}

interface Definition<F extends readonly FieldDef[]> {
  /** Iterator target. */
  readonly target: string;
  /** Context member that is NULL at the end of the iteration. */
  readonly object: string;
  readonly fields: F;
}

/** A built-in iterator: the definition, and the program compiled from it on first use. */
export interface Builtin<R> {
  readonly target: string;
  readonly object: string;
  readonly fields: readonly FieldDef[];
  readonly cli: BuiltinCommand;
  /** Every record of one run of the iterator. */
  read(params: IteratorParams | undefined, options: ReaderOptions): Promise<R[]>;
  readSync(params: IteratorParams | undefined, options: ReaderOptions): R[];
  /** A new link running this built-in's program (the caller closes it). */
  link(params?: IteratorParams): IteratorLink;
  /** Decoder of the raw records the program writes. */
  layout(): RecordLayout<Record<string, unknown>>;
  /** Records written by this built-in's program (e.g. read from a pin), converted. */
  decode(bytes: Uint8Array): R[];
  /** What bpf-iter prints for one run: the records with their extra cells, or table rows. */
  readRows(params: IteratorParams | undefined, table: boolean): Promise<object[]>;
  /** What bpf-iter prints for records read from a pin. */
  decodeRows(bytes: Uint8Array, table: boolean): object[];
  /** Closes the cached program and link (reloaded on next use). */
  close(): void;
}

/** The record type of a built-in: `BuiltinRecord<typeof TASK>`. */
export type BuiltinRecord<B> = B extends Builtin<infer R> ? R : never;

const registry = new Map<string, Builtin<object>>();

/** Defines and registers a built-in whose records are `convert` of the decoded fields. */
export function defineBuiltin<const F extends readonly FieldDef[], R extends object>(
  def: Definition<F> & {
    readonly convert: (raw: RawRecord<F>) => R;
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
      | { readonly convert: (raw: RawRecord<F>) => R; readonly cli: BuiltinCli<R> }
      | { readonly convert?: undefined; readonly cli: BuiltinCli<RawRecord<F>> }
    ),
): Builtin<R> | Builtin<RawRecord<F>> {
  if (registry.has(def.target)) throw new Error(`two built-ins for target ${def.target}`);
  const builtin =
    def.convert === undefined
      ? register(makeBuiltin(def, (raw) => raw, def.cli))
      : register(makeBuiltin(def, def.convert, def.cli));
  return builtin;
}

function register<R extends object>(builtin: Builtin<R>): Builtin<R> {
  registry.set(builtin.target, builtin);
  return builtin;
}

function makeBuiltin<F extends readonly FieldDef[], R extends object>(
  def: Definition<F>,
  convert: (raw: RawRecord<F>) => R,
  cli: BuiltinCli<R>,
): Builtin<R> {
  let program: RecordProgram<RawRecord<F>> | undefined;
  /** Loaded once per process, shared by every link of this built-in. */
  let loaded: Program | undefined;
  /** Link without parameters, created on first use and kept for the process. */
  let shared: IteratorLink | undefined;

  const compiled = (): RecordProgram<RawRecord<F>> => {
    if (!program) {
      const btf = loadKernelBtf();
      targetBtfId(def.target, btf);
      program = compileRecord<RawRecord<F>>(btf, def.target, def.object, def.fields);
    }
    return program;
  };
  const newLink = (params: IteratorParams | undefined): IteratorLink => {
    loaded ??= loadIteratorProgram(compiled().spec, def.target);
    return createIterator(loaded, def.target, params);
  };
  const linkFor = (params: IteratorParams | undefined): IteratorLink => {
    if (params !== undefined) return newLink(params);
    shared ??= newLink(undefined);
    return shared;
  };
  const done = (link: IteratorLink) => {
    if (link !== shared) link.close();
  };
  const { extra, tableRow } = cli;
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
    async read(params, options) {
      const { layout } = compiled();
      const link = linkFor(params);
      try {
        const records = await consumeOwnReader(link.open(options), (r) => r.readRecords(layout));
        return records.map(convert);
      } finally {
        done(link);
      }
    },
    readSync(params, options) {
      const { layout } = compiled();
      const link = linkFor(params);
      try {
        return link.open(options).readRecordsSync(layout).map(convert);
      } finally {
        done(link);
      }
    },
    async readRows(params, table) {
      return show(await this.read(params, {}), table);
    },
    decodeRows(bytes, table) {
      return show(this.decode(bytes), table);
    },
    link: newLink,
    layout: () => compiled().layout,
    decode: (bytes) => decodeRecords(bytes, compiled().layout).map(convert),
    close() {
      shared?.close();
      loaded?.close();
      shared = undefined;
      loaded = undefined;
      program = undefined;
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

/** Bytes per record of the built-in of `target`. */
export function builtinRecordSize(target: string): number {
  return builtinFor(target).layout().size;
}

/** Record layout (decoder) of the built-in of `target`, e.g. to read a pinned one. */
export function builtinLayout(target: string): RecordLayout<Record<string, unknown>> {
  return builtinFor(target).layout();
}

/** Decodes the output of a built-in program (e.g. read from a pinned one) into typed objects. */
export function decodeBuiltin(target: string, bytes: Uint8Array): unknown[] {
  return builtinFor(target).decode(bytes);
}

/** Closes the cached programs and links of every built-in (they are reloaded on next use). */
export function closeBuiltinPrograms(): void {
  for (const b of registry.values()) b.close();
}
