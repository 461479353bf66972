import { kernel, kernelRequired } from "./kernel.js";

// Printed once per test run, so a skipped kernel suite is impossible to miss.
export default function setup(): void {
  if (kernel.available) return;
  const pkg = process.env.npm_package_name ?? process.cwd();
  const verdict = kernelRequired() ? "FAILING (TS_EBPF_REQUIRE_KERNEL=1)" : "SKIPPING";
  console.warn(`\n!!! ${verdict} kernel integration tests of ${pkg}: ${kernel.reason} !!!\n`);
}
