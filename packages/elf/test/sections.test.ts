import { BpfAttachType, BpfProgLoadFlag, BpfProgType } from "@ts-ebpf/spec/constants";
import { describe, expect, it } from "vitest";
import { sectionKind } from "../src/index.js";

describe("section names", () => {
  it("maps libbpf's names to program and attach types", () => {
    expect(sectionKind("iter/task")).toEqual({
      type: BpfProgType.TRACING,
      expectedAttachType: BpfAttachType.TRACE_ITER,
      attach: "iter",
      target: "task",
    });
    expect(sectionKind("iter.s/task_file")).toMatchObject({
      flags: BpfProgLoadFlag.SLEEPABLE,
      target: "task_file",
    });
    expect(sectionKind("kprobe/do_sys_open")).toEqual({
      type: BpfProgType.KPROBE,
      target: "do_sys_open",
    });
    expect(sectionKind("kretprobe/x")?.type).toBe(BpfProgType.KPROBE);
    expect(sectionKind("kprobe.multi/x")?.expectedAttachType).toBe(
      BpfAttachType.TRACE_KPROBE_MULTI,
    );
    expect(sectionKind("tracepoint/syscalls/sys_enter_open")?.type).toBe(BpfProgType.TRACEPOINT);
    expect(sectionKind("tp/sched/sched_switch")?.target).toBe("sched/sched_switch");
    expect(sectionKind("raw_tp/sched_switch")?.type).toBe(BpfProgType.RAW_TRACEPOINT);
    expect(sectionKind("fentry/do_unlinkat")).toMatchObject({
      type: BpfProgType.TRACING,
      expectedAttachType: BpfAttachType.TRACE_FENTRY,
      attach: "func",
    });
    expect(sectionKind("fexit/do_unlinkat")?.expectedAttachType).toBe(BpfAttachType.TRACE_FEXIT);
    expect(sectionKind("socket")?.type).toBe(BpfProgType.SOCKET_FILTER);
    expect(sectionKind("socket/anything")?.type).toBe(BpfProgType.SOCKET_FILTER);
    expect(sectionKind("xdp")).toEqual({
      type: BpfProgType.XDP,
      expectedAttachType: BpfAttachType.XDP,
    });
    expect(sectionKind("tc")?.type).toBe(BpfProgType.SCHED_CLS);
    expect(sectionKind("classifier")?.type).toBe(BpfProgType.SCHED_CLS);
    expect(sectionKind("cgroup_skb/ingress")?.expectedAttachType).toBe(
      BpfAttachType.CGROUP_INET_INGRESS,
    );
    expect(sectionKind("cgroup/sock_release")?.expectedAttachType).toBe(
      BpfAttachType.CGROUP_INET_SOCK_RELEASE,
    );
    expect(sectionKind("lsm/file_open")).toMatchObject({ type: BpfProgType.LSM, attach: "lsm" });
    expect(sectionKind("iter/")).toBeUndefined();
    expect(sectionKind(".text")).toBeUndefined();
    expect(sectionKind("sockets")).toBeUndefined();
  });
});
