// Mutates real BTF blobs (the clang fixture and a hand-built one with every
// kind) for a fixed number of iterations: every outcome must be a valid result
// or a BtfError — no other exception, hang or crash.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BtfError, parseBtf } from "../src/index.js";
import { BtfBuilder } from "./btf-builder.js";
import { exercise } from "./exercise.js";
import { fixtureBytes } from "./fixture.js";
import { mutate, prng } from "./mutate.js";

export const FUZZ_ITERATIONS = 3000;

function everyKind(): Uint8Array {
  const b = new BtfBuilder();
  const int = b.int("int", 4, { signed: true });
  const ch = b.int("char", 1, { signed: true, char: true });
  const p = b.ref("ptr", int);
  const arr = b.array(ch, int, 16);
  const e = b.enum(
    "e",
    4,
    [
      ["A", 1],
      ["B", -1],
    ],
    true,
  );
  const e64 = b.enum64("e64", 8, [["C", 1n << 40n]]);
  const inner = b.composite("union", "", 8, [
    { name: "x", type: int, bitOffset: 0 },
    { name: "y", type: e64, bitOffset: 0 },
  ]);
  const s = b.composite("struct", "s", 48, [
    { name: "a", type: int, bitOffset: 0, bitfieldSize: 3 },
    { name: "b", type: int, bitOffset: 3, bitfieldSize: 29 },
    { name: "p", type: p, bitOffset: 64 },
    { name: "name", type: arr, bitOffset: 128 },
    { name: "", type: inner, bitOffset: 256 },
    { name: "e", type: e, bitOffset: 320 },
  ]);
  b.fwd("f", true);
  const td = b.ref("typedef", s, "s_t");
  b.ref("volatile", td);
  b.ref("restrict", p);
  const proto = b.funcProto(int, [
    { name: "ctx", type: p },
    { name: "", type: 0 },
  ]);
  b.func("bpf_iter_fake", proto);
  b.composite("struct", "bpf_iter__fake", 8, [{ name: "task", type: p, bitOffset: 0 }]);
  const vr = b.var("v", int, 1);
  b.datasec(".data", 4, [{ type: vr, offset: 0, size: 4 }]);
  b.float("double", 8);
  b.declTag("tag", s, 2);
  b.ref("type_tag", int, "user");
  return b.build();
}

describe("fuzzing parseBtf and every query", () => {
  for (const [name, blob, seed] of [
    ["clang fixture", fixtureBytes(), 0x5eed],
    ["hand-built blob with every kind", everyKind(), 0xbeef],
  ] as const) {
    it(`${name}: ${FUZZ_ITERATIONS} mutations give results or BtfError`, () => {
      exercise(parseBtf(blob)); // the unmutated blob is clean
      const rnd = prng(seed);
      let rejected = 0;
      for (let i = 0; i < FUZZ_ITERATIONS; i++) {
        const mutated = mutate(blob, rnd);
        try {
          exercise(parseBtf(mutated));
        } catch (e) {
          if (!(e instanceof BtfError)) {
            throw new Error(`iteration ${i}: ${(e as Error)?.stack ?? e}`);
          }
          rejected++;
        }
      }
      // Both outcomes occur: the mutations are neither all fatal nor all harmless.
      expect(rejected).toBeGreaterThan(0);
      expect(rejected).toBeLessThan(FUZZ_ITERATIONS);
    }, 300_000); // a guard against hangs on a loaded machine, not a speed test
  }
});

/** Values a mutation writes into a type-section word: limits, small ids and offsets, anything. */
const WORD = fc.oneof(
  fc.constantFrom(0, 1, 2, 4, 8, 0x7f, 0xff, 0xffff, 0x10000, 1 << 24, 1 << 30, 0x7fffffff),
  fc.constantFrom(0x80000000, 0xfffffffe, 0xffffffff),
  fc.nat(120),
  fc.integer({ min: 0, max: 0xffffffff }),
);

describe("fast-check: type-aware mutations of real blobs", () => {
  it("parse, every query, layout encode/decode: a result or BtfError, with bounded allocation", () => {
    const blobs = [fixtureBytes(), everyKind()];
    fc.assert(
      fc.property(
        fc.nat(blobs.length - 1),
        // Words of the type section (header, sizes, member offsets, counts, ids).
        fc.array(fc.tuple(fc.nat(), WORD), { minLength: 1, maxLength: 6 }),
        (which, edits) => {
          const blob = blobs[which]!.slice();
          const view = new DataView(blob.buffer);
          const typeWords = view.getUint32(12, true) >>> 2;
          for (const [word, value] of edits)
            view.setUint32(24 + (word % typeWords) * 4, value, true);
          try {
            exercise(parseBtf(blob));
          } catch (e) {
            if (!(e instanceof BtfError)) throw e;
          }
        },
      ),
      { numRuns: 1500, seed: 13 },
    );
  }, 300_000);
});
