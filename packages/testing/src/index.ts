import { describe, it } from "vitest";
import { kernel, kernelRequired } from "./kernel.js";

export { type KernelAvailability, kernel, kernelRequired, probeKernel } from "./kernel.js";

/**
 * `describe` for tests that need the real kernel. Skips when privileges or BTF
 * are missing; fails instead when TS_EBPF_REQUIRE_KERNEL=1.
 */
export function describeKernel(name: string, fn: () => void): void {
  if (kernel.available) {
    describe(name, fn);
  } else if (kernelRequired()) {
    describe(name, () => {
      it("needs the kernel (TS_EBPF_REQUIRE_KERNEL=1)", () => {
        throw new Error(`kernel integration tests required but cannot run: ${kernel.reason}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${kernel.reason}]`, fn);
  }
}

/**
 * Whether a test needing an outside tool (bpftool, setpriv) should skip:
 * only when the tool is missing and the kernel tests are not required. Under
 * TS_EBPF_REQUIRE_KERNEL=1 the test runs and fails loudly instead, so a
 * missing tool never passes CI as a skip.
 */
export function skipWithoutTool(present: boolean): boolean {
  return !present && !kernelRequired();
}
