// Scenario 5: the pure-TypeScript parts: parsing the kernel's BTF and
// assembling a large DSL program.
import { readFileSync } from "node:fs";
import { type Outcome, runGroup, tsSampler, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { cSampler } from "../native.js";
import type { DslWork } from "../ts-api.js";
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
        "parseBtf indexes the types and decodes them lazily; the first findType() also builds the name index; " +
        "the last variant decodes every type. " +
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
      ts.parseBtfFindType
        ? {
            id: "ts-parse-btf-find",
            label: "parseBtf + findType(task_struct)",
            sampler: tsSampler(() => ts.parseBtfFindType!(bytes)),
          }
        : {
            id: "ts-parse-btf-find",
            label: "parseBtf + findType(task_struct)",
            unavailable: ts.missing.parseBtfFindType ?? "",
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
  const work = ts.prepareDsl?.(n);
  const dslSpec = (
    id: string,
    label: string,
    pick: (w: DslWork) => () => Outcome,
    reference = false,
  ): VariantSpec =>
    work
      ? {
          id,
          label,
          expectItems: n,
          ...(reference ? { reference } : {}),
          sampler: tsSampler(pick(work)),
        }
      : {
          id,
          label,
          ...(reference ? { reference } : {}),
          unavailable: ts.missing.prepareDsl ?? "",
        };
  const dsl = await runGroup(
    ctx.progress,
    {
      id: "dsl-assemble",
      scenario: "btf-dsl",
      title: `Assemble ${n.toLocaleString("en-US")} DSL instructions`,
      description:
        `A ${n.toLocaleString("en-US")}-instruction listing built beforehand (loads, stores, ALU, 64-bit immediates, ` +
        "conditional jumps to labels). assemble() resolves labels, checks and encodes every instruction; the reference is encode() " +
        "of the already-resolved instructions, the bare cost of writing the bytes. The text round trip (parse of print() output) and " +
        "disassembly are shown for scale. Per-instruction time.",
      unit: "per-item",
    },
    [
      dslSpec("ts-encode", "encode() of resolved instructions", (w) => w.encode, true),
      dslSpec("ts-assemble", "assemble()", (w) => w.assemble),
      dslSpec("ts-parse", "parse() of the program text", (w) => w.parseText),
      dslSpec("ts-disassemble", "disassemble() of the bytes", (w) => w.disassemble),
    ],
    ctx.reps,
  );
  return [btf, dsl];
}
