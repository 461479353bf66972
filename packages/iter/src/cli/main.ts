// bpf-iter: list iterator targets, dump kernel objects through the built-in
// iterators, dump a map, pin an iterator. Table by default, JSON lines with --json.

import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { BpfError, BpfMap } from "@ts-ebpf/syscall";
import * as it from "../index.js";
import {
  type Column,
  handleStdoutErrors,
  jsonLine,
  print,
  type Row,
  runCommand,
  streamWrite,
  write,
} from "./format.js";
import { dumpMap as dumpMapElements } from "./map.js";

const OPTIONS_OF_PARAMS: Record<string, string> = {
  task: " [--pid N]", // one process, Linux 6.1+
  cgroup: " [--cgroup-id N] [--order pre|post|up|self]",
  map: " <map-id|pinned-path>",
};

/** Options of a built-in's command beyond its target's parameters. */
function commandOptions(b: it.Builtin<object>): string {
  if (it.NETNS_TARGETS.has(b.target)) return " [--netns pid|path|all]";
  if (b.target === "task") return " [--pidns pid|path]";
  return "";
}

/** Usage line of each built-in's command, from its definition. */
function builtinUsage(): string {
  return it
    .builtins()
    .map((b) => {
      const names = [b.cli.command, ...(b.cli.aliases ?? [])].join("|");
      const head = `  ${names}${OPTIONS_OF_PARAMS[it.paramKind(b.target)] ?? ""}${commandOptions(b)}`;
      return head.length < 31
        ? `${head.padEnd(31)}${b.cli.help}`
        : `${head}\n${" ".repeat(31)}${b.cli.help}`;
    })
    .join("\n");
}

const USAGE = () => `usage: bpf-iter <command> [options]

commands:
  list                         iterator targets of the running kernel
${builtinUsage()}
  map <id|pinned-path>         contents of a map (bpf_map_elem iterator)
  pin <target> <path> [--mode 0644] [--map <map-id|pinned-path>]
                               pin a built-in iterator on bpffs (binary records);
                               --mode: the pin's permissions (default 0600: owner only);
                               --map: the map of a built-in over a map's elements
  query <target> <fields> [--where expr] [--netns pid|path|all]
                               fields of any target's objects by BTF path, comma-separated,
                               alias=path to rename ("pid=tgid,ppid=real_parent.tgid,comm");
                               --where: a predicate run in the kernel
                               ('uid.val >= 1000 and comm ^= "ssh"', see the docs of query());
                               --netns: for tcp, udp, unix, netlink, ipv6_route (NETNS column)
  ps [--threads] [--argv] [--where expr] [--pidns pid|path]
                               processes: pid, ppid, uid, gid, state, threads, rss, start
                               time, cgroup, comm and exe (--threads: every thread;
                               --argv: arguments, Linux 5.18+)
  cat <pinned-path>            read a pinned iterator: a built-in's records as a table, else text
                               (without bpf(2) privileges: a text iterator the pin's mode lets you read)
  serve [--listen host:port]   Prometheus / OpenMetrics exporter (package @ts-ebpf/exporter;
                               bpf-iter serve --help for its options)

options:
  --netns X   sockets/routes of network namespace X: a pid, a path
              (/run/netns/<name>, /proc/<pid>/ns/net) or "all" (every namespace
              in use); adds a NETNS column (the namespace inode); entering a
              namespace needs CAP_SYS_ADMIN
  --pidns X   tasks as pid namespace X (a pid or a path) sees them: its ids,
              only the tasks it sees, and their cgroup paths
  --watch     read again every --interval seconds (default 2) and show the rows
              that appeared (+) and disappeared (-), until Ctrl-C
  --json      one JSON object per line
  -h, --help  this text`;

class UsageError extends Error {}

/** The built-in a command (or alias) names. */
function builtinOfCommand(command: string): it.Builtin<object> | undefined {
  return it
    .builtins()
    .find((b) => b.cli.command === command || (b.cli.aliases ?? []).includes(command));
}

