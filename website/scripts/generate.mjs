// @ts-check
// Writes the generated pages of the site: the book's chapters as notebook pages (from
// tutorials/ and their recorded outputs) and the benchmarks page (from bench/results).
// Run before `docusaurus build`; the outputs are git-ignored.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { outputsPath, readOutputs, readPart } from "@ts-ebpf/tutorials";
import {
  apiLinkMap,
  benchmarksPage,
  chapterFileName,
  chapterPage,
  partCategory,
  partIndexPage,
} from "./notebook-pages.mjs";

const website = join(dirname(fileURLToPath(import.meta.url)), "..");
const repo = join(website, "..");
// TS_EBPF_TUTORIALS_DIR points the generator at another book (the browser test's fixtures).
const tutorials = process.env.TS_EBPF_TUTORIALS_DIR ?? join(repo, "tutorials");
const docs = join(website, "docs");

/** Symbol → API page route, from typedoc's output when it has run (docs:build runs it first). */
function apiLinks() {
  const root = join(docs, "api", "@ts-ebpf");
  if (!existsSync(root)) return new Map();
  /** @type {{ pkg: string, kind: string, name: string }[]} */
  const pages = [];
  for (const pkg of readdirSync(root)) {
    const dir = join(root, pkg);
    if (!existsSync(join(dir, "index.md"))) continue;
    for (const kind of readdirSync(dir, { withFileTypes: true })) {
      if (!kind.isDirectory()) continue;
      for (const file of readdirSync(join(dir, kind.name))) {
        if (file.endsWith(".md")) pages.push({ pkg, kind: kind.name, name: file.slice(0, -3) });
      }
    }
  }
  return apiLinkMap(pages);
}

function generateBook() {
  const links = apiLinks();
  const out = join(docs, "tutorials");
  rmSync(out, { recursive: true, force: true });
  const slugs = readdirSync(tutorials, { withFileTypes: true })
    .filter(
      (d) =>
        d.isDirectory() &&
        /^part-\d+/.test(d.name) &&
        existsSync(join(tutorials, d.name, "README.md")),
    )
    .map((d) => d.name)
    .sort((a, b) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]));
  let pages = 0;
  slugs.forEach((slug, i) => {
    const part = readPart(join(tutorials, slug, "README.md"));
    const outputs = readOutputs(outputsPath(part), part.slug);
    const dir = join(out, slug);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "_category_.json"), partCategory(part, i + 1));
    writeFileSync(join(dir, "index.mdx"), partIndexPage(part, 0));
    for (const chapter of part.chapters) {
      const page = chapterPage(part, chapter, outputs.chapters[String(chapter.number)], links);
      writeFileSync(join(dir, chapterFileName(chapter)), page);
      pages++;
    }
  });
  console.log(
    `generate: ${pages} chapter pages from ${slugs.length} parts (${links.size} API symbols linkable)`,
  );
}

function generateBenchmarks() {
  const results = join(repo, "bench", "results");
  const staticBench = join(website, "static", "bench");
  rmSync(staticBench, { recursive: true, force: true });
  const files = existsSync(results) ? readdirSync(results).sort() : [];
  const reports = files
    .filter((f) => f.endsWith(".md"))
    .map((name) => ({ name, text: readFileSync(join(results, name), "utf8") }));
  const charts = files.filter((f) => f.endsWith(".svg"));
  if (charts.length > 0) mkdirSync(staticBench, { recursive: true });
  for (const chart of charts) copyFileSync(join(results, chart), join(staticBench, chart));
  // Runs in VM guests (pnpm bench --vm <kernel> --out bench/results/guest-<kernel>).
  const guests = files
    .filter((f) => /^guest-[\w.-]+$/.test(f) && existsSync(join(results, f, "benchmarks.md")))
    .map((dir) => {
      const from = join(results, dir);
      mkdirSync(join(staticBench, dir), { recursive: true });
      for (const chart of readdirSync(from).filter((c) => c.endsWith(".svg"))) {
        copyFileSync(join(from, chart), join(staticBench, dir, chart));
      }
      return { dir, text: readFileSync(join(from, "benchmarks.md"), "utf8") };
    });
  writeFileSync(join(docs, "benchmarks.mdx"), benchmarksPage(reports, charts, guests));
  console.log(
    `generate: benchmarks page with ${reports.length} reports, ${charts.length} charts and ${guests.length} guest runs`,
  );
}

generateBook();
generateBenchmarks();
