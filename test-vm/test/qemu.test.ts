import { describe, expect, it } from "vitest";
import { defaultGuestCpus } from "../src/qemu.js";

describe("defaultGuestCpus", () => {
  it("shares the host's cores among the guests at once, never more vCPUs than cores in all", () => {
    // CI's machine: 2 cores, four kernels two at a time → 1 vCPU each; one guest alone → 2.
    expect(defaultGuestCpus(2, 2)).toBe(1);
    expect(defaultGuestCpus(2, 1)).toBe(2);
    expect(defaultGuestCpus(8, 4)).toBe(2);
    expect(defaultGuestCpus(6, 4)).toBe(1);
    for (let cores = 1; cores <= 16; cores++) {
      for (let jobs = 1; jobs <= cores; jobs++) {
        const cpus = defaultGuestCpus(cores, jobs);
        expect(cpus).toBeGreaterThanOrEqual(1);
        expect(cpus).toBeLessThanOrEqual(2);
        expect(cpus * jobs).toBeLessThanOrEqual(cores);
      }
    }
    // More guests than cores (--jobs): still one vCPU each.
    expect(defaultGuestCpus(2, 4)).toBe(1);
  });
});
