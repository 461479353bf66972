// Helper calls by name. The table is generated from kernel BTF
// (scripts/gen-helpers.mjs); this module only looks names up.
import { DslError } from "./errors.js";
import { HelperId, type HelperName } from "./helpers.gen.js";

export { HelperId, type HelperName };

const names = new Map<number, string>(Object.entries(HelperId).map(([n, id]) => [id, n]));

/** Helper id for `"seq_write"`, `"bpf_seq_write"` or a number; DslError if unknown. */
export function helperId(helper: string | number): number {
  if (typeof helper === "number") {
    if (!Number.isInteger(helper) || helper < 0 || helper >= 2 ** 31) {
      throw new DslError(`invalid helper id ${helper}`, { instruction: `call ${helper}` });
    }
    return helper;
  }
  const bare = helper.startsWith("bpf_") ? helper.slice(4) : helper;
  const id = Object.hasOwn(HelperId, bare) ? HelperId[bare as HelperName] : undefined;
  if (id === undefined) {
    throw new DslError(`unknown helper ${JSON.stringify(helper)}`, {
      instruction: `call ${helper}`,
    });
  }
  return id;
}

/** `bpf_seq_write` for 127; undefined for an id the table does not know. */
export function helperName(id: number): string | undefined {
  const n = names.get(id);
  return n === undefined ? undefined : `bpf_${n}`;
}