/** Commands of the built-ins whose target takes parameters of `kind`: "tasks, files and vmas". */
function commandsTaking(kind: it.ParamKind): string {
  const names = it
    .builtins()
    .filter((b) => it.paramKind(b.target) === kind)
    .map((b) => b.cli.command);
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** A built-in's parameters from the command line, by the kind its target takes. */
function builtinParams(
  builtin: it.Builtin<object>,
  pid: number | undefined,
  cgroup: { id?: bigint; order?: string },
): it.IteratorParams | undefined {
  switch (it.paramKind(builtin.target)) {
    case "task":
      return pid === undefined ? undefined : { pid };
    case "cgroup":
      if (cgroup.id === undefined && cgroup.order === undefined) return undefined;
      return {
        ...(cgroup.id === undefined ? {} : { cgroupId: cgroup.id }),
        ...(cgroup.order === undefined ? {} : { order: cgroup.order as it.CgroupOrder }),
      };
    default:
      return undefined;
  }
}

function openMap(arg: string): BpfMap {
  if (/^\d+$/.test(arg)) return BpfMap.fromId(Number(arg));
  if (existsSync(arg)) return BpfMap.fromPinned(arg);
  throw new UsageError(`map: "${arg}" is neither a map id nor an existing pinned path`);
}

async function dumpMap(arg: string, json: boolean): Promise<void> {
  using map = openMap(arg);
  await dumpMapElements(map, json);
}

function parseMode(mode: string): number {
  if (!/^0?[0-7]{3}$/.test(mode))
    throw new UsageError(`--mode must be octal permission bits such as 0644, got "${mode}"`);
  return Number.parseInt(mode, 8);
}

function pin(target: string, path: string, mode: number | undefined, mapArg?: string): void {
  const builtin = it.builtinOf(target);
  if (mapArg !== undefined && !builtin?.map) {
    throw new UsageError(`--map applies to the built-ins over a map's elements, not ${target}`);
  }
  if (builtin?.map && mapArg === undefined) {
    throw new UsageError(`pin ${target} needs the map: --map <map-id|pinned-path>`);
  }
  using map = mapArg === undefined ? undefined : openMap(mapArg);
  const params = map ? { map } : undefined;
  const link = it.builtinLink(target, params);
  try {
    link.pin(path, mode === undefined ? {} : { mode });
  } finally {
    link.close();
  }
  write(
    `pinned ${target} iterator at ${path} (records of ${it.builtinRecordSize(target, params)} bytes)\n`,
  );
}

const isRoot = () => process.geteuid?.() === 0;

/**
 * Whether to read the pin as a file after BPF_OBJ_GET refused it, for a user
 * other than root: EPERM (no bpf(2) for this user) or EACCES (OBJ_GET of a
 * link needs write permission; reading needs only read). Root never falls
 * back, whatever the errno: a second lookup of the path is what `cat` must
 * not do (the name can be swapped in between), and for root OBJ_GET's refusal
 * means the path holds no BPF object, or a security policy keeps it from root.
 */
function readAsFile(err: unknown, path: string): boolean {
  if (!(err instanceof BpfError) || err.command !== "OBJ_GET") return false;
  if (err.code !== "EPERM" && err.code !== "EACCES") return false;
  if (!isRoot()) return true;
  throw new Error(
    `${path} is not a pinned iterator: BPF_OBJ_GET refused it (${err.code}), ` +
      (err.code === "EACCES"
        ? `so it is no BPF object (or a security policy keeps it from root)${err.hint ? `: ${err.hint}` : ""}`
        : "so a security policy keeps it from root"),
    { cause: err },
  );
}

/**
 * Reads the iterator pinned at `path`, looking the path up once. With bpf(2):
 * BPF_OBJ_GET, checked to be an iterator link, and BPF_ITER_CREATE on that
 * very fd (the target is known). Where bpf(2) refuses a user other than
 * root (no privileges, or a link pin they may read but not write, which
 * OBJ_GET needs): one open() of the path, checked on the opened fd to be a
 * file on bpffs; the target is then unknown.
 */
async function readPinned(
  path: string,
): Promise<{ bytes: Buffer; target?: string; mapId?: number }> {
  let link: it.IteratorLink;
  try {
    link = it.IteratorLink.fromPinned(path);
  } catch (err) {
    if (!readAsFile(err, path)) throw err;
    let reader: it.IteratorReader;
    try {
      reader = it.openPinned(path);
    } catch (openErr) {
      if (openErr instanceof it.IteratorReadError && openErr.errno === "EACCES") {
        throw new Error(
          `cannot read ${path}: permission denied (reading a pinned iterator needs read permission on the pin)`,
        );
      }
      throw openErr;
    }
    return { bytes: await reader.readAll() };
  }
  try {
    const bytes = await link.open().readAll();
    const { mapId } = link.info();
    return { bytes, target: link.target, ...(mapId ? { mapId } : {}) };
  } finally {
    link.close();
  }
}

async function cat(path: string, json: boolean): Promise<void> {
  const { bytes, target, mapId } = await readPinned(path);
  if (target === undefined) {
    if (!isText(bytes)) {
      throw new Error(
        `${path} gives binary records, and which built-in wrote them is known only through ` +
          "bpf(2) (BPF_OBJ_GET of a link needs write permission on the pin, or root)",
      );
    }
    write(bytes.toString("utf8"));
    return;
  }
  const builtin = it.builtinOf(target);
  // A map built-in's records hold the map's keys or values: their size is the link's map's.
  using map = builtin?.map && mapId !== undefined ? BpfMap.fromId(mapId) : undefined;
  const params = map ? { map } : undefined;
  const size = builtin && (!builtin.map || map) ? it.builtinRecordSize(target, params) : 0;
  // A built-in's binary records decode to its table; anything else is the program's own text.
  if (builtin && size > 0 && bytes.length % size === 0 && !isText(bytes)) {
    print(builtin.decodeRows(bytes, !json, params), builtin.cli.columns, json);
    return;
  }
  write(bytes.toString("utf8"));
}

function isText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return true;
  for (const b of bytes.subarray(0, 4096))
    if (b === 0 || (b < 32 && b !== 10 && b !== 9)) return false;
  return true;
}

