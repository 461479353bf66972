// Every open-coded iterator the running kernel has, run from a DSL syscall
// program (BPF_PROG_TEST_RUN) and checked against what the kernel says
// elsewhere: bits against the word's set bits, task_vma against
// /proc/<pid>/maps, css against the cgroup2 root's cgroup.stat, kmem_cache
// against /proc/slabinfo, dmabuf against debugfs' dma_buf/bufinfo; and the
// worked example: a task walk writing each task into an array map,
// compared record by record with the link-based tasks() built-in. Skips
// name the first kernel and are proven from this kernel's BTF.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import {
  add,
  and,
  call,
  exit,
  fieldAddress,
  type Item,
  jeq,
  kfunc,
  label,
  ldMapFd,
  ldx,
  loadField,
  mov,
  mul,
  OPEN_CODED_ITERATORS,
  type OpenCodedIterator,
  openIterLoop,
  program,
  st,
  stx,
} from "@ts-ebpf/dsl";
import { tasks } from "@ts-ebpf/iter";
import { BpfMapType, BpfProgLoadFlag, BpfProgType } from "@ts-ebpf/spec/constants";
import { BpfMap, loadProgram, type MapFdSource } from "@ts-ebpf/syscall";
import { describeKernel, missingFromKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { bindKsyms } from "../src/index.js";

const btf = loadKernelBtf();

/** Why this kernel has no open-coded `type` iterator (proved from its BTF), or undefined. */
function missing(type: OpenCodedIterator): string | undefined {
  const present =
    btf.findType(`bpf_iter_${type}_new`, "func") !== undefined &&
    btf.findType(`bpf_iter_${type}`, "struct") !== undefined;
  return missingFromKernel(`open-coded ${type} iterator`, present, OPEN_CODED_ITERATORS[type]);
}

/** The iterator state's stack slot: below `below` (a negative r10 offset), 8-aligned. */
const stateSlot = (type: OpenCodedIterator, below = 0) =>
  below - Math.ceil(btf.findType(`bpf_iter_${type}`, "struct")!.size / 8) * 8;

const enumValue = (name: string): number => Number(btf.enumerator(name)!.value);

/** Loads a sleepable syscall program of DSL items (kfuncs bound to this kernel) and runs it once. */
function run(items: readonly (Item | readonly Item[])[], maps: Record<string, MapFdSource> = {}) {
  const ctxIn = new Uint8Array(8);
  const spec = program(
    { type: BpfProgType.SYSCALL, flags: BpfProgLoadFlag.SLEEPABLE, license: "GPL", name: "walk" },
    items,
  );
  using prog = loadProgram({ ...spec, instructions: bindKsyms(spec.instructions, btf) }, { maps });
  return prog.testRun({ ctxIn }).retval;
}

/** Lines of a /proc or debugfs file, or undefined when it cannot be read. */
const readLines = (path: string): string[] | undefined => {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean);
  } catch {
    return undefined;
  }
};

