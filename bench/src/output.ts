// Writes a run's files: JSON, Markdown and one SVG per group. A full run
// writes bench/results/ (committed, read by the website) and archives its
// JSON under results/raw/; a quick run writes only results/raw/quick/.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import type { RunResult } from "./model.js";
import { benchRoot, resultsDir } from "./paths.js";
import { chartFor, markdownReport } from "./report.js";

export function writeResults(
  run: RunResult,
  dir = run.quick ? `${resultsDir}/raw/quick` : resultsDir,
): string[] {
  mkdirSync(dir, { recursive: true });
  // Charts of groups that no longer exist would linger on the site.
  for (const f of readdirSync(dir)) if (f.endsWith(".svg")) rmSync(`${dir}/${f}`);
  const written: string[] = [];
  const write = (name: string, text: string) => {
    writeFileSync(`${dir}/${name}`, text);
    written.push(`${dir}/${name}`);
  };
  write("latest.json", `${JSON.stringify(run, null, 2)}\n`);
  write("benchmarks.md", markdownReport(run));
  formatLikeTheRepo([`${dir}/latest.json`, `${dir}/benchmarks.md`]);
  for (const g of run.groups) write(`${g.id}.svg`, chartFor(g, run));
  if (!run.quick && dir === resultsDir) {
    mkdirSync(`${resultsDir}/raw`, { recursive: true });
    const stamp = run.startedAt.replace(/[:.]/g, "-");
    const archived = `${resultsDir}/raw/${stamp}.json`;
    if (!existsSync(archived)) {
      writeFileSync(archived, `${JSON.stringify(run, null, 2)}\n`);
      formatLikeTheRepo([archived]);
    }
  }
  return written;
}

/**
 * Lays the JSON and Markdown out the way the repository's formatter (biome)
 * does, so committed results pass `biome check`. Best effort: skipped without biome.
 */
function formatLikeTheRepo(files: string[]): void {
  const biome = `${benchRoot}../node_modules/.bin/biome`;
  if (existsSync(biome)) spawnSync(biome, ["format", "--write", ...files], { stdio: "ignore" });
}
