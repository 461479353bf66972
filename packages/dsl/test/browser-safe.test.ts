// The DSL must never load the native addon (it also runs in a browser): importing
// the built package with process.dlopen disabled must work.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";

it("importing @ts-ebpf/dsl loads no native addon", () => {
  const entry = join(import.meta.dirname, "..", "dist", "index.js");
  const script = `
    process.dlopen = () => { throw new Error("native addon loaded"); };
    const d = await import(${JSON.stringify(entry)});
    const { bytes } = d.assemble(d.parse("r0 = 0\\nexit"));
    console.log(d.disassemble(bytes).replace(/\\n/g, "|"));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  expect(out.trimEnd()).toBe("  r0 = 0x0|  exit");
});
