// @ts-ebpf/dsl/assembler: the index's builders and assembler, the very same
// functions, from fewer modules (what a program generator loads at start-up).
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { expect, it } from "vitest";
import * as assembler from "../src/assembler.js";
import * as dsl from "../src/index.js";

it("exports the index's functions themselves, not copies", () => {
  const index = new Map(Object.entries(dsl));
  const entries = Object.entries(assembler);
  const names = entries.map(([name]) => name);
  for (const name of ["assemble", "mov", "ldx", "call", "label", "exit", "DslError", "helperId"])
    expect(names).toContain(name);
  for (const [name, value] of entries) expect(value, name).toBe(index.get(name));
});

/** The package's own modules a source module imports, transitively (relative imports). */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms)) {
      if (/^(?:import|export)\s+type\s/.test(m[0])) continue; // erased at build
      visit(resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")));
    }
  };
  visit(entry);
  return new Set([...seen].map((f) => f.slice(f.lastIndexOf("/") + 1)));
}

it("leaves out the parser, the disassembler and the verifier-log reader, and their modules", () => {
  for (const name of ["parse", "disassemble", "parseVerifierLog", "program", "iterProgram"])
    expect(Object.keys(assembler)).not.toContain(name);
  const src = join(import.meta.dirname, "..", "src");
  const modules = reachable(join(src, "assembler.ts"));
  for (const heavy of ["parse.ts", "disassemble.ts", "verifier.ts", "program.ts", "iter.ts"])
    expect(modules.has(heavy), heavy).toBe(false);
  expect(modules.size).toBeLessThan(reachable(join(src, "index.ts")).size);
});
