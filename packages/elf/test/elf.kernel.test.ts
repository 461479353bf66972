// Kernel tests: the C fixtures load through loadCollection, run through
// createIterator, and print what the same iterators written with the DSL
// print (the task program below, and @ts-ebpf/iter's DSL-built built-ins).
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { loadKernelBtf } from "@ts-ebpf/btf";
import {
  fieldAddress,
  iterContext,
  iterProgram,
  iterReturn,
  loadField,
  seqPrintf,
} from "@ts-ebpf/dsl";
import { createIterator, mapElems, probeIteratorTarget, taskFiles, tcp } from "@ts-ebpf/iter";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfError, BpfMap, codecs, VerifierError } from "@ts-ebpf/syscall";
import { describeKernel, kernelFeature } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  bindProgramSpec,
  CoreRelocationError,
  ElfError,
  loadCollection,
  loadCollectionSpec,
  ProgramLoadError,
  parseCollection,
} from "../src/index.js";
import { fixture, fixturePath } from "./fixtures.js";

const openFds = () => readdirSync("/proc/self/fd").length;
const btf = loadKernelBtf();
const hasTarget = (t: string) => btf.findType(`bpf_iter_${t}`, "func") !== undefined;
// Some kernels refuse bpf_map_elem programs even to root (a security policy).
const mapElem = kernelFeature("bpf_map_elem programs", () => probeIteratorTarget("bpf_map_elem"));

/** The task fixture's program, written with the DSL: "pid tgid comm" per task. */
function dslTaskProgram() {
  const ctx = iterContext(btf, "task", "r6");
  return iterProgram(
    ctx,
    [
      ctx.save(),
      ctx.meta.seq("r7"),
      ctx.loadNonNull("r8", "task"),
      loadField(btf, "r1", "r8", "task_struct", "pid"),
      loadField(btf, "r2", "r8", "task_struct", "tgid"),
      fieldAddress(btf, "r3", "r8", "task_struct", "comm"),
      seqPrintf("r7", "%d %d %s\n", ["r1", "r2", "r3"]),
      iterReturn(0),
    ],
    { name: "dsl_task" },
  );
}

/** pid → "tgid comm" from "pid tgid comm" lines. */
function byPid(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split("\n")) {
    const m = /^(\d+) (\d+) (.*)$/.exec(line);
    if (m) out.set(Number(m[1]), `${m[2]} ${m[3]}`);
  }
  return out;
}

