// @ts-check
// Turns the book (tutorials/part-*/README.md, parsed by the notebook runner) and its
// recorded outputs into MDX pages: each cell, then its recorded output with the kernel it
// ran on. Pure functions; generate.mjs does the file system.

import { cellMachine, describeMachine, splitInfoString } from "@ts-ebpf/tutorials";

/** @typedef {import("@ts-ebpf/tutorials").Part} Part */
/** @typedef {import("@ts-ebpf/tutorials").Chapter} Chapter */
/** @typedef {import("@ts-ebpf/tutorials").RecordedChapter} RecordedChapter */

/** URL-safe slug of a title. @param {string} text */
export function slugify(text) {
  return text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** The route of a chapter's page, under /docs. @param {Chapter} chapter */
export function chapterSlug(chapter) {
  return `/tutorials/chapter-${chapter.number}`;
}

/** The page's file name inside its part's folder. @param {Chapter} chapter */
export function chapterFileName(chapter) {
  return `chapter-${String(chapter.number).padStart(2, "0")}-${slugify(chapter.title)}.mdx`;
}

/**
 * Links code spans that name an exported symbol of the API reference (`createIterator`,
 * `seqPrintf()`) to its page, once per page: `links` maps a symbol to its route, `done`
 * holds the symbols already linked.
 * @typedef {{ links: ReadonlyMap<string, string>, done: Set<string> }} ApiLinker
 */

/**
 * The route of each top-level export of the API reference, from typedoc's output
 * (docs/api/@ts-ebpf/<package>/<kind>/<Name>.md); a name exported by several packages goes
 * to the first of `packages`.
 * @param {{ pkg: string, kind: string, name: string }[]} pages
 * @param {string[]} [packages]
 * @returns {Map<string, string>}
 */
export function apiLinkMap(pages, packages = ["iter", "dsl", "syscall", "btf", "elf", "spec"]) {
  const rank = (/** @type {string} */ pkg) => {
    const i = packages.indexOf(pkg);
    return i < 0 ? packages.length : i;
  };
  /** @type {Map<string, { route: string, rank: number }>} */
  const best = new Map();
  for (const { pkg, kind, name } of pages) {
    if (name === "index" || name.length < 4) continue;
    const route = `/docs/api/@ts-ebpf/${pkg}/${kind}/${name}/`;
    const current = best.get(name);
    if (!current || rank(pkg) < current.rank) best.set(name, { route, rank: rank(pkg) });
  }
  return new Map([...best].map(([name, { route }]) => [name, route]));
}

/**
 * Escapes what MDX would read as JSX or expressions in one line of prose, outside code spans.
 * @param {string} line
 * @param {ApiLinker} [linker]
 */
function escapeInline(line, linker) {
  let out = "";
  let i = 0;
  while (i < line.length) {
    const tick = /^`+/.exec(line.slice(i));
    if (tick) {
      const fence = tick[0];
      const end = line.indexOf(fence, i + fence.length);
      if (end >= 0) {
        const span = line.slice(i, end + fence.length);
        const symbol = /^`([A-Za-z_$][\w$]*)(?:\(\))?`$/.exec(span)?.[1];
        const route = symbol ? linker?.links.get(symbol) : undefined;
        // Not inside a Markdown link already: "[`x`](...)".
        if (route && symbol && !linker?.done.has(symbol) && line[i - 1] !== "[") {
          linker?.done.add(symbol);
          out += `[${span}](${route})`;
        } else {
          out += span;
        }
        i = end + fence.length;
        continue;
      }
      out += fence;
      i += fence.length;
      continue;
    }
    const c = line[i];
    if (c === "\\" && i + 1 < line.length) {
      out += line.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === "{" || c === "}" || c === "<") out += `\\${c}`;
    else out += c;
    i++;
  }
  return out;
}

/**
 * Makes a chapter's prose safe for MDX and fits its headings to a page whose title is the
 * chapter: ### becomes ##, #### becomes ###. Code fences pass through; HTML comments go.
 * @param {string} text
 * @param {boolean} [shiftHeadings]
 * @param {ApiLinker} [linker] links API symbols in prose (not in headings)
 */
export function proseToMdx(text, shiftHeadings = true, linker = undefined) {
  const lines = text.replace(/<!--[\s\S]*?-->/g, "").split("\n");
  /** @type {string[]} */
  const out = [];
  let fence = "";
  for (const line of lines) {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      out.push(line);
      if (open?.[1].startsWith(fence) && line.trim() === open[1]) fence = "";
      continue;
    }
    if (open) {
      fence = open[1];
      out.push(line);
      continue;
    }
    const heading = /^(#{3,6})(\s.*)$/.exec(line);
    if (heading && shiftHeadings) {
      out.push(`${heading[1].slice(1)}${escapeInline(heading[2])}`);
      continue;
    }
    out.push(escapeInline(line, linker));
  }
  return out.join("\n").trim();
}

/** A JavaScript expression for a JSX attribute: JSON is valid JS for strings and objects. @param {unknown} value */
function js(value) {
  return `{${JSON.stringify(value)}}`;
}

/**
 * The MDX page of one chapter.
 * @param {Part} part
 * @param {Chapter} chapter
 * @param {RecordedChapter | undefined} recorded
 * @param {ReadonlyMap<string, string>} [apiLinks] symbol → API page route (apiLinkMap)
 */
export function chapterPage(part, chapter, recorded, apiLinks = new Map()) {
  /** @type {ApiLinker} */
  const linker = { links: apiLinks, done: new Set() };
  const lines = [
    "---",
    `title: ${JSON.stringify(`Chapter ${chapter.number} — ${chapter.title}`)}`,
    `sidebar_label: ${JSON.stringify(`${chapter.number}. ${chapter.title}`)}`,
    `sidebar_position: ${chapter.number}`,
    `slug: ${chapterSlug(chapter)}`,
    `custom_edit_url: null`,
    "---",
    "",
    `{/* Generated by website/scripts/generate.mjs from tutorials/${part.slug}/README.md — edit that file. */}`,
    "",
    'import NotebookCell from "@site/src/components/NotebookCell";',
    'import LiveAssembler from "@site/src/components/LiveAssembler";',
    'import TOCInline from "@theme/TOCInline";',
    "",
  ];
  const cellCount = chapter.cells.length;
  if (recorded) {
    const machine = recorded.machine
      ? describeMachine(recorded.machine)
      : `Linux ${recorded.kernel}`;
    const elsewhere = recorded.cells.filter((c) => c.machine).length;
    const others = elsewhere
      ? ` ${elsewhere} cell${elsewhere === 1 ? " was" : "s were"} recorded on another machine (marked on the cell), where the kernel loads what ${elsewhere === 1 ? "it demonstrates" : "they demonstrate"}.`
      : "";
    lines.push(
      `<div className="nb-meta">A notebook of ${cellCount} cells, run in order in one context. Outputs recorded on ${escapeInline(machine)} with Node ${recorded.node}, ${recorded.date.slice(0, 10)}.${escapeInline(others)}</div>`,
      "",
    );
  } else if (cellCount > 0) {
    lines.push(
      `<div className="nb-meta">A notebook of ${cellCount} cells; no outputs recorded yet.</div>`,
      "",
    );
  }
  lines.push("<TOCInline toc={toc} />", "");

  for (const block of chapter.blocks) {
    if (block.kind === "prose") {
      lines.push(proseToMdx(block.text, true, linker), "");
    } else if (block.kind === "live") {
      lines.push(`<LiveAssembler initial=${js(block.source)} />`, "");
    } else if (block.attrs.harness) {
      // A check for test runs (e.g. "fail in CI when a feature is missing"): not for readers.
    } else {
      const record = recorded?.cells[block.index];
      const fresh = record && record.hash === block.hash ? record : undefined;
      const attrs = splitInfoString(block.info).slice(1);
      const props = [
        `n={${block.index + 1}}`,
        `source=${js(block.source)}`,
        `attrs=${js(attrs)}`,
        `hidden={${block.attrs.hidden}}`,
      ];
      if (fresh && recorded) {
        /** @type {{ stdout: string, stderr: string, value?: string, error?: string }} */
        const output = { stdout: fresh.stdout, stderr: fresh.stderr };
        if (fresh.value !== undefined) output.value = fresh.value;
        if (fresh.error !== undefined) output.error = fresh.error;
        const machine = cellMachine(recorded, fresh);
        props.push(
          `output=${js(output)}`,
          `kernel=${js(machine.kernel)}`,
          `date=${js(fresh.date ?? recorded.date)}`,
          `machine=${js(machine)}`,
        );
        if (fresh.machine) props.push("elsewhere={true}");
      }
      lines.push(`<NotebookCell ${props.join(" ")} />`, "");
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/**
 * The index page of a part: its introduction and its chapters.
 * @param {Part} part
 * @param {number} position
 */
export function partIndexPage(part, position) {
  const chapters = part.chapters.map(
    (c) => `- [Chapter ${c.number} — ${escapeInline(c.title)}](./${chapterFileName(c)})`,
  );
  return [
    "---",
    `title: ${JSON.stringify(part.title)}`,
    `sidebar_label: ${JSON.stringify(part.title)}`,
    `sidebar_position: ${position}`,
    `slug: /tutorials/${part.slug}`,
    "custom_edit_url: null",
    "---",
    "",
    proseToMdx(part.intro),
    "",
    ...(chapters.length > 0 ? chapters : ["Chapters are being written."]),
    "",
  ].join("\n");
}

/** The sidebar category of a part. @param {Part} part @param {number} position */
export function partCategory(part, position) {
  return `${JSON.stringify({ label: part.title, position, collapsed: false }, null, 2)}\n`;
}

/**
 * The benchmarks page from bench/results: each Markdown report, then each chart,
 * then the runs made in VM guests (bench/results/guest-<kernel>/), each under a
 * heading of its own, its headings one level down and its charts from
 * /bench/<dir>/.
 * @param {{ name: string, text: string }[]} reports
 * @param {string[]} charts  file names copied to static/bench/
 * @param {{ dir: string, text: string }[]} [guests]  charts copied to static/bench/<dir>/
 */
export function benchmarksPage(reports, charts, guests = []) {
  const lines = [
    "---",
    "title: Benchmarks",
    "slug: /benchmarks",
    "custom_edit_url: null",
    "---",
    "",
    "BPF iterators from TypeScript against the syscalls and `/proc` reads they replace, and",
    "against the same work in C. The suite lives in `bench/` and writes its reports to",
    "`bench/results/`; this page shows the latest committed results.",
    "",
  ];
  if (reports.length === 0 && charts.length === 0) {
    lines.push(
      ":::note",
      "",
      "No benchmark results are committed yet. Run the suite as root from a clone",
      "(`pnpm --filter @ts-ebpf/bench bench`) to produce `bench/results/*.md` and `*.svg`.",
      "",
      ":::",
      "",
    );
  }
  // Variants the kernel refused (EPERM as root: a security policy refusing bpf_map_elem
  // programs) are reported as FAILED rows: say why once, above them.
  if (reports.some((r) => /FAILED:[^|\n]*(?:EPERM|Operation not permitted)/.test(r.text))) {
    lines.push(
      ":::note[Variants the kernel refused]",
      "",
      "Rows marked FAILED with `EPERM` are variants whose BPF program the measuring machine's",
      "kernel refused even to root: a security policy there blocks the iterator targets that",
      "read other maps' contents (`bpf_map_elem`), as [Chapter 18](/docs/tutorials/chapter-18)",
      "shows. The goals that need those variants are not measured in that run" +
        (guests.length > 0
          ? "; they are measured at the end of this page, in an emulated VM guest whose kernel loads them."
          : "."),
      "",
      ":::",
      "",
    );
  }
  /** @type {Set<string>} */
  const shown = new Set();
  for (const report of reports) {
    // Charts beside the report are served from /bench/.
    const text = report.text
      .replace(/^# /m, "## ")
      .replace(/\]\((?:\.\/)?([\w.-]+\.svg)\)/g, (_, name) => {
        shown.add(name);
        return `](/bench/${name})`;
      });
    lines.push(proseToMdx(text, false), "");
  }
  for (const chart of charts.filter((c) => !shown.has(c))) {
    lines.push(`![${chart.replace(/\.svg$/, "")}](/bench/${chart})`, "");
  }
  for (const guest of guests) {
    if (!/^guest-[\w.-]+$/.test(guest.dir))
      throw new Error(`not a guest results directory: ${guest.dir}`);
    const kernel = guest.dir.slice("guest-".length);
    lines.push(
      `## Measured in a VM guest (kernel ${kernel})`,
      "",
      "What the measuring machine's kernel refuses, measured in a QEMU guest booting a kernel that",
      `loads it (\`pnpm bench --vm ${kernel}\`, results in \`bench/results/${guest.dir}/\`). The guest is`,
      "emulated: its absolute times are many times the hardware's, and only the ratios, C and",
      "TypeScript measured in the same guest, say anything.",
      "",
    );
    const text = guest.text
      .replace(/^# .*\n/m, "")
      .replace(/^(#{2,5}) /gm, "#$1 ")
      .replace(/\]\((?:\.\/)?([\w.-]+\.svg)\)/g, (_, name) => `](/bench/${guest.dir}/${name})`);
    lines.push(proseToMdx(text, false), "");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
