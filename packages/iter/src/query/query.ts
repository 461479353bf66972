// query(target, { select, where }): the fields of any iterator target's
// objects, by path from its context through pointers, typed by the running
// kernel's BTF and filtered in the kernel. The program is record.ts's record
// program (one fixed record per object, bpf_seq_write) with the predicate
// compiled in front of the write; one program per query shape, loaded on
// first use and kept until closeQueries().

import { type Btf, loadKernelBtf, type RecordLayout } from "@ts-ebpf/btf";
import { disassembleItems, print } from "@ts-ebpf/dsl";
import type { ProgramSpec } from "@ts-ebpf/spec";
import { type Program, VerifierError } from "@ts-ebpf/syscall";
import {
  checkNetnsSelector,
  type InNetns,
  NETNS_TARGETS,
  type NetnsSelector,
  readInNetns,
  readInNetnsSync,
  type SkippedNamespace,
} from "../builtins/namespaces.js";
import { compileRecord, type FieldDef } from "../builtins/record.js";
import { createIterator, loadIteratorProgram, targetBtfId } from "../link.js";
import { consumeOwnReader, readerOptionsSnapshot } from "../owned-fd.js";
import type { IteratorParams } from "../params.js";
import type { ReaderOptions } from "../reader.js";
import { closeProcessArgs } from "./argv.js";
import { QueryError } from "./errors.js";
import { closeExePaths } from "./exe.js";
import { DEFAULT_STRING_LENGTH, type Leaf, resolvePath } from "./paths.js";
import { compileWhere, formatWhere, type Predicate, parseWhere, predicatePaths } from "./where.js";

/**
 * What a query selects: paths ("pid", "real_parent.tgid", "cred.uid.val"),
 * keyed by the path itself, or an object of `alias: path`.
 */
export type QuerySelect = readonly string[] | Readonly<Record<string, string>>;

/**
 * A selected value. Integers of up to 4 bytes are numbers, of 8 bytes bigints
 * (signed as BTF says); `bool` is boolean; an enum is its enumerator's name
 * ("TCP_LISTEN"), or its number when the kernel's enum has no name for it;
 * char arrays and `char *` are strings (up to the NUL); arrays of integers are
 * arrays; a struct selected whole is an object of its members (pointers and
 * bitfields left out).
 */
export type QueryValue =
  | number
  | bigint
  | boolean
  | string
  | readonly (number | bigint)[]
  | { readonly [member: string]: QueryValue };

/** One object of a query: a key per selected path or alias. */
export type QueryRow<S extends QuerySelect> = S extends readonly (infer P extends string)[]
  ? { [K in P]: QueryValue }
  : { [K in keyof S]: QueryValue };

export interface QueryOptions<S extends QuerySelect> {
  readonly select: S;
  /**
   * A predicate over any paths of the target (see where.ts for the syntax),
   * or parsed. A select alias stands for its path (an alias named like a
   * member wins: with `{ pid: "tgid" }`, `pid` in where is the tgid).
   */
  readonly where?: string | Predicate;
  /**
   * Bytes a `char *` is read up to, its NUL included (default 64); a char
   * array longer than max(stringLength, 128) bytes is cut there too.
   */
  readonly stringLength?: number;
  /** The target's parameters ({ pid }, { map }, ...). */
  readonly params?: IteratorParams;
  /**
   * For the per-network-namespace targets (tcp, udp, unix, netlink,
   * ipv6_route): the namespace(s) to walk, as tcp() takes it — a pid, a path
   * (/run/netns/<name>), `{ fd }`, or "all". Each row then carries `netns`,
   * its namespace's inode (a select key named netns is refused).
   */
  readonly netns?: NetnsSelector;
  /** With `netns: "all"`: called for each namespace skipped (default: a process warning). */
  readonly onSkipped?: (skipped: SkippedNamespace) => void;
}

/** A query compiled for the running kernel (not loaded). */
export interface CompiledQuery {
  readonly target: string;
  readonly spec: ProgramSpec;
  /** The program in verifier syntax. */
  readonly listing: string;
  /** Bytes written per matching object. */
  readonly recordSize: number;
  /** The selected keys and the values each copies. */
  readonly columns: readonly { readonly key: string; readonly leaves: readonly Leaf[] }[];
  readonly where: Predicate | undefined;
  /** Decodes one run's bytes into rows. */
  decode(bytes: Uint8Array): Record<string, QueryValue>[];
}

