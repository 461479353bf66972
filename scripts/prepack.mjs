#!/usr/bin/env node
// `prepack` of every published package (run by `pnpm pack` and `pnpm publish` in the
// package's directory): build it and the packages it depends on, drop compiled files
// whose source is gone (tsc never deletes, and a moved module would ship twice), then
// check that every file its manifest points at is in the tarball's reach.
// Packing an unbuilt clone therefore gives the same tarball as packing a built one.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkgDir = process.cwd();
const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const run = (cmd, args, cwd = pkgDir) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });

// 1. The package and (through dependsOn ^build) the workspace packages it builds against, via turbo: a build
//    that is current (CI has just built everything) is a cache hit, not a second tsc run.
run(join(root, "node_modules", ".bin", "turbo"), [
  "run",
  "build",
  `--filter=${manifest.name}`,
  "--output-logs=errors-only",
  "--log-prefix=none",
]);

// 2. Stale output: dist/x.js, .d.ts and their maps with no src/x.ts behind them.
const dist = join(pkgDir, "dist");
const src = join(pkgDir, "src");
function prune(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      prune(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
      continue;
    }
    const compiled = /(\.d)?\.(js|ts)(\.map)?$/;
    if (!compiled.test(entry)) continue;
    const stem = relative(dist, path).replace(compiled, "");
    const sources = [".ts", ".mts", ".js", ".mjs"].map((ext) => join(src, stem + ext));
    if (!sources.some((s) => existsSync(s))) {
      console.error(`prepack: ${manifest.name}: removing stale ${relative(pkgDir, path)}`);
      rmSync(path);
    }
  }
}
prune(dist);

// 3. Everything main/types/exports/bin name must exist (a missing one is a broken install).
const targets = [manifest.main, manifest.types];
const walk = (v) => {
  if (typeof v === "string") targets.push(v);
  else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x);
};
walk(manifest.exports);
walk(manifest.bin);
const missing = targets.filter((t) => t && !existsSync(join(pkgDir, t)));
if (missing.length > 0) {
  console.error(`prepack: ${manifest.name}: missing after build: ${missing.join(", ")}`);
  process.exit(1);
}
