// Mutated fixtures: parsing either succeeds or throws ElfError, never
// anything else (fixed seed, fixed iteration count).
import { loadKernelBtf } from "@ts-ebpf/btf";
import { describe, expect, it } from "vitest";
import { ElfError, parseCollection } from "../src/index.js";
import { FIXTURE_NAMES, fixture } from "./fixtures.js";

const ITERATIONS = 200;

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("fuzz: mutated objects", () => {
  const kernelBtf = loadKernelBtf();
  for (const name of FIXTURE_NAMES) {
    it(`${name}: ${ITERATIONS} mutations give a spec or an ElfError`, () => {
      const original = fixture(name);
      const rand = prng(0x5eed + name.length);
      const outcomes = { ok: 0, elfError: 0 };
      for (let n = 0; n < ITERATIONS; n++) {
        let bytes = original.slice();
        const mode = n % 4;
        if (mode === 0) {
          bytes = bytes.subarray(0, Math.floor(rand() * bytes.length));
        } else {
          // Flip bytes; mode 1 aims at the ELF and section headers, the others anywhere.
          const flips = 1 + Math.floor(rand() * 8);
          const shoff = Number(new DataView(original.buffer).getBigUint64(40, true));
          for (let f = 0; f < flips; f++) {
            const at =
              mode === 1
                ? rand() < 0.3
                  ? Math.floor(rand() * 64)
                  : shoff + Math.floor(rand() * (original.length - shoff))
                : Math.floor(rand() * bytes.length);
            bytes[at] = Math.floor(rand() * 256);
          }
        }
        try {
          parseCollection(bytes, { kernelBtf });
          outcomes.ok++;
        } catch (e) {
          if (!(e instanceof ElfError))
            throw new Error(`iteration ${n}: ${String(e)}`, { cause: e });
          outcomes.elfError++;
        }
      }
      expect(outcomes.ok + outcomes.elfError).toBe(ITERATIONS);
      expect(outcomes.elfError).toBeGreaterThan(0);
    });
  }
});
