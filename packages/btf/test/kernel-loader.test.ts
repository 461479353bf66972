// loadKernelBtf / loadModuleBtf on a directory laid out like /sys/kernel/btf,
// so the loader and split-BTF path run without the real kernel.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  BtfError,
  clearKernelBtfCache,
  loadKernelBtf,
  loadModuleBtf,
  parseBtf,
} from "../src/index.js";
import { BtfBuilder } from "./btf-builder.js";
import { fixtureBytes } from "./fixture.js";

describe("loading BTF from a /sys/kernel/btf-like directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "btf-loader-"));
  const vmlinux = fixtureBytes();
  writeFileSync(join(dir, "vmlinux"), vmlinux);
  const base = parseBtf(vmlinux);
  const mod = new BtfBuilder({ base: { typeCount: base.typeCount, stringsEnd: base.stringsEnd } });
  const recPtr = mod.ref("ptr", base.findType("rec", "struct")!.id);
  mod.composite("struct", "bpf_iter__modthing", 8, [{ name: "rec", type: recPtr, bitOffset: 0 }]);
  mod.func("bpf_iter_modthing", mod.funcProto(base.findType("int", "int")!.id, []));
  writeFileSync(join(dir, "modthing"), mod.build());
  afterAll(() => {
    clearKernelBtfCache();
    rmSync(dir, { recursive: true, force: true });
  });

  it("parses vmlinux once and modules on top of it", () => {
    const k = loadKernelBtf({ dir });
    expect(loadKernelBtf({ dir })).toBe(k);
    const m = loadModuleBtf("modthing", { dir });
    expect(loadKernelBtf({ dir, module: "modthing" })).toBe(m);
    expect(m.base).toBe(k);
    expect(m.memberOffset("bpf_iter__modthing", "rec.start")).toMatchObject({
      offset: 24,
      hops: [0],
    });
    expect(m.iteratorTargets().map((t) => t.name)).toEqual(["fake", "modthing"]);
    expect(m.funcId("bpf_iter_fake")).toBe(k.funcId("bpf_iter_fake"));
  });

  it("names the file and the cause when it cannot read", () => {
    expect(() => loadModuleBtf("absent", { dir })).toThrow(BtfError);
    expect(() => loadModuleBtf("absent", { dir })).toThrow(/cannot read .*absent: ENOENT/);
    expect(() => loadKernelBtf({ dir: join(dir, "nope") })).toThrow(/vmlinux: ENOENT/);
  });

  it("rejects module names that are not names", () => {
    for (const bad of ["../etc/passwd", "", "vmlinux", "a/b"]) {
      expect(() => loadModuleBtf(bad, { dir })).toThrow(TypeError);
    }
  });
});
