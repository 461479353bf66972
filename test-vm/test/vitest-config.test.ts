import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../src/paths.js";
import { hasSharedConfig, kernelTestPackages, vitestConfigText } from "../src/vitest-config.js";

type Project = string | { test: { name: string; root: string; include: string[] } };
const projectsOf = (text: string): Project[] =>
  (
    JSON.parse(text.replace(/^export default /, "").replace(/;\n$/, "")) as {
      test: { projects: Project[] };
    }
  ).test.projects;

describe("the guests' vitest configuration", () => {
  const tmp = mkdtempSync(join(tmpdir(), "test-vm-config-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("runs every package with the shared settings in one project, each file listed", () => {
    const packages = kernelTestPackages(repoRoot);
    // Every package of the repository with kernel tests has them today; one that
    // changes its config keeps its own project (below) and costs a worker start.
    expect(packages.filter((p) => !hasSharedConfig(p.dir)).map((p) => p.dir)).toEqual([]);
    const projects = projectsOf(vitestConfigText(repoRoot, packages, undefined));
    expect(projects).toHaveLength(1);
    const [shared] = projects as Exclude<Project, string>[];
    expect(shared?.test.root).toBe(repoRoot);
    expect(shared?.test).toMatchObject({ testTimeout: 300_000, hookTimeout: 300_000 });
    expect(shared?.test.include).toEqual(
      packages.flatMap((p) => p.files.map((f) => relative(repoRoot, f))),
    );
  });

  it("keeps a package with other settings (a setup file) in a project of its own", () => {
    const dir = join(tmp, "odd");
    mkdirSync(dir);
    const config = join(dir, "vitest.config.ts");
    writeFileSync(
      config,
      'import { defineConfig } from "vitest/config";\nexport default defineConfig({ test: { setupFiles: ["./setup.ts"] } });\n',
    );
    expect(hasSharedConfig(dir)).toBe(false);
    const syscall = kernelTestPackages(repoRoot, "packages/syscall/test/map.kernel");
    const projects = projectsOf(
      vitestConfigText(
        repoRoot,
        [...syscall, { dir, files: [join(dir, "x.kernel.test.ts")] }],
        undefined,
      ),
    );
    expect(projects).toHaveLength(2);
    expect(projects[1]).toBe(config);
  });
});
