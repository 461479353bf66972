// Run by an arm64 Node under qemu-user: node-gyp-build must pick the
// linux-arm64 prebuild from the installed tarball. qemu-user does not
// implement bpf(2), so a syscall returns ENOSYS: reaching it proves the addon
// loaded and called into the (emulated) kernel.
import { assemble, parse } from "@ts-ebpf/dsl";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfError, BpfMap } from "@ts-ebpf/syscall";

if (process.arch !== "arm64") throw new Error(`not arm64 but ${process.arch}`);
assemble(parse("r0 = 0\nexit\n"));
try {
  BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }).close();
  console.log("ok arm64: the addon loaded and created a map");
} catch (err) {
  if (!(err instanceof BpfError) || err.code !== "ENOSYS") throw err;
  console.log("ok arm64: the linux-arm64 prebuild loaded; bpf(2) reached qemu (ENOSYS)");
}
