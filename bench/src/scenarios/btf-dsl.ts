// Scenario 5: the pure-TypeScript parts: parsing the kernel's BTF and
// assembling a large DSL program. No C counterpart; figures are absolute.
import { readFileSync } from "node:fs";
import { runGroup, timeTs } from "../measure.js";
import type { GroupResult } from "../model.js";
import type { Context } from "./context.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";

export async function btfAndDsl(ctx: Context): Promise<GroupResult[]> {
  const ts = ctx.ts;
  const bytes = readFileSync(VMLINUX);
  const parse = ts.parseVmlinuxBtf;
  const btf = await runGroup(
    ctx.progress,
    {
      id: "btf-parse",
      scenario: "btf-dsl",
      title: "Parse vmlinux BTF",
      description: `Parse the running kernel's BTF (${(bytes.length / 2 ** 20).toFixed(1)} MiB at ${VMLINUX}), bytes already in memory; reading the file is shown for scale.`,
      unit: "seconds",
    },
    [
      parse
        ? {
            id: "ts-parse-btf",
            label: "parseBtf(vmlinux)",
            run: (reps, onSample) => timeTs(reps, () => parse(bytes), onSample),
          }
        : {
            id: "ts-parse-btf",
            label: "parseBtf(vmlinux)",
            unavailable: ts.missing.parseVmlinuxBtf ?? "",
          },
      {
        id: "read-file",
        label: "readFileSync(vmlinux), for scale",
        run: (reps, onSample) =>
          timeTs(reps, () => ({ items: 1, bytes: readFileSync(VMLINUX).length }), onSample),
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
        `assemble() of a ${n.toLocaleString("en-US")}-instruction program (ALU, memory, jumps to labels, 64-bit immediates), ` +
        "built beforehand; per-instruction time shown.",
      unit: "per-item",
    },
    [
      prepare
        ? {
            id: "ts-assemble",
            label: "assemble()",
            expectItems: n,
            run: (reps, onSample) => timeTs(reps, prepare(n), onSample),
          }
        : { id: "ts-assemble", label: "assemble()", unavailable: ts.missing.prepareAssembly ?? "" },
    ],
    ctx.reps,
  );
  return [btf, dsl];
}
