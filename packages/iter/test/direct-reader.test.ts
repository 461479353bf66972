import { char, struct, u8, u32, u64 } from "@ts-ebpf/btf";
import { describe, expect, it } from "vitest";
import { compileDirectReader } from "../src/builtins/builtin.js";

// A record as a built-in's program writes it, and the reader that builds the
// public record from its bytes in one step (the task built-in's path).
const layout = struct({ a: u32, flag: u8, big: u64, name: char(16), x: u32, y: u32 }, { align: 8 });

function records(n: number): Uint8Array {
  const bytes = new Uint8Array(n * layout.size);
  for (let i = 0; i < n; i++) {
    layout.encode(
      { a: i * 7, flag: i & 1, big: BigInt(i) << 40n, name: `n${i % 5}`, x: i, y: 1000 - i },
      bytes,
      i * layout.size,
    );
  }
  return bytes;
}

describe("compileDirectReader", () => {
  it("gives what converting the decoded record gives: same values, same key order", () => {
    const sum = (x: number, y: number) => x + y;
    const read = compileDirectReader<Record<string, unknown>>(layout, [
      "big",
      "a",
      { key: "xy", from: ["x", "y"], compute: sum },
      "name",
      "flag",
    ]);
    expect(read).toBeDefined();
    const bytes = records(50);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < 50; i++) {
      const raw = layout.decodeAt(view, i * layout.size);
      const want = { big: raw.big, a: raw.a, xy: raw.x + raw.y, name: raw.name, flag: raw.flag };
      const got = read!(view, i * layout.size);
      expect(got).toEqual(want);
      expect(Object.keys(got)).toEqual(Object.keys(want));
    }
  });

  it("is undefined when the layout lacks a field (the caller converts then)", () => {
    expect(compileDirectReader(layout, ["a", "missing"])).toBeUndefined();
    expect(
      compileDirectReader(layout, [{ key: "k", from: ["a", "nope"], compute: () => 0 }]),
    ).toBeUndefined();
  });
});