function selectEntries(select: QuerySelect): [string, string][] {
  if (Array.isArray(select)) {
    if (select.length === 0) throw new QueryError("select names no field");
    return (select as readonly unknown[]).map((p, i) => {
      if (typeof p !== "string") throw new TypeError(`select[${i}] must be a string path`);
      return [p, p];
    });
  }
  if (select === null || typeof select !== "object") {
    throw new TypeError("select must be an array of paths or an object of alias: path");
  }
  const entries = Object.entries(select as Record<string, unknown>);
  if (entries.length === 0) throw new QueryError("select names no field");
  return entries.map(([k, p]) => {
    if (typeof p !== "string") throw new TypeError(`select.${k} must be a string path`);
    return [k, p];
  });
}

function decodeValue(leaf: Leaf, raw: unknown): QueryValue {
  const v = leaf.value;
  switch (v.type) {
    case "int":
      if (v.size === 8) return v.signed ? BigInt.asIntN(64, raw as bigint) : (raw as bigint);
      if (!v.signed) return raw as number;
      return v.size === 4
        ? (raw as number) | 0
        : ((raw as number) << (32 - v.size * 8)) >> (32 - v.size * 8);
    case "bool":
      return typeof raw === "bigint" ? raw !== 0n : raw !== 0;
    case "enum": {
      let n = typeof raw === "bigint" ? Number(raw) : (raw as number);
      if (v.signed && v.size === 4) n |= 0;
      return v.names.get(n) ?? n;
    }
    case "string":
      return raw as string;
    case "array": {
      const bytes = raw as Uint8Array;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out: (number | bigint)[] = [];
      for (let i = 0; i < v.count; i++) {
        const o = i * v.elem.size;
        const s = v.elem.signed;
        switch (v.elem.size) {
          case 1:
            out.push(s ? view.getInt8(o) : view.getUint8(o));
            break;
          case 2:
            out.push(s ? view.getInt16(o, true) : view.getUint16(o, true));
            break;
          case 4:
            out.push(s ? view.getInt32(o, true) : view.getUint32(o, true));
            break;
          default:
            out.push(s ? view.getBigInt64(o, true) : view.getBigUint64(o, true));
        }
      }
      return out;
    }
  }
}

