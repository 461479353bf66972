import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NotebookSyntaxError, parsePart, readPart } from "../src/markdown.js";

const fixture = join(import.meta.dirname, "fixtures", "kernel", "part-1-kernel", "README.md");

describe("parsePart", () => {
  it("splits a part into chapters, prose, cells and live blocks", () => {
    const part = readPart(fixture);
    expect(part.slug).toBe("part-1-kernel");
    expect(part.title).toBe("Part 1 — Fixture");
    expect(part.intro).toContain("fixture part");
    expect(part.chapters.map((c) => [c.number, c.title])).toEqual([
      [1, "Shared scope"],
      [2, "A second chapter has its own scope"],
    ]);
    const [one] = part.chapters;
    expect(one!.needsKernel).toBe(false);
    expect(one!.cells).toHaveLength(6);
    expect(one!.cells[2]!.attrs.hidden).toBe(true);
    expect(one!.cells[3]!.attrs.throws).toBeInstanceOf(RegExp);
    expect(one!.blocks.map((b) => b.kind)).toEqual([
      "prose",
      "cell",
      "cell",
      "prose",
      "cell",
      "cell",
      "cell",
      "cell",
      "live",
    ]);
    const live = one!.blocks.at(-1);
    expect(live).toMatchObject({ kind: "live", language: "asm", source: "r0 = 0\nexit" });
  });

  it("reads the oldest kernel a chapter runs on", () => {
    const part = parsePart(
      "# P\n## Chapter 1 — A\n<!-- notebook: linux 6.1 -->\n```ts\n1\n```\n## Chapter 2 — B\n",
      "/x/part-1-p/README.md",
    );
    expect(part.chapters[0]!.minKernel).toEqual([6, 1]);
    expect(part.chapters[1]!.minKernel).toBeUndefined();
  });

  it("ties a cell's hash to its text and attributes", () => {
    const a = parsePart(
      "# P\n## Chapter 1 — A\n```ts\n1\n```\n```ts expect=/1/\n1\n```\n",
      "/x/part-1-p/README.md",
    );
    const [c1, c2] = a.chapters[0]!.cells;
    expect(c1!.hash).not.toBe(c2!.hash);
    expect(c1!.line).toBe(3);
  });

  it("keeps non-cell fences and headings inside fences as prose", () => {
    const part = parsePart(
      "# P\n## Chapter 3 — A\n```sh\n## Chapter 9 — not a heading\n```\ntext\n",
      "/x/part-1-p/README.md",
    );
    expect(part.chapters).toHaveLength(1);
    expect(part.chapters[0]!.needsKernel).toBe(true);
    expect(part.chapters[0]!.blocks[0]).toMatchObject({ kind: "prose" });
  });

  it("reports malformed parts with file and line", () => {
    expect(() => parsePart("# P\n## Chapter 1 — A\n```ts\n1\n", "/x/p/README.md")).toThrow(
      /README.md:3: code fence never closed/,
    );
    expect(() => parsePart("# P\n## Intro\n", "/x/p/README.md")).toThrow(NotebookSyntaxError);
    expect(() =>
      parsePart("# P\n## Chapter 1 — A\n```ts bogus\n1\n```\n", "/x/p/README.md"),
    ).toThrow(/README.md:3: unknown cell attribute "bogus"/);
    expect(() => parsePart("## Chapter 1 — A\n", "/x/p/README.md")).toThrow(/title/);
    expect(() => parsePart("# P\n## Chapter 1 — A\n## Chapter 1 — B\n", "/x/p/README.md")).toThrow(
      /appears twice/,
    );
  });
});
