// Mutated fixtures: parsing either succeeds or throws ElfError, never
// anything else (fixed seed, fixed iteration count). parseCollection wraps
// every error in an ElfError, so the cause is what tells a malformed object
// (an ElfError, or the BtfError of its .BTF) from a bug deep inside (a
// TypeError, a RangeError of an out-of-bounds read).
import { BtfError, loadKernelBtf } from "@ts-ebpf/btf";
import { describe, expect, it } from "vitest";
import {
  bindProgramSpec,
  CoreRelocationError,
  ElfError,
  parseCollection,
  parseElf,
} from "../src/index.js";
import { FIXTURE_NAMES, fixture } from "./fixtures.js";

const ITERATIONS = 400;
/** A fixture parses in milliseconds; far longer means a loop that hostile input drives. */
const MAX_PARSE_MS = 5000;
/** A .bss may claim up to 256 MiB of zeros (reader.ts); nothing else allocates near that. */
const MAX_PARSE_ALLOCATION = 272 << 20;
const INTERESTING = [0, 1, 2, 4, 7, 8, 0x7f, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

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

/**
 * Every error in the chain is one parseCollection (ElfError) or binding to
 * kernel types (CoreRelocationError) documents; else the iteration fails.
 */
function expectDocumented(e: unknown, n: number): void {
  if (!(e instanceof ElfError) && !(e instanceof CoreRelocationError))
    throw new Error(`iteration ${n}: ${String(e)}`, { cause: e });
  for (let c: unknown = e.cause; c !== undefined; c = (c as Error).cause) {
    if (!(c instanceof ElfError) && !(c instanceof BtfError)) {
      throw new Error(
        `iteration ${n}: ElfError "${e.message}" caused by ${(c as Error)?.name}: ${(c as Error)?.stack ?? String(c)}`,
        { cause: e },
      );
    }
  }
}

describe("fuzz: mutated objects", () => {
  const kernelBtf = loadKernelBtf();
  for (const name of FIXTURE_NAMES) {
    it(`${name}: ${ITERATIONS} mutations give a spec or an ElfError with a documented cause`, () => {
      const original = fixture(name);
      const shoff = Number(new DataView(original.buffer).getBigUint64(40, true));
      const sections = parseElf(original).sections.filter((s) => s.size > 0 && s.type !== 8);
      const rand = prng(0x5eed + name.length);
      const pick = (n: number) => Math.floor(rand() * n);
      const outcomes = { ok: 0, elfError: 0, caused: 0 };
      for (let n = 0; n < ITERATIONS; n++) {
        let bytes = original.slice();
        const view = new DataView(bytes.buffer);
        const mode = n % 5;
        if (mode === 0) {
          bytes = bytes.subarray(0, pick(bytes.length));
        } else if (mode === 4) {
          // Words inside sections (symbols, relocations, .BTF, .BTF.ext, code)
          // and section headers set to limits and small numbers.
          for (let f = 1 + pick(4); f > 0; f--) {
            const s = sections[pick(sections.length)]!;
            const at =
              rand() < 0.3
                ? shoff + (pick(original.length - shoff) & ~3)
                : s.offset + (pick(s.size) & ~3);
            if (at + 4 > bytes.length) continue;
            view.setUint32(
              at,
              rand() < 0.5 ? INTERESTING[pick(INTERESTING.length)]! : pick(64),
              true,
            );
          }
        } else {
          // Flip bytes; mode 1 aims at the ELF and section headers, the others anywhere.
          for (let f = 1 + pick(8); f > 0; f--) {
            const at =
              mode === 1
                ? rand() < 0.3
                  ? pick(64)
                  : shoff + pick(original.length - shoff)
                : pick(bytes.length);
            bytes[at] = pick(256);
          }
        }
        const start = performance.now();
        const buffersBefore = process.memoryUsage().arrayBuffers;
        try {
          // Parsed, then bound to the kernel's types (CO-RE, attach targets) as a load does.
          const spec = parseCollection(bytes);
          for (const p of Object.values(spec.programs)) bindProgramSpec(p, kernelBtf);
          outcomes.ok++;
        } catch (e) {
          expectDocumented(e, n);
          outcomes.elfError++;
          if ((e as Error).cause !== undefined) outcomes.caused++;
        }
        const ms = performance.now() - start;
        if (ms > MAX_PARSE_MS) throw new Error(`iteration ${n}: parsing took ${Math.round(ms)} ms`);
        const allocated = process.memoryUsage().arrayBuffers - buffersBefore;
        if (allocated > MAX_PARSE_ALLOCATION)
          throw new Error(`iteration ${n}: parsing allocated ${allocated} bytes`);
      }
      expect(outcomes.ok + outcomes.elfError).toBe(ITERATIONS);
      expect(outcomes.ok).toBeGreaterThan(0);
      expect(outcomes.elfError).toBeGreaterThan(0);
      // Wrapped errors occur, so the cause check above is exercised.
      expect(outcomes.caused).toBeGreaterThan(0);
    });
  }
});
