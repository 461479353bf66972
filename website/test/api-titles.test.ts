import { describe, expect, it } from "vitest";
import {
  escapePlaceholders,
  unescapeMarkdown,
  unlinkSourceFiles,
  withCleanTitle,
} from "../scripts/api-titles.mjs";
import { siteLocation } from "../scripts/site-url.mjs";

describe("API page titles", () => {
  it("drop typedoc-plugin-markdown's escapes from the title and sidebar label", () => {
    expect(unescapeMarkdown("BPF\\_F\\_REPLACE \\<T\\>")).toBe("BPF_F_REPLACE <T>");
    const page = withCleanTitle(
      "# Variable: BPF\\_F\\_REPLACE\n\n> `const` **BPF\\_F\\_REPLACE**\n",
    );
    expect(page).toBe(
      '---\ntitle: "Variable: BPF_F_REPLACE"\nsidebar_label: "BPF_F_REPLACE"\n---\n\n# Variable: BPF\\_F\\_REPLACE\n\n> `const` **BPF\\_F\\_REPLACE**\n',
    );
    expect(withCleanTitle(page)).toBe(page);
    expect(withCleanTitle("no heading")).toBe("no heading");
  });
});

describe("escapePlaceholders", () => {
  it("escapes <name> placeholders outside code, keeping HTML tags and code", () => {
    expect(escapePlaceholders('inode in /proc/<pid>/fd, `/proc/<pid>` and <a id="x"></a>')).toBe(
      'inode in /proc/\\<pid>/fd, `/proc/<pid>` and <a id="x"></a>',
    );
    expect(escapePlaceholders("```ts\nconst x: Array<T> = [];\n```\n<T> and </T>")).toBe(
      "```ts\nconst x: Array<T> = [];\n```\n\\<T> and \\</T>",
    );
    expect(escapePlaceholders("already \\<pid>")).toBe("already \\<pid>");
    const titled = withCleanTitle("# Interface: Codec\\<T\\>\n");
    expect(escapePlaceholders(titled)).toBe(titled);
  });
});

describe("unlinkSourceFiles", () => {
  it("turns links to source files into text, keeping other links", () => {
    expect(
      unlinkSourceFiles(
        "in [`src/index.ts`](src/index.ts), [docs](https://x.org/a.ts) and [b](../b.md)",
      ),
    ).toBe("in `src/index.ts`, [docs](https://x.org/a.ts) and [b](../b.md)");
  });
});

describe("siteLocation", () => {
  it("splits the published address into Docusaurus's url and baseUrl", () => {
    expect(siteLocation("https://example.org/docs")).toEqual({
      url: "https://example.org",
      baseUrl: "/docs/",
    });
    expect(siteLocation("http://127.0.0.1:8080/")).toEqual({
      url: "http://127.0.0.1:8080",
      baseUrl: "/",
    });
    expect(siteLocation("").url).toBe("https://ts-ebpf.github.io");
    expect(() => siteLocation("example.org")).toThrow(TypeError);
    expect(() => siteLocation("ftp://example.org/")).toThrow(/http/);
    expect(() => siteLocation("https://example.org/?x=1")).toThrow(/query/);
  });
});