function list(json: boolean): void {
  const supported = it.supportedTargets();
  const rows: Row[] = supported.map((t) => ({
    target: t.name,
    since: t.since ?? "?",
    params: t.params === "none" ? "" : t.params,
    builtin: it.builtinOf(t.name)?.cli.command ?? "",
    context: t.context.map((m) => `${m.type} ${m.name}`.replace("* ", "*")).join(", "),
  }));
  for (const t of it.missingTargets()) {
    rows.push({
      target: t.name,
      since: t.since,
      params: "",
      builtin: "",
      context: `(absent: needs Linux ${t.since})`,
    });
  }
  print(
    rows,
    [
      { key: "target" },
      { key: "since" },
      { key: "params" },
      { key: "builtin" },
      { key: "context" },
    ],
    json,
  );
}

export async function main(argv: string[]): Promise<number> {
  // serve has options of its own: the exporter package parses them.
  if (argv[0] === "serve") return serve(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      pid: { type: "string" },
      "cgroup-id": { type: "string" },
      order: { type: "string" },
      mode: { type: "string" },
      netns: { type: "string" },
      pidns: { type: "string" },
      map: { type: "string" },
      where: { type: "string" },
      threads: { type: "boolean", default: false },
      argv: { type: "boolean", default: false },
      "string-length": { type: "string" },
      watch: { type: "boolean", default: false },
      interval: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, ...rest] = positionals;
  const intervalMs = watchInterval(values.watch, values.interval);
  if (values.help || command === undefined) {
    write(`${USAGE()}\n`);
    return command === undefined && !values.help ? 1 : 0;
  }
  let pid: number | undefined;
  if (values.pid !== undefined) {
    if (!/^\d+$/.test(values.pid) || Number(values.pid) < 1)
      throw new UsageError(`--pid must be a positive integer, got "${values.pid}"`);
    const target = builtinOfCommand(command)?.target;
    if (target === undefined || it.paramKind(target) !== "task")
      throw new UsageError(`--pid applies to ${commandsTaking("task")}, not ${command}`);
    pid = Number(values.pid);
  }
  if (
    (values["cgroup-id"] !== undefined || values.order !== undefined) &&
    it.paramKind(builtinOfCommand(command)?.target ?? "") !== "cgroup"
  ) {
    throw new UsageError(`--cgroup-id and --order apply to ${commandsTaking("cgroup")} only`);
  }
  if (values.mode !== undefined && command !== "pin")
    throw new UsageError("--mode applies to pin only");
  if (values.map !== undefined && command !== "pin")
    throw new UsageError("--map applies to pin only (other commands take the map as argument)");
  const cgroupId = values["cgroup-id"];
  if (cgroupId !== undefined && !/^\d+$/.test(cgroupId))
    throw new UsageError("--cgroup-id must be a number");
  switch (command) {
    case "list":
      list(values.json);
      return 0;
    case "map":
      if (rest.length !== 1) throw new UsageError("usage: bpf-iter map <id|pinned-path>");
      await dumpMap(rest[0]!, values.json);
      return 0;
    case "pin":
      if (rest.length !== 2)
        throw new UsageError(
          "usage: bpf-iter pin <target> <path> [--mode 0644] [--map <map-id|pinned-path>]",
        );
      pin(
        rest[0]!,
        rest[1]!,
        values.mode === undefined ? undefined : parseMode(values.mode),
        values.map,
      );
      return 0;
    case "cat":
      if (rest.length !== 1) throw new UsageError("usage: bpf-iter cat <pinned-path>");
      await cat(rest[0]!, values.json);
      return 0;
    case "query":
      if (rest.length !== 2)
        throw new UsageError(
          "usage: bpf-iter query <target> <field,alias=path,...> [--where expr] [--netns pid|path|all]",
        );
      await runQuery(
        rest[0]!,
        rest[1]!,
        values.where,
        values["string-length"],
        values.netns === undefined ? undefined : namespaceArg("--netns", values.netns, true),
        values.json,
      );
      return 0;
    case "ps":
      if (values.netns !== undefined)
        throw new UsageError(`--netns applies to ${netnsCommands()} and query, not ps`);
      // ps --pidns: the task view inside a pid namespace (below, with the task built-in).
      if (values.pidns === undefined) {
        if (rest.length > 0) throw new UsageError(`ps takes no arguments, got "${rest.join(" ")}"`);
        const read = async () =>
          (
            await it.processes({
              threads: values.threads,
              argv: values.argv,
              ...(values.where === undefined ? {} : { where: values.where }),
            })
          ).map((p) => psRow(p, !values.json));
        const columns = values.argv ? [...PS_COLUMNS, { key: "args" }] : PS_COLUMNS;
        if (intervalMs !== undefined)
          await watchUntilSignal(read, columns, values.json, intervalMs);
        else print(await read(), columns, values.json);
        return 0;
      }
  }
  if (values.where !== undefined) throw new UsageError("--where applies to query and ps only");
  if (values.threads || values.argv) throw new UsageError("--threads and --argv apply to ps only");
  const builtin = command === "ps" ? it.builtinOf("task") : builtinOfCommand(command);
  if (!builtin) throw new UsageError(`unknown command "${command}"\n\n${USAGE()}`);
  if (builtin.map) {
    // A built-in over a map's elements: the map is its one argument.
    if (rest.length !== 1) throw new UsageError(`usage: bpf-iter ${command} <map-id|pinned-path>`);
    using map = openMap(rest[0]!);
    const rows = builtin.readRowsSync({ map }, !values.json);
    print(rows, builtin.cli.columns, values.json);
    return 0;
  }
  if (rest.length > 0)
    throw new UsageError(`${command} takes no arguments, got "${rest.join(" ")}"`);
  if (values.netns !== undefined && !it.NETNS_TARGETS.has(builtin.target)) {
    throw new UsageError(`--netns applies to ${netnsCommands()}, not ${command}`);
  }
  if (values.pidns !== undefined && builtin.target !== "task") {
    throw new UsageError(`--pidns applies to tasks (ps) only, not ${command}`);
  }
  const params = builtinParams(builtin, pid, {
    ...(cgroupId === undefined ? {} : { id: BigInt(cgroupId) }),
    ...(values.order === undefined ? {} : { order: values.order }),
  });
  if (values.netns !== undefined) {
    await printInNetns(builtin, namespaceArg("--netns", values.netns, true), values.json);
    return 0;
  }
  if (values.pidns !== undefined) {
    await printInPidns(namespaceArg("--pidns", values.pidns, false), params, values.json);
    return 0;
  }
  if (intervalMs !== undefined) {
    await watchUntilSignal(
      () => builtin.readRows(params, !values.json),
      builtin.cli.columns,
      values.json,
      intervalMs,
    );
    return 0;
  }
  const rows = builtin.readRowsSync(params, !values.json);
  print(rows, builtin.cli.columns, values.json);
  return 0;
}

