import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { BpfMapType, BpfProgLoadFlag } from "@ts-ebpf/spec/constants";
import { BpfError, BpfMap, codecs, loadProgram, openIteratorFd } from "@ts-ebpf/syscall";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  createIterator,
  type FdIo,
  IteratorAbortError,
  IteratorError,
  IteratorLink,
  IteratorOverflowError,
  IteratorParamError,
  IteratorReadError,
  IteratorReader,
  IteratorTargetRefusedError,
  mapElemProgram,
  nodeFdIo,
  openPinned,
  UnsupportedTargetError,
} from "../src/index.js";
import {
  lacksLinkParam,
  lacksTarget,
  mapElem,
  openFds,
  openFdsSettled,
  procComm,
  startSleepers,
  tinyHash,
} from "./helpers.js";
import {
  bigObjectProgram,
  keyWriterProgram,
  ksymAddressProgram,
  lineProgram,
  taskLineProgram,
  taskTextProgram,
} from "./programs.js";

/**
 * Create/read/close cycles of the fd test: 10,000 on real hardware; 1,000 in
 * an emulated (TCG) test-vm guest, where 10,000 took 78-145 s. A leak of one fd
 * per cycle, or per hundred, shows as plainly in 1,000 as in 10,000.
 */
const FD_CYCLES = process.env.TS_EBPF_VM_ACCEL === "tcg" ? 1_000 : 10_000;

describeKernel("createIterator and readers", () => {
  let sleepers: Awaited<ReturnType<typeof startSleepers>>;
  beforeAll(async () => {
    sleepers = await startSleepers(3);
  });
  afterAll(() => sleepers.stop());

  it("a task program prints a header then one line per task, with the pids /proc has", async () => {
    await using link = createIterator(taskTextProgram(), "task");
    const text = await link.open().text();
    const lines = text.split("\n").filter(Boolean);
    expect(lines[0]).toBe("pid comm");
    const rows = lines.slice(1).map((l) => /^(\d+) (.*)$/.exec(l));
    expect(rows.every(Boolean)).toBe(true); // one header only
    const byPid = new Map(rows.map((m) => [Number(m![1]), m![2]]));
    for (const pid of [process.pid, ...sleepers.pids]) {
      expect(byPid.get(pid)).toBe(procComm(pid));
    }
  });

  it("re-opening gives fresh output and the reader stays at EOF", async () => {
    await using link = createIterator(taskTextProgram(), "task");
    const r1 = link.open();
    const first = await r1.text();
    expect(await r1.read()).toBeNull();
    expect(r1.closed).toBe(true);
    sleepers.pids.push(...(await startSleepers(1)).pids);
    const second = await link.open().text();
    const last = sleepers.pids.at(-1)!;
    expect(first).not.toContain(`\n${last} sleep\n`);
    expect(second).toContain(`\n${last} sleep\n`);
    // readAllSync, lines, chunks and the Node stream agree on the format
    const lines: string[] = [];
    for await (const l of link.open({ chunkSize: 100 }).lines()) lines.push(l);
    expect(lines[0]).toBe("pid comm");
    const chunks: Buffer[] = [];
    for await (const c of link.open().stream()) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString().startsWith("pid comm\n")).toBe(true);
    expect(link.open().readAllSync().toString().startsWith("pid comm\n")).toBe(true);
  });

  it("a pinned iterator is read by cat, re-opened twice, and by openPinned", async () => {
    const path = `/sys/fs/bpf/ts_ebpf_iter_test_${process.pid}`;
    rmSync(path, { force: true });
    {
      using link = createIterator(taskTextProgram(), "task");
      link.pin(path);
    }
    try {
      for (let i = 0; i < 2; i++) {
        const out = execFileSync("cat", [path], { encoding: "utf8" });
        expect(out.startsWith("pid comm\n")).toBe(true);
        expect(out).toContain(`\n${process.pid} ${procComm(process.pid)}\n`);
      }
      expect((await openPinned(path).text()).startsWith("pid comm\n")).toBe(true);
      const cli = fileURLToPath(new URL("../bin/bpf-iter.js", import.meta.url));
      const viaCli = execFileSync(process.execPath, [cli, "cat", path], { encoding: "utf8" });
      expect(viaCli.startsWith("pid comm\n")).toBe(true);
      using again = IteratorLink.fromPinned(path);
      expect(again.target).toBe("task");
      expect((await again.open().text()).startsWith("pid comm\n")).toBe(true);
    } finally {
      rmSync(path, { force: true });
    }
    expect(existsSync(path)).toBe(false);
  });

  it("update() swaps the program behind the link (LINK_UPDATE)", async () => {
    using link = createIterator(taskLineProgram("first\n"), "task");
    expect(await link.open().text()).toBe("first\n");
    link.update(taskLineProgram("second\n"));
    expect(await link.open().text()).toBe("second\n");
  });

  it("info() reports target and parameters", (ctx) => {
    const why = lacksLinkParam("task");
    if (why) return ctx.skip(why);
    using task = createIterator(taskLineProgram("x\n"), "task", { pid: process.pid });
    expect(task.info()).toMatchObject({ target: "task", pid: process.pid });
    using plain = createIterator(taskLineProgram("x\n"), "task");
    expect(plain.info()).toMatchObject({ target: "task" });
    expect(plain.info().pid).toBeUndefined();
  });

  it.skipIf(mapElem.skip)(`info() reports the map of a bpf_map_elem link ${mapElem.note}`, () => {
    using map = tinyHash("iter_info_t");
    using elems = createIterator(keyWriterProgram(), "bpf_map_elem", { map });
    const info = elems.info();
    expect(info.target).toBe("bpf_map_elem");
    expect(info.mapId).toBe(map.info().id);
  });

  it.skipIf(mapElem.available)(
    "where the kernel refuses bpf_map_elem programs: IteratorTargetRefusedError names the target, no fd leaks",
    () => {
      using map = tinyHash("iter_refused");
      void map.fd; // the handle's shared fd, made on first use and closed with the map
      const before = openFds();
      let err: unknown;
      try {
        createIterator(keyWriterProgram(), "bpf_map_elem", { map }).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IteratorTargetRefusedError);
      const refused = err as IteratorTargetRefusedError;
      expect(refused.target).toBe("bpf_map_elem");
      expect(refused.errno).toBe("EPERM");
      expect(refused.message).toMatch(/refuses bpf_map_elem iterator programs: .*EPERM/);
      expect(refused.cause).toBeInstanceOf(BpfError);
      expect((refused.cause as BpfError).command).toBe("PROG_LOAD");
      expect(openFds()).toBe(before);
    },
  );

  it("a loaded Program can be shared by several links, which do not close it", async () => {
    using prog = loadProgram({ ...taskLineProgram("shared\n") });
    {
      using a = createIterator(prog, "task");
      using b = createIterator(prog, "task");
      expect(await a.open().text()).toBe("shared\n");
      expect(await b.open().text()).toBe("shared\n");
    }
    expect(prog.closed).toBe(false);
  });

  it("an unknown target and a parameter for another target fail before any syscall", () => {
    const before = openFds();
    expect(() => createIterator(taskLineProgram("x\n"), "no_such_target")).toThrow(
      UnsupportedTargetError,
    );
    expect(() => createIterator(taskLineProgram("x\n"), "task", { map: 3 } as never)).toThrow(
      IteratorParamError,
    );
    expect(() => createIterator(taskLineProgram("x\n"), "bpf_map_elem")).toThrow(/needs \{ map \}/);
    expect(openFds()).toBe(before);
  });
});

