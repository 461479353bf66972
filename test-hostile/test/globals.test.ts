// No export of any package, on any entry point (internal ones too), has the
// name of a JavaScript global: `import { Map } from "@ts-ebpf/syscall"`
// shadowed the built-in Map in every module that did it.
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { entryPoints, PACKAGES } from "../src/enumerate.js";

// globalThis of this Node, plus the ECMAScript globals newer than Node 20
// (Iterator, explicit resource management), so the answer does not depend on
// the Node version the test runs on.
const GLOBAL_NAMES = new Set([
  ...Object.getOwnPropertyNames(globalThis),
  "Iterator",
  "AsyncIterator",
  "DisposableStack",
  "AsyncDisposableStack",
  "SuppressedError",
]);

describe("exports do not shadow JavaScript globals", () => {
  it("knows the globals it checks against", () => {
    for (const name of ["Map", "Set", "Symbol", "Error", "Function", "Iterator", "Promise"]) {
      expect(GLOBAL_NAMES.has(name), name).toBe(true);
    }
  });

  for (const pkg of PACKAGES) {
    it(`@ts-ebpf/${pkg}`, async () => {
      const entries = entryPoints(pkg, { internal: true });
      expect(entries.length).toBeGreaterThan(0);
      for (const { subpath, file } of entries) {
        const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
        const names = Object.keys(module);
        expect(names.length, `${pkg} ${subpath} exports something`).toBeGreaterThan(0);
        expect(
          names.filter((n) => GLOBAL_NAMES.has(n)),
          `@ts-ebpf/${pkg}${subpath.slice(1)} exports under global names`,
        ).toEqual([]);
      }
    });
  }
});