const PS_COLUMNS: readonly Column[] = [
  { key: "pid", right: true },
  { key: "ppid", right: true },
  { key: "uid", right: true },
  { key: "gid", right: true },
  { key: "state", header: "S" },
  { key: "threads", header: "THR", right: true },
  { key: "rss", header: "RSS(KiB)", right: true },
  { key: "start", header: "START(s)", right: true },
  { key: "cgroup" },
  { key: "comm" },
  { key: "exe" },
];

const PAGE_KIB = 4;

/** One ps row: table cells, or the whole record for --json. */
function psRow(p: it.Process, table: boolean): Row | object {
  if (!table) return p;
  return {
    pid: p.tid === p.pid ? p.pid : `${p.pid}/${p.tid}`,
    ppid: p.ppid,
    uid: p.uid,
    gid: p.gid,
    state: p.state,
    threads: p.threads,
    rss: p.rssPages * PAGE_KIB,
    start: (Number(p.startTimeNs) / 1e9).toFixed(2),
    cgroup: p.cgroupPath ?? String(p.cgroupId),
    comm: p.comm,
    exe: p.exe,
    ...(p.argv ? { args: p.argv.join(" ") } : {}),
  };
}

/** Cell text of a query value: objects and arrays as JSON. */
function queryCell(value: it.QueryValue): string | number | bigint | boolean {
  if (typeof value === "object") return jsonLine(value).trimEnd();
  return value;
}

