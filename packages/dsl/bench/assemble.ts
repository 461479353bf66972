// Benchmark (not a test): assemble() over 100,000 instructions, and the
// text path (print -> parse -> assemble, disassemble) over the same program.
// Reference measured in the same run: encode() of the already-resolved
// instructions, i.e. the bare cost of writing the bytes.
// Run: pnpm --filter @ts-ebpf/dsl bench   (compiles to dist/bench, then runs)
import {
  add,
  assemble,
  call,
  disassemble,
  encode,
  exit,
  type Item,
  jeq,
  label,
  ldImm64,
  ldx,
  mov,
  parse,
  print,
  stx,
} from "../src/index.js";

const N = 100_000;

function makeProgram(n: number): Item[] {
  const items: Item[] = [];
  let i = 0;
  while (i < n - 1) {
    items.push(label(`l${i}`));
    items.push(mov("r1", i & 0xffff));
    items.push(add("r1", "r2"));
    items.push(ldx("u64", "r3", "r10", -8));
    items.push(stx("u64", "r10", -16, "r3"));
    items.push(jeq("r1", 0, `l${i}`));
    items.push(ldImm64("r4", 0x1234_5678_9abcn));
    items.push(call("ktime_get_ns"));
    i += 7;
  }
  items.push(exit());
  return items;
}

/** Median of `runs` timed runs after one warm-up (the machine may be shared). */
function time<T>(runs: number, fn: () => T): { ms: number; result: T } {
  let result = fn();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    result = fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(runs / 2)]!, result };
}

const items = makeProgram(N);
const count = items.filter((x) => !("label" in x)).length;
const asm = time(15, () => assemble(items));
const enc = time(15, () => encode(asm.result.instructions));
const text = print(items);
const parsed = time(5, () => parse(text));
const dis = time(5, () => disassemble(asm.result.bytes));

const rate = (ms: number) => `${(((count / ms) * 1000) / 1e6).toFixed(2)} M insn/s`;
console.log(`instructions: ${count} (${asm.result.bytes.length} bytes)`);
console.log(`assemble:    ${asm.ms.toFixed(1)} ms  ${rate(asm.ms)}`);
console.log(`encode only: ${enc.ms.toFixed(1)} ms  ${rate(enc.ms)}  (reference)`);
console.log(`assemble / encode: ${(asm.ms / enc.ms).toFixed(2)}x`);
console.log(`parse text:  ${parsed.ms.toFixed(1)} ms  ${rate(parsed.ms)}`);
console.log(`disassemble: ${dis.ms.toFixed(1)} ms  ${rate(dis.ms)}`);
