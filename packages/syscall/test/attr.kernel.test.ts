// The attr size rule against the kernel: bytes past the attr the kernel knows
// must be zero (else E2BIG), so encoders send only up to their last used field.
import { closeSync } from "node:fs";
import { BpfCmd, BpfMapType } from "@ts-ebpf/spec/constants";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { Attr } from "../src/attr.js";
import { Errno } from "../src/errno.js";
import { native } from "../src/native.js";

describeKernel("attr sizing against the kernel", () => {
  it("a non-zero byte past the kernel's union bpf_attr is E2BIG; zeroed, the same size is accepted", () => {
    const attr = new Attr("map_create")
      .u32("map_type", BpfMapType.ARRAY)
      .u32("key_size", 4)
      .u32("value_size", 4)
      .u32("max_entries", 1);
    // The encoder sends only the fields it set.
    expect(attr.size).toBe(16);
    attr.bytes[255] = 1;
    expect(native().bpf(BpfCmd.MAP_CREATE, attr.bytes, 256)).toBe(-Errno.E2BIG);
    attr.bytes[255] = 0;
    const fd = native().bpf(BpfCmd.MAP_CREATE, attr.bytes, 256);
    expect(fd).toBeGreaterThan(0);
    closeSync(fd);
    const fd2 = attr.call(BpfCmd.MAP_CREATE);
    expect(fd2).toBeGreaterThan(0);
    closeSync(fd2);
  });

  it("a non-zero field the command does not use is EINVAL (CHECK_ATTR)", () => {
    // map_elem.flags set for BPF_MAP_FREEZE, whose last field is map_fd.
    const attr = new Attr("map_elem").u32("map_fd", 0).u64("flags", 1);
    expect(attr.call(BpfCmd.MAP_FREEZE)).toBe(-Errno.EINVAL);
  });
});
