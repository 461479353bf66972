import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, expect, it } from "vitest";
import { builtins, closeBuiltins } from "../src/index.js";
import { hasTarget } from "./helpers.js";

afterAll(() => closeBuiltins());

describeKernel("built-in definitions on the running kernel", () => {
  it("every built-in's CLI columns name cells of the rows it prints, in table and JSON form", async () => {
    let checked = 0;
    for (const b of builtins()) {
      if (!hasTarget(b.target)) continue;
      // A built-in over a map's elements needs a map of sockets: sock-builtins.kernel.test.ts.
      if (b.map) continue;
      using link = b.link();
      const bytes = await link.readAll();
      const table = b.decodeRows(bytes, true);
      const json = b.decodeRows(bytes, false);
      expect(table.length, b.target).toBe(bytes.length / b.layout().size);
      expect(json.length, b.target).toBe(table.length);
      if (table.length === 0) continue;
      checked++;
      for (const c of b.cli.columns) {
        expect(table[0], `${b.target} column ${c.key}`).toHaveProperty(c.key);
        // A socket's JSON is the record (address and port apart); every other keeps the table's cells.
        if (b.target !== "tcp" && b.target !== "udp")
          expect(json[0], `${b.target} json ${c.key}`).toHaveProperty(c.key);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });
});