/** Compiles a query for `target` against `btf` (the running kernel's by default). */
export function compileQuery<S extends QuerySelect>(
  target: string,
  options: QueryOptions<S>,
  btf: Btf = loadKernelBtf(),
): CompiledQuery {
  if (typeof target !== "string" || target === "")
    throw new TypeError("target must be a target name");
  if (options === null || typeof options !== "object")
    throw new TypeError("query options must be an object");
  const stringLength = options.stringLength ?? DEFAULT_STRING_LENGTH;
  if (!Number.isInteger(stringLength) || stringLength < 2 || stringLength > 256) {
    throw new RangeError("stringLength must be an integer from 2 to 256");
  }
  targetBtfId(target, btf);
  const entries = selectEntries(options.select);
  const where =
    options.where === undefined
      ? undefined
      : typeof options.where === "string"
        ? parseWhere(options.where)
        : options.where;

  const fields: FieldDef[] = [];
  const fieldLeaf = new Map<string, Leaf>();
  /** Record field of each distinct (path, nested) value, shared by select and where. */
  const byPath = new Map<string, string>();
  const place = (leaf: Leaf): string => {
    const key = [leaf.ctx, leaf.inner ?? "", leaf.kind, leaf.len ?? "", leaf.probeRead ?? ""].join(
      "|",
    );
    let name = byPath.get(key);
    if (name === undefined) {
      name = `f${fields.length}`;
      byPath.set(key, name);
      fields.push({
        name,
        ctx: leaf.ctx,
        kind: leaf.kind,
        ...(leaf.inner === undefined ? {} : { path: leaf.inner }),
        ...(leaf.len === undefined ? {} : { len: leaf.len }),
        ...(leaf.probeRead ? { probeRead: true } : {}),
      });
      fieldLeaf.set(name, leaf);
    }
    return name;
  };
  const columns = entries.map(([key, path]) => {
    const leaves = resolvePath(btf, target, path, stringLength);
    return { key, leaves, names: leaves.map(place) };
  });
  const whereFields = new Map<string, { leaf: Leaf; name: string }>();
  // A predicate may name a selected value by its alias.
  const aliases = new Map(entries.filter(([k, p]) => k !== p));
  if (where) {
    for (const written of predicatePaths(where)) {
      if (whereFields.has(written)) continue;
      const path = aliases.get(written) ?? written;
      let leaves: Leaf[];
      try {
        leaves = resolvePath(btf, target, path, stringLength);
      } catch (err) {
        // An enumerator name on the other side of a comparison is not a path.
        if (/^[A-Z][A-Z0-9_]*$/.test(path)) continue;
        if (err instanceof QueryError)
          throw new QueryError(`where: ${err.message}`, { cause: err });
        throw err;
      }
      if (leaves.length !== 1 || leaves[0]!.nested.length > 0) {
        throw new QueryError(
          `where: ${path} is a struct; compare one of its members (${path}.<member>)`,
        );
      }
      whereFields.set(written, { leaf: leaves[0]!, name: place(leaves[0]!) });
    }
  }
  const fieldOf = (path: string) => {
    const f = whereFields.get(path);
    if (!f)
      throw new QueryError(
        `where: ${path} is not a field of ${target}, nor an enumerator of the other side's enum`,
      );
    return f;
  };
  let program: ReturnType<typeof compileRecord>;
  const object = fields[0]?.ctx;
  const ctxObject = firstPointer(btf, target);
  try {
    program = compileRecord(btf, target, ctxObject ?? object!, fields, `q_${target}`.slice(0, 15), {
      ...(where ? { filter: (at) => compileWhere(where, fieldOf, at) } : {}),
    });
  } catch (err) {
    if (err instanceof QueryError) throw err;
    if (err instanceof Error && /exceeds/.test(err.message)) {
      throw new QueryError(
        `the selected fields need ${err.message.replace(/^record of /, "a record of ")}: select fewer or shorter ones (stringLength)`,
        { cause: err },
      );
    }
    throw err;
  }
  const layout = program.layout as RecordLayout<Record<string, unknown>>;
  const spec = program.spec;
  const decodeRow = (raw: Record<string, unknown>) => {
    const row: Record<string, QueryValue> = {};
    for (const c of columns) {
      if (c.leaves.length === 1 && c.leaves[0]!.nested.length === 0) {
        row[c.key] = decodeValue(c.leaves[0]!, raw[c.names[0]!]);
        continue;
      }
      const obj: Record<string, QueryValue> = {};
      c.leaves.forEach((leaf, i) => {
        let at = obj;
        for (const k of leaf.nested.slice(0, -1)) {
          at[k] ??= {};
          at = at[k] as Record<string, QueryValue>;
        }
        at[leaf.nested[leaf.nested.length - 1]!] = decodeValue(leaf, raw[c.names[i]!]);
      });
      row[c.key] = obj;
    }
    return row;
  };
  return {
    target,
    spec,
    listing: print(disassembleItems(spec.instructions)),
    recordSize: layout.size,
    columns: columns.map(({ key, leaves }) => ({ key, leaves })),
    where,
    decode(bytes) {
      const out: Record<string, QueryValue>[] = [];
      for (let o = 0; o + layout.size <= bytes.length; o += layout.size) {
        out.push(decodeRow(layout.decode(bytes, o) as Record<string, unknown>));
      }
      return out;
    },
    // Kept for verifier mapping.
    ...({ marks: program.marks, fieldLeaf } as object),
  };
}

