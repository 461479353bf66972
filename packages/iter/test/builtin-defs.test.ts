import { describe, expect, expectTypeOf, it } from "vitest";
import {
  type BpfMapRecord,
  builtinOf,
  builtins,
  type InetSocket,
  type Ksym,
  TARGETS,
  type Task,
  type TaskVma,
  type UdpSocket,
} from "../src/index.js";

describe("built-in definitions", () => {
  it("each built-in is one registered definition of a target the table knows", () => {
    const all = builtins();
    expect(all.map((b) => b.target)).toEqual([
      "task",
      "task_file",
      "task_vma",
      "bpf_map",
      "bpf_prog",
      "bpf_link",
      "tcp",
      "udp",
      "unix",
      "ksym",
      "cgroup",
      "kmem_cache",
      "ipv6_route",
      "netlink",
      "sockmap",
      "bpf_sk_storage_map",
    ]);
    const known = new Map(TARGETS.map((t) => [t.name, t]));
    for (const b of all) {
      const target = known.get(b.target);
      expect(target, b.target).toBeDefined();
      // Every field reads a context member the table lists for the target.
      for (const f of b.fields) expect(target!.context, `${b.target}.${f.name}`).toContain(f.ctx);
      expect(target!.context).toContain(b.object);
      expect(builtinOf(b.target)).toBe(b);
    }
    expect(builtinOf("bpf_map_elem")).toBeUndefined();
  });

  it("CLI commands and aliases are unique, and every built-in has columns", () => {
    const names = builtins().flatMap((b) => [b.cli.command, ...(b.cli.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
    for (const b of builtins()) expect(b.cli.columns.length, b.target).toBeGreaterThan(0);
  });

  it("record types are derived from the definitions (checked by typecheck)", () => {
    expectTypeOf<Task>().toEqualTypeOf<{
      tgid: number;
      pid: number;
      ppid: number;
      uid: number;
      gid: number;
      flags: number;
      state: number;
      threads: number;
      startTime: bigint;
      comm: string;
      netns: number;
      mntns: number;
      pidLevel: number;
      cgroupId: bigint;
      pidns: number;
    }>();
    expectTypeOf<TaskVma["flags"]>().toEqualTypeOf<bigint>();
    expectTypeOf<BpfMapRecord["typeName"]>().toEqualTypeOf<string>();
    expectTypeOf<InetSocket["family"]>().toEqualTypeOf<"inet" | "inet6" | number>();
    expectTypeOf<UdpSocket>().toMatchTypeOf<InetSocket & { bucket: number }>();
    expectTypeOf<Ksym>().toEqualTypeOf<{
      value: bigint;
      type: string;
      name: string;
      module: string;
    }>();
  });
});
