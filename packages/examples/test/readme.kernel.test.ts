// The root README's quick start is what a new user copies first: every ```js
// block in it runs here as a .mjs file (imports resolve to this workspace's
// packages, as they would to node_modules), and must print tasks.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";

const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string);

it("the README's quick start has its JavaScript examples", () => {
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  // Plain JavaScript that Node 20 and 22 parse: no `using` declarations.
  for (const b of blocks) expect(b).not.toMatch(/\busing\b/);
});

describeKernel("README quick start", () => {
  blocks.forEach((code, i) => {
    it(`example ${i + 1} (${code.split("\n")[0]}) lists this test process among the tasks`, () => {
      // Written beside this package so "@ts-ebpf/*" resolve to the workspace.
      const file = fileURLToPath(new URL(`../readme-example-${i}.mjs`, import.meta.url));
      writeFileSync(file, code);
      try {
        const out = execFileSync(process.execPath, [file], { encoding: "utf8" });
        const rows = out.trim().split("\n");
        expect(rows.length).toBeGreaterThan(3);
        // The vitest worker that runs this test is one of the tasks listed.
        expect(rows.some((r) => r.trim().split(/\s+/)[0] === String(process.pid))).toBe(true);
      } finally {
        rmSync(file, { force: true });
      }
    });
  });
});