/** The context member NULL at the end of the iteration: the first pointer one. */
function firstPointer(btf: Btf, target: string): string | undefined {
  const ctx = btf.composite(`struct bpf_iter__${target}`);
  const names: string[] = [];
  const walk = (c: typeof ctx) => {
    for (const m of c.members) {
      const t = btf.resolve(m.type);
      if (m.name === "" && (t.kind === "struct" || t.kind === "union")) walk(t);
      else if (m.name !== "meta" && t.kind === "ptr") names.push(m.name);
    }
  };
  walk(ctx);
  return names[0];
}

/** Turns a verifier rejection into the query field or predicate whose code it stopped in. */
function explainRejection(q: CompiledQuery, err: VerifierError): QueryError {
  const { marks, fieldLeaf } = q as unknown as {
    marks: ReadonlyMap<string, number>;
    fieldLeaf: Map<string, Leaf>;
  };
  let cause = "the record's write";
  const at = err.instruction;
  if (at !== undefined) {
    let best: [string, number] | undefined;
    for (const [name, slot] of marks) {
      if (!(name.startsWith("field.") || name === "filter" || name === "write")) continue;
      if (slot <= at && (!best || slot >= best[1])) best = [name, slot];
    }
    if (best?.[0] === "filter" && q.where) cause = `the predicate ${formatWhere(q.where)}`;
    else if (best?.[0].startsWith("field.")) {
      const leaf = fieldLeaf.get(best[0].slice("field.".length));
      if (leaf)
        cause = `the field ${leaf.path}${leaf.nested.length ? `.${leaf.nested.join(".")}` : ""} (${leaf.cType})`;
    }
  }
  const line = err.log
    .trim()
    .split("\n")
    .filter((l) => !/^(processed|verification time|stack depth)/.test(l))
    .pop();
  const hint = !/d_path/.test(err.log)
    ? ""
    : /untrusted_ptr/.test(err.log)
      ? " (bpf_d_path takes only a struct path the verifier trusts: task_file's file.f_path, not one reached through other pointers)"
      : /helper call is not allowed/.test(err.log)
        ? " (iterator programs may call bpf_d_path from Linux 5.12 on, the release that brought the task_vma iterator: select file.f_path.dentry.d_name.name for the file's name instead)"
        : "";
  return new QueryError(
    `the kernel's verifier rejected the code reading ${cause}${hint}${at === undefined ? "" : ` (instruction ${at})`}: ${line ?? err.message}`,
    { cause: err },
  );
}

interface Cached {
  readonly compiled: CompiledQuery;
  program?: Program;
}
const cache = new Map<string, Cached>();

function shapeKey<S extends QuerySelect>(target: string, options: QueryOptions<S>): string {
  const where =
    options.where === undefined
      ? ""
      : typeof options.where === "string"
        ? formatWhere(parseWhere(options.where))
        : formatWhere(options.where);
  return JSON.stringify([
    target,
    selectEntries(options.select),
    where,
    options.stringLength ?? DEFAULT_STRING_LENGTH,
  ]);
}

/** The compiled and loaded program of a query shape (cached). */
function prepared<S extends QuerySelect>(
  target: string,
  options: QueryOptions<S>,
): Required<Cached> {
  const key = shapeKey(target, options);
  let entry = cache.get(key);
  if (!entry) {
    entry = { compiled: compileQuery(target, options) };
    cache.set(key, entry);
  }
  entry.program ??= loadQuery(entry.compiled);
  return entry as Required<Cached>;
}

/**
 * Loads a compiled query's program; a verifier rejection becomes a QueryError
 * naming the field or predicate whose code the verifier stopped in.
 */
export function loadQuery(compiled: CompiledQuery): Program {
  try {
    return loadIteratorProgram(compiled.spec, compiled.target);
  } catch (err) {
    if (err instanceof VerifierError) throw explainRejection(compiled, err);
    throw err;
  }
}

/**
 * The `netns` of a query, checked before anything reaches the kernel: only
 * per-network-namespace targets take one, and the rows' `netns` key must be free.
 */
