import { release } from "node:os";
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

const announced = new Set<string>();

/**
 * Whether tests needing a kernel feature should skip. A feature the running
 * kernel lacks or refuses (an iterator target blocked by its security policy,
 * say) is a fact about that kernel, not a missing privilege: the test skips
 * with one loud line, its title should name the reason, and a paired test
 * should assert the clear error users get there. Under
 * TS_EBPF_REQUIRE_FEATURES=1 (set in the test-vm guests, whose Debian kernels
 * have every feature the tests use) nothing skips: the test runs and fails.
 */
export function skipWithoutFeature(feature: string, available: boolean, reason = ""): boolean {
  if (available || featuresRequired()) return false;
  if (!announced.has(feature)) {
    announced.add(feature);
    console.warn(`\n!!! SKIPPING tests that need ${feature}${reason ? `: ${reason}` : ""} !!!\n`);
  }
  return true;
}

/** What a test file knows of one kernel feature (see kernelFeature). */
export interface KernelFeature {
  /** True where the feature works, and where kernel tests do not run at all. */
  readonly available: boolean;
  /** For `it.skipIf(...)`: false where it works, and under TS_EBPF_REQUIRE_FEATURES=1. */
  readonly skip: boolean;
  /** Why it does not work here. */
  readonly reason?: string;
  /** Title suffix of the tests that skip without it: "[skips where the kernel refuses <feature>]". */
  readonly note: string;
}

/**
 * Probes a feature once, only where the kernel tests run (a probe needs the
 * privileges), and decides the skip with skipWithoutFeature.
 */
export function kernelFeature(
  feature: string,
  probe: () => { loadable: boolean; error?: Error },
): KernelFeature {
  const result = kernel.available ? probe() : { loadable: true };
  const reason = result.loadable ? undefined : (result.error?.message ?? "probe failed");
  return {
    available: result.loadable,
    skip: skipWithoutFeature(feature, result.loadable, reason),
    ...(reason === undefined ? {} : { reason }),
    note: `[skips where the kernel refuses ${feature}]`,
  };
}

export const featuresRequired = (): boolean => process.env.TS_EBPF_REQUIRE_FEATURES === "1";

/** `major.minor` of a kernel release ("6.12.117+deb12-amd64" → [6, 12]). */
export function kernelVersion(rel: string = release()): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  if (!m) throw new Error(`cannot read a kernel version from the release ${JSON.stringify(rel)}`);
  return [Number(m[1]), Number(m[2])];
}

/** Whether kernel release `rel` is older than version `since` ("5.12"). */
export function olderThan(since: string, rel: string = release()): boolean {
  const [major, minor] = kernelVersion(rel);
  const [sMajor, sMinor] = kernelVersion(since);
  return major < sMajor || (major === sMajor && minor < sMinor);
}

/**
 * Why a test needing `what` (an iterator target, a link parameter) skips on
 * this kernel, or undefined when it runs. `present` comes from the kernel's own
 * BTF and `since` from the target table (the first kernel with it). It skips
 * only when both agree the kernel predates it, so the reason is a fact the
 * kernel proves; a kernel as new as `since` that lacks it runs the test, which
 * fails (a stripped config or a wrong table entry), and so does a table without
 * `since`. Call it inside the test and pass the reason to `ctx.skip(reason)`, so
 * the run's summary carries it.
 */
export function missingFromKernel(
  what: string,
  present: boolean,
  since: string | undefined,
  rel: string = release(),
): string | undefined {
  if (present || since === undefined || !olderThan(since, rel)) return undefined;
  return `not in this kernel: ${rel} has no ${what} (first in ${since})`;
}
export { btfBlob } from "./btf-blob.js";
export { I64_EDGES, U64_EDGES } from "./int64-edges.js";
