// Writes a run's files: JSON, Markdown and one SVG per group. A full run
// writes bench/results/ (committed, read by the website) and archives its
// JSON under results/raw/; a quick run writes only results/raw/quick/.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import type { RunResult } from "./model.js";
import { resultsDir } from "./paths.js";
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
  for (const g of run.groups) write(`${g.id}.svg`, chartFor(g, run));
  if (!run.quick && dir === resultsDir) {
    mkdirSync(`${resultsDir}/raw`, { recursive: true });
    const stamp = run.startedAt.replace(/[:.]/g, "-");
    const archived = `${resultsDir}/raw/${stamp}.json`;
    if (!existsSync(archived)) writeFileSync(archived, `${JSON.stringify(run, null, 2)}\n`);
  }
  return written;
}
