// The vitest configuration the guests run the kernel tests with, shared with
// the host, which runs `vitest list` with the same configuration before the
// guests boot: that fills vitest's file-system module cache (transformed
// modules keyed by path, content and configuration), so the guests, which see
// the repository at the same path, read every module already transformed
// instead of each transforming them again under emulation.
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { kernelTestFiles, workspaceDirs } from "./discover.js";

/**
 * Where one run's module cache lives: under test-vm/.cache, which the guests
 * see read-only. One directory per run: another run's warm-up (or vitest
 * clearing its cache when the lockfile changes) must not rewrite files a
 * guest is reading over 9p.
 */
export const moduleCacheDir = (repo: string, run: string): string =>
  join(repo, "test-vm", ".cache", "vitest-modules", run);

export interface TestPackage {
  dir: string;
  files: string[];
}

/** Every workspace package's *.kernel.test.ts files, those whose path contains `filter`. */
export function kernelTestPackages(repo: string, filter?: string): TestPackage[] {
  return workspaceDirs(repo)
    .map((dir) => ({
      dir,
      files: kernelTestFiles(dir).filter((f) => !filter || relative(repo, f).includes(filter)),
    }))
    .filter((p) => p.files.length > 0);
}

const VITEST_CONFIGS = [
  "vitest.config.ts",
  "vitest.config.mts",
  "vitest.config.js",
  "vitest.config.mjs",
];

/** A vitest project for a package: its own config file, or just its directory. */
function project(repo: string, dir: string): string | { test: { root: string; name: string } } {
  const file = VITEST_CONFIGS.map((n) => join(dir, n)).find((f) => existsSync(f));
  return file ?? { test: { root: dir, name: relative(repo, dir) } };
}

/** The text of the config file: each package a project, with the shared module cache. */
export function vitestConfigText(
  repo: string,
  packages: TestPackage[],
  moduleCache: string | undefined,
): string {
  const config = {
    test: {
      root: repo,
      projects: packages.map((p) => project(repo, p.dir)),
      ...(moduleCache
        ? { experimental: { fsModuleCache: true, fsModuleCachePath: moduleCache } }
        : {}),
    },
  };
  return `export default ${JSON.stringify(config)};\n`;
}

/** The vitest entry point of the repository. */
export function vitestEntry(repo: string): string {
  const p = join(repo, "node_modules", "vitest", "vitest.mjs");
  if (!existsSync(p)) throw new Error(`vitest not found at ${p}`);
  return p;
}
