// bpf-iter: list iterator targets, dump kernel objects through the built-in
// iterators, dump a map, pin an iterator. Table by default, JSON lines with --json.

import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { BpfError, BpfMap } from "@ts-ebpf/syscall";
import * as it from "../index.js";
import { type Column, formatTable, jsonLine, type Row } from "./format.js";

const USAGE = `usage: bpf-iter <command> [options]

commands:
  list                         iterator targets of the running kernel
  tasks|files|vmas [--pid N]   tasks, open files, memory maps (--pid: one process, Linux 6.1+)
  maps|progs|links             BPF maps, programs, links
  tcp|udp|unix                 sockets of this network namespace
  ksyms                        kernel symbols
  cgroups [--cgroup-id N] [--order pre|post|up|self]
  kmem-caches                  slab caches (Linux 6.13+)
  map <id|pinned-path>         contents of a map (bpf_map_elem iterator)
  pin <target> <path> [--mode 0644]
                               pin a built-in iterator on bpffs (binary records);
                               --mode: the pin's permissions (default 0600: owner only)
  cat <pinned-path>            read a pinned iterator: a built-in's records as a table, else text
                               (without bpf(2) privileges: a text iterator the pin's mode lets you read)

options:
  --json      one JSON object per line
  -h, --help  this text`;

class UsageError extends Error {}

interface Listing {
  rows: () => Promise<object[]>;
  columns: Column[];
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

function listings(
  pid: number | undefined,
  cgroup: { id?: bigint; order?: string },
): Record<string, Listing> {
  const filter = pid === undefined ? undefined : { pid };
  return {
    tasks: {
      rows: () => it.tasks(filter),
      columns: [
        { key: "tgid", right: true },
        { key: "pid", right: true },
        { key: "ppid", right: true },
        { key: "uid", right: true },
        { key: "threads", header: "THR", right: true },
        { key: "comm" },
      ],
    },
    files: {
      rows: () => it.taskFiles(filter),
      columns: [
        { key: "tgid", right: true },
        { key: "fd", right: true },
        { key: "ino", right: true },
        { key: "mode" },
        { key: "flags" },
        { key: "pos", right: true },
        { key: "comm" },
      ],
    },
    vmas: {
      rows: async () =>
        (await it.taskVmas(filter)).map((v) => ({
          ...v,
          range: `${v.start.toString(16)}-${v.end.toString(16)}`,
          flagsHex: hex(v.flags),
        })),
      columns: [
        { key: "tgid", right: true },
        { key: "range" },
        { key: "flagsHex", header: "FLAGS" },
        { key: "pgoff", right: true },
        { key: "ino", right: true },
        { key: "comm" },
      ],
    },
    maps: {
      rows: () => it.bpfMaps(),
      columns: [
        { key: "id", right: true },
        { key: "typeName", header: "TYPE" },
        { key: "keySize", header: "KEY", right: true },
        { key: "valueSize", header: "VALUE", right: true },
        { key: "maxEntries", header: "MAX", right: true },
        { key: "name" },
      ],
    },
    progs: {
      rows: () => it.bpfProgs(),
      columns: [
        { key: "id", right: true },
        { key: "typeName", header: "TYPE" },
        { key: "insns", right: true },
        { key: "tag" },
        { key: "name" },
      ],
    },
    links: {
      rows: () => it.bpfLinks(),
      columns: [
        { key: "id", right: true },
        { key: "typeName", header: "TYPE" },
        { key: "progId", header: "PROG", right: true },
      ],
    },
    tcp: { rows: () => it.tcp(), columns: socketColumns },
    udp: { rows: () => it.udp(), columns: socketColumns },
    unix: {
      rows: () => it.unix(),
      columns: [
        { key: "type" },
        { key: "state", right: true },
        { key: "uid", right: true },
        { key: "ino", right: true },
        { key: "path" },
      ],
    },
    ksyms: {
      rows: async () =>
        (await it.ksyms()).map((k) => ({ ...k, address: k.value.toString(16).padStart(16, "0") })),
      columns: [{ key: "address" }, { key: "type" }, { key: "name" }, { key: "module" }],
    },
    cgroups: {
      rows: () =>
        it.cgroups(
          cgroup.id === undefined && cgroup.order === undefined
            ? undefined
            : {
                ...(cgroup.id === undefined ? {} : { cgroupId: cgroup.id }),
                ...(cgroup.order === undefined
                  ? {}
                  : { order: cgroup.order as "pre" | "post" | "up" | "self" }),
              },
        ),
      columns: [{ key: "id", right: true }, { key: "level", right: true }, { key: "name" }],
    },
    "kmem-caches": {
      rows: () => it.kmemCaches(),
      columns: [
        { key: "size", right: true },
        { key: "objectSize", header: "OBJSIZE", right: true },
        { key: "align", right: true },
        { key: "name" },
      ],
    },
  };
}

const socketColumns: Column[] = [
  { key: "stateName", header: "STATE" },
  { key: "local" },
  { key: "remote" },
  { key: "uid", right: true },
];

function socketRow(s: it.InetSocket): Row {
  const addr = (a: string, p: number) => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);
  return {
    stateName: s.stateName,
    local: addr(s.localAddress, s.localPort),
    remote: addr(s.remoteAddress, s.remotePort),
    uid: s.uid,
  };
}

