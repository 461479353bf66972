// The generated tables against the running kernel's BTF. The uapi only grows
// (values and members are added, never renumbered or moved), so:
// - on the kernel the tables were generated from they are equal;
// - on an older kernel (the VM harness's 5.10 to 6.12) every enum value and
//   member the kernel has is ours, with the same number or offset;
// - on a newer kernel (7.2) every value and member of ours is the kernel's,
//   with the same number or offset, and the kernel may have more.
// Names both have must agree everywhere.
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { loadKernelBtf } from "@ts-ebpf/btf";
import * as enums from "@ts-ebpf/spec/constants";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { extractTables } from "../scripts/btf-tables.mjs";
import * as layouts from "../src/layout/layouts.gen.js";

const generatedFrom = /BTF of kernel (\S+)\./.exec(
  readFileSync(new URL("../../spec/src/constants/enums.gen.ts", import.meta.url), "utf8"),
)?.[1];

/** major * 1000 + minor of a release string ("6.18.44-fc", "7.2.13+deb14-amd64"). */
function versionOf(r: string): number {
  const m = /^(\d+)\.(\d+)/.exec(r);
  if (!m) throw new Error(`unparsable kernel release ${JSON.stringify(r)}`);
  return Number(m[1]) * 1000 + Number(m[2]);
}

type Relation = "same" | "older" | "newer";
/** The running kernel relative to the one the tables come from (a build of the same version counts as both older and newer: equal). */
const relation: Relation =
  generatedFrom === undefined || generatedFrom === release()
    ? "same"
    : versionOf(release()) < versionOf(generatedFrom)
      ? "older"
      : versionOf(release()) > versionOf(generatedFrom)
        ? "newer"
        : "same";
const kernelTables = extractTables(loadKernelBtf());
const enumTables = enums as unknown as Record<string, Record<string, number>>;

/**
 * Checks `ours` against `theirs` (the running kernel's) by the relation:
 * names both have map to equal values; the older side's names are all in the
 * newer side; on the same kernel both have the same names.
 */
function expectConsistent<V>(
  what: string,
  ours: Record<string, V>,
  theirs: Record<string, V>,
): void {
  const shared = Object.keys(ours).filter((k) => k in theirs);
  expect(
    Object.fromEntries(shared.map((k) => [k, ours[k]])),
    `${what}: a value both have differs`,
  ).toEqual(Object.fromEntries(shared.map((k) => [k, theirs[k]])));
  const onlyOurs = Object.keys(ours).filter((k) => !(k in theirs));
  const onlyTheirs = Object.keys(theirs).filter((k) => !(k in ours));
  // The newer side has every name of the older one.
  if (relation !== "newer")
    expect(onlyTheirs, `${what}: in ${release()}, not in the tables (${generatedFrom})`).toEqual(
      [],
    );
  if (relation !== "older")
    expect(onlyOurs, `${what}: in the tables (${generatedFrom}), not in ${release()}`).toEqual([]);
}

describeKernel(`generated tables vs /sys/kernel/btf/vmlinux (${relation} kernel)`, () => {
  it("knows which kernel the tables come from", () => {
    expect(generatedFrom).toBeTruthy();
  });

  for (const [name, e] of Object.entries(kernelTables.enums)) {
    it(`enum ${name} (${e.cName}) matches`, () => {
      const ours = enumTables[name];
      expect(ours, `${name} missing from enums.gen.ts`).toBeDefined();
      const theirs = Object.fromEntries(e.values.map((v) => [v.name, Number(v.value)]));
      expectConsistent(`enum ${name}`, ours ?? {}, theirs);
    });
  }

  // bpf_attr's per-command structs: a newer kernel may have commands the tables do not.
  const ourAttr = layouts.BpfAttrLayout as Record<string, { size: number; fields: object }>;
  for (const [cmd, s] of Object.entries(kernelTables.attr)) {
    it(`bpf_attr.${cmd} members match`, () => {
      const ours = ourAttr[cmd];
      if (ours === undefined && relation === "newer") return; // a command added after the tables' kernel
      expect(ours, `bpf_attr.${cmd} missing from layouts.gen.ts`).toBeDefined();
      expectConsistent(
        `bpf_attr.${cmd}`,
        ours?.fields as Record<string, object>,
        s.fields as Record<string, object>,
      );
      if (relation === "same") expect(ours?.size).toBe(s.size);
    });
  }
  // The other direction (the for loop above covers the kernel's structs): an older kernel lacks later commands.
  if (relation !== "older") {
    it(`every bpf_attr struct of the tables is in ${release()}'s`, () => {
      expect(Object.keys(ourAttr).filter((c) => !(c in kernelTables.attr))).toEqual([]);
    });
  }

  for (const [name, s] of Object.entries(kernelTables.info)) {
    it(`${s.cName} members match`, () => {
      const ours = (layouts as unknown as Record<string, { size: number; fields: object }>)[name];
      expect(ours).toBeDefined();
      expectConsistent(
        s.cName ?? name,
        ours?.fields as Record<string, object>,
        s.fields as Record<string, object>,
      );
      if (relation === "same") expect(ours?.size).toBe(s.size);
    });
  }

  it("the reverse lookups name the first alias", () => {
    expect(enums.BpfCmdName[enums.BpfCmd.PROG_TEST_RUN]).toBe("PROG_TEST_RUN");
    expect(enums.BpfProgTypeName[26]).toBe("TRACING");
    expect(enums.BpfAttachType.TRACE_ITER).toBe(28);
  });
});
