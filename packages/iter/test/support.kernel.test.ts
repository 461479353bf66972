// The support matrix's source: one test per iterator target of the table, and
// one per optional link parameter, each loading a do-nothing program for the
// target, creating the link (with the parameter) and reading it to EOF. The
// test-vm harness reads these tests' results from every guest into the
// matrix (passed: supported; skipped with "not in this kernel"; failed). A
// target the kernel's BTF lacks skips only when the kernel predates the
// table's first kernel for it (missingFromKernel), so the table is checked
// here too; targets.kernel.test.ts checks it in both directions.
import { closeSync, openSync, statSync } from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { exit, mov } from "@ts-ebpf/dsl";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfMap } from "@ts-ebpf/syscall";
import { describeKernel, featuresRequired, missingFromKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { iteratorSpec } from "../src/builtins/record.js";
import { createIterator, type IteratorParams, TARGETS, type TargetInfo } from "../src/index.js";
import { hasTarget, skStorageMap } from "./helpers.js";

/** A map the target's required map parameter accepts. */
function mapFor(target: string): BpfMap {
  const name = "support_map";
  if (target === "sockmap")
    return BpfMap.create({
      type: BpfMapType.SOCKMAP,
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
      name,
    });
  if (target === "bpf_sk_storage_map") return skStorageMap(4, name);
  return BpfMap.create({ type: BpfMapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1, name });
}

/** The cgroup2 mount point (the guests mount one at /sys/fs/cgroup). */
const CGROUP2 = "/sys/fs/cgroup";

/** Loads a do-nothing program for `target`, links it with `params`, reads to EOF. */
async function iterate(target: string, params?: IteratorParams): Promise<void> {
  const spec = iteratorSpec(loadKernelBtf(), target, [mov("r0", 0), exit()], "support_iter");
  using link = createIterator(spec, target, params);
  expect((await link.readAll()).length).toBe(0);
}

/**
 * Runs `body`; where this kernel refuses the program (EPERM from a security
 * policy, as on the development host) the test skips saying so, except in
 * the guests (TS_EBPF_REQUIRE_FEATURES=1), where it fails.
 */
async function supported(
  ctx: { skip: (note?: string) => void },
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (err) {
    const code = (err as { code?: string; cause?: { code?: string } }).code;
    const causeCode = (err as { cause?: { code?: string } }).cause?.code;
    if (!featuresRequired() && (code === "EPERM" || causeCode === "EPERM")) {
      ctx.skip(`refused by this kernel: ${(err as Error).message.split("\n")[0]}`);
      return;
    }
    throw err;
  }
}

const PARAM_CASES: Record<"task" | "cgroup", { label: string; params: () => IteratorParams }> = {
  task: { label: "a task parameter (pid)", params: () => ({ pid: process.pid }) },
  cgroup: {
    label: "a cgroup parameter (id, order self)",
    params: () => ({ cgroupId: statSync(CGROUP2, { bigint: true }).ino, order: "self" }),
  },
};

describeKernel("iterator support", () => {
  for (const t of TARGETS) {
    it(`target ${t.name}`, async (ctx) => {
      const why = missingFromKernel(`${t.name} iterator`, hasTarget(t.name), t.since);
      if (why) return ctx.skip(why);
      await supported(ctx, async () => {
        if (!t.paramsRequired) return iterate(t.name);
        using map = mapFor(t.name);
        return iterate(t.name, { map });
      });
    });
  }

  for (const t of TARGETS.filter(
    (t): t is TargetInfo & { params: "task" | "cgroup" } =>
      t.params === "task" || t.params === "cgroup",
  )) {
    const c = PARAM_CASES[t.params];
    it(`target ${t.name} with ${c.label}`, async (ctx) => {
      const since = t.paramsSince ?? t.since;
      const union = loadKernelBtf().findType("bpf_iter_link_info", "union");
      const hasParam = union?.members.some((m) => m.name === t.params) ?? false;
      const why =
        missingFromKernel(`${t.name} iterator`, hasTarget(t.name), t.since) ??
        missingFromKernel(`${t.params} parameter for iterator links`, hasParam, since);
      if (why) return ctx.skip(why);
      if (t.params === "cgroup") {
        // The guests mount cgroup2 at /sys/fs/cgroup; a host without it cannot say.
        const fd = openSync(CGROUP2, "r");
        closeSync(fd);
      }
      await supported(ctx, () => iterate(t.name, c.params()));
    });
  }
});