function write(text: string): void {
  process.stdout.write(text);
}

function print(rows: readonly object[], columns: readonly Column[], json: boolean): void {
  if (json) {
    // Chunks keep memory flat for large dumps (ksyms, maps).
    let out = "";
    for (const r of rows) {
      out += jsonLine(r);
      if (out.length > 1 << 20) {
        write(out);
        out = "";
      }
    }
    write(out);
  } else {
    write(formatTable(rows as Row[], columns));
  }
}

function openMap(arg: string): BpfMap {
  if (/^\d+$/.test(arg)) return BpfMap.fromId(Number(arg));
  if (existsSync(arg)) return BpfMap.fromPinned(arg);
  throw new UsageError(`map: "${arg}" is neither a map id nor an existing pinned path`);
}

const spaced = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

async function dumpMap(arg: string, json: boolean): Promise<void> {
  using map = openMap(arg);
  const raw = await it.mapElemsRaw(map);
  const entries = it.decodeMapElems(
    { ...pick(map), keyCodec: undefined, valueCodec: undefined },
    raw,
  );
  if (json) {
    print(
      entries.map(([k, v]) => ({
        key: Buffer.from(k).toString("hex"),
        value: Buffer.from(v).toString("hex"),
      })),
      [],
      true,
    );
    return;
  }
  print(
    entries.map(([k, v]) => ({ key: spaced(k), value: spaced(v) })),
    [{ key: "key" }, { key: "value" }],
    false,
  );
}

function pick(map: BpfMap): it.IterableMap {
  return {
    fd: map.fd,
    type: map.type,
    keySize: map.keySize,
    valueSize: map.valueSize,
    valueSlotSize: map.valueSlotSize,
  };
}

const BUILTIN_TARGETS: Record<string, string> = {
  task: "tasks",
  task_file: "files",
  task_vma: "vmas",
  bpf_map: "maps",
  bpf_prog: "progs",
  bpf_link: "links",
  tcp: "tcp",
  udp: "udp",
  unix: "unix",
  ksym: "ksyms",
  cgroup: "cgroups",
  kmem_cache: "kmem-caches",
};

function parseMode(mode: string): number {
  if (!/^0?[0-7]{3}$/.test(mode))
    throw new UsageError(`--mode must be octal permission bits such as 0644, got "${mode}"`);
  return Number.parseInt(mode, 8);
}

function pin(target: string, path: string, mode: number | undefined): void {
  const link = it.builtinLink(target);
  try {
    link.pin(path, mode === undefined ? {} : { mode });
  } finally {
    link.close();
  }
  write(
    `pinned ${target} iterator at ${path} (records of ${it.builtinRecordSize(target)} bytes)\n`,
  );
}

const COMMAND_OF_TARGET = BUILTIN_TARGETS;

