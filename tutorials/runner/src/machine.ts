// The machine a recording was made on: kernel release, virtualisation and CPU. Recorded per
// cell, so that a reader knows what a timing or a kernel answer was measured on (an
// emulated QEMU guest runs programs many times slower than the host).
import { existsSync, readFileSync } from "node:fs";
import { cpus, release } from "node:os";

export interface Machine {
  /** os.release(). */
  kernel: string;
  /**
   * "none" (bare metal), "KVM" (hardware virtualisation), "TCG" (QEMU emulation), "VM"
   * (another hypervisor), or "unknown" (a recording older than this field).
   */
  virtualization: "none" | "KVM" | "TCG" | "VM" | "unknown";
  /** CPU model and the number of CPUs, e.g. "AMD EPYC × 2". */
  cpu: string;
}

function readOr(path: string): string {
  try {
    return existsSync(path) ? readFileSync(path, "utf8") : "";
  } catch {
    return "";
  }
}

/**
 * How this kernel runs: a CPU flag says whether there is a hypervisor; kvm-clock among the
 * clock sources says it is KVM; QEMU's emulated CPUs name themselves (e.g. "QEMU TCG CPU").
 */
export function detectVirtualization(
  cpuinfo = readOr("/proc/cpuinfo"),
  clocksources = readOr("/sys/devices/system/clocksource/clocksource0/available_clocksource"),
): Exclude<Machine["virtualization"], "unknown"> {
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  if (!flags.includes("hypervisor")) return "none";
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "";
  if (/\bTCG\b/.test(model)) return "TCG";
  if (clocksources.split(/\s+/).includes("kvm-clock")) return "KVM";
  return "VM";
}

export function thisMachine(): Machine {
  const list = cpus();
  const model = list[0]?.model.trim() || "unknown CPU";
  return {
    kernel: release(),
    virtualization: detectVirtualization(),
    cpu: `${model} × ${list.length}`,
  };
}

/** "Linux 6.12.117 (TCG, QEMU TCG CPU version 2.5+ × 2)". */
export function describeMachine(m: Machine): string {
  if (m.virtualization === "unknown") return `Linux ${m.kernel} (machine not recorded)`;
  return `Linux ${m.kernel} (${m.virtualization === "none" ? "no virtualisation" : m.virtualization}, ${m.cpu})`;
}