describeKernel("open-coded iterators, each against the kernel's own account", () => {
  it("bits: the set bits of a word, counted and summed [skips before 6.11]", (ctx) => {
    const why = missing("bits");
    if (why) return ctx.skip(why);
    const word = 0b1010_0110_0000_0001; // bits 0, 9, 10, 13, 15
    const retval = run([
      mov("r6", 0),
      mov("r7", 0),
      st("u64", "r10", -8, word),
      openIterLoop({
        type: "bits",
        stack: stateSlot("bits", -8),
        label: "bits",
        kernelTypes: btf,
        // bpf_iter_bits_new(it, unsafe_ptr__ign = &word, nr_words = 1); _next gives int *bit.
        args: [mov("r2", "r10"), add("r2", -8), mov("r3", 1)],
        body: [ldx("u32", "r1", "r0", 0), add("r6", 1), add("r7", "r1")],
      }),
      // count * 1000 + sum of the bit indices
      mov("r0", "r6"),
      mul("r0", 1000),
      add("r0", "r7"),
      exit(),
    ]);
    expect(retval).toBe(5 * 1000 + (0 + 9 + 10 + 13 + 15));
  });

  it("task_vma: a sleeping child's mappings, as many as /proc/<pid>/maps lists [skips before 6.7]", async (ctx) => {
    const why = missing("task_vma");
    if (why) return ctx.skip(why);
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const pid = child.pid!;
      // Wait until the exec is done: comm becomes "sleep" and the mappings stop changing.
      for (let i = 0; i < 200 && readLines(`/proc/${pid}/comm`)?.[0] !== "sleep"; i++)
        await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50));
      const maps = readLines(`/proc/${pid}/maps`)!;
      const retval = run([
        mov("r6", 0),
        // bpf_task_from_pid(pid): a reference to the child's task, or NULL.
        mov("r1", pid),
        kfunc("bpf_task_from_pid"),
        jeq("r0", 0, "no_task"),
        mov("r9", "r0"),
        openIterLoop({
          type: "task_vma",
          stack: stateSlot("task_vma"),
          label: "vmas",
          kernelTypes: btf,
          // bpf_iter_task_vma_new(it, task, addr = 0)
          args: [mov("r2", "r9"), mov("r3", 0)],
          body: [add("r6", 1)],
        }),
        mov("r1", "r9"),
        kfunc("bpf_task_release"),
        mov("r0", "r6"),
        exit(),
        label("no_task"),
        mov("r0", -1),
        exit(),
      ]);
      // /proc/<pid>/maps adds the gate area ([vsyscall]), which is no VMA of the mm.
      expect(retval).toBe(maps.filter((l) => !l.endsWith("[vsyscall]")).length);
    } finally {
      child.kill();
    }
  });

  it("css: the online cgroups under the cgroup2 root, as its cgroup.stat counts them [skips before 6.7]", (ctx) => {
    const why = missing("css");
    if (why) return ctx.skip(why);
    const mount = readLines("/proc/self/mounts")!
      .map((l) => l.split(" "))
      .find((f) => f[2] === "cgroup2")?.[1];
    if (mount === undefined) return ctx.skip("no cgroup2 hierarchy is mounted");
    const descendants = () =>
      Number(/^nr_descendants (\d+)$/m.exec(readFileSync(`${mount}/cgroup.stat`, "utf8"))![1]);
    const flags = btf
      .findType("cgroup_subsys_state", "struct")!
      .members.find((m) => m.name === "flags")!;
    const before = descendants();
    const retval = run([
      mov("r6", 0),
      // bpf_cgroup_from_id(root's id = the mount's inode): a reference, or NULL.
      mov("r1", statSync(mount).ino),
      kfunc("bpf_cgroup_from_id"),
      jeq("r0", 0, "no_cgroup"),
      mov("r9", "r0"),
      kfunc("bpf_rcu_read_lock"),
      openIterLoop({
        type: "css",
        stack: stateSlot("css"),
        label: "css",
        kernelTypes: btf,
        // bpf_iter_css_new(it, &cgrp->self (its first member), BPF_CGROUP_ITER_DESCENDANTS_PRE)
        args: [mov("r2", "r9"), mov("r3", enumValue("BPF_CGROUP_ITER_DESCENDANTS_PRE"))],
        // Dying cgroups are still on the list: count the online ones.
        body: [
          ldx("u32", "r1", "r0", flags.bitOffset / 8),
          and("r1", enumValue("CSS_ONLINE")),
          jeq("r1", 0, "css_next"),
          add("r6", 1),
        ],
      }),
      kfunc("bpf_rcu_read_unlock"),
      mov("r1", "r9"),
      kfunc("bpf_cgroup_release"),
      mov("r0", "r6"),
      exit(),
      label("no_cgroup"),
      mov("r0", -1),
      exit(),
    ]);
    const after = descendants();
    // The root itself, then its descendants (another process may add or remove one meanwhile).
    expect(retval).toBeGreaterThanOrEqual(1 + Math.min(before, after));
    expect(retval).toBeLessThanOrEqual(1 + Math.max(before, after));
  });

  it("kmem_cache: every slab cache /proc/slabinfo lists [skips before 6.13]", (ctx) => {
    const why = missing("kmem_cache");
    if (why) return ctx.skip(why);
    const caches = () =>
      (readLines("/proc/slabinfo") ?? []).filter((l) => !/^(slabinfo|#)/.test(l));
    const before = caches().length;
    if (before === 0) return ctx.skip("/proc/slabinfo is not readable");
    const retval = run([
      mov("r6", 0),
      openIterLoop({
        type: "kmem_cache",
        stack: stateSlot("kmem_cache"),
        label: "caches",
        kernelTypes: btf,
        body: [add("r6", 1)],
      }),
      mov("r0", "r6"),
      exit(),
    ]);
    const after = caches().length;
    expect(retval).toBeGreaterThanOrEqual(Math.min(before, after));
    expect(retval).toBeLessThanOrEqual(Math.max(before, after));
  });

  it("dmabuf: every dma-buf debugfs' dma_buf/bufinfo counts [skips before 6.16]", (ctx) => {
    const why = missing("dmabuf");
    if (why) return ctx.skip(why);
    const total = () => {
      const text = readLines("/sys/kernel/debug/dma_buf/bufinfo")?.join("\n");
      const m = text === undefined ? null : /^Total (\d+) objects/m.exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const before = total();
    if (before === undefined)
      return ctx.skip(
        `nothing to compare the dmabuf walk with: /sys/kernel/debug/dma_buf/bufinfo is not readable${existsSync("/sys/kernel/debug/dma_buf") ? "" : " (debugfs not mounted here)"}`,
      );
    const retval = run([
      mov("r6", 0),
      openIterLoop({
        type: "dmabuf",
        stack: stateSlot("dmabuf"),
        label: "bufs",
        kernelTypes: btf,
        body: [add("r6", 1)],
      }),
      mov("r0", "r6"),
      exit(),
    ]);
    const after = total()!;
    expect(retval).toBeGreaterThanOrEqual(Math.min(before, after));
    expect(retval).toBeLessThanOrEqual(Math.max(before, after));
  });

  it("task: a walk of every thread into an array map matches tasks() record by record [skips before 6.7]", async (ctx) => {
    const why = missing("task");
    if (why) return ctx.skip(why);
    // Record: pid u32, tgid u32, start_time u64, comm[16].
    const RECORD = 32;
    const MAX = 32768;
    using walk = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: RECORD,
      maxEntries: MAX,
    });
    const startedAt = process.hrtime.bigint();
    const linked = await tasks();
    const retval = run(
      [
        // The first index comes from the context (0): a value the verifier
        // does not know, so the count used as the map key stays imprecise and
        // the iterator's passes converge (a known 0 is tracked as 0, 1, 2...).
        ldx("u32", "r6", "r1", 0),
        kfunc("bpf_rcu_read_lock"),
        openIterLoop({
          type: "task",
          stack: stateSlot("task", -8),
          label: "tasks",
          kernelTypes: btf,
          // bpf_iter_task_new(it, task = NULL, BPF_TASK_ITER_ALL_THREADS)
          args: [mov("r2", 0), mov("r3", enumValue("BPF_TASK_ITER_ALL_THREADS"))],
          // No bound check on the count: a key past the array's end finds no
          // element. (A comparison would make the count precise, and the
          // verifier could not tell one pass from the next.)
          body: [
            mov("r8", "r0"),
            stx("u32", "r10", -8, "r6"),
            ldMapFd("r1", "walk"),
            mov("r2", "r10"),
            add("r2", -8),
            call("map_lookup_elem"),
            jeq("r0", 0, "tasks_next"),
            mov("r7", "r0"),
            ...loadField(btf, "r1", "r8", "task_struct", "pid"),
            stx("u32", "r7", 0, "r1"),
            ...loadField(btf, "r1", "r8", "task_struct", "tgid"),
            stx("u32", "r7", 4, "r1"),
            ...loadField(btf, "r1", "r8", "task_struct", "start_time"),
            stx("u64", "r7", 8, "r1"),
            ...fieldAddress(btf, "r2", "r8", "task_struct", "comm"),
            ldx("u64", "r1", "r2", 0),
            stx("u64", "r7", 16, "r1"),
            ldx("u64", "r1", "r2", 8),
            stx("u64", "r7", 24, "r1"),
            add("r6", 1),
          ],
        }),
        kfunc("bpf_rcu_read_unlock"),
        mov("r0", "r6"),
        exit(),
      ],
      { walk },
    );
    expect(retval).toBeGreaterThan(1);
    expect(retval).toBeLessThan(MAX);
    const decoder = new TextDecoder();
    const walked = new Map<number, { tgid: number; startTime: bigint; comm: string }>();
    for (let i = 0; i < retval; i++) {
      const v = walk.get(new Uint8Array(new Uint32Array([i]).buffer)) as Uint8Array;
      const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
      const c = v.subarray(16, 32);
      const end = c.indexOf(0);
      walked.set(view.getUint32(0, true), {
        tgid: view.getUint32(4, true),
        startTime: view.getBigUint64(8, true),
        comm: decoder.decode(c.subarray(0, end < 0 ? 16 : end)),
      });
    }
    let compared = 0;
    let renamed = 0;
    for (const t of linked) {
      const w = walked.get(t.pid);
      if (w === undefined || w.startTime !== t.startTime) {
        // Gone before the walk (or its pid reused): it must have exited.
        expect(
          existsSync(`/proc/${t.tgid}/task/${t.pid}`) && w === undefined,
          `task ${t.pid} (${t.comm}) is listed by tasks() but not walked, and is still alive`,
        ).toBe(false);
        continue;
      }
      expect({ pid: t.pid, tgid: w.tgid }).toEqual({ pid: t.pid, tgid: t.tgid });
      if (w.comm !== t.comm) {
        // Renamed (an exec, prctl) between the two snapshots: the walk, the
        // later one, must show the name /proc shows now.
        expect(
          readLines(`/proc/${t.tgid}/task/${t.pid}/comm`)?.[0],
          `task ${t.pid}: tasks() says ${t.comm}, the walk ${w.comm}`,
        ).toBe(w.comm);
        renamed++;
      }
      compared++;
    }
    // The open-coded walk starts at init_task, the boot CPU's idle task (pid
    // 0), which the link-based iterator (a walk of the pid table) never shows.
    expect(walked.get(0)?.comm).toMatch(/^swapper/);
    // Walked but not listed: started after tasks() began.
    const listed = new Set([0, ...linked.map((t) => t.pid)]);
    for (const [pid, w] of walked)
      if (!listed.has(pid))
        expect(w.startTime, `task ${pid} (${w.comm}) walked but not in tasks()`).toBeGreaterThan(
          startedAt,
        );
    console.info(
      `open-coded task walk: ${retval} threads walked, ${linked.length} listed by tasks(), ${compared} compared field by field (${renamed} renamed in between)`,
    );
    expect(compared).toBeGreaterThan(linked.length * 0.9);
    expect(renamed).toBeLessThan(compared * 0.1);
    // This process's threads are in both.
    expect(walked.get(process.pid)?.tgid).toBe(process.pid);
  });
});
