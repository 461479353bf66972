// --vm: the command the guest runs, and how a run measured in a QEMU guest is
// described (machine fields, the emulation caveat in every report).
import { release } from "node:os";
import { describe, expect, it } from "vitest";
import { guestCpuModel, machineInfo } from "../src/machine.js";
import type { RunResult, VmInfo } from "../src/model.js";
import { Progress } from "../src/progress.js";
import { chartFor, markdownReport, terminalReport } from "../src/report.js";
import { summarize } from "../src/stats.js";
import { guestCommand, hostLoad, shellQuote } from "../src/vm.js";
import { testRun } from "./fixtures.js";

const tcg: VmInfo = {
  accel: "tcg",
  kernelName: "6.12",
  hostCpu: "AMD EPYC",
  hostCores: 2,
  hostKernel: "6.18.44-host",
  vcpus: 2,
  memoryMiB: 3072,
};

function guestRun(vm: VmInfo): RunResult {
  const groups = [
    {
      id: "map-dump-1000",
      scenario: "map-dump",
      title: "Dump",
      description: "",
      unit: "seconds" as const,
      variants: [
        {
          id: "c-iter",
          label: "C",
          status: "ok" as const,
          reference: true,
          samples: [1, 1, 1],
          items: 10,
          summary: summarize([1, 1, 1]),
        },
      ],
    },
  ];
  return testRun(groups, {
    cpuModel: guestCpuModel(vm),
    memoryGiB: 2.9,
    kernel: "6.12.117+deb12-amd64",
    os: "test-vm guest",
    vm,
  });
}

describe("the guest's command", () => {
  it("quotes what the guest's sh would split or expand", () => {
    expect(shellQuote("map-dump,chunk-size")).toBe("map-dump,chunk-size");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
  });
  it("runs this suite in guest mode with the given arguments", () => {
    const cmd = guestCommand(["--only", "map-dump,chunk-size", "--reps", "5"]);
    expect(cmd).toMatch(
      /^node --expose-gc \/\S+\/main\.js --vm-guest --only map-dump,chunk-size --reps 5$/,
    );
  });
});

describe("a run measured in a QEMU TCG guest", () => {
  it("records the guest's kernel, and 'QEMU TCG guest on <host CPU>' as the CPU", () => {
    const m = machineInfo(tcg);
    expect(m.cpuModel).toBe("QEMU TCG guest on AMD EPYC");
    expect(m.vm).toEqual(tcg);
    expect(m.kernel).toBe(release());
    expect(machineInfo().vm).toBeUndefined();
  });

  it("the Markdown says so plainly, with the caveat on times and ratios", () => {
    const md = markdownReport(guestRun(tcg));
    expect(md).toContain("on a QEMU TCG guest on AMD EPYC (2 vCPUs, 2.9 GiB)");
    expect(md).toContain(
      "**Measured in a QEMU TCG guest (software emulation, no KVM), not on hardware.**",
    );
    expect(md).toContain("ran kernel 6.12.117+deb12-amd64 with 2 vCPUs and 3072 MiB on AMD EPYC");
    expect(md).toContain("host kernel 6.18.44-host");
    expect(md).toContain("absolute times are many times");
    expect(md).toContain("it can shift the ratios");
    // Before the goals, so nobody reads a ratio without it.
    expect(md.indexOf("software emulation")).toBeLessThan(md.indexOf("## Goals"));
  });

  it("the terminal and the charts say it too", () => {
    const run = guestRun(tcg);
    const text = terminalReport(run);
    expect(text.split("\n")[0]).toContain("QEMU TCG guest on AMD EPYC, 2 vCPUs");
    expect(text).toContain("software emulation");
    expect(chartFor(run.groups[0]!, run)).toContain("emulated: ratios indicative");
  });

  it("a KVM guest is named as such, without the emulation wording", () => {
    const md = markdownReport(guestRun({ ...tcg, accel: "kvm" }));
    expect(md).toContain("on a QEMU KVM guest on AMD EPYC");
    expect(md).toContain("**Measured in a QEMU KVM guest, not on bare metal.**");
    expect(md).not.toContain("software emulation");
  });

  it("a run on the host has no such paragraph", () => {
    const run = guestRun(tcg);
    delete run.machine.vm;
    run.machine.cpuModel = "AMD EPYC";
    expect(markdownReport(run)).not.toContain("QEMU");
  });
});

describe("progress in a guest", () => {
  it("prints finished samples as lines, never redraws, even on a (serial) terminal", () => {
    const written: string[] = [];
    const out = { write: (s: string) => written.push(s) > 0, isTTY: true, columns: 80 };
    const p = new Progress(out as unknown as NodeJS.WriteStream, { statusLines: true });
    p.status("[0/9] round 1/5 C reader …");
    p.status("[1/9] round 1/5 C reader 1.20 s");
    expect(written).toEqual(["  [1/9] round 1/5 C reader 1.20 s\n"]);
  });
});

describe("the host's load while the guest ran", () => {
  it("is summarized as mean and maximum", () => {
    expect(hostLoad([1, 2, 6])).toEqual({ mean: 3, max: 6 });
    expect(hostLoad([0.333])).toEqual({ mean: 0.33, max: 0.33 });
  });
  it("is shown next to the caveat, and called busy above the host's core count", () => {
    const busy = markdownReport(guestRun({ ...tcg, hostLoadAverage: { mean: 6.5, max: 9.8 } }));
    expect(busy).toContain(
      "The host's load average while the guest ran: 6.5 on average, 9.8 at most, on 2 cores (busy:",
    );
    const quiet = markdownReport(guestRun({ ...tcg, hostLoadAverage: { mean: 1.2, max: 1.9 } }));
    expect(quiet).toContain("1.2 on average, 1.9 at most, on 2 cores.");
    expect(quiet).not.toContain("busy:");
  });
});