describeKernel("kernel error paths", () => {
  it("E2BIG: one object writing more than the seq buffer gives IteratorOverflowError", async () => {
    using map = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
      name: "iter_e2big",
    });
    using link = createIterator(bigObjectProgram(40 * 1024), "bpf_map");
    const before = openFds();
    const err = await link
      .open()
      .readAll()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IteratorOverflowError);
    expect(String(err)).toMatch(/exceeded the kernel's seq buffer/);
    expect(() => link.open().readAllSync()).toThrow(IteratorOverflowError);
    expect(await openFdsSettled(before)).toBe(before);
    // Below the buffer the same program works: one record per map.
    using small = createIterator(bigObjectProgram(1000), "bpf_map");
    const out = await small.open().readAll();
    expect(out.length % 1000).toBe(0);
    expect(out.length).toBeGreaterThanOrEqual(1000);
    void map;
  });

  // Only map elements come by the million cheaply: this one needs bpf_map_elem.
  it.skipIf(mapElem.skip)(
    `EAGAIN after 1,000,000 silent objects is retried until the end ${mapElem.note}`,
    async () => {
      const n = 1_100_000;
      using map = BpfMap.create({
        type: BpfMapType.ARRAY,
        keySize: 4,
        valueSize: 4,
        maxEntries: n,
        name: "iter_eagain",
      });
      using link = createIterator(keyWriterProgram(n - 3), "bpf_map_elem", { map });
      let eagain = 0;
      const io: FdIo = {
        ...nodeFdIo,
        read: (fd, b, o, l) =>
          nodeFdIo.read(fd, b, o, l).catch((e: NodeJS.ErrnoException) => {
            if (e.code === "EAGAIN") eagain++;
            throw e;
          }),
      };
      // A reader with its own file operations is built with new, on an fd of
      // the link (open() reads kernel fds with nodeFdIo only).
      const out = await new IteratorReader(openIteratorFd(link.fd), { io }).readAll();
      expect(eagain).toBeGreaterThanOrEqual(1);
      expect(Array.from(new Uint32Array(out.buffer, out.byteOffset, out.length / 4))).toEqual([
        n - 3,
        n - 2,
        n - 1,
      ]);
    },
    600_000,
  );

  it("a program returning 1 has its object replayed", async (ctx) => {
    const why = lacksTarget("ksym");
    if (why) return ctx.skip(why);
    using state = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 1,
      name: "iter_state",
      key: codecs.u32,
      value: codecs.u64,
    });
    const addresses = (buf: Buffer) =>
      Array.from(new BigUint64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)));
    using plain = createIterator(ksymAddressProgram(), "ksym");
    const expected = addresses(await plain.open().readAll());
    expect(expected.length).toBeGreaterThan(1000);
    // Replay the 501st symbol once: the output must not change.
    const address = expected[500]!;
    using replaying = createIterator(ksymAddressProgram({ address, state }), "ksym");
    const got = addresses(await replaying.open().readAll());
    // The list ends with BPF programs' symbols, and loading the second program
    // added some: compare what comes before them.
    const stable = Math.min(expected.length, got.length) - 256;
    expect(stable).toBeGreaterThan(500);
    expect(got.slice(0, stable)).toEqual(expected.slice(0, stable));
    expect(state.get(0)).toBe(1n);
  });

  it("an abort mid-read rejects and closes the iterator fd", async (ctx) => {
    const why = lacksTarget("ksym");
    if (why) return ctx.skip(why);
    // ~100k symbols × 8 bytes: hundreds of 4 KiB reads.
    using link = createIterator(ksymAddressProgram(), "ksym");
    const before = openFds();
    const ac = new AbortController();
    const reader = link.open({ signal: ac.signal, chunkSize: 4096 });
    expect(openFds()).toBe(before + 1);
    const first = await reader.read();
    expect(first!.length).toBeGreaterThan(0);
    const pending = reader.read();
    ac.abort();
    await expect(pending).rejects.toBeInstanceOf(IteratorAbortError);
    await expect(reader.read()).rejects.toBeInstanceOf(IteratorAbortError);
    expect(await openFdsSettled(before)).toBe(before);
    expect(reader.closed).toBe(true);
  });

  it.skipIf(mapElem.skip)(
    `the wrong map type gives the kernel's EINVAL as a clear error ${mapElem.note}`,
    () => {
      using progArray = BpfMap.create({
        type: BpfMapType.PROG_ARRAY,
        keySize: 4,
        valueSize: 4,
        maxEntries: 4,
        name: "iter_badtype",
      });
      const prog = mapElemProgram(4, 4);
      let err: unknown;
      try {
        createIterator(prog, "bpf_map_elem", { map: progArray }).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IteratorError);
      expect(String(err)).toMatch(/refused the map .*EINVAL/);
      expect((err as Error).cause).toBeInstanceOf(BpfError);
      expect(((err as Error).cause as BpfError).code).toBe("EINVAL");
    },
  );

  // Refused before anything is loaded, on every kernel: 5.10 links such a program
  // (and would run it where it may not sleep), later kernels refuse it with EINVAL.
  it("a sleepable program on a hash-map iterator is refused before it is loaded, saying why", () => {
    using hash = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 4,
      maxEntries: 4,
      name: "iter_sleepable",
    });
    const prog = {
      ...lineProgram("bpf_map_elem", "key", "elem\n"),
      flags: BpfProgLoadFlag.SLEEPABLE,
    };
    const attempt = (): unknown => {
      try {
        createIterator(prog, "bpf_map_elem", { map: hash }).close();
      } catch (e) {
        return e;
      }
    };
    attempt(); // the first call opens what the process keeps (kernel BTF)
    const fdsBefore = readdirSync("/proc/self/fd").length;
    const err = attempt();
    expect(err).toBeInstanceOf(IteratorError);
    expect(String(err)).toMatch(/sleepable program cannot iterate map elements \(bpf_map_elem\)/);
    expect(String(err)).toMatch(/refuses sleepable programs on hash-map/);
    expect((err as Error).cause).toBeUndefined();
    expect(readdirSync("/proc/self/fd").length).toBe(fdsBefore);
    // The same program without the flag is not refused by this check.
    const plain = { ...prog, flags: 0 };
    let plainErr: unknown;
    try {
      createIterator(plain, "bpf_map_elem", { map: hash }).close();
    } catch (e) {
      plainErr = e;
    }
    expect(String(plainErr ?? "")).not.toMatch(/sleepable/);
  });

  it(`${FD_CYCLES.toLocaleString("en")} create/read/close cycles leave /proc/self/fd unchanged`, async () => {
    // bpf_map target: few objects, so the cycles measure the fd handling, not the walk.
    using map = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
      name: "iter_cycles",
    });
    using prog = loadProgram(lineProgram("bpf_map", "map", "cycle\n"));
    const before = openFds();
    for (let i = 0; i < FD_CYCLES; i++) {
      using link = createIterator(prog, "bpf_map");
      // One in ten through the thread pool (deferred close path), the rest synchronous:
      // the same fds, a tenth of the time in QEMU guests.
      const out = i % 10 === 0 ? await link.open().readAll() : link.open().readAllSync();
      if (out.length !== 6) throw new Error(`cycle ${i}: ${out.length} bytes`);
    }
    void map;
    expect(await openFdsSettled(before)).toBe(before);
  }, 600_000);
});

