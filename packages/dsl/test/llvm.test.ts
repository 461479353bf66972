// Cross-check with a real compiler: the fixtures in test/fixtures are BPF C
// programs compiled by scripts/build-fixtures.sh (clang -mcpu=v3 and v4) with
// llvm-objdump's listing committed beside each object. Our disassembler must
// print what llvm-objdump prints, and our parser must read llvm's text back
// into the same bytes.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  classify,
  decode,
  encode,
  type Form,
  HelperId,
  parseInstruction,
  printInstruction,
} from "../src/index.js";

const dir = join(import.meta.dirname, "fixtures");
const listings = readdirSync(dir).filter((f) => f.endsWith(".objdump"));

interface Line {
  slot: number;
  bytes: Uint8Array;
  text: string;
}
interface Func {
  name: string;
  section: string;
  lines: Line[];
}

function readListing(file: string): Func[] {
  const funcs: Func[] = [];
  let section = "";
  for (const raw of readFileSync(join(dir, file), "utf8").split("\n")) {
    const sec = /^Disassembly of section (.+):$/.exec(raw);
    if (sec) section = sec[1]!;
    const head = /^[0-9a-f]{16} <(.+)>:$/.exec(raw);
    if (head) {
      funcs.push({ name: head[1]!, section, lines: [] });
      continue;
    }
    const m = /^\s*(\d+):\t((?:[0-9a-f]{2} ?)+)\t(.*)$/.exec(raw);
    if (!m) continue;
    const bytes = Uint8Array.from(m[2]!.trim().split(" "), (h) => Number.parseInt(h, 16));
    funcs.at(-1)!.lines.push({ slot: Number(m[1]), bytes, text: m[3]! });
  }
  return funcs;
}

/** llvm-objdump's annotations that are not part of the instruction: ` <func+0x40>`. */
const normaliseLlvm = (text: string) =>
  text
    .replace(/ <[\w.]+(\+0x[0-9a-f]+)?>$/, "")
    .replace(/\s+/g, " ")
    .trim();

const helperHex = new Map(
  Object.entries(HelperId).map(([n, id]) => [`bpf_${n}`, `0x${id.toString(16)}`]),
);
/**
 * What must differ: we name helpers (`call bpf_map_lookup_elem`) where llvm
 * prints the id, and mark BPF-to-BPF calls `call pc+N` where llvm prints the
 * same `call N` as for a helper.
 */
const normaliseOurs = (text: string) =>
  text
    .replace(/^call (bpf_\w+)$/, (_, n: string) => `call ${helperHex.get(n) ?? n}`)
    .replace(/^call pc\+/, "call ")
    .replace(/^call pc-/, "call -");

/**
 * llvm-objdump 19 cannot print 32-bit atomics other than a plain add: it
 * prints `<unknown>`, or (for fetch_add) the text of a plain add. These
 * lines are checked against clang's assembler syntax instead (parse →
 * same bytes), not against llvm's listing.
 */
const llvmMisprints = (form: Form) =>
  form.kind === "atomic" && form.size === "u32" && form.op !== "add";

describe("llvm-objdump cross-check", () => {
  it("has fixtures for cpu v3 and v4", () => {
    expect(listings.length).toBeGreaterThanOrEqual(12);
  });

  const seen = new Set<string>();
  for (const file of listings) {
    describe(file, () => {
      for (const func of readListing(file)) {
        it(`${func.name}: our disassembler prints llvm-objdump's instructions`, () => {
          expect(func.lines.length).toBeGreaterThan(0);
          for (const line of func.lines) {
            const [insn] = decode(line.bytes);
            const form = classify(insn!);
            seen.add(`${form.kind}${"wide" in form ? (form.wide ? "64" : "32") : ""}`);
            if (form.kind === "atomic") seen.add(`atomic_${form.op}_${form.size}`);
            if (form.kind === "ldx" && form.sx) seen.add("ldxsx");
            if (form.kind === "endian") seen.add(`endian_${form.order}`);
            const ours = printInstruction(insn!);
            if (llvmMisprints(form)) {
              expect(encode([parseInstruction(ours)])).toEqual(line.bytes);
              continue;
            }
            expect(normaliseOurs(ours), `slot ${line.slot}: ${line.text}`).toBe(
              normaliseLlvm(line.text),
            );
          }
        });
      }
      it("llvm's text parses back to the same bytes, line by line", () => {
        for (const func of readListing(file)) {
          for (const line of func.lines) {
            const insn = decode(line.bytes)[0]!;
            const form = classify(insn);
            let text = normaliseLlvm(line.text);
            if (llvmMisprints(form)) text = printInstruction(insn);
            // llvm prints a BPF-to-BPF call like a helper call: say which it is.
            if (form.kind === "call_subprog")
              text = text.replace(/^call -?/, (m) => (m.endsWith("-") ? "call pc-" : "call pc+"));
            expect(
              encode([parseInstruction(text)]),
              `${func.name} slot ${line.slot}: ${text}`,
            ).toEqual(line.bytes);
          }
        }
      });
    });
  }

  it("covers ALU32, atomics, sign extension, byte swaps, jmp32 and calls", () => {
    for (const kind of [
      "alu32",
      "alu64",
      "movsx32",
      "movsx64",
      "ldxsx",
      "endian_bswap",
      "jcond32",
      "jcond64",
      "call",
      "call_subprog",
      "ld_imm64",
      "atomic_fetch_add_u64",
      "atomic_cmpxchg_u64",
      "atomic_xchg_u64",
      "atomic_fetch_xor_u32",
      "atomic_cmpxchg_u32",
      "atomic_xchg_u32",
      "atomic_or_u32",
    ]) {
      expect(seen, kind).toContain(kind);
    }
  });
});
