import { describe, expect, it } from "vitest";
import { describeMachine, detectVirtualization, thisMachine } from "../src/machine.js";

const cpu = (model: string, flags: string) =>
  `model name\t: ${model}\nflags\t\t: fpu ${flags} sse\n`;

describe("detectVirtualization", () => {
  it("tells bare metal, KVM, QEMU's emulation and other hypervisors apart", () => {
    expect(detectVirtualization(cpu("AMD EPYC 7B13", "vme"), "tsc hpet")).toBe("none");
    expect(detectVirtualization(cpu("AMD EPYC", "hypervisor"), "tsc kvm-clock ")).toBe("KVM");
    expect(detectVirtualization(cpu("QEMU TCG CPU version 2.5+", "hypervisor"), "tsc")).toBe("TCG");
    expect(detectVirtualization(cpu("Intel Xeon", "hypervisor"), "tsc hyperv_clocksource")).toBe(
      "VM",
    );
  });
});

describe("thisMachine", () => {
  it("names the kernel, the virtualisation and the CPUs", () => {
    const m = thisMachine();
    expect(m.kernel).toMatch(/^\d+\.\d+/);
    expect(["none", "KVM", "TCG", "VM"]).toContain(m.virtualization);
    expect(m.cpu).toMatch(/ × \d+$/);
    expect(describeMachine({ kernel: "6.12.1", virtualization: "TCG", cpu: "QEMU × 2" })).toBe(
      "Linux 6.12.1 (TCG, QEMU × 2)",
    );
    expect(describeMachine({ kernel: "6.12.1", virtualization: "unknown", cpu: "" })).toBe(
      "Linux 6.12.1 (machine not recorded)",
    );
  });
});