function queryNetns<S extends QuerySelect>(
  target: string,
  options: QueryOptions<S>,
): NetnsSelector | undefined {
  if (options === null || typeof options !== "object")
    throw new TypeError("query options must be an object");
  const { netns, onSkipped } = options;
  if (onSkipped !== undefined && typeof onSkipped !== "function") {
    throw new TypeError("onSkipped must be a function");
  }
  if (netns === undefined) return undefined;
  const selector = checkNetnsSelector(netns);
  if (!NETNS_TARGETS.has(target)) {
    throw new TypeError(
      `netns applies to the targets that walk one network namespace (${[...NETNS_TARGETS].join(", ")}), not ${target}`,
    );
  }
  if (selectEntries(options.select).some(([key]) => key === "netns")) {
    throw new QueryError(
      "select has a key named netns, which a query with { netns } sets to the namespace's inode: alias the field otherwise",
    );
  }
  return selector;
}

/** What readInNetns walks for a query: its cached program, a link per namespace walk. */
function netnsSource<S extends QuerySelect>(
  target: string,
  options: QueryOptions<S>,
  { compiled, program }: Required<Cached>,
) {
  return {
    target,
    link: () => createIterator(program, target, options.params),
    decode: (bytes: Uint8Array) => compiled.decode(bytes) as QueryRow<S>[],
  };
}

/**
 * Reads `select` of every object of `target` that matches `where`, filtered
 * in the kernel. Example:
 *
 *   await query("task", { select: { pid: "tgid", ppid: "real_parent.tgid", uid: "cred.uid.val" },
 *                         where: 'pid == tgid and comm ^= "ssh"' })
 *
 * With `netns` (tcp, udp, unix, netlink, ipv6_route) the rows are those of
 * that namespace, or of every one ("all"), each with `netns`, its inode.
 */
export async function query<const S extends QuerySelect>(
  target: string,
  options: QueryOptions<S> & { readonly netns: NetnsSelector },
  reader?: ReaderOptions,
): Promise<InNetns<QueryRow<S>>[]>;
export async function query<const S extends QuerySelect>(
  target: string,
  options: QueryOptions<S>,
  reader?: ReaderOptions,
): Promise<QueryRow<S>[]>;
export async function query<const S extends QuerySelect>(
  target: string,
  options: QueryOptions<S>,
  reader: ReaderOptions = {},
): Promise<QueryRow<S>[]> {
  const netns = queryNetns(target, options);
  if (netns !== undefined) {
    const snapshot = readerOptionsSnapshot(reader);
    const entry = prepared(target, options);
    return readInNetns(netnsSource(target, options, entry), {
      ...snapshot,
      netns,
      ...(options.onSkipped ? { onSkipped: options.onSkipped } : {}),
    });
  }
  const { compiled, program } = prepared(target, options);
  const link = createIterator(program, target, options.params);
  try {
    const bytes = await consumeOwnReader(link.open(reader), (r) => r.readAll());
    return compiled.decode(bytes) as QueryRow<S>[];
  } finally {
    link.close();
  }
}

/** query() without a promise (blocks the thread for the read; namespaces are walked in turn). */
export function querySync<const S extends QuerySelect>(
  target: string,
  options: QueryOptions<S> & { readonly netns: NetnsSelector },
  reader?: ReaderOptions,
): InNetns<QueryRow<S>>[];
export function querySync<const S extends QuerySelect>(
  target: string,
  options: QueryOptions<S>,
  reader?: ReaderOptions,
): QueryRow<S>[];
export function querySync<const S extends QuerySelect>(
  target: string,
  options: QueryOptions<S>,
  reader: ReaderOptions = {},
): QueryRow<S>[] {
  const netns = queryNetns(target, options);
  if (netns !== undefined) {
    const snapshot = readerOptionsSnapshot(reader);
    const entry = prepared(target, options);
    return readInNetnsSync(netnsSource(target, options, entry), {
      ...snapshot,
      netns,
      ...(options.onSkipped ? { onSkipped: options.onSkipped } : {}),
    });
  }
  const { compiled, program } = prepared(target, options);
  const link = createIterator(program, target, options.params);
  try {
    return compiled.decode(link.open(reader).readAllSync()) as QueryRow<S>[];
  } finally {
    link.close();
  }
}

/** Closes every cached query program, processArgs()' too (loaded again on next use). */
export function closeQueries(): void {
  for (const entry of cache.values()) entry.program?.close();
  cache.clear();
  closeProcessArgs();
  closeExePaths();
}
