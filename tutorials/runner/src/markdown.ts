// A part of the book is one Markdown file: an `# ` title, an introduction, then its chapters
// as `## Chapter N — title` sections. Inside a chapter, ```ts fences are code cells; an
// ```asm live fence is a live assembler cell on the site; everything else is prose.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import {
  AttributeError,
  CELL_LANGUAGES,
  type CellAttributes,
  parseCellAttributes,
  splitInfoString,
} from "./attributes.js";

export interface ProseBlock {
  kind: "prose";
  text: string;
}

export interface CodeCell {
  kind: "cell";
  /** Position among the chapter's code cells, from 0. */
  index: number;
  source: string;
  /** The fence's info string as written, e.g. "ts expect=/ok/". */
  info: string;
  attrs: CellAttributes;
  /** 1-based line of the opening fence in the part's file. */
  line: number;
  /** Short hash of info string and source: ties a recorded output to this cell's text. */
  hash: string;
}

export interface LiveBlock {
  kind: "live";
  /** The language of the live cell, e.g. "asm". */
  language: string;
  source: string;
  line: number;
}

export type Block = ProseBlock | CodeCell | LiveBlock;

export interface Chapter {
  number: number;
  title: string;
  line: number;
  /** False when the chapter says `<!-- notebook: unprivileged -->`: it runs without root. */
  needsKernel: boolean;
  /**
   * The oldest kernel the chapter runs on (`<!-- notebook: linux 6.1 -->`), as [major,
   * minor]; an older kernel skips the chapter with the reason, even where the kernel is
   * required.
   */
  minKernel?: readonly [number, number];
  blocks: Block[];
  cells: CodeCell[];
}

export interface Part {
  /** Absolute path of the part's README.md. */
  file: string;
  /** The part's folder name, e.g. "part-3-advanced". */
  slug: string;
  title: string;
  /** Markdown between the title and the first chapter. */
  intro: string;
  chapters: Chapter[];
}

export class NotebookSyntaxError extends Error {
  override name = "NotebookSyntaxError";
}

const CHAPTER_HEADING = /^## Chapter (\d+) [—–-] (.+?)\s*$/;
const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})\s*([^`]*)$/;
const UNPRIVILEGED = /<!--\s*notebook:\s*unprivileged\s*-->/;
const MIN_KERNEL = /<!--\s*notebook:\s*linux\s+(\d+)\.(\d+)\s*-->/;

export function cellHash(info: string, source: string): string {
  return createHash("sha256").update(info).update("\0").update(source).digest("hex").slice(0, 16);
}

/** Parses a part's README.md text. `file` is used for messages and to name the part. */
export function parsePart(text: string, file: string): Part {
  const lines = text.split(/\r?\n/);
  const part: Part = {
    file,
    slug: basename(dirname(file)),
    title: "",
    intro: "",
    chapters: [],
  };
  const intro: string[] = [];
  let chapter: Chapter | undefined;
  let prose: string[] = [];

  const flushProse = () => {
    if (!chapter) return;
    const text = prose.join("\n");
    if (text.trim() !== "") chapter.blocks.push({ kind: "prose", text });
    prose = [];
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = FENCE_OPEN.exec(line);
    if (open) {
      const fence = open[2]!;
      const info = open[3]!.trim();
      const body: string[] = [];
      const start = i;
      const close = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
      for (i++; i < lines.length && !close.test(lines[i]!); i++) body.push(lines[i]!);
      if (i >= lines.length) {
        throw new NotebookSyntaxError(`${file}:${start + 1}: code fence never closed`);
      }
      const words = splitInfoString(info);
      const language = words[0] ?? "";
      if (chapter && CELL_LANGUAGES.has(language)) {
        flushProse();
        let attrs: CellAttributes;
        try {
          attrs = parseCellAttributes(words.slice(1));
        } catch (e) {
          if (e instanceof AttributeError) {
            throw new NotebookSyntaxError(`${file}:${start + 1}: ${e.message}`);
          }
          throw e;
        }
        const source = body.join("\n");
        const cell: CodeCell = {
          kind: "cell",
          index: chapter.cells.length,
          source,
          info,
          attrs,
          line: start + 1,
          hash: cellHash(info, source),
        };
        chapter.blocks.push(cell);
        chapter.cells.push(cell);
      } else if (chapter && words.includes("live")) {
        flushProse();
        chapter.blocks.push({ kind: "live", language, source: body.join("\n"), line: start + 1 });
      } else {
        (chapter ? prose : intro).push(...lines.slice(start, i + 1));
      }
      continue;
    }
    const heading = CHAPTER_HEADING.exec(line);
    if (heading) {
      flushProse();
      const number = Number(heading[1]);
      chapter = {
        number,
        title: heading[2]!,
        line: i + 1,
        needsKernel: true,
        blocks: [],
        cells: [],
      };
      part.chapters.push(chapter);
      continue;
    }
    if (/^## /.test(line)) {
      throw new NotebookSyntaxError(
        `${file}:${i + 1}: a part's "## " headings must be "## Chapter N — title" (use ### inside a chapter), got: ${line}`,
      );
    }
    if (/^# /.test(line) && part.title === "" && !chapter) {
      part.title = line.slice(2).trim();
      continue;
    }
    if (chapter && UNPRIVILEGED.test(line)) {
      chapter.needsKernel = false;
      continue;
    }
    const minKernel = chapter ? MIN_KERNEL.exec(line) : null;
    if (chapter && minKernel) {
      chapter.minKernel = [Number(minKernel[1]), Number(minKernel[2])];
      continue;
    }
    (chapter ? prose : intro).push(line);
  }
  flushProse();
  part.intro = intro.join("\n").trim();
  if (part.title === "") throw new NotebookSyntaxError(`${file}: missing "# " title line`);
  const seen = new Set<number>();
  for (const c of part.chapters) {
    if (seen.has(c.number)) {
      throw new NotebookSyntaxError(`${file}:${c.line}: chapter ${c.number} appears twice`);
    }
    seen.add(c.number);
  }
  return part;
}

export function readPart(file: string): Part {
  return parsePart(readFileSync(file, "utf8"), file);
}
