// @ts-ebpf/spec is the package everything pure builds on (btf, dsl, parsed ELF
// objects in a browser): its built files import nothing but each other.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, it } from "vitest";

const dist = join(import.meta.dirname, "..", "dist");

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? jsFiles(join(dir, e.name))
      : e.name.endsWith(".js")
        ? [join(dir, e.name)]
        : [],
  );
}

it("the built package imports only its own files", () => {
  const files = jsFiles(dist);
  expect(files.length).toBeGreaterThan(3);
  const foreign: string[] = [];
  for (const file of files) {
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(/\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
      if (!m[1]?.startsWith(".")) foreign.push(`${relative(dist, file)}: ${m[1]}`);
    }
  }
  expect(foreign).toEqual([]);
});

it("importing @ts-ebpf/spec works with no native addon and no process", async () => {
  const dlopen = process.dlopen;
  process.dlopen = () => {
    throw new Error("native addon loaded");
  };
  try {
    const spec = await import(join(dist, "index.js"));
    expect(spec.BpfCmd.PROG_LOAD).toBe(5);
    expect(spec.BpfProgType.TRACING).toBe(26);
  } finally {
    process.dlopen = dlopen;
  }
});
