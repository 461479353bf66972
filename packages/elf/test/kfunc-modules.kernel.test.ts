// Module kfuncs against the running kernel: KernelModuleTypes reads every
// module's BTF object (BTF_GET_NEXT_ID, split on vmlinux), and
// loadCollection finds a kfunc vmlinux lacks there and passes the module's
// BTF fd in fd_array. nf_conntrack's bpf_xdp_ct_lookup (5.18) is the kfunc:
// a module in Debian's kernels (load nf_conntrack first), built into this
// host's kernel (then it is found in vmlinux and the test says so).
import { readdirSync } from "node:fs";
import { release } from "node:os";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { Btf as BtfObject } from "@ts-ebpf/syscall";
import { describeKernel, missingFromKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import {
  bindProgramSpec,
  KernelModuleTypes,
  loadCollection,
  parseCollection,
} from "../src/index.js";
import { fixture } from "./fixtures.js";

const vmlinux = loadKernelBtf();
const openFds = () => readdirSync("/proc/self/fd").length;
const loadedModulesWithBtf = () =>
  readdirSync("/sys/kernel/btf")
    .filter((n) => n !== "vmlinux")
    .sort();

describeKernel("kfuncs in kernel modules", () => {
  it("KernelModuleTypes lists the modules /sys/kernel/btf lists, and closes every BTF fd it opened", () => {
    const before = openFds();
    const modules = new KernelModuleTypes(vmlinux);
    expect([...modules.names].sort()).toEqual(loadedModulesWithBtf());
    modules.close();
    expect(openFds()).toBe(before);
    expect(() => modules.find("x", "func")).toThrow(/closed/);
    expect(() => new KernelModuleTypes({} as never)).toThrow(TypeError);
  });

  it("find answers a module's own function with its id there and an fd of that module's BTF object", (ctx) => {
    using modules = new KernelModuleTypes(vmlinux);
    const name = modules.names[0];
    if (name === undefined)
      return ctx.skip("no kernel module with BTF is loaded (/sys/kernel/btf holds vmlinux only)");
    const types = loadKernelBtf({ module: name });
    // A function the module itself defines (not one of vmlinux's).
    const own = [...types.types()].find(
      (t) =>
        t.id >= types.firstId &&
        t.kind === "func" &&
        vmlinux.findType(t.name, "func") === undefined,
    );
    if (own === undefined) return ctx.skip(`module ${name}'s BTF defines no function of its own`);
    const found = modules.find(own.name, "func");
    expect(found?.btfId).toBe(own.id);
    expect(found?.module.name).toBe(name);
    using object = BtfObject.fromFd(found!.module.fd);
    expect(object.info()).toMatchObject({ name, kernelBtf: true });
    expect(modules.find("ts_ebpf_no_such_kfunc", "func")).toBeUndefined();
  });

  it("a C object's call to nf_conntrack's bpf_xdp_ct_lookup binds (vmlinux or module), loads and runs", (ctx) => {
    const spec = parseCollection(fixture("module_kfunc"));
    using modules = new KernelModuleTypes(vmlinux);
    const inVmlinux = vmlinux.findType("bpf_xdp_ct_lookup", "func") !== undefined;
    const inModule = modules.find("bpf_xdp_ct_lookup", "func");
    if (!inVmlinux && inModule === undefined) {
      const old = missingFromKernel("bpf_xdp_ct_lookup kfunc", false, "5.18");
      if (old) return ctx.skip(old);
      return ctx.skip(
        `bpf_xdp_ct_lookup is in neither vmlinux nor a loaded module: nf_conntrack is a module on ${release()} and is not loaded (/sys/kernel/btf/nf_conntrack absent)`,
      );
    }
    const bound = bindProgramSpec(spec.programs.ct_lookup!, vmlinux, { modules: modules.lookup });
    const lookup = bound.instructions.find((i) => i.ksym?.name === "bpf_xdp_ct_lookup")!.ksym!;
    if (inVmlinux) expect(lookup.module).toBeUndefined();
    else
      expect(lookup).toEqual({
        name: "bpf_xdp_ct_lookup",
        btfId: inModule!.btfId,
        module: inModule!.module,
      });
    console.info(
      `bpf_xdp_ct_lookup on ${release()}: in ${inVmlinux ? "vmlinux" : `module ${inModule!.module.name} (BTF id ${inModule!.btfId})`}`,
    );

    const before = openFds();
    {
      // loadCollection finds it on its own (the running kernel's modules) and closes their fds after load.
      using c = loadCollection(fixture("module_kfunc"));
      const packet = new Uint8Array(64);
      expect(c.programs.ct_lookup!.testRun({ dataIn: packet }).retval).toBe(2); // XDP_PASS
      const bss = c.maps[c.spec.variables.found!.map]!.get(new Uint8Array(4)) as Uint8Array;
      const view = new DataView(bss.buffer, bss.byteOffset, bss.byteLength);
      // Nothing tracks an all-zero TCP tuple: not found, opts.error = -ENOENT.
      expect(view.getInt32(c.spec.variables.found!.offset, true)).toBe(0);
      const errMap = c.maps[c.spec.variables.lookup_error!.map]!.get(
        new Uint8Array(4),
      ) as Uint8Array;
      expect(
        new DataView(errMap.buffer, errMap.byteOffset).getInt32(
          c.spec.variables.lookup_error!.offset,
          true,
        ),
      ).toBe(-2);
    }
    expect(openFds()).toBe(before);
  });
});
