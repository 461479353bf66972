// @ts-ebpf/syscall/constants: the kernel constants, owned by @ts-ebpf/spec
// (pure, no native code) and re-exported here for code that imports them
// beside the commands.
export * from "@ts-ebpf/spec/constants";
