// The vitest configuration the guests run the kernel tests with, shared with
// the host, which runs `vitest list` with the same configuration before the
// guests boot: that fills vitest's file-system module cache (transformed
// modules keyed by path, content and configuration), so the guests, which see
// the repository at the same path, read every module already transformed
// instead of each transforming them again under emulation.
import { existsSync, readFileSync } from "node:fs";
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

/**
 * The configuration the packages share (packages/*\/vitest.config.ts), as
 * text: a package whose config is exactly this joins the one shared project;
 * any other config (a setup file, an alias, another timeout) keeps its own.
 */
const SHARED_CONFIG = `
import { defineConfig } from "vitest/config";
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["@ts-ebpf/testing/global-setup"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});`;

/** Config text without comments and white space, for comparing. */
const normalized = (text: string) => text.replace(/\/\/.*$/gm, "").replace(/\s+/g, "");

/** A package's vitest config file, if it has one. */
function configFile(dir: string): string | undefined {
  return VITEST_CONFIGS.map((n) => join(dir, n)).find((f) => existsSync(f));
}

/** Whether a package's config is the shared one, so its files can run in the shared project. */
export function hasSharedConfig(dir: string): boolean {
  const file = configFile(dir);
  return file !== undefined && normalized(readFileSync(file, "utf8")) === normalized(SHARED_CONFIG);
}

type Project = string | { test: Record<string, unknown> };

/**
 * The vitest projects for `packages`: every package with the shared config in
 * one project rooted at the repository (its files listed, SHARED_CONFIG's
 * settings, the global setup by path); any other package its own project (its
 * config file, or just its directory). Each project is a worker of its own
 * (a Node start and a fresh import of the module graph: 20-40 s per package
 * under TCG), so one project for all saves that per package.
 */
function projects(repo: string, packages: TestPackage[]): Project[] {
  const shared = packages.filter((p) => hasSharedConfig(p.dir));
  const out: Project[] = [];
  if (shared.length > 0) {
    out.push({
      test: {
        name: "kernel tests",
        root: repo,
        include: shared.flatMap((p) => p.files.map((f) => relative(repo, f))),
        globalSetup: [join(repo, "packages", "testing", "src", "global-setup.ts")],
        testTimeout: 300_000,
        hookTimeout: 300_000,
      },
    });
  }
  for (const p of packages) {
    if (shared.includes(p)) continue;
    out.push(configFile(p.dir) ?? { test: { root: p.dir, name: relative(repo, p.dir) } });
  }
  return out;
}

/** The text of the config file: the projects (above), with the shared module cache. */
export function vitestConfigText(
  repo: string,
  packages: TestPackage[],
  moduleCache: string | undefined,
): string {
  const config = {
    test: {
      root: repo,
      projects: projects(repo, packages),
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
