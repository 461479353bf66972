// What a run was measured on: recorded with every result file.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import type { MachineInfo, VmInfo } from "./model.js";

function osName(): string {
  try {
    const rel = readFileSync("/etc/os-release", "utf8");
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(rel)?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

/** "QEMU TCG guest on <host CPU>" (or KVM). */
export function guestCpuModel(vm: VmInfo): string {
  return `QEMU ${vm.accel.toUpperCase()} guest on ${vm.hostCpu}`;
}

/** This machine; inside a test-vm guest (`vm` given), the guest's kernel and the host's CPU. */
export function machineInfo(vm?: VmInfo): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: vm ? guestCpuModel(vm) : (cpus[0]?.model.trim() ?? "unknown"),
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
    os: vm ? `test-vm guest (Debian kernel ${vm.kernelName}, busybox initramfs)` : osName(),
    ...(vm ? { vm } : {}),
  };
}

/** HEAD of the repository this suite runs from, "+dirty" when files differ; undefined without git. */
export function gitCommit(cwd: string): string | undefined {
  try {
    const git = (...args: string[]) =>
      execFileSync("git", args, {
        cwd,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    const head = git("rev-parse", "--short=12", "HEAD");
    return git("status", "--porcelain", "--untracked-files=no", "--", ".", "../packages")
      ? `${head}+dirty`
      : head;
  } catch {
    return undefined;
  }
}
