// With no prebuild and no source build, the first syscall must throw a
// NativeAddonError naming the package manager's command (argv[2]).
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfMap } from "@ts-ebpf/syscall";

const expected = process.argv[2];
try {
  BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  throw new Error("the syscall ran without an addon");
} catch (err) {
  if (err?.name !== "NativeAddonError" || !err.message.includes(expected)) throw err;
  console.log(`ok missing addon: ${err.message}`);
}
