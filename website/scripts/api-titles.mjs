// @ts-check
// Gives each API page that typedoc-plugin-markdown wrote a front matter title without
// Markdown escapes: the plugin escapes the page's "# Variable: BPF\_F\_REPLACE" heading
// for the page body, and Docusaurus would otherwise show the backslashes in the sidebar,
// the breadcrumbs, the pager and the browser tab. Also escapes placeholders such as
// "/proc/<pid>/fd" that a doc comment wrote outside backticks: MDX reads them as JSX tags
// and fails the build. Run after typedoc.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Markdown text without its backslash escapes: "BPF\_F\_REPLACE" → "BPF_F_REPLACE". @param {string} text */
export function unescapeMarkdown(text) {
  return text.replace(/\\([\\`*_{}[\]()#+\-.!<>|~])/g, "$1");
}

// Tags typedoc-plugin-markdown itself writes (anchors, line breaks...): left alone.
const HTML_TAGS = new Set([
  "a",
  "br",
  "code",
  "sub",
  "sup",
  "p",
  "div",
  "span",
  "details",
  "summary",
  "b",
  "i",
  "em",
  "strong",
  "pre",
  "table",
  "tr",
  "td",
  "th",
  "ul",
  "li",
  "ol",
  "hr",
  "img",
]);

/**
 * `<name>` placeholders outside code spans and fences escaped as `\<name>`; HTML tags kept.
 * @param {string} page
 */
export function escapePlaceholders(page) {
  let fence = "";
  // Front matter is YAML, not Markdown: left alone.
  const matter = /^---\n[\s\S]*?\n---\n/.exec(page)?.[0] ?? "";
  return (
    matter +
    page
      .slice(matter.length)
      .split("\n")
      .map((line) => {
        const open = /^\s*(`{3,}|~{3,})/.exec(line);
        if (fence) {
          if (open?.[1].startsWith(fence)) fence = "";
          return line;
        }
        if (open) {
          fence = open[1];
          return line;
        }
        // Split on code spans; escape only outside them.
        return line
          .split(/(`+[^`]*`+)/)
          .map((piece, i) =>
            i % 2 === 1
              ? piece
              : piece.replace(/(^|[^\\])<(\/?)([A-Za-z][\w-]*)>/g, (all, before, slash, name) =>
                  HTML_TAGS.has(name.toLowerCase()) ? all : `${before}\\<${slash}${name}>`,
                ),
          )
          .join("");
      })
      .join("\n")
  );
}

/**
 * Links a doc comment makes to a source file by relative path ("[`src/index.ts`](src/index.ts)")
 * become plain text: the file is not a page of the site, and Docusaurus fails the build on
 * a broken link.
 * @param {string} page
 */
export function unlinkSourceFiles(page) {
  return page.replace(/\[([^\]]+)\]\((?!https?:|\/|#)[^)\s]+\.(?:ts|mts|cts|js|mjs|c|h)\)/g, "$1");
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
    const fixed = unlinkSourceFiles(escapePlaceholders(withCleanTitle(page)));
    if (fixed !== page) {
      writeFileSync(file, fixed);
      changed++;
    }
  }
  console.log(`api-titles: ${changed} API pages given clean titles or escaped placeholders`);
}