describeKernel("ELF objects on the kernel", () => {
  const children: ChildProcess[] = [];
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) children.push(spawn("sleep", ["600"], { stdio: "ignore" }));
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => {
    for (const c of children) c.kill();
    server?.close();
  });

  it("task: output equals the DSL iterator's for the processes this test started; globals work", async () => {
    const before = openFds();
    {
      using obj = loadCollection(fixturePath("task"));
      expect(obj.btfError).toBeUndefined();
      const prog = obj.programs.dump_task!;
      expect(prog.iterTarget).toBe("task");
      await using cIter = createIterator(prog, prog.iterTarget!);
      const cText = await cIter.open().text();
      await using dslIter = createIterator(dslTaskProgram(), "task");
      const dslText = await dslIter.open().text();
      expect(cText.startsWith("pid tgid comm\n")).toBe(true);
      const c = byPid(cText);
      const d = byPid(dslText);
      const ours = [process.pid, ...children.map((x) => x.pid!)];
      for (const pid of ours) {
        expect(c.get(pid)).toBeDefined();
        expect(c.get(pid)).toBe(d.get(pid));
      }
      expect(c.get(children[0]!.pid!)).toBe(`${children[0]!.pid} sleep`);
      // Stable tasks (both saw them): same tgid and comm for nearly all.
      const both = [...c.keys()].filter((p) => d.has(p));
      expect(both.length).toBeGreaterThan(Math.min(c.size, d.size) * 0.9);
      // .bss: tasks_seen counted one per data row.
      const bss = obj.maps[".bss"]!.get(new Uint8Array(4)) as Uint8Array;
      expect(new DataView(bss.buffer, bss.byteOffset).getInt32(0, true)).toBe(c.size);
    }
    expect(openFds()).toBe(before);
  });

  it("task: a const volatile global set in the spec before load filters the tasks", async () => {
    const spec = parseCollection(fixture("task"));
    const minPid = spec.variables.min_pid!;
    const rodata = spec.maps[minPid.map]!.contents!;
    const threshold = Math.max(...children.map((c) => c.pid!));
    new DataView(rodata.buffer, rodata.byteOffset).setInt32(minPid.offset, threshold, true);
    using obj = loadCollectionSpec(spec);
    await using it = createIterator(obj.programs.dump_task!, "task");
    const pids = [...byPid(await it.open().text()).keys()];
    expect(pids).toContain(threshold);
    expect(pids.every((p) => p >= threshold)).toBe(true);
  });

  it("loadCollectionSpec binds every program to the kernel types it is given", async () => {
    const spec = parseCollection(fixture("task"));
    const kernelTypes = loadKernelBtf();
    let lookups = 0;
    const findTypeIds = kernelTypes.findTypeIds.bind(kernelTypes);
    const counted = Object.create(kernelTypes, {
      findTypeIds: {
        value: (...args: Parameters<typeof findTypeIds>) => {
          lookups++;
          return findTypeIds(...args);
        },
      },
    });
    using obj = loadCollectionSpec(spec, { kernelTypes: counted });
    expect(lookups).toBeGreaterThan(0); // CO-RE candidates came from the types given
    await using it = createIterator(obj.programs.dump_task!, "task");
    expect(byPid(await it.open().text()).get(children[1]!.pid!)).toBe(`${children[1]!.pid} sleep`);
  });

  it("a program spec from an object also loads on its own (createIterator creates its maps)", async () => {
    const before = openFds();
    {
      const spec = parseCollection(fixture("task"));
      // Its CO-RE relocations wait for kernel types: unbound, the loader refuses it.
      expect(() => createIterator(spec.programs.dump_task!, "task")).toThrow(
        /CO-RE relocation .* not applied/,
      );
      const program = bindProgramSpec(spec.programs.dump_task!, loadKernelBtf());
      expect(program.maps?.map((m) => m.name).sort()).toEqual([".bss", ".data", ".rodata"]);
      await using it = createIterator(program, program.iterTarget!);
      const rows = byPid(await it.open().text());
      expect(rows.get(children[1]!.pid!)).toBe(`${children[1]!.pid} sleep`);
    }
    expect(openFds()).toBe(before);
  });

  it("task_file: the fds of a child equal the DSL-built taskFiles()'s", async () => {
    using obj = loadCollection(fixturePath("task_file"));
    const prog = obj.programs.dump_task_file!;
    await using it = createIterator(prog, prog.iterTarget!);
    const child = children[0]!.pid!;
    const cFds = (await it.open().text())
      .split("\n")
      .filter((l) => l.startsWith(`${child} `))
      .map((l) => Number(l.split(" ")[1]))
      .sort((a, b) => a - b);
    const dslFds = (await taskFiles())
      .filter((f) => f.tgid === child)
      .map((f) => f.fd)
      .sort((a, b) => a - b);
    expect(cFds.length).toBeGreaterThanOrEqual(3);
    expect(cFds).toEqual(dslFds);
  });

  it.skipIf(mapElem.skip)(
    `bpf_map_elem: map parameter; output equals mapElems(); BTF and legacy maps written ${mapElem.note}`,
    async () => {
      using obj = loadCollection(fixturePath("map_elem"));
      using data = BpfMap.create({
        type: BpfMapType.HASH,
        keySize: 4,
        valueSize: 8,
        maxEntries: 16,
        name: "elf_input",
        key: codecs.u32,
        value: codecs.u64,
      });
      for (let k = 1; k <= 5; k++) data.set(k, BigInt(k * 100));
      const prog = obj.programs.dump_map_elem!;
      await using it = createIterator(prog, prog.iterTarget!, { map: data });
      const lines = (await it.open().text()).trim().split("\n").sort();
      const dsl = (await mapElems(data)).map(([k, v]) => `${k} ${v}`).sort();
      expect(lines).toEqual(dsl);
      expect(lines).toHaveLength(5);
      // The program copied every element into the .maps map and summed into the legacy one.
      expect(obj.maps.sums!.keySize).toBe(4);
      // BTF-defined and global data maps carry the object's BTF type ids, as with libbpf.
      const sumsInfo = obj.maps.sums!.info();
      expect(sumsInfo.btfId).toBeGreaterThan(0);
      expect(sumsInfo.btfKeyTypeId).toBe(obj.spec.maps.sums!.btfKeyTypeId);
      expect(sumsInfo.btfValueTypeId).toBe(obj.spec.maps.sums!.btfValueTypeId);
      expect(obj.maps[".rodata"]!.info().btfValueTypeId).toBe(
        obj.spec.maps[".rodata"]!.btfValueTypeId,
      );
      expect(obj.maps.legacy_counts!.info().btfId).toBe(0);
      const sums = new DataView(
        (obj.maps.sums!.get(new Uint8Array([3, 0, 0, 0])) as Uint8Array).slice().buffer,
      );
      expect(sums.getBigUint64(0, true)).toBe(300n);
      const total = obj.maps.legacy_counts!.get(new Uint8Array(4)) as Uint8Array;
      expect(new DataView(total.slice().buffer).getBigUint64(0, true)).toBe(1500n);
    },
  );

  it.skipIf(mapElem.available)(
    "where the kernel refuses bpf_map_elem programs: ProgramLoadError names program, section and policy; the maps it made are closed",
    () => {
      const before = openFds();
      let err: unknown;
      try {
        loadCollection(fixturePath("map_elem"));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProgramLoadError);
      // A kernel refusal: a BpfError with the refusal's code, not a malformed-ELF error.
      expect(err).toBeInstanceOf(BpfError);
      expect(err).not.toBeInstanceOf(ElfError);
      const e = err as ProgramLoadError;
      expect(e.code).toBe("EPERM");
      expect(e.program).toBe("dump_map_elem");
      expect(e.section).toBe("iter/bpf_map_elem");
      expect(e.message).toMatch(/refuses bpf_map_elem iterator programs .*EPERM/);
      expect(e.cause).toMatchObject({ command: "PROG_LOAD", code: "EPERM" });
      expect(openFds()).toBe(before);
    },
  );

  // On the task target (every kernel loads it): the program writes the map
  // through a map_fd relocation, so the caller's map must be the one it got.
  it("caller-owned maps replace the object's map of that name; close() is idempotent", async () => {
    using mine = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 64,
      name: "elf_mine",
      key: codecs.u32,
      value: codecs.u64,
    });
    const spec = parseCollection(fixture("task_map"));
    const onlyPid = spec.variables.only_pid!;
    const rodata = spec.maps[onlyPid.map]!.contents!;
    new DataView(rodata.buffer, rodata.byteOffset).setInt32(onlyPid.offset, process.pid, true);
    const obj = loadCollectionSpec(spec, { maps: { sums: mine } });
    expect(obj.maps.sums).toBeUndefined();
    {
      await using it = createIterator(obj.programs.mark_task!, "task");
      expect(await it.open().text()).toBe("");
    }
    expect(mine.get(1)).toBe(BigInt(process.pid));
    expect([...mine.keys()]).toEqual([1]);
    obj.close();
    obj.close();
    expect(obj.closed).toBe(true);
    expect(obj.programs.mark_task!.closed).toBe(true);
    expect(mine.closed).toBe(false);
  });

  it.skipIf(!hasTarget("tcp"))(
    "tcp: listening ports equal the DSL-built tcp()'s; a flavored enum resolves",
    async () => {
      using obj = loadCollection(fixturePath("tcp"));
      const prog = obj.programs.dump_tcp!;
      await using it = createIterator(prog, prog.iterTarget!);
      const rows = (await it.open().text())
        .trim()
        .split("\n")
        .map((l) => l.split(" ").map(Number));
      const TCP_LISTEN = 10;
      const cListen = new Set(rows.filter((r) => r[0] === TCP_LISTEN).map((r) => r[1]));
      const dslListen = new Set(
        (await tcp()).filter((s) => s.state === TCP_LISTEN).map((s) => s.localPort),
      );
      expect(cListen.has(port)).toBe(true);
      expect(cListen).toEqual(dslListen);
      // SOCK_STREAM___local (99 in the object) got the kernel's SOCK_STREAM (1).
      expect(rows.every((r) => r[2] === 1)).toBe(true);
    },
  );

  it("CO-RE kinds: every value matches the kernel's BTF", async () => {
    using obj = loadCollection(fixturePath("core_kinds"));
    await using it = createIterator(obj.programs.core_kinds!, "task");
    await it.open().text();
    const raw = obj.maps[".bss"]!.get(new Uint8Array(4)) as Uint8Array;
    const view = new DataView(raw.slice().buffer);
    const out = Array.from({ length: 16 }, (_, i) => view.getBigUint64(i * 8, true));
    const pid = btf.memberOffset("task_struct", "pid");
    const pidType = btf.enumValues("pid_type").find((v) => v.name === "PIDTYPE_TGID")!;
    expect(out[0]).toBe(BigInt(pid.offset));
    expect(out[1]).toBe(4n);
    expect(out[2]).toBe(1n);
    expect(out[3]).toBe(0n); // no_such_field does not exist
    expect(out[4]).toBe(1n); // pid is signed
    expect(out[5]).toBe(1n);
    expect(out[6]).toBe(BigInt(btf.sizeOf("task_struct")));
    expect(out[7]).toBe(BigInt(btf.findType("task_struct", "struct")!.id));
    expect(out[8]).toBe(1n);
    expect(out[9]).toBe(BigInt(pidType.value));
    expect(out[10]).toBe(out[11]); // task_struct___flavor.tgid is task->tgid
    expect(out[10]).toBeGreaterThan(0n);
    expect(out[12]).toBe(0n); // the poisoned load was skipped
    expect(out[13]).toBe(32n);
    expect(out[14]).toBe(32n);
    expect(out[15]).toBe(1n);
  });

  it("a verifier error quotes the C source line from line info; a reached CO-RE poison names the field", () => {
    const before = openFds();
    let err: unknown;
    try {
      loadCollection(fixturePath("bad")).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    // The C line precedes the refused instruction (newer kernels append " @ bad.bpf.c:12").
    expect(v.log).toMatch(
      /; return task->pid == 0 \? 1 : 0; \/\* no NULL check: refused \*\/( @ bad\.bpf\.c:12)?\n1: /,
    );
    expect(v.message).toContain("; return task->pid == 0 ? 1 : 0;");
    const spec = parseCollection(fixture("bad"));
    const only = { ...spec, programs: { poisoned_task: spec.programs.poisoned_task! } };
    expect(() => loadCollectionSpec(only)).toThrow(CoreRelocationError);
    expect(() => loadCollectionSpec(only)).toThrow(/struct task_struct___gone\.gone_field/);
    // Nothing leaked from the failed loads.
    expect(openFds()).toBe(before);
  });
});
