// @ts-check
// Gives each API page that typedoc-plugin-markdown wrote a front matter title without
// Markdown escapes: the plugin escapes the page's "# Variable: BPF\_F\_REPLACE" heading
// for the page body, and Docusaurus would otherwise show the backslashes in the sidebar,
// the breadcrumbs, the pager and the browser tab. Run after typedoc.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Markdown text without its backslash escapes: "BPF\_F\_REPLACE" → "BPF_F_REPLACE". @param {string} text */
export function unescapeMarkdown(text) {
  return text.replace(/\\([\\`*_{}[\]()#+\-.!<>|~])/g, "$1");
}

/**
 * The page with a front matter title and sidebar label taken from its first heading
 * ("# Function: createIterator()" → title "Function: createIterator()", label
 * "createIterator()"); unchanged when it has front matter already or no heading.
 * @param {string} page
 */
export function withCleanTitle(page) {
  if (page.startsWith("---\n")) return page;
  const heading = /^# (.+)$/m.exec(page);
  if (!heading) return page;
  const title = unescapeMarkdown(heading[1].trim());
  const label = title.replace(/^[A-Z][A-Za-z ]*: /, "");
  return `---\ntitle: ${JSON.stringify(title)}\nsidebar_label: ${JSON.stringify(label)}\n---\n\n${page}`;
}

/**
 * @param {string} dir
 * @returns {Generator<string>}
 */
function* markdownFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* markdownFiles(path);
    else if (entry.name.endsWith(".md")) yield path;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const api = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "api");
  let changed = 0;
  for (const file of markdownFiles(api)) {
    const page = readFileSync(file, "utf8");
    const fixed = withCleanTitle(page);
    if (fixed !== page) {
      writeFileSync(file, fixed);
      changed++;
    }
  }
  console.log(`api-titles: ${changed} API pages titled without Markdown escapes`);
}
