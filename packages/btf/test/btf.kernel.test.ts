// The running kernel's BTF against bpftool's view of it. Runs on the host and
// in the 6.1 / 6.12 VMs; where bpftool is absent (VM guests) only the bpftool
// comparisons skip, with the reason in their names.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { describeKernel, skipWithoutTool } from "@ts-ebpf/testing";
import { beforeAll, expect, it } from "vitest";
import { type Btf, loadKernelBtf, loadModuleBtf } from "../src/index.js";
import {
  cBlocks,
  type Json,
  normalizeC,
  parseBpftoolJson,
  project,
  toBpftoolJson,
} from "./bpftool-json.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";

function bpftoolVersion(): string | undefined {
  try {
    return execFileSync("bpftool", ["version"], { encoding: "utf8" });
  } catch {
    return undefined;
  }
}

const version = bpftoolVersion();
const noBpftool = version ? "" : " [skipped: bpftool not installed]";
/** TCG guests (the VM harness) run these comparisons 10-50x slower than the host. */
const SLOW = 600_000;
const itBpftool = (name: string, fn: () => void) =>
  (skipWithoutTool(version !== undefined) ? it.skip : it)(name, fn, SLOW);
const bpftool = (...args: string[]): string =>
  execFileSync("bpftool", args, { encoding: "utf8", maxBuffer: 1 << 30 });

