import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import {
  closeSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmdirSync,
  statSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfMap, codecs, possibleCpus } from "@ts-ebpf/syscall";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import * as iter from "../src/index.js";
import {
  hasTarget,
  lacksLinkParam,
  lacksTarget,
  mapElem,
  openFds,
  openFdsSettled,
  procComm,
  procPids,
  startSleepers,
} from "./helpers.js";

afterAll(() => iter.closeBuiltins());

describeKernel("built-in typed iterators", () => {
  let sleepers: Awaited<ReturnType<typeof startSleepers>>;
  beforeAll(async () => {
    sleepers = await startSleepers(3);
  });
  afterAll(() => sleepers.stop());

  it("tasks() lists every process /proc lists (alive throughout) with pid, tgid, ppid and comm", async () => {
    // CLOCK_MONOTONIC, as a task's start_time; 50 ms earlier, since fork stamps
    // start_time a little before the task shows in /proc (longer on a slow guest).
    const start = process.hrtime.bigint() - 50_000_000n;
    const before = procPids();
    const tasks = await iter.tasks();
    const after = procPids();
    const leaders = new Map(tasks.filter((t) => t.pid === t.tgid).map((t) => [t.tgid, t]));
    for (const pid of before) {
      if (!after.has(pid)) continue;
      expect(leaders.has(pid), `pid ${pid} missing`).toBe(true);
    }
    for (const [pid, leader] of leaders) {
      // pid 1 is left out of procPids() (on the host it is the sandbox's; in a VM, init)
      if (pid === 1 || before.has(pid) || after.has(pid)) continue;
      // In neither listing: only a process that started after the first one began and
      // was gone by the second (other test packages run beside this one), never a
      // record of an earlier call.
      expect(
        leader.startTime,
        `pid ${pid} not in /proc, started before it was read`,
      ).toBeGreaterThan(start);
    }
    for (const pid of sleepers.pids) {
      expect(leaders.get(pid)).toMatchObject({
        pid,
        tgid: pid,
        ppid: process.pid,
        comm: "sleep",
        uid: 0,
      });
    }
    const me = leaders.get(process.pid)!;
    expect(me.comm).toBe(procComm(process.pid));
    expect(me.threads).toBe(tasks.filter((t) => t.tgid === process.pid).length);
    expect(typeof me.startTime).toBe("bigint");
  });

  it("tasks({ pid }) returns only that process; a second call re-reads", async (ctx) => {
    const why = lacksLinkParam("task");
    if (why) return ctx.skip(why);
    const one = await iter.tasks({ pid: sleepers.pids[0]! });
    expect(one.map((t) => t.pid)).toEqual([sleepers.pids[0]]);
    expect(iter.tasksSync({ pid: sleepers.pids[1]! }).map((t) => t.pid)).toEqual([
      sleepers.pids[1],
    ]);
    const again = await iter.tasks();
    expect(again.length).toBeGreaterThan(3);
  });

  it("taskFiles() shows a file this process opened, with its inode", async (ctx) => {
    const why = lacksLinkParam("task");
    if (why) return ctx.skip(why);
    const fd = openSync("/proc/self/status", "r");
    try {
      const files = await iter.taskFiles({ pid: process.pid });
      const f = files.find((x) => x.fd === fd);
      expect(f).toBeDefined();
      expect(f!.tgid).toBe(process.pid);
      expect(f!.ino).toBe(BigInt(fstatSync(fd).ino));
      expect(files.every((x) => x.tgid === process.pid)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it("taskVmas() matches /proc/self/maps", async (ctx) => {
    const why = lacksTarget("task_vma") ?? lacksLinkParam("task");
    if (why) return ctx.skip(why);
    const vmas = await iter.taskVmas({ pid: process.pid });
    const maps = readFileSync("/proc/self/maps", "utf8").trim().split("\n");
    const exe = maps.find((l) => l.includes(process.execPath) || / \/.*node/.test(l))!;
    const [range, , , , inode] = exe.split(/\s+/);
    const start = BigInt(`0x${range!.split("-")[0]}`);
    const v = vmas.find((x) => x.start === start);
    expect(v).toBeDefined();
    expect(v!.ino).toBe(BigInt(inode!));
    expect(v!.end).toBeGreaterThan(v!.start);
  });

  it("bpfMaps(), bpfProgs(), bpfLinks() see objects this process created", async () => {
    using map = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 16,
      name: "iter_seen",
    });
    const maps = await iter.bpfMaps();
    const m = maps.find((x) => x.name === "iter_seen");
    expect(m).toMatchObject({
      id: map.info().id,
      typeName: "hash",
      keySize: 4,
      valueSize: 8,
      maxEntries: 16,
    });
    const progs = await iter.bpfProgs();
    const p = progs.find((x) => x.name === "iter_bpf_prog");
    expect(p?.typeName).toBe("tracing");
    expect(p?.tag).toMatch(/^[0-9a-f]{16}$/);
    // bpf_link arrived in 5.19: older kernels check maps and programs only.
    if (lacksTarget("bpf_link")) return;
    const links = await iter.bpfLinks();
    expect(links.some((l) => l.progId === p!.id && l.typeName === "iter")).toBe(true);
  });

  it("tcp(), udp() and unix() find sockets this process opened", async () => {
    const server: Server = createServer();
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    const port = (server.address() as { port: number }).port;
    const udp = createSocket("udp4");
    await new Promise<void>((res) => udp.bind(0, "127.0.0.1", res));
    const dir = mkdtempSync(join(tmpdir(), "iter-unix-"));
    const path = join(dir, "sock");
    const unixServer = createServer();
    await new Promise<void>((res) => unixServer.listen(path, res));
    try {
      const tcp = await iter.tcp();
      expect(tcp).toContainEqual(
        expect.objectContaining({
          family: "inet",
          localAddress: "127.0.0.1",
          localPort: port,
          stateName: "LISTEN",
        }),
      );
      const udps = await iter.udp();
      expect(udps).toContainEqual(
        expect.objectContaining({ localAddress: "127.0.0.1", localPort: udp.address().port }),
      );
      // unix arrived in 5.15: older kernels check tcp and udp only.
      if (lacksTarget("unix")) return;
      const unixes = await iter.unix();
      const u = unixes.find((x) => x.path === path);
      expect(u).toMatchObject({ type: "stream", uid: 0 });
      expect(u!.ino).toBeGreaterThan(0n);
    } finally {
      server.close();
      udp.close();
      unixServer.close();
    }
  });

  it("ksyms() agrees with /proc/kallsyms", async (ctx) => {
    const why = lacksTarget("ksym");
    if (why) return ctx.skip(why);
    const syms = await iter.ksyms();
    // Static symbols can share a name: compare against every symbol of that name.
    const byName = new Map<string, Array<{ type: string; value: bigint }>>();
    for (const s of syms) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
    const lines = readFileSync("/proc/kallsyms", "utf8").split("\n");
    const sample = lines.filter((l) => / [Tt] bpf_iter_/.test(l)).slice(0, 20);
    expect(sample.length).toBeGreaterThan(0);
    for (const l of sample) {
      const [addr, type, name] = l.split(/\s+/);
      const same = byName.get(name!);
      expect(same, name).toBeDefined();
      expect(same!.map((s) => `${s.type.toLowerCase()} ${s.value}`)).toContain(
        `${type!.toLowerCase()} ${BigInt(`0x${addr}`)}`,
      );
    }
    expect(syms.length).toBeGreaterThan(lines.length / 2);
  });

  it.skipIf(!hasTarget("kmem_cache"))(
    "kmemCaches() lists the caches /proc/slabinfo has (skipped before Linux 6.13: no kmem_cache target)",
    async () => {
      const caches = await iter.kmemCaches();
      const names = new Set(caches.map((c) => c.name));
      const slab = readFileSync("/proc/slabinfo", "utf8")
        .split("\n")
        .slice(2)
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[0]!);
      const missing = slab.filter((n) => !names.has(n));
      expect(missing).toEqual([]);
      expect(caches.every((c) => c.size >= c.objectSize)).toBe(true);
    },
  );

  it.skipIf(hasTarget("kmem_cache"))(
    "kmemCaches() names the kernel it needs (kernel before 6.13)",
    async () => {
      await expect(iter.kmemCaches()).rejects.toThrow(/needs Linux 6\.13/);
    },
  );
});

function cgroup2Root(): string | undefined {
  for (const line of readFileSync("/proc/self/mounts", "utf8").split("\n")) {
    const [, dir, type] = line.split(" ");
    if (type === "cgroup2") return dir;
  }
  return undefined;
}

describeKernel("cgroup iterator parameters", () => {
  let root: string | undefined;
  let mounted: string | undefined;
  let top = "";
  beforeAll(() => {
    root = cgroup2Root();
    if (!root) {
      mounted = mkdtempSync(join(tmpdir(), "cg2-"));
      execFileSync("mount", ["-t", "cgroup2", "none", mounted]);
      root = mounted;
    }
    top = join(root, `ts_ebpf_iter_${process.pid}`);
    mkdirSync(join(top, "a", "b"), { recursive: true });
    mkdirSync(join(top, "c"));
  });
  afterAll(() => {
    for (const d of [join(top, "a", "b"), join(top, "a"), join(top, "c"), top]) rmdirSync(d);
    if (mounted) execFileSync("umount", [mounted]);
  });

  const idOf = (dir: string) => BigInt(statSync(dir).ino);

  it("orders pre, post, self and up from a cgroup fd or id", async (ctx) => {
    const why = lacksTarget("cgroup");
    if (why) return ctx.skip(why);
    const fd = openSync(top, "r");
    try {
      const pre = await iter.cgroups({ cgroupFd: fd, order: "pre" });
      const name = `ts_ebpf_iter_${process.pid}`;
      expect(pre.map((c) => c.name)).toEqual([name, "a", "b", "c"]);
      expect(pre[0]!.id).toBe(idOf(top));
      const post = await iter.cgroups({ cgroupFd: fd, order: "post" });
      expect(post.map((c) => c.name)).toEqual(["b", "a", "c", name]);
      const self = await iter.cgroups({ cgroupId: idOf(join(top, "a")), order: "self" });
      expect(self.map((c) => c.name)).toEqual(["a"]);
      const up = await iter.cgroups({ cgroupId: idOf(join(top, "a", "b")), order: "up" });
      expect(up.map((c) => c.name).slice(0, 3)).toEqual(["b", "a", name]);
      expect(up.at(-1)!.level).toBe(0);
      expect(up.map((c) => c.level)).toEqual([...up.map((c) => c.level)].sort((x, y) => y - x));
      using link = iter.builtinLink("cgroup", { cgroupFd: fd, order: "post" });
      expect(link.info()).toMatchObject({ target: "cgroup", order: "post", cgroupId: idOf(top) });
    } finally {
      closeSync(fd);
    }
  });
});

describeKernel(`mapElems ${mapElem.note}`, () => {
  const itLoads = it.skipIf(mapElem.skip);
  const u32 = codecs.u32;
  const u64 = codecs.u64;
  const sortByKey = <V>(e: Iterable<[number, V]>) => [...e].sort((a, b) => a[0] - b[0]);

  for (const [label, type] of [
    ["hash", BpfMapType.HASH],
    ["LRU hash", BpfMapType.LRU_HASH],
  ] as const) {
    itLoads(`returns exactly what was written to a ${label} map`, async () => {
      using map = BpfMap.create({
        type,
        keySize: 4,
        valueSize: 8,
        maxEntries: 1000,
        name: "iter_me",
        key: u32,
        value: u64,
      });
      const written: Array<[number, bigint]> = [];
      for (let i = 0; i < 500; i++) {
        const k = (i * 7919) >>> 0;
        written.push([k, BigInt(k) * 3n + 1n]);
        map.set(k, BigInt(k) * 3n + 1n);
      }
      expect(sortByKey(await iter.mapElems(map))).toEqual(sortByKey(written));
      expect(sortByKey(iter.mapElemsSync(map))).toEqual(sortByKey(written));
    });
  }

  itLoads(
    "a dump of many seq buffers (read several per readv) has every element once",
    async () => {
      // 30,000 12-byte records are 11 seq buffers: mapElemsRaw reads them with
      // readv in whole-record segments, mapElemsRawSync one read(2) at a time.
      const n = 30_000;
      using map = BpfMap.create({
        type: BpfMapType.HASH,
        keySize: 4,
        valueSize: 8,
        maxEntries: n,
        name: "iter_me_many",
        key: u32,
        value: u64,
      });
      map.updateBatch(Array.from({ length: n }, (_, k) => [k, BigInt(k) * 5n + 2n] as const));
      const raw = await iter.mapElemsRaw(map);
      expect(raw.length).toBe(n * 12);
      expect(Buffer.compare(raw, iter.mapElemsRawSync(map))).toBe(0);
      // One expect for all (30,000 calls of expect take seconds in a TCG guest).
      const seen = new Uint8Array(n);
      const wrong: Array<[number, bigint]> = [];
      for (const [k, v] of iter.decodeMapElems(map, raw)) {
        if (v !== BigInt(k) * 5n + 2n) wrong.push([k, v]);
        seen[k]!++;
      }
      expect(wrong).toEqual([]);
      expect(seen.every((c) => c === 1)).toBe(true);
      // Into a buffer too small for the dump: it moves to a new one, whole.
      const moved = await iter.mapElemsRaw(map, { into: new Uint8Array(40_000) });
      expect(Buffer.compare(moved, raw)).toBe(0);
    },
  );

  itLoads("decodes through decodeAt, and through decode for codecs without it", async () => {
    const keyCalls = { at: 0, plain: 0 };
    // A key codec with decodeAt, a value codec without: both must agree with u32/u64.
    const key = {
      size: 4,
      encode: u32.encode,
      decode: u32.decode,
      decodeAt(view: DataView, offset: number) {
        keyCalls.at++;
        return view.getUint32(offset, true);
      },
    };
    const value = {
      size: 8,
      encode: u64.encode,
      decode(bytes: Uint8Array) {
        keyCalls.plain++;
        expect(bytes.byteLength).toBe(8);
        return u64.decode(bytes);
      },
    };
    using map = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 64,
      name: "iter_at",
      key,
      value,
    });
    const written: Array<[number, bigint]> = [];
    for (let k = 0; k < 40; k++) {
      written.push([k * 3, BigInt(k) << 40n]);
      map.set(k * 3, BigInt(k) << 40n);
    }
    keyCalls.at = 0;
    keyCalls.plain = 0;
    expect(sortByKey(iter.mapElemsSync(map))).toEqual(sortByKey(written));
    expect(keyCalls).toEqual({ at: 40, plain: 40 });
    // Map.get and keys() agree with the iterator.
    expect(map.get(9)).toBe(3n << 40n);
    expect([...map.keys()].sort((a, b) => a - b)).toEqual(written.map(([k]) => k));
  });

  itLoads("returns every slot of an array map", async () => {
    using map = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 64,
      name: "iter_arr",
      key: u32,
      value: u64,
    });
    for (let i = 0; i < 64; i += 3) map.set(i, BigInt(i) << 33n);
    const expected = Array.from({ length: 64 }, (_, i): [number, bigint] => [
      i,
      i % 3 === 0 ? BigInt(i) << 33n : 0n,
    ]);
    expect((await iter.mapElems(map)).toArray()).toEqual(expected);
  });

  for (const [label, type] of [
    ["per-CPU hash", BpfMapType.PERCPU_HASH],
    ["per-CPU array", BpfMapType.PERCPU_ARRAY],
  ] as const) {
    itLoads(`returns every CPU's value of a ${label} map`, async () => {
      using map = BpfMap.create({
        type,
        keySize: 4,
        valueSize: 4,
        maxEntries: 32,
        name: "iter_pcpu",
        key: u32,
      });
      const cpus = possibleCpus();
      const slot = 8 * cpus;
      expect(map.valueSlotSize).toBe(slot);
      const valueFor = (k: number) => {
        const b = new Uint8Array(slot);
        const v = new DataView(b.buffer);
        for (let c = 0; c < cpus; c++) v.setUint32(c * 8, k * 100 + c, true);
        return b;
      };
      for (let k = 0; k < 32; k++) map.set(k, valueFor(k));
      // No value codec and no BTF: the bytes (every CPU's slot).
      const got = sortByKey(await iter.mapElems(map, { btf: false }));
      expect(got).toHaveLength(32);
      for (const [k, v] of got) expect(new Uint8Array(v)).toEqual(valueFor(k));
    });
  }
  it.skipIf(mapElem.available)(
    "where the kernel refuses bpf_map_elem programs: mapElems and mapElemsSync throw IteratorTargetRefusedError, no fd leaks",
    async () => {
      using map = BpfMap.create({
        type: BpfMapType.HASH,
        keySize: 4,
        valueSize: 8,
        maxEntries: 4,
        name: "iter_refused",
        key: u32,
        value: u64,
      });
      map.set(1, 2n);
      void map.fd; // the handle's shared fd, made on first use and closed with the map
      const before = openFds();
      await expect(iter.mapElems(map)).rejects.toBeInstanceOf(iter.IteratorTargetRefusedError);
      expect(() => iter.mapElemsSync(map)).toThrow(/refuses bpf_map_elem iterator programs/);
      await expect(iter.mapElemsRaw(map)).rejects.toMatchObject({
        name: "IteratorTargetRefusedError",
        target: "bpf_map_elem",
        errno: "EPERM",
      });
      expect(await openFdsSettled(before)).toBe(before);
    },
  );
});
