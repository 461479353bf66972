// The generated tables against the running kernel's BTF. On the kernel the
// tables were generated from they must be equal; on an older kernel (the VM
// harness) every enum value and member the kernel has must match ours.
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
const sameKernel = generatedFrom === release();
const kernelTables = extractTables(loadKernelBtf());
const enumTables = enums as unknown as Record<string, Record<string, number>>;

describeKernel("generated tables vs /sys/kernel/btf/vmlinux", () => {
  it("knows which kernel the tables come from", () => {
    expect(generatedFrom).toBeTruthy();
  });

  for (const [name, e] of Object.entries(kernelTables.enums)) {
    it(`enum ${name} (${e.cName}) matches`, () => {
      const ours = enumTables[name];
      expect(ours, `${name} missing from enums.gen.ts`).toBeDefined();
      const theirs = Object.fromEntries(e.values.map((v) => [v.name, Number(v.value)]));
      if (sameKernel) expect(ours).toEqual(theirs);
      else expect(ours).toMatchObject(theirs);
    });
  }

  for (const [cmd, s] of Object.entries(kernelTables.attr)) {
    it(`bpf_attr.${cmd} members match`, () => {
      const ours = (layouts.BpfAttrLayout as Record<string, { size: number; fields: object }>)[cmd];
      expect(ours, `bpf_attr.${cmd} missing from layouts.gen.ts`).toBeDefined();
      if (sameKernel) expect(ours).toEqual(s);
      else expect(ours?.fields).toMatchObject(s.fields);
    });
  }

  for (const [name, s] of Object.entries(kernelTables.info)) {
    it(`${s.cName} members match`, () => {
      const ours = (layouts as unknown as Record<string, { size: number; fields: object }>)[name];
      expect(ours).toBeDefined();
      if (sameKernel)
        expect({ size: ours?.size, fields: ours?.fields }).toEqual({
          size: s.size,
          fields: s.fields,
        });
      else expect(ours?.fields).toMatchObject(s.fields);
    });
  }

  it("the reverse lookups name the first alias", () => {
    expect(enums.BpfCmdName[enums.BpfCmd.PROG_TEST_RUN]).toBe("PROG_TEST_RUN");
    expect(enums.BpfProgTypeName[26]).toBe("TRACING");
    expect(enums.BpfAttachType.TRACE_ITER).toBe(28);
  });
});
