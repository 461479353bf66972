// Results built by hand for the report tests: one run around some groups.
import { evaluateGoals } from "../src/goals.js";
import type { GroupResult, MachineInfo, RunResult } from "../src/model.js";

export function testRun(groups: GroupResult[], machine: Partial<MachineInfo> = {}): RunResult {
  return {
    suite: "ts-ebpf bench",
    version: 1,
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    quick: false,
    repetitions: 5,
    machine: {
      cpuModel: "Test CPU",
      cores: 2,
      memoryGiB: 4,
      kernel: "6.18",
      node: "v20",
      os: "Linux",
      ...machine,
    },
    groups,
    goals: evaluateGoals(groups, 2),
  };
}
