// Maps of a clang object carry BTF key/value types: mapElems and `bpf-iter map`
// decode them as bpftool does (structs as objects, enums by name, char arrays
// as strings, per-CPU values as one value per CPU), and `bpf-iter map --json`
// prints exactly the "formatted" objects of `bpftool map dump -j`. The CLI
// reads through the bpf_map_elem iterator, or where the kernel refuses that
// target, through the map syscalls: both paths are checked against bpftool.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { mapBtfCodecs, mapElems, probeIteratorTarget } from "@ts-ebpf/iter";
import { BpfMap, codecs, possibleCpus } from "@ts-ebpf/syscall";
import { describeKernel, kernelFeature, skipWithoutTool } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Collection, loadCollection } from "../src/index.js";
import { FIXTURES } from "./fixtures.js";

const mapElem = kernelFeature("bpf_map_elem programs", () => probeIteratorTarget("bpf_map_elem"));
const cli = join(
  dirname(createRequire(import.meta.url).resolve("@ts-ebpf/iter/package.json")),
  "bin/bpf-iter.js",
);
const hasBpftool = (() => {
  try {
    execFileSync("bpftool", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** The flows the test writes: key and value as bpftool formats them. */
const flows = [0, 1, 2].map((i) => ({
  key: { saddr: 0x0100007f, daddr: 0x0200007f + i, sport: 1000 + i, dport: 80, proto: 6 },
  value: {
    packets: 10 * i + 1,
    bytes: 1500 * i,
    comm: `curl${i}`,
    state: ["FLOW_NEW", "FLOW_OPEN", "FLOW_CLOSED"][i]!,
    delta: -i,
    hist: [0, i, 2 * i, 3 * i],
    ports: { lo: 1024, hi: 65535 },
    seen: i % 2 === 1,
  },
}));

function flowKey(f: (typeof flows)[number]["key"]): Uint8Array {
  const k = new Uint8Array(16);
  const v = new DataView(k.buffer);
  v.setUint32(0, f.saddr, true);
  v.setUint32(4, f.daddr, true);
  v.setUint16(8, f.sport, true);
  v.setUint16(10, f.dport, true);
  k[12] = f.proto;
  return k;
}

function flowValue(f: (typeof flows)[number]["value"]): Uint8Array {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(f.packets), true);
  v.setBigUint64(8, BigInt(f.bytes), true);
  b.set(new TextEncoder().encode(f.comm), 16);
  v.setUint32(32, { FLOW_NEW: 0, FLOW_OPEN: 1, FLOW_CLOSED: 7 }[f.state]!, true);
  v.setInt32(36, f.delta, true);
  for (const [j, h] of f.hist.entries()) v.setUint32(40 + 4 * j, h, true);
  v.setUint16(56, f.ports.lo, true);
  v.setUint16(58, f.ports.hi, true);
  b[60] = f.seen ? 1 : 0;
  return b;
}

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
/** Elements as sorted JSON lines (bigints marked, so 1n and 1 differ). */
const sortedLines = (lines: unknown[]) =>
  lines.map((l) => JSON.stringify(l, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))).sort();

describeKernel("maps with BTF types: decoded as bpftool does", () => {
  let collection: Collection;
  let dir: string;
  const cpus = possibleCpus();

  beforeAll(() => {
    collection = loadCollection(join(FIXTURES, "typed_maps.bpf.o"));
    const m = collection.maps;
    for (const f of flows) m.flows!.set(flowKey(f.key), flowValue(f.value));
    for (const [i, s] of [0, 1, 7, 3].entries()) m.states!.set(u32(i), u32(s));
    // One slot of 16 bytes (u64 events, u32 last, padding) per possible CPU.
    const perCpu = new Uint8Array(16 * cpus);
    const view = new DataView(perCpu.buffer);
    for (let c = 0; c < cpus; c++) {
      view.setBigUint64(16 * c, BigInt(100 + c), true);
      view.setUint32(16 * c + 8, c, true);
    }
    m.per_cpu!.set(u32(5), perCpu);
    dir = mkdtempSync("/sys/fs/bpf/ts-ebpf-map-btf-");
    for (const [name, map] of Object.entries(m)) map.pin(join(dir, name));
  });

  afterAll(() => {
    collection?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const expected = (): Record<string, unknown[]> => ({
    flows,
    states: [0, 1, 2, 3].map((key) => ({
      key,
      value: ["FLOW_NEW", "FLOW_OPEN", "FLOW_CLOSED", 3][key],
    })),
    per_cpu: [
      {
        key: 5,
        values: Array.from({ length: cpus }, (_, cpu) => ({
          cpu,
          value: { events: 100 + cpu, last: cpu },
        })),
      },
    ],
    per_cpu_array: [0, 1].map((key) => ({
      key,
      values: Array.from({ length: cpus }, (_, cpu) => ({ cpu, value: 0 })),
    })),
  });

  const cliJson = (name: string): unknown[] =>
    execFileSync(process.execPath, [cli, "map", join(dir, name), "--json"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));

  it(`bpf-iter map --json prints every element decoded by the map's BTF (iterator, or map syscalls where the kernel refuses it)`, () => {
    for (const [name, want] of Object.entries(expected())) {
      expect(sortedLines(cliJson(name)), name).toEqual(sortedLines(want));
    }
  });

  it.skipIf(skipWithoutTool(hasBpftool))(
    "bpf-iter map --json agrees with the formatted field of bpftool map dump -j",
    () => {
      for (const name of Object.keys(collection.maps)) {
        const dump = JSON.parse(
          execFileSync("bpftool", ["map", "dump", "pinned", join(dir, name), "-j"], {
            encoding: "utf8",
          }),
        ) as Array<{ formatted: unknown }>;
        expect(dump.length, name).toBeGreaterThan(0);
        expect(sortedLines(cliJson(name)), name).toEqual(sortedLines(dump.map((e) => e.formatted)));
      }
    },
  );

  it("bpf-iter map prints a KEY/VALUE table of the decoded elements", () => {
    const out = execFileSync(process.execPath, [cli, "map", join(dir, "states")], {
      encoding: "utf8",
    });
    const rows = out.trim().split("\n");
    expect(rows[0]).toMatch(/^KEY\s+VALUE$/);
    expect(
      rows
        .slice(1)
        .map((r) => r.split(/\s+/))
        .sort(),
    ).toEqual([
      ["0", "FLOW_NEW"],
      ["1", "FLOW_OPEN"],
      ["2", "FLOW_CLOSED"],
      ["3", "3"],
    ]);
  });

  it("mapBtfCodecs gives Map lookups the same decoding (a handle with those codecs)", () => {
    const typed = mapBtfCodecs(collection.maps.flows!);
    expect(typed?.key?.size).toBe(16);
    expect(typed?.value?.size).toBe(64);
    using flowsTyped = BpfMap.fromFd(collection.maps.flows!.fd, {
      key: typed!.key!,
      value: typed!.value!,
    });
    const f = flows[1]!;
    expect(flowsTyped.get(f.key)).toEqual({ ...f.value, packets: 11n, bytes: 1500n });
    const perCpu = mapBtfCodecs(collection.maps.per_cpu!);
    expect(perCpu?.value?.size).toBe(16 * cpus);
    using perCpuTyped = BpfMap.fromFd(collection.maps.per_cpu!.fd, {
      key: perCpu!.key!,
      value: perCpu!.value!,
    });
    expect(perCpuTyped.get(5)).toEqual(
      Array.from({ length: cpus }, (_, c) => ({ events: BigInt(100 + c), last: c })),
    );
  });

  it.skipIf(mapElem.skip)(
    `mapElems decodes by the map's BTF unless codecs are given or btf is false ${mapElem.note}`,
    async () => {
      const m = collection.maps;
      const got = (await mapElems(m.flows!)).toArray();
      expect(sortedLines(got.map(([key, value]) => ({ key, value })))).toEqual(
        sortedLines(
          flows.map((f) => ({
            key: f.key,
            value: { ...f.value, packets: BigInt(f.value.packets), bytes: BigInt(f.value.bytes) },
          })),
        ),
      );
      const perCpu = (await mapElems(m.per_cpu!)).toArray();
      expect(perCpu).toEqual([
        [5, Array.from({ length: cpus }, (_, c) => ({ events: BigInt(100 + c), last: c }))],
      ]);
      const raw = await mapElems(m.states!, { btf: false });
      expect([...raw.keys()].every((k) => k instanceof Uint8Array && k.length === 4)).toBe(true);
      using states = BpfMap.fromFd(m.states!.fd, { key: codecs.u32, value: codecs.u32 });
      const numbers = (await mapElems(states)).toArray().sort((a, b) => a[0] - b[0]);
      expect(numbers).toEqual([
        [0, 0],
        [1, 1],
        [2, 7],
        [3, 3],
      ]);
    },
  );
});