/** bpf-iter query: "a=path,b" into a select object. */
async function runQuery(
  target: string,
  fields: string,
  where: string | undefined,
  stringLength: string | undefined,
  netns: number | string | undefined,
  json: boolean,
): Promise<void> {
  if (netns !== undefined && !it.NETNS_TARGETS.has(target)) {
    throw new UsageError(
      `--netns applies to the targets ${[...it.NETNS_TARGETS].join(", ")}, not ${target}`,
    );
  }
  const select: Record<string, string> = {};
  for (const item of fields.split(",").map((f) => f.trim())) {
    if (item === "") throw new UsageError(`empty field in "${fields}"`);
    const eq = item.indexOf("=");
    const [alias, path] = eq < 0 ? [item, item] : [item.slice(0, eq), item.slice(eq + 1)];
    if (alias in select) throw new UsageError(`field "${alias}" named twice`);
    select[alias] = path;
  }
  let length: number | undefined;
  if (stringLength !== undefined) {
    if (!/^\d+$/.test(stringLength)) throw new UsageError("--string-length must be a number");
    length = Number(stringLength);
  }
  const rows: Record<string, it.QueryValue>[] = await it.query(target, {
    select,
    ...(where === undefined ? {} : { where }),
    ...(length === undefined ? {} : { stringLength: length }),
    ...(netns === undefined ? {} : { netns, onSkipped: reportSkipped }),
  });
  const columns = [
    ...(netns === undefined ? [] : [{ key: "netns", header: "NETNS", right: true }]),
    ...Object.keys(select).map((key) => ({ key })),
  ];
  print(
    json
      ? rows
      : rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, queryCell(v)]))),
    columns,
    json,
  );
}

/** --interval in ms when --watch is given (default 2 s); a UsageError otherwise. */
function watchInterval(watch: boolean, interval: string | undefined): number | undefined {
  if (!watch) {
    if (interval !== undefined) throw new UsageError("--interval applies to --watch only");
    return undefined;
  }
  if (interval === undefined) return 2000;
  const seconds = Number(interval);
  if (!/^\d+(\.\d+)?$/.test(interval) || seconds < 0.1 || seconds > 86_400)
    throw new UsageError(`--interval must be 0.1 to 86400 seconds, got "${interval}"`);
  return seconds * 1000;
}

