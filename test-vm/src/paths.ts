// Where the harness lives and keeps its cache. dist/ and src/ sit side by side
// in test-vm/, so both resolve the same directories.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const testVmDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = resolve(testVmDir, "..");
export const cacheDir = resolve(testVmDir, ".cache");
export const kernelsFile = resolve(testVmDir, "kernels.json");
