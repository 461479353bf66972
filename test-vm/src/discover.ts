// Finding the kernel integration tests: every workspace package's
// *.kernel.test.ts files, so new test files need no harness change.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SKIP_DIRS = new Set(["node_modules", "dist", "build", ".cache", ".git", "fixtures"]);

/** Workspace package directories from pnpm-workspace.yaml (`dir` and `dir/*` entries). */
export function workspaceDirs(root: string): string[] {
  const yaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const block = /^packages:\s*\n((?:\s+-.*\n?)+)/m.exec(yaml)?.[1] ?? "";
  const dirs: string[] = [];
  for (const line of block.split("\n")) {
    const glob = /^\s+-\s*["']?([^"'\s]+)["']?/.exec(line)?.[1];
    if (!glob) continue;
    if (glob.endsWith("/*")) {
      const parent = join(root, glob.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const d of readdirSync(parent, { withFileTypes: true })) {
        if (d.isDirectory()) dirs.push(join(parent, d.name));
      }
    } else {
      dirs.push(join(root, glob));
    }
  }
  return dirs.filter((d) => existsSync(join(d, "package.json")));
}

export function kernelTestFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && !SKIP_DIRS.has(e.name)) walk(join(d, e.name));
      else if (e.isFile() && e.name.endsWith(".kernel.test.ts")) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}