describeKernel("link parameters", () => {
  it("task pid filter returns only that process; tid only that thread", async (ctx) => {
    const why = lacksLinkParam("task");
    if (why) return ctx.skip(why);
    const { pids, stop } = await startSleepers(2);
    try {
      using link = createIterator(taskTextProgram(), "task", { pid: pids[0]! });
      const lines = (await link.open().text()).split("\n").filter(Boolean);
      expect(lines).toEqual(["pid comm", `${pids[0]} sleep`]);
      // Every thread of this process, and nothing else.
      const threads = () => new Set(readdirSync(`/proc/${process.pid}/task`).map(Number));
      const before = threads();
      using self = createIterator(taskTextProgram(), "task", { pid: process.pid });
      const own = (await self.open().text()).split("\n").filter(Boolean).slice(1);
      const after = threads();
      const seen = new Set(own.map((l) => Number(l.split(" ")[0])));
      for (const t of before) if (after.has(t)) expect(seen.has(t)).toBe(true);
      for (const t of seen) expect(before.has(t) || after.has(t)).toBe(true);
      using tid = createIterator(taskTextProgram(), "task", { tid: pids[1]! });
      expect((await tid.open().text()).split("\n").filter(Boolean)).toEqual([
        "pid comm",
        `${pids[1]} sleep`,
      ]);
    } finally {
      stop();
    }
  });

  it.skipIf(mapElem.skip)(
    `map fd parameter: mapElems walks exactly that map ${mapElem.note}`,
    async () => {
      using a = BpfMap.create({
        type: BpfMapType.HASH,
        keySize: 4,
        valueSize: 4,
        maxEntries: 8,
        name: "iter_pa",
      });
      using b = BpfMap.create({
        type: BpfMapType.HASH,
        keySize: 4,
        valueSize: 4,
        maxEntries: 8,
        name: "iter_pb",
      });
      const k = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
      a.set(k(1), k(10));
      b.set(k(2), k(20));
      b.set(k(3), k(30));
      using la = createIterator(keyWriterProgram(), "bpf_map_elem", { map: a });
      using lb = createIterator(keyWriterProgram(), "bpf_map_elem", { map: b.fd });
      const keys = (buf: Buffer) =>
        Array.from(new Uint32Array(buf.buffer, buf.byteOffset, buf.length / 4)).sort();
      expect(keys(await la.open().readAll())).toEqual([1]);
      expect(keys(await lb.open().readAll())).toEqual([2, 3]);
    },
  );

  it("task parameters need 6.1: the running kernel's bpf_iter_link_info has them", () => {
    const u = loadKernelBtf().findType("bpf_iter_link_info", "union");
    expect(u?.members.map((m) => m.name)).toEqual(expect.arrayContaining(["map"]));
  });
});

describeKernel("openPinned() of a pin that is no iterator", () => {
  it("a pinned map: bpffs refuses the open (EIO), an IteratorReadError naming the path", () => {
    const path = `/sys/fs/bpf/ts_ebpf_iter_map_pin_${process.pid}`;
    rmSync(path, { force: true });
    using map = tinyHash("iter_pin_eio");
    map.pin(path);
    try {
      let err: unknown;
      try {
        openPinned(path);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IteratorReadError);
      expect((err as IteratorReadError).errno).toBe("EIO");
      expect(String(err)).toContain(`cannot open ${path}: not a pinned iterator`);
    } finally {
      rmSync(path, { force: true });
    }
  });
});
