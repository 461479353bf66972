// What @ts-ebpf/syscall sees of this system: kernel, BTF, capabilities,
// bpffs, then the BPF programs, maps and links that exist.
// Run: node packages/examples/dist/system-info.js   (works without root: it
// says what it cannot see)

import { closeSync, readFileSync } from "node:fs";
import {
  BpfError,
  BpfLinkTypeName,
  BpfMapTypeName,
  BpfProgTypeName,
  getFdById,
  getNextId,
  type LinkInfo,
  linkInfo,
  type MapInfo,
  mapInfo,
  type ObjectKind,
  type ProgInfo,
  progInfo,
  system,
} from "@ts-ebpf/syscall";

interface Listing<T> {
  items: T[];
  /** Why the list is incomplete or empty, if it is. */
  problem?: string;
  /** Objects that vanished or could not be opened while listing. */
  skipped: number;
}

/** Walks ids of one kind and reads each object's info through a short-lived fd. */
function list<T>(kind: ObjectKind, info: (fd: number) => T): Listing<T> {
  const out: Listing<T> = { items: [], skipped: 0 };
  let id: number | undefined = 0;
  for (;;) {
    try {
      id = getNextId(kind, id);
    } catch (e) {
      out.problem = e instanceof BpfError ? e.message : String(e);
      return out;
    }
    if (id === undefined) return out;
    let fd: number;
    try {
      fd = getFdById(kind, id);
    } catch (e) {
      // Freed in between (ENOENT) or not ours to open (EPERM).
      out.skipped++;
      if (e instanceof BpfError && e.code === "EPERM") out.problem ??= e.message;
      continue;
    }
    try {
      out.items.push(info(fd));
    } catch {
      out.skipped++;
    } finally {
      closeSync(fd);
    }
  }
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function section<T>(
  title: string,
  listing: Listing<T>,
  headers: string[],
  row: (x: T) => string[],
) {
  const hidden = listing.problem !== undefined && listing.items.length === 0;
  console.log(`\n${title} (${hidden ? "not visible" : listing.items.length})`);
  if (listing.items.length > 0) console.log(table(headers, listing.items.map(row)));
  if (listing.skipped > 0)
    console.log(`  (${listing.skipped} could not be opened or vanished while listing)`);
  if (listing.problem)
    console.log(`  ${hidden ? "cannot list" : "cannot see everything"}: ${listing.problem}`);
}

const s = system();
const yes = (b: boolean) => (b ? "yes" : "no");
console.log("ts-ebpf system info");
console.log(`kernel        ${s.kernel.release} (${s.kernel.version.join(".")})`);
console.log(
  `BTF           ${s.btf.vmlinux ? `${s.btf.path}` : "missing (no /sys/kernel/btf/vmlinux)"}${s.btf.modules ? `, ${s.btf.modules} module BTFs` : ""}`,
);
console.log(`user          uid ${s.capabilities.uid}`);
console.log(`capabilities  ${s.capabilities.effective.join(", ") || "none relevant to BPF"}`);
console.log(
  `can load      ${s.capabilities.missing.length === 0 ? "yes (tracing programs and maps)" : `no: missing ${s.capabilities.missing.join(", ")}`}`,
);
console.log(
  `bpffs         ${s.bpffs.mounted ? `mounted at ${s.bpffs.path}` : `not mounted at ${s.bpffs.path}`}${s.bpffs.mountPoints.length > 1 ? ` (also ${s.bpffs.mountPoints.join(", ")})` : ""}`,
);
if (s.unprivilegedBpfDisabled !== undefined) {
  console.log(
    `unprivileged  ${s.unprivilegedBpfDisabled === 0 ? "allowed" : `disabled (kernel.unprivileged_bpf_disabled=${s.unprivilegedBpfDisabled})`}`,
  );
}
console.log(
  `listing       ${yes(s.capabilities.effective.includes("CAP_SYS_ADMIN"))} (walking object ids needs CAP_SYS_ADMIN)`,
);

// load_time counts nanoseconds since boot, like /proc/uptime.
const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
const ago = (bootNs: bigint) => {
  const secs = uptime - Number(bootNs) / 1e9;
  if (!Number.isFinite(secs) || secs < 0) return "-";
  if (secs < 120) return `${secs.toFixed(0)}s ago`;
  if (secs < 7200) return `${(secs / 60).toFixed(0)}m ago`;
  return `${(secs / 3600).toFixed(1)}h ago`;
};

section(
  "programs",
  list<ProgInfo>("prog", progInfo),
  ["id", "type", "name", "tag", "maps", "loaded", "runs"],
  (p) => [
    String(p.id),
    BpfProgTypeName[p.type]?.toLowerCase() ?? String(p.type),
    p.name || "-",
    p.tag,
    p.mapIds.join(",") || "-",
    ago(p.loadTime),
    p.runCnt > 0n ? String(p.runCnt) : "-",
  ],
);

section(
  "maps",
  list<MapInfo>("map", mapInfo),
  ["id", "type", "name", "key", "value", "max entries", "flags"],
  (m) => [
    String(m.id),
    BpfMapTypeName[m.type]?.toLowerCase() ?? String(m.type),
    m.name || "-",
    String(m.keySize),
    String(m.valueSize),
    String(m.maxEntries),
    m.flags ? `0x${m.flags.toString(16)}` : "-",
  ],
);

section("links", list<LinkInfo>("link", linkInfo), ["id", "type", "prog", "target"], (l) => [
  String(l.id),
  BpfLinkTypeName[l.type]?.toLowerCase() ?? String(l.type),
  String(l.progId),
  l.iter ? `iter ${l.iter.targetName}${l.iter.mapId ? ` map ${l.iter.mapId}` : ""}` : "-",
]);
