import { compile } from "@mdx-js/mdx";
import { cellHash, parsePart, type RecordedChapter } from "@ts-ebpf/tutorials";
import { describe, expect, it } from "vitest";
import {
  apiLinkMap,
  benchmarksPage,
  chapterFileName,
  chapterPage,
  partIndexPage,
  proseToMdx,
} from "../scripts/notebook-pages.mjs";

const README = [
  "# Part 3 — Advanced",
  "",
  "Intro with {braces} and <angle> brackets.",
  "",
  "## Chapter 18 — BPF Iterators",
  "<!-- notebook: unprivileged -->",
  "",
  "Prose with `code {x} <y>` and {z} and a<b.",
  "",
  "### Replacing /proc",
  "",
  "```ts hidden",
  "const setup = 1;",
  "```",
  "",
  "```ts throws=/EPERM/",
  'throw new Error("EPERM </pre>{}");',
  "```",
  "",
  "```c",
  "int main(void) { return 0; } // <not jsx>",
  "```",
  "",
  "```asm live",
  "r0 = 0",
  "exit",
  "```",
  "",
  "#### Deeper",
  "",
  "```ts",
  "`a`",
  "```",
  "",
  "```ts harness",
  "if (process.env.CI) throw new Error('a CI guard');",
  "```",
  "",
  "```ts needs=bpf_map_elem timeout=300000 expect=/ok/",
  "`ok`",
  "```",
].join("\n");

const part = parsePart(README, "/repo/tutorials/part-3-advanced/README.md");
const chapter = part.chapters[0]!;
const recorded: RecordedChapter = {
  number: 18,
  title: "BPF Iterators",
  kernel: "6.18.0-test",
  machine: { kernel: "6.18.0-test", virtualization: "KVM", cpu: "AMD EPYC × 2" },
  date: "2026-11-25T04:00:00.000Z",
  node: "v20.0.0",
  cells: [
    { index: 0, hash: chapter.cells[0]!.hash, stdout: "", stderr: "" },
    {
      index: 1,
      hash: chapter.cells[1]!.hash,
      stdout: "",
      stderr: "",
      error: "Error: EPERM </pre>{}",
    },
    // Recorded for an older text of the cell: must not be shown.
    { index: 2, hash: cellHash("ts", "`old`"), stdout: "", stderr: "", value: "old" },
    { index: 3, hash: chapter.cells[3]!.hash, stdout: "", stderr: "" },
    // Recorded in a guest that loads bpf_map_elem programs.
    {
      index: 4,
      hash: chapter.cells[4]!.hash,
      stdout: "",
      stderr: "",
      value: "ok",
      machine: { kernel: "6.12.117", virtualization: "TCG", cpu: "QEMU TCG CPU × 2" },
      date: "2026-11-24T00:00:00.000Z",
    },
  ],
};

describe("chapterPage", () => {
  const page = chapterPage(part, chapter, recorded);

  it("compiles as MDX, whatever the prose and outputs contain", async () => {
    await expect(compile(page)).resolves.toBeDefined();
  });

  it("shows each cell with its recorded output and kernel", () => {
    expect(page).toContain("slug: /tutorials/chapter-18");
    expect(page).toContain('title: "Chapter 18 — BPF Iterators"');
    expect(page).toContain("Outputs recorded on Linux 6.18.0-test (KVM, AMD EPYC × 2)");
    expect(page).toContain("1 cell was recorded on another machine");
    const cells = page.split("\n").filter((l) => l.startsWith("<NotebookCell "));
    // The harness cell is not shown.
    expect(cells).toHaveLength(4);
    expect(page).not.toContain("a CI guard");
    expect(cells[0]).toContain("hidden={true}");
    expect(cells[1]).toContain(
      'output={{"stdout":"","stderr":"","error":"Error: EPERM </pre>{}"}}',
    );
    expect(cells[1]).toContain('kernel={"6.18.0-test"}');
    expect(cells[1]).toContain('attrs={["throws=/EPERM/"]}');
    expect(cells[2]).not.toContain("output=");
    expect(cells[1]).toContain('"virtualization":"KVM"');
    expect(cells[1]).not.toContain("elsewhere");
    expect(cells[3]).toContain('kernel={"6.12.117"}');
    expect(cells[3]).toContain('"virtualization":"TCG"');
    expect(cells[3]).toContain('date={"2026-11-24T00:00:00.000Z"}');
    expect(cells[3]).toContain("elsewhere={true}");
    expect(page).toContain('<LiveAssembler initial={"r0 = 0\\nexit"} />');
  });

  it("shifts headings under the page title and keeps code fences verbatim", () => {
    expect(page).toContain("\n## Replacing /proc\n");
    expect(page).toContain("\n### Deeper\n");
    expect(page).toContain("int main(void) { return 0; } // <not jsx>");
    expect(page).toContain("<TOCInline toc={toc} />");
  });
});