/** --watch: the changes between reads until SIGINT or SIGTERM. */
async function watchUntilSignal(
  read: () => Promise<readonly object[]>,
  columns: readonly Column[],
  json: boolean,
  intervalMs: number,
): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    // Loaded only for --watch: one module fewer at every other start.
    const { watchRows } = await import("./watch.js");
    // Through process.stdout: a slow reader must not hold off the signals that stop it.
    await watchRows({ read, columns, json, intervalMs, write: streamWrite, signal: stop.signal });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** The exporter's module name: a variable, so that this package neither depends on it nor types it. */
const EXPORTER = "@ts-ebpf/exporter";

/** bpf-iter serve: the Prometheus exporter, a separate package (it brings prom-client). */
async function serve(argv: string[]): Promise<number> {
  let exporter: { serveMain(argv: readonly string[]): Promise<number> };
  try {
    exporter = (await import(EXPORTER)) as typeof exporter;
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" &&
      String(err).includes(EXPORTER)
    ) {
      throw new Error(
        `serve needs the exporter package: npm install ${EXPORTER} (it is separate so that @ts-ebpf/iter does not bring prom-client)`,
      );
    }
    throw err;
  }
  return exporter.serveMain(argv);
}

/** The commands of the per-network-namespace built-ins. */
function netnsCommands(): string {
  return it
    .builtins()
    .filter((b) => it.NETNS_TARGETS.has(b.target))
    .map((b) => b.cli.command)
    .join(", ");
}

/** A namespace option's value: a pid (digits), "all" where allowed, else an absolute path. */
function namespaceArg(option: string, value: string, allowAll: boolean): number | string {
  if (/^\d+$/.test(value)) {
    if (Number(value) < 1) throw new UsageError(`${option}: a pid must be positive, got ${value}`);
    return Number(value);
  }
  if (value === "all" && allowAll) return "all";
  if (!value.startsWith("/")) {
    throw new UsageError(
      `${option} must be a pid, ${allowAll ? '"all" or ' : ""}an absolute path such as ${allowAll ? "/run/netns/<name>" : "/proc/<pid>/ns/pid"}, got "${value}"`,
    );
  }
  return value;
}

/** A namespace "all" could not walk, on stderr. */
function reportSkipped(s: it.SkippedNamespace): void {
  process.stderr.write(
    `bpf-iter: skipped network namespace ${s.inode ?? "?"} (${s.source}): ${s.error.message}\n`,
  );
}

/** A per-namespace built-in's records in one or every network namespace, with a NETNS column. */
async function printInNetns(
  builtin: it.Builtin<object>,
  netns: number | string,
  json: boolean,
): Promise<void> {
  const records = await it.readPerNetns(builtin, { netns, onSkipped: reportSkipped });
  const rows = builtin.rows(records, !json);
  print(
    json ? rows : rows.map((row, i) => ({ netns: records[i]!.netns, ...row })),
    [{ key: "netns", header: "NETNS", right: true }, ...builtin.cli.columns],
    json,
  );
}

/** Tasks as a pid namespace sees them: its ids, the host's, cgroup paths. */
async function printInPidns(
  pidns: number | string,
  params: it.IteratorParams | undefined,
  json: boolean,
): Promise<void> {
  const tasks = await it.tasks({ ...(params as it.TaskParams), pidns, cgroupPath: true });
  if (json) {
    print(tasks, [], true);
    return;
  }
  print(
    tasks.map((t) => ({
      pid: t.nsTgid,
      tid: t.nsPid,
      ppid: t.nsPpid,
      hostPid: t.tgid,
      uid: t.uid,
      cgroup: t.cgroupPath,
      comm: t.comm,
    })),
    [
      { key: "pid", right: true },
      { key: "tid", right: true },
      { key: "ppid", right: true },
      { key: "hostPid", header: "HOST-PID", right: true },
      { key: "uid", right: true },
      { key: "cgroup" },
      { key: "comm" },
    ],
    false,
  );
}

// serve and --watch write through process.stdout (a closed pipe must end them quietly).
handleStdoutErrors();
runCommand(
  () => main(process.argv.slice(2)),
  () => it.closeBuiltins(),
);
