// Scenario 5: the pure-TypeScript parts: parsing the kernel's BTF and
// assembling a large DSL program.
import { readFileSync } from "node:fs";
import { runGroup, tsSampler } from "../measure.js";
import type { GroupResult } from "../model.js";
import { cSampler } from "../native.js";
import type { Context } from "./context.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";

export async function btfAndDsl(ctx: Context): Promise<GroupResult[]> {
  const ts = ctx.ts;
  const bytes = readFileSync(VMLINUX);
  const parse = ts.parseBtf;
  const parseAll = ts.parseBtfAllTypes;
  const btf = await runGroup(
    ctx.progress,
    {
      id: "btf-parse",
      scenario: "btf-dsl",
      title: "Parse vmlinux BTF",
      description:
        `The running kernel's BTF (${(bytes.length / 2 ** 20).toFixed(1)} MiB at ${VMLINUX}), bytes already in memory. ` +
        "parseBtf indexes the types and decodes them lazily; the second variant also decodes every type. " +
        "The C reference walks the type section once and records where each type starts.",
      unit: "seconds",
    },
    [
      {
        id: "c-btf-index",
        label: "C type index",
        reference: true,
        sampler: cSampler("btf_parse", (reps) => [reps]),
      },
      parse
        ? {
            id: "ts-parse-btf",
            label: "parseBtf(vmlinux)",
            sampler: tsSampler(() => parse(bytes)),
          }
        : {
            id: "ts-parse-btf",
            label: "parseBtf(vmlinux)",
            unavailable: ts.missing.parseBtf ?? "",
          },
      parseAll
        ? {
            id: "ts-parse-btf-all",
            label: "parseBtf + decode every type",
            sampler: tsSampler(() => parseAll(bytes)),
          }
        : {
            id: "ts-parse-btf-all",
            label: "parseBtf + decode every type",
            unavailable: ts.missing.parseBtfAllTypes ?? "",
          },
    ],
    ctx.reps,
  );
  const n = ctx.dslInstructions;
  const prepare = ts.prepareAssembly;
  const dsl = await runGroup(
    ctx.progress,
    {
      id: "dsl-assemble",
      scenario: "btf-dsl",
      title: `Assemble ${n.toLocaleString("en-US")} DSL instructions`,
      description:
        `assemble() of a ${n.toLocaleString("en-US")}-instruction listing built beforehand (loads, stores, ALU, 64-bit immediates, ` +
        "conditional jumps to labels): label resolution, per-instruction checks and encoding. No C counterpart; per-instruction time shown.",
      unit: "per-item",
    },
    [
      prepare
        ? {
            id: "ts-assemble",
            label: "assemble()",
            expectItems: n,
            sampler: async () => tsSampler(prepare(n))(),
          }
        : { id: "ts-assemble", label: "assemble()", unavailable: ts.missing.prepareAssembly ?? "" },
    ],
    ctx.reps,
  );
  return [btf, dsl];
}
