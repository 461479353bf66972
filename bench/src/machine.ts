// What a run was measured on: recorded with every result file.
import { readFileSync } from "node:fs";
import os from "node:os";
import type { MachineInfo } from "./model.js";

function osName(): string {
  try {
    const rel = readFileSync("/etc/os-release", "utf8");
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(rel)?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
    os: osName(),
  };
}