describeKernel("kernel BTF", () => {
  let btf: Btf;
  beforeAll(() => {
    btf = loadKernelBtf();
  });

  it("loads vmlinux once per process", () => {
    expect(loadKernelBtf()).toBe(btf);
    expect(btf.typeCount).toBeGreaterThan(10_000);
  });

  it("finds task_struct.pid and the task iterator", () => {
    const pid = btf.memberOffset("task_struct", "pid");
    expect(pid.size).toBe(4);
    expect(pid.offset).toBeGreaterThan(0);
    expect(pid.offset).toBeLessThan(btf.sizeOf("task_struct"));
    const task = btf.iteratorTargets().find((t) => t.name === "task");
    expect(task?.funcId).toBe(btf.funcId("bpf_iter_task"));
    expect(task?.members.map((m) => [m.name, m.offset])).toEqual([
      ["meta", 0],
      ["task", 8],
    ]);
    expect(btf.memberOffset("bpf_iter__task", "task").offset).toBe(8);
    expect(btf.memberOffset("bpf_iter__task", "meta.seq_num").hops).toEqual([0]);
  });

  it("lists the iterator targets every supported kernel has", () => {
    const names = btf.iteratorTargets().map((t) => t.name);
    for (const t of ["task", "task_file", "bpf_map", "bpf_map_elem", "bpf_prog", "tcp", "udp"]) {
      expect(names).toContain(t);
    }
  });

  it("reads enum values", () => {
    const types = btf.enumValues("bpf_map_type");
    expect(types.find((v) => v.name === "BPF_MAP_TYPE_HASH")?.value).toBe(1);
    const traceIter = btf.enumerator("BPF_TRACE_ITER");
    expect(traceIter?.enum).toBe(btf.findType("bpf_attach_type", "enum")?.id);
    expect(btf.enumValues("bpf_attach_type").find((v) => v.name === "BPF_TRACE_ITER")?.value).toBe(
      traceIter?.value,
    );
  });

  const modules = existsSync("/sys/kernel/btf")
    ? readdirSync("/sys/kernel/btf").filter((n) => n !== "vmlinux")
    : [];
  (modules.length ? it : it.skip)(
    `parses module BTF on top of vmlinux${modules.length ? "" : " [skipped: no module BTF loaded]"}`,
    () => {
      let decoded = 0;
      for (const name of modules) {
        const mod = loadModuleBtf(name);
        expect(mod.base).toBe(btf);
        expect(mod.firstId).toBe(btf.typeCount);
        // Every type of the module decodes (references into vmlinux included).
        for (let id = mod.firstId; id < mod.typeCount; id++) {
          const t = mod.type(id);
          if (t.kind === "struct" || t.kind === "union") mod.sizeOf(id);
          decoded++;
        }
      }
      expect(decoded).toBeGreaterThan(0);
    },
    SLOW,
  );

  describeKernelBpftool();

  function describeKernelBpftool(): void {
    let json: Json[] = [];
    let header = "";
    beforeAll(() => {
      if (!version) return;
      json = parseBpftoolJson(bpftool("-j", "btf", "dump", "file", VMLINUX));
      header = bpftool("btf", "dump", "file", VMLINUX, "format", "c");
    }, SLOW);

    itBpftool(`every STRUCT and UNION has bpftool's size and member offsets${noBpftool}`, () => {
      const mismatches: string[] = [];
      let checked = 0;
      for (const theirs of json) {
        if (theirs.kind !== "STRUCT" && theirs.kind !== "UNION") continue;
        checked++;
        const ours = toBpftoolJson(btf.type(theirs.id as number));
        const a = JSON.stringify(ours);
        const b = JSON.stringify(project(ours, theirs));
        if (a !== b) mismatches.push(`${theirs.id} ${theirs.name}: ours ${a} bpftool ${b}`);
        // The query API agrees with the decoded members.
        if (theirs.name !== "(anon)") {
          for (const m of theirs.members as Json[]) {
            if (m.name === "(anon)") continue;
            const loc = btf.memberOffset(theirs.id as number, m.name as string);
            if (loc.bitOffset !== m.bits_offset) {
              mismatches.push(`${theirs.name}.${m.name}: ${loc.bitOffset} vs ${m.bits_offset}`);
            }
          }
        }
        if (btf.sizeOf(theirs.id as number) !== theirs.size) mismatches.push(`sizeOf ${theirs.id}`);
      }
      expect(checked).toBeGreaterThan(1000);
      expect(mismatches.slice(0, 5)).toEqual([]);
      expect(mismatches.length).toBe(0);
    });

    itBpftool(`every other type decodes as bpftool shows it${noBpftool}`, () => {
      expect(json.length + 1).toBe(btf.typeCount);
      const mismatches: string[] = [];
      let checked = 0;
      for (const theirs of json) {
        // Structs and unions, most of the work, are compared in the test above.
        if (theirs.kind === "STRUCT" || theirs.kind === "UNION") continue;
        checked++;
        const ours = toBpftoolJson(btf.type(theirs.id as number));
        const a = JSON.stringify(ours);
        const b = JSON.stringify(project(ours, theirs));
        if (a !== b) mismatches.push(`ours ${a}\nbpftool ${b}`);
      }
      expect(checked).toBeGreaterThan(10_000);
      expect(mismatches.slice(0, 5)).toEqual([]);
    });

    itBpftool(`funcId of every iterator target is bpftool's id${noBpftool}`, () => {
      const structs = new Set(json.filter((t) => t.kind === "STRUCT").map((t) => t.name as string));
      const expected = json
        .filter(
          (t) =>
            t.kind === "FUNC" &&
            (t.name as string).startsWith("bpf_iter_") &&
            structs.has(`bpf_iter__${(t.name as string).slice(9)}`),
        )
        .map((t) => [(t.name as string).slice(9), t.id])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      const ours = btf.iteratorTargets().map((t) => [t.name, btf.funcId(`bpf_iter_${t.name}`)]);
      expect(ours.length).toBeGreaterThan(10);
      expect(ours).toEqual(expected);
      for (const t of btf.iteratorTargets())
        expect(t.funcId).toBe(btf.funcId(`bpf_iter_${t.name}`));
    });

    itBpftool(
      `prints named structs, unions and enums as bpftool's format c does${noBpftool}`,
      () => {
        // libbpf before 1.2 (bpftool 7.1 on Debian 12) prints no enum mode() attributes.
        const libbpf = /libbpf v(\d+)\.(\d+)/.exec(version ?? "");
        const enumSizeAttributes =
          !libbpf || Number(libbpf[1]) > 1 || (Number(libbpf[1]) === 1 && Number(libbpf[2]) >= 2);
        const blocks = cBlocks(header);
        const mismatches: string[] = [];
        let compared = 0;
        let ambiguous = 0;
        for (const [key, list] of blocks) {
          // Names bpftool printed more than once get ___N suffixes; we print one type only.
          if (list.length !== 1 || /___\d/.test(list[0]!) || key.startsWith("typedef")) continue;
          const [kind, name] = key.split(" ") as ["struct" | "union" | "enum", string];
          const ids = [
            ...btf.findTypeIds(name, kind),
            ...(kind === "enum" ? btf.findTypeIds(name, "enum64") : []),
          ];
          if (ids.length === 0) {
            mismatches.push(`${key}: not found`);
            continue;
          }
          compared++;
          // Where several types share the name (7.2's vmlinux has two `struct slot`s),
          // bpftool prints the one it reaches first, which need not be the lowest id,
          // unsuffixed and the others as name___N: its block must be one of ours.
          if (ids.length > 1) ambiguous++;
          const ours = ids.map((id) => btf.formatC(id, { enumSizeAttributes }));
          if (!ours.some((c) => normalizeC(c) === normalizeC(list[0]!)))
            mismatches.push(
              `ours (ids ${ids.join(", ")}):\n${ours.join("\n")}\nbpftool:\n${list[0]}`,
            );
        }
        expect(blocks.has("struct task_struct")).toBe(true);
        expect(compared).toBeGreaterThan(1000);
        // The name-shared case stays the exception: the unique names are compared one to one.
        expect(ambiguous).toBeLessThan(compared / 10);
        expect(mismatches.slice(0, 3)).toEqual([]);
        expect(mismatches.length).toBe(0);
      },
    );

    itBpftool(`prints typedefs as bpftool's format c does${noBpftool}`, () => {
      const mismatches: string[] = [];
      let compared = 0;
      for (const [key, list] of cBlocks(header)) {
        if (!key.startsWith("typedef ") || list.length !== 1 || /___\d/.test(list[0]!)) continue;
        const ids = btf.findTypeIds(key.slice(8), "typedef");
        if (ids.length !== 1) continue;
        compared++;
        const ours = btf.formatC(ids[0]!, { enumSizeAttributes: false });
        if (normalizeC(ours) !== normalizeC(list[0]!))
          mismatches.push(`ours:\n${ours}\nbpftool:\n${list[0]}`);
      }
      expect(compared).toBeGreaterThan(500);
      expect(mismatches.slice(0, 3)).toEqual([]);
    });
  }
});