const isRoot = () => process.geteuid?.() === 0;

/**
 * Whether to read the pin as a file after BPF_OBJ_GET refused it: EPERM (no
 * bpf(2) for this user), or EACCES for a user other than root (OBJ_GET of a
 * link needs write permission; reading needs only read). Root may open any
 * pin, so for root EACCES means the path holds no BPF object: reading it as a
 * file would show root something that is no iterator (a map's contents, say).
 */
function readAsFile(err: unknown, path: string): boolean {
  if (!(err instanceof BpfError) || err.command !== "OBJ_GET") return false;
  if (err.code === "EPERM") return true;
  if (err.code !== "EACCES") return false;
  if (!isRoot()) return true;
  throw new Error(
    `${path} is not a pinned iterator: BPF_OBJ_GET refused it (EACCES), so it is no BPF object ` +
      "(or a security policy keeps it from root)",
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
async function readPinned(path: string): Promise<{ bytes: Buffer; target?: string }> {
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
    return { bytes: await link.open().readAll(), target: link.target };
  } finally {
    link.close();
  }
}

async function cat(path: string, json: boolean): Promise<void> {
  const { bytes, target } = await readPinned(path);
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
  const command = COMMAND_OF_TARGET[target];
  const size = command ? it.builtinRecordSize(target) : 0;
  // A built-in's binary records decode to its table; anything else is the program's own text.
  if (command && bytes.length % size === 0 && !isText(bytes)) {
    let rows = it.decodeBuiltin(target, bytes) as object[];
    if (!json && (target === "tcp" || target === "udp"))
      rows = (rows as it.InetSocket[]).map(socketRow);
    print(rows, listings(undefined, {})[command]!.columns, json);
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
    builtin: BUILTIN_TARGETS[t.name] ?? "",
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
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      pid: { type: "string" },
      "cgroup-id": { type: "string" },
      order: { type: "string" },
      mode: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    write(`${USAGE}\n`);
    return command === undefined && !values.help ? 1 : 0;
  }
  let pid: number | undefined;
  if (values.pid !== undefined) {
    if (!/^\d+$/.test(values.pid) || Number(values.pid) < 1)
      throw new UsageError(`--pid must be a positive integer, got "${values.pid}"`);
    if (!["tasks", "files", "vmas"].includes(command))
      throw new UsageError(`--pid applies to tasks, files and vmas, not ${command}`);
    pid = Number(values.pid);
  }
  if ((values["cgroup-id"] !== undefined || values.order !== undefined) && command !== "cgroups") {
    throw new UsageError("--cgroup-id and --order apply to cgroups only");
  }
  if (values.mode !== undefined && command !== "pin")
    throw new UsageError("--mode applies to pin only");
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
        throw new UsageError("usage: bpf-iter pin <target> <path> [--mode 0644]");
      pin(rest[0]!, rest[1]!, values.mode === undefined ? undefined : parseMode(values.mode));
      return 0;
    case "cat":
      if (rest.length !== 1) throw new UsageError("usage: bpf-iter cat <pinned-path>");
      await cat(rest[0]!, values.json);
      return 0;
  }
  const listing = listings(pid, {
    ...(cgroupId === undefined ? {} : { id: BigInt(cgroupId) }),
    ...(values.order === undefined ? {} : { order: values.order }),
  })[command];
  if (!listing) throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  if (rest.length > 0)
    throw new UsageError(`${command} takes no arguments, got "${rest.join(" ")}"`);
  let rows = await listing.rows();
  if (command === "tcp" || command === "udp") {
    const sockets = rows as it.InetSocket[];
    rows = values.json ? sockets : sockets.map(socketRow);
  }
  print(rows, listing.columns, values.json);
  return 0;
}

// `bpf-iter ksyms | head`: a closed pipe ends the output quietly, as with other tools.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  process.stderr.write(`bpf-iter: writing output: ${err.message}\n`);
  process.exit(1);
});

main(process.argv.slice(2)).then(
  (code) => {
    it.closeBuiltins();
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`bpf-iter: ${message}\n`);
    process.exitCode = 1;
  },
);