describe("API links", () => {
  const links = apiLinkMap([
    { pkg: "syscall", kind: "functions", name: "createIterator" },
    { pkg: "iter", kind: "functions", name: "createIterator" },
    { pkg: "dsl", kind: "functions", name: "seqPrintf" },
    { pkg: "dsl", kind: "variables", name: "OUT" },
  ]);
  it("map each exported name to its page, preferring iter, then dsl, syscall, btf", () => {
    expect(links.get("createIterator")).toBe("/docs/api/@ts-ebpf/iter/functions/createIterator/");
    expect(links.has("OUT")).toBe(false);
  });
  it("link the first code span naming a symbol, outside headings and links", () => {
    const linker = { links, done: new Set<string>() };
    const mdx = proseToMdx(
      "### `seqPrintf`\n\nUse `seqPrintf()` and `createIterator`; `seqPrintf` again; [`createIterator`](x).",
      true,
      linker,
    );
    expect(mdx).toBe(
      "## `seqPrintf`\n\nUse [`seqPrintf()`](/docs/api/@ts-ebpf/dsl/functions/seqPrintf/) and [`createIterator`](/docs/api/@ts-ebpf/iter/functions/createIterator/); `seqPrintf` again; [`createIterator`](x).",
    );
  });
});

describe("proseToMdx", () => {
  it("escapes braces and angle brackets outside code spans and drops comments", () => {
    expect(proseToMdx("a {b} <c> `{d} <e>` <!-- gone -->")).toBe("a \\{b\\} \\<c> `{d} <e>`");
  });
});

describe("partIndexPage and benchmarksPage", () => {
  it("compile as MDX", async () => {
    expect(chapterFileName(chapter)).toBe("chapter-18-bpf-iterators.mdx");
    const index = partIndexPage(part, 0);
    expect(index).toContain("[Chapter 18 — BPF Iterators](./chapter-18-bpf-iterators.mdx)");
    await expect(compile(index)).resolves.toBeDefined();
    const empty = benchmarksPage([], []);
    expect(empty).toContain("No benchmark results are committed yet");
    const full = benchmarksPage(
      [
        {
          name: "a.md",
          text: "# Results\n\n| a | b |\n|---|---|\n| <1 | {2} |\n\n![task](task.svg)\n",
        },
      ],
      ["task.svg", "map.svg"],
    );
    expect(full).toContain("](/bench/task.svg)");
    expect(full.match(/task\.svg/g)).toHaveLength(1);
    expect(full).toContain("![map](/bench/map.svg)");
    expect(full).not.toContain("Variants the kernel refused");
    const refused = benchmarksPage(
      [
        {
          name: "b.md",
          text: "| mapElems | FAILED: BPF_PROG_LOAD: EPERM (operation not permitted) |\n",
        },
      ],
      [],
    );
    expect(refused).toContain(":::note[Variants the kernel refused]");
    const withGuest = benchmarksPage(
      [{ name: "benchmarks.md", text: "# Benchmarks\n\n## Map\n\n![map](./map.svg)\n" }],
      ["map.svg"],
      [
        {
          dir: "guest-7.2",
          text: "# Benchmarks\n\n## Goals\n\n| a |\n|---|\n| 1 |\n\n## Map\n\n![map](./map.svg)\n",
        },
      ],
    );
    expect(withGuest).toContain("## Measured in a VM guest (kernel 7.2)");
    // The guest's charts come from its own directory, its headings one level down.
    expect(withGuest).toContain("](/bench/guest-7.2/map.svg)");
    expect(withGuest).toContain("](/bench/map.svg)");
    expect(withGuest).toContain("### Goals");
    expect(withGuest.match(/^## Benchmarks$/gm)).toHaveLength(1);
    await expect(compile(withGuest)).resolves.toBeDefined();
    expect(() => benchmarksPage([], [], [{ dir: "../etc", text: "" }])).toThrow(/guest/);
    await expect(compile(refused)).resolves.toBeDefined();
    await expect(compile(full)).resolves.toBeDefined();
  });
});
