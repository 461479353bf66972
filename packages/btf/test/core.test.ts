// "@ts-ebpf/btf/core" must run in a browser: nothing it reaches may import a
// Node built-in (only src/kernel.ts reads /sys/kernel/btf).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = join(dirname(fileURLToPath(import.meta.url)), "../src");

function reachable(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(src, file), "utf8");
  for (const m of text.matchAll(/from "(\.\/[^"]+)\.js"/g)) reachable(`${m[1]!.slice(2)}.ts`, seen);
  return seen;
}

describe("the core entry point", () => {
  it("imports no Node built-ins, directly or indirectly", () => {
    const files = [...reachable("core.ts")];
    expect(files).toContain("btf.ts");
    expect(files).not.toContain("kernel.ts");
    for (const f of files) {
      const text = readFileSync(join(src, f), "utf8");
      expect(text, f).not.toMatch(/from "node:|require\(/);
    }
  });

  it("exports the parser and layouts without the kernel loader", async () => {
    const core = await import("../src/core.js");
    expect(typeof core.parseBtf).toBe("function");
    expect(typeof core.struct).toBe("function");
    expect("loadKernelBtf" in core).toBe(false);
  });
});
