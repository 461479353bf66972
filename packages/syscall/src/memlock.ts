// RLIMIT_MEMLOCK on kernels before 5.11: they charge every BPF map and
// program to the locked-memory limit (64 KiB by default for a process that
// never raised it), and refuse one over the limit with EPERM. From 5.11 the
// memory cgroup accounts for them and the limit plays no part. Like libbpf,
// the first MAP_CREATE or PROG_LOAD refused with EPERM on such a kernel
// raises the limit (to infinity where the process may, else the soft limit
// to the hard one) and is tried once more; where the limit cannot be raised,
// the BpfError's hint says so. Whether the kernel charges the limit comes
// from its own BTF: `struct bpf_map_memory` (the charge of a map) exists
// exactly in the kernels that do.
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { BpfCmd } from "@ts-ebpf/spec/constants";
import { native } from "./native.js";

/** The commands whose objects kernels before 5.11 charge to RLIMIT_MEMLOCK. */
export const MEMLOCK_CHARGED: ReadonlySet<number> = new Set([BpfCmd.MAP_CREATE, BpfCmd.PROG_LOAD]);

/**
 * Whether a kernel's BTF (the bytes of /sys/kernel/btf/vmlinux) is a kernel
 * that charges RLIMIT_MEMLOCK: its strings name `bpf_map_memory`.
 */
export function btfChargesMemlock(btf: Uint8Array): boolean {
  const view = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  // struct btf_header: magic u16, version u8, flags u8, hdr_len, type_off, type_len, str_off, str_len (u32).
  if (btf.byteLength < 24 || view.getUint16(0, true) !== 0xeb9f)
    throw new RangeError("not BTF: the magic 0xeb9f is missing");
  const start = view.getUint32(4, true) + view.getUint32(16, true);
  const strings = btf.subarray(start, start + view.getUint32(20, true));
  return Buffer.from(strings.buffer, strings.byteOffset, strings.byteLength).includes(
    "\0bpf_map_memory\0",
  );
}

let charges: boolean | undefined;

/**
 * Whether the running kernel charges BPF maps and programs to RLIMIT_MEMLOCK
 * (its BTF names `struct bpf_map_memory`, removed in 5.11 with the charge);
 * without kernel BTF, whether its release predates 5.11.
 */
export function kernelChargesMemlock(): boolean {
  if (charges !== undefined) return charges;
  try {
    charges = btfChargesMemlock(readFileSync("/sys/kernel/btf/vmlinux"));
  } catch {
    const m = /^(\d+)\.(\d+)/.exec(release());
    charges = m !== null && (Number(m[1]) < 5 || (Number(m[1]) === 5 && Number(m[2]) < 11));
  }
  return charges;
}

/** RLIMIT_MEMLOCK of this process in bytes (undefined: unlimited), from /proc/self/limits. */
export function memlockLimit(): { soft: number | undefined; hard: number | undefined } | undefined {
  try {
    const line = /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(
      readFileSync("/proc/self/limits", "utf8"),
    );
    if (!line) return undefined;
    const bytes = (v: string) => (v === "unlimited" ? undefined : Number(v));
    return { soft: bytes(line[1]!), hard: bytes(line[2]!) };
  } catch {
    return undefined;
  }
}

let attempted = false;

/**
 * Called when MAP_CREATE or PROG_LOAD failed with EPERM: on a kernel that
 * charges RLIMIT_MEMLOCK with a finite limit, raises it, once per process.
 * True when the limit went up, so the command is worth one more try.
 */
export function raiseMemlockForRetry(): boolean {
  if (attempted) return false;
  attempted = true;
  if (!kernelChargesMemlock()) return false;
  const limit = memlockLimit();
  if (limit !== undefined && limit.soft === undefined) return false;
  return native().raiseMemlockLimit() >= 0;
}

/** The BpfError hint for an EPERM the memlock limit may explain, or undefined. */
export function memlockHint(cmd: number): string | undefined {
  if (!MEMLOCK_CHARGED.has(cmd) || !kernelChargesMemlock()) return undefined;
  const limit = memlockLimit();
  if (limit === undefined || limit.soft === undefined) return undefined;
  const kib = (n: number | undefined) => (n === undefined ? "unlimited" : `${n / 1024} KiB`);
  return `this kernel (before 5.11) charges BPF maps and programs to RLIMIT_MEMLOCK, which is ${kib(limit.soft)} (hard limit ${kib(limit.hard)}) and could not be raised: raise it before starting the process (ulimit -l unlimited, systemd LimitMEMLOCK=infinity, docker --ulimit memlock=-1)`;
}
