// Benchmarks parsing the running kernel's BTF (not a test: prints figures).
//   pnpm bench            (builds src and this script, then runs it)
// Cold figures come from fresh child processes (first parse, JIT cold); warm
// ones from repeats in this process. Reference, measured in the same run:
// reading the file, and `bpftool btf dump file <vmlinux> format raw`.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { char, parseBtf, struct, u32, u64 } from "@ts-ebpf/btf";

const VMLINUX = process.env.BTF_FILE ?? "/sys/kernel/btf/vmlinux";
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

/** CPU milliseconds (user + system) of `f`: stable when other processes load the machine. */
function cpuTime(f: () => unknown): number {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function time<T>(f: () => T): [number, T] {
  const t0 = performance.now();
  const r = f();
  return [performance.now() - t0, r];
}

/** One cold measurement: run in a child so the parser is not yet compiled. */
function childCold(): void {
  const [read, bytes] = time(() => readFileSync(VMLINUX));
  const cpu0 = process.cpuUsage();
  const [parse, btf] = time(() => parseBtf(bytes));
  const [index] = time(() => btf.findType("task_struct"));
  const cpu = process.cpuUsage(cpu0);
  const cpuParseIndex = (cpu.user + cpu.system) / 1000;
  const [query] = time(() => {
    btf.memberOffset("task_struct", "pid");
    btf.funcId("bpf_iter_task");
  });
  const [targets] = time(() => btf.iteratorTargets());
  console.log(
    JSON.stringify({ read, parse, index, cpuParseIndex, query, targets, types: btf.typeCount }),
  );
}

function main(): void {
  const self = fileURLToPath(import.meta.url);
  const cold: Record<string, number>[] = [];
  for (let i = 0; i < 7; i++) {
    const out = execFileSync(process.execPath, [self, "--child"], { encoding: "utf8" });
    cold.push(JSON.parse(out) as Record<string, number>);
  }
  const coldOf = (k: string) => median(cold.map((c) => c[k]!));

  const bytes = readFileSync(VMLINUX);
  const warmParse: number[] = [];
  for (let i = 0; i < 20; i++) warmParse.push(time(() => parseBtf(bytes))[0]);
  const [decodeAll] = time(() => {
    const btf = parseBtf(bytes);
    for (let id = 1; id < btf.typeCount; id++) btf.type(id);
  });

  const bpftool: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = spawnSync("bpftool", ["btf", "dump", "file", VMLINUX, "format", "raw"], {
      stdio: "ignore",
    });
    if (r.error || r.status !== 0) break;
    bpftool.push(performance.now() - t0);
  }

  // Records: decodeAll against a hand-written DataView loop over the same bytes.
  const rec = struct({ pid: u32, comm: char(16), start: u64 });
  const n = 200_000;
  const buf = new Uint8Array(n * rec.size);
  for (let i = 0; i < n; i++)
    rec.encodeInto({ pid: i, comm: `task${i}`, start: BigInt(i) }, buf, i * rec.size);
  const handWritten = () => {
    const v = new DataView(buf.buffer);
    const dec = new TextDecoder();
    const out = new Array(n);
    for (let i = 0, o = 0; i < n; i++, o += 32) {
      let e = o + 4;
      while (e < o + 20 && buf[e] !== 0) e++;
      out[i] = {
        pid: v.getUint32(o, true),
        comm: dec.decode(buf.subarray(o + 4, e)),
        start: v.getBigUint64(o + 24, true),
      };
    }
    return out;
  };
  const ours: number[] = [];
  const ref: number[] = [];
  for (let i = 0; i < 11; i++) {
    ours.push(cpuTime(() => rec.decodeAll(buf)));
    ref.push(cpuTime(handWritten));
  }

  const coldTotal = coldOf("parse") + coldOf("index");
  console.log(`BTF: ${VMLINUX}, ${cold[0]!.types} types, ${bytes.length} bytes`);
  console.log(`cold (median of ${cold.length} fresh processes):`);
  console.log(`  read file            ${ms(coldOf("read"))}`);
  console.log(`  parseBtf             ${ms(coldOf("parse"))}`);
  console.log(`  first findType       ${ms(coldOf("index"))}  (builds the lazy name index)`);
  console.log(`  parse + first lookup ${ms(coldTotal)}  (aim: < 150 ms)`);
  console.log(`    CPU time of that   ${ms(coldOf("cpuParseIndex"))}  (unaffected by other load)`);
  console.log(`  memberOffset+funcId  ${ms(coldOf("query"))}`);
  console.log(`  iteratorTargets()    ${ms(coldOf("targets"))}`);
  console.log(`warm parseBtf (median of 20): ${ms(median(warmParse))}`);
  console.log(`decode every type once: ${ms(decodeAll)}`);
  if (bpftool.length) {
    const b = median(bpftool);
    console.log(
      `reference: bpftool btf dump format raw (process, median of ${bpftool.length}): ${ms(b)}`,
    );
    console.log(`  ratio cold parse + first lookup / bpftool: ${(coldTotal / b).toFixed(2)}`);
  }
  // CPU time, minimum of alternating runs: garbage collection of the decoded
  // objects makes the median noisy on a shared machine.
  const o = Math.min(...ours);
  const r = Math.min(...ref);
  console.log(
    `records: decodeAll of ${n} x ${rec.size} B: ${ms(o)}; hand-written DataView loop: ${ms(r)}; ratio ${(o / r).toFixed(2)} (CPU ms, min of ${ours.length})`,
  );
}

if (process.argv.includes("--child")) childCold();
else main();
