import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { CellCompileError, compileCell, IMPORT_FUNCTION } from "../src/transform.js";

/** Runs compiled cells in order in one fresh global scope, as the kernel process does. */
async function runCells(...sources: string[]): Promise<unknown[]> {
  const imported: string[] = [];
  const scope: Record<string, unknown> = {
    [IMPORT_FUNCTION]: async (specifier: string) => {
      imported.push(specifier);
      return { default: "the default", named: "a named export", other: 7 };
    },
    Promise,
  };
  const values: unknown[] = [];
  for (const [i, source] of sources.entries()) {
    values.push(await runInNewContext(compileCell(source, `cell ${i}`).code, scope));
  }
  values.push(imported);
  return values;
}

describe("compileCell", () => {
  it("shares top-level names between cells", async () => {
    const [, , value] = await runCells(
      "const a: number = 1; let [b, { c }] = [2, { c: 3 }];",
      "var d = a + b + c;",
      "d * 10",
    );
    expect(value).toBe(60);
  });

  it("supports top-level await and returns the last expression", async () => {
    const [value] = await runCells("const x = await Promise.resolve(41);\nx + 1");
    expect(value).toBe(42);
  });

  it("returns undefined when the cell ends in a statement", async () => {
    const [value] = await runCells("const x = 1;");
    expect(value).toBeUndefined();
  });

  it("hoists functions and shares classes and enums", async () => {
    const [, value] = await runCells(
      "const y = f(2);\nfunction f(n: number) { return n + 1; }\nclass K { v = 5 }\nenum E { A = 7 }",
      "[y, new K().v, E.A, f(10)]",
    );
    expect(value).toEqual([3, 5, 7, 11]);
  });

  it("turns imports into shared names, keeping names used only by later cells", async () => {
    const [, value, imported] = await runCells(
      'import def, { named as n, other } from "x";\nimport * as ns from "y";\nimport "z";\nimport type { T } from "w";',
      "[def, n, other, typeof ns]",
    );
    expect(value).toEqual(["the default", "a named export", 7, "object"]);
    expect(imported).toEqual(["x", "y", "z"]);
  });

  it("strips types", async () => {
    const [value] = await runCells(
      "interface P { x: number }\ntype Q = P;\nconst p: Q = { x: 1 } satisfies P;\np.x as number",
    );
    expect(value).toBe(1);
  });

  it("rejects syntax errors and exports with the cell's label", () => {
    expect(() => compileCell("const = 1;", "cell 9")).toThrow(CellCompileError);
    expect(() => compileCell("const = 1;", "cell 9")).toThrow(/^cell 9:1: /);
    expect(() => compileCell("export const a = 1;", "cell 2")).toThrow(/cannot export/);
  });
});
