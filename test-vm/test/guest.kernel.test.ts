// The guest environment the harness promises to every kernel test. Runs on the
// host too; the check of the booted release runs only inside a guest.
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";

const mounts = () =>
  readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" "));

const expectedRelease = process.env.TS_EBPF_VM_RELEASE;

describeKernel("test-vm guest environment", () => {
  it("has kernel BTF at /sys/kernel/btf/vmlinux", () => {
    const header = readFileSync("/sys/kernel/btf/vmlinux").subarray(0, 4);
    expect(header.readUInt16LE(0)).toBe(0xeb9f); // BTF magic
  });

  it("has bpffs at /sys/fs/bpf", () => {
    expect(mounts().some(([, dir, type]) => dir === "/sys/fs/bpf" && type === "bpf")).toBe(true);
  });

  it("has cgroup2 mounted", () => {
    expect(mounts().some(([, , type]) => type === "cgroup2")).toBe(true);
  });

  (expectedRelease ? it : it.skip)(
    `runs the kernel the harness booted${expectedRelease ? "" : " [skipped: not in a test-vm guest]"}`,
    () => {
      expect(release()).toBe(expectedRelease);
    },
  );
});
