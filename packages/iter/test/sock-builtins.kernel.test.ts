// The built-ins over maps of sockets: sockmapSockets() (sockmap target,
// SOCKMAP and SOCKHASH maps) and skStorage() (bpf_sk_storage_map target,
// SK_STORAGE maps). Where the kernel loads their programs (the test-vm
// guests), they are compared with the sockets this process puts in the maps:
// connected TCP sockets over loopback, a listening one, a UDP one, identified
// by the inode /proc/self/fd shows. Where it refuses them (EPERM from a
// security policy), the paired tests assert the error users get and that no
// fd is left behind. The argument checks run on every kernel.

import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { readlinkSync, rmSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfError, BpfMap } from "@ts-ebpf/syscall";
import { describeKernel, kernelFeature } from "@ts-ebpf/testing";
import { afterAll, afterEach, expect, it } from "vitest";
import * as iter from "../src/index.js";
import { openFds, openFdsSettled, skStorageMap } from "./helpers.js";

afterAll(() => iter.closeBuiltins());

const sockmapLoads = kernelFeature("sockmap iterator programs", () =>
  iter.probeIteratorTarget("sockmap"),
);
const skStorageLoads = kernelFeature("bpf_sk_storage_map iterator programs", () =>
  iter.probeIteratorTarget("bpf_sk_storage_map"),
);

const cli = fileURLToPath(new URL("../bin/bpf-iter.js", import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });

const u32le = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** The objects of `--json` output, one a line. */
const jsonRows = (stdout: string): unknown[] =>
  stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

/** The fd libuv holds for a net.Socket, net.Server or dgram.Socket. */
function fdOf(handleOwner: object): number {
  const fd = (handleOwner as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("no fd on this socket's handle");
  return fd;
}

/** The socket's inode, from /proc/self/fd/<fd> ("socket:[ino]"). */
function inodeOf(fd: number): bigint {
  const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
  if (!m) throw new Error(`fd ${fd} is not a socket`);
  return BigInt(m[1]!);
}

const opened: Array<net.Server | net.Socket | dgram.Socket> = [];
afterEach(async () => {
  for (const s of opened.splice(0).reverse()) {
    if (s instanceof net.Server) await new Promise((res) => s.close(res));
    else if (s instanceof net.Socket) s.destroy();
    else s.close();
  }
});

/** A loopback TCP server and `n` connected pairs (client, accepted), all in this process. */
async function tcpPairs(n: number): Promise<{ server: net.Server; pairs: net.Socket[][] }> {
  const server = net.createServer();
  opened.push(server);
  const accepted: net.Socket[] = [];
  server.on("connection", (s) => {
    opened.push(s);
    accepted.push(s);
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const { port } = server.address() as net.AddressInfo;
  const clients: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const c = net.connect(port, "127.0.0.1");
    opened.push(c);
    await new Promise<void>((res, rej) => c.once("connect", res).once("error", rej));
    clients.push(c);
  }
  while (accepted.length < n) await new Promise((res) => setTimeout(res, 5));
  // Pair each client with the socket accepted for it (its remote port is the client's).
  const pairs = clients.map((c) => [c, accepted.find((a) => a.remotePort === c.localPort)!]);
  return { server, pairs };
}

/** What the built-ins show of a connected loopback TCP socket. */
function tcpRecord(s: net.Socket) {
  return {
    family: "inet",
    type: "stream",
    protocol: 6,
    state: 1,
    stateName: "ESTABLISHED",
    localAddress: "127.0.0.1",
    localPort: s.localPort,
    remoteAddress: "127.0.0.1",
    remotePort: s.remotePort,
    uid: process.getuid!(),
    ino: inodeOf(fdOf(s)),
  };
}

const sockmap = (name: string, maxEntries = 8) =>
  BpfMap.create({ type: BpfMapType.SOCKMAP, keySize: 4, valueSize: 4, maxEntries, name });

const byKey = (a: { key: Uint8Array }, b: { key: Uint8Array }) =>
  hex(a.key).localeCompare(hex(b.key));

describeKernel("sockmap and bpf_sk_storage_map built-ins", () => {
  it.skipIf(sockmapLoads.skip)(
    `sockmapSockets() gives every socket put in a sockmap, with its index ${sockmapLoads.note}`,
    async () => {
      const { pairs } = await tcpPairs(2);
      using map = sockmap("iter_sockmap");
      // Slots 0, 2, 4, 7 stay empty: only filled slots are records.
      const put: Array<[number, net.Socket]> = [
        [1, pairs[0]![0]!],
        [3, pairs[0]![1]!],
        [5, pairs[1]![0]!],
        [6, pairs[1]![1]!],
      ];
      for (const [slot, s] of put) map.set(u32le(slot), u32le(fdOf(s)));
      const got = await iter.sockmapSockets(map);
      expect(got.sort(byKey)).toEqual(
        put.map(([slot, s]) => ({ key: u32le(slot), ...tcpRecord(s) })),
      );
      // A slot emptied is no longer listed.
      map.delete(u32le(3));
      expect((await iter.sockmapSockets(map.fd)).map((r) => hex(r.key)).sort()).toEqual(
        [1, 5, 6].map((k) => hex(u32le(k))),
      );
    },
  );

  it.skipIf(sockmapLoads.skip)(
    `sockmapSockets() on a sockhash with 12-byte keys: TCP (connected and listening) and UDP sockets ${sockmapLoads.note}`,
    async () => {
      const { server, pairs } = await tcpPairs(1);
      const udp = dgram.createSocket("udp4");
      opened.push(udp);
      await new Promise<void>((res) => udp.bind(0, "127.0.0.1", res));
      using map = BpfMap.create({
        type: BpfMapType.SOCKHASH,
        keySize: 12,
        valueSize: 4,
        maxEntries: 8,
        name: "iter_sockhash",
      });
      const key = (tag: number) => Uint8Array.from({ length: 12 }, (_, i) => (tag * 16 + i) & 0xff);
      const client = pairs[0]![0]!;
      map.set(key(1), u32le(fdOf(client)));
      map.set(key(2), u32le(fdOf(server)));
      map.set(key(3), u32le(fdOf(udp)));
      const got = (await iter.sockmapSockets(map)).sort(byKey);
      const { port } = server.address() as net.AddressInfo;
      expect(got).toEqual([
        { key: key(1), ...tcpRecord(client) },
        {
          key: key(2),
          family: "inet",
          type: "stream",
          protocol: 6,
          state: 10,
          stateName: "LISTEN",
          localAddress: "127.0.0.1",
          localPort: port,
          remoteAddress: "0.0.0.0",
          remotePort: 0,
          uid: process.getuid!(),
          ino: inodeOf(fdOf(server)),
        },
        {
          key: key(3),
          family: "inet",
          type: "dgram",
          protocol: 17,
          state: 7,
          stateName: "CLOSE",
          localAddress: "127.0.0.1",
          localPort: udp.address().port,
          remoteAddress: "0.0.0.0",
          remotePort: 0,
          uid: process.getuid!(),
          ino: inodeOf(fdOf(udp)),
        },
      ]);
    },
  );

  it.skipIf(skStorageLoads.skip)(
    `skStorage() gives each socket with storage and its value, and no other socket ${skStorageLoads.note}`,
    async () => {
      const { pairs } = await tcpPairs(2);
      // 20 bytes: not a multiple of 8, so the record's padding is exercised.
      using map = skStorageMap(20, "iter_sk_stor");
      const value = (n: number) => Uint8Array.from({ length: 20 }, (_, i) => (n * 31 + i) & 0xff);
      const stored = [pairs[0]![0]!, pairs[0]![1]!, pairs[1]![0]!];
      stored.forEach((s, i) => {
        map.set(u32le(fdOf(s)), value(i + 1));
      });
      const got = await iter.skStorage(map);
      const byIno = (a: { ino: bigint }, b: { ino: bigint }) => (a.ino < b.ino ? -1 : 1);
      expect(got.sort(byIno)).toEqual(
        stored.map((s, i) => ({ ...tcpRecord(s), value: value(i + 1) })).sort(byIno),
      );
      // pairs[1][1] has no storage in this map: it is not listed.
      expect(got.map((r) => r.ino)).not.toContain(inodeOf(fdOf(pairs[1]![1]!)));
    },
  );

  it.skipIf(sockmapLoads.skip || skStorageLoads.skip)(
    `bpf-iter sockmap / sk-storage <map-id> print them; pin --map and cat read a pinned one back ${sockmapLoads.note}`,
    async () => {
      const { pairs } = await tcpPairs(1);
      const [client, peer] = pairs[0]! as [net.Socket, net.Socket];
      using map = sockmap("cli_sockmap", 4);
      map.set(u32le(2), u32le(fdOf(client)));
      const id = String(map.info().id);
      const r = run("sockmap", id, "--json");
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const expected = {
        ...tcpRecord(client),
        key: "02000000",
        ino: Number(inodeOf(fdOf(client))),
      };
      expect(jsonRows(r.stdout)).toEqual([expected]);
      const table = run("sockhash", id);
      expect(table.stdout.split("\n")[0]).toMatch(
        /^KEY\s+FAMILY\s+TYPE\s+STATE\s+LOCAL\s+REMOTE\s+INO$/,
      );
      expect(table.stdout).toContain(
        `02 00 00 00  inet    stream  ESTABLISHED  127.0.0.1:${client.localPort}`,
      );

      using storage = skStorageMap(8, "cli_sk_stor");
      storage.set(u32le(fdOf(peer)), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
      const s = run("sk-storage", String(storage.info().id), "--json");
      expect(s.status).toBe(0);
      expect(jsonRows(s.stdout)).toEqual([
        { ...tcpRecord(peer), ino: Number(inodeOf(fdOf(peer))), value: "0102030405060708" },
      ]);
      const storageTable = run("sk_storage", String(storage.info().id)).stdout.split("\n");
      expect(storageTable[0]).toMatch(/^FAMILY\s+TYPE\s+STATE\s+LOCAL\s+REMOTE\s+INO\s+VALUE$/);
      expect(storageTable[1]).toMatch(
        new RegExp(
          `^inet\\s+stream\\s+ESTABLISHED\\s+127\\.0\\.0\\.1:${peer.localPort}\\s+127\\.0\\.0\\.1:${peer.remotePort}\\s+\\d+\\s+01 02 03 04 05 06 07 08$`,
        ),
      );

      const path = `/sys/fs/bpf/ts_ebpf_sockmap_pin_${process.pid}`;
      rmSync(path, { force: true });
      try {
        const pin = run("pin", "sockmap", path, "--map", id);
        expect(pin.stderr).toBe("");
        expect(pin.stdout).toMatch(/^pinned sockmap iterator at .* \(records of \d+ bytes\)/);
        const cat = run("cat", path, "--json");
        expect(cat.status).toBe(0);
        expect(jsonRows(cat.stdout)).toEqual([expected]);
      } finally {
        rmSync(path, { force: true });
      }
    },
  );

  it.skipIf(sockmapLoads.available)(
    "where the kernel refuses sockmap programs: sockmapSockets() throws IteratorTargetRefusedError, the CLI says so in one line, no fd leaks",
    async () => {
      using map = sockmap("iter_sm_refused");
      void map.fd; // the handle's shared fd, made on first use and closed with the map
      const before = openFds();
      const err = await iter.sockmapSockets(map).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(iter.IteratorTargetRefusedError);
      expect(err).toMatchObject({ target: "sockmap", errno: "EPERM" });
      expect((err as Error).message).toMatch(/refuses sockmap iterator programs: .*EPERM/);
      expect((err as Error).cause).toBeInstanceOf(BpfError);
      expect(((err as Error).cause as BpfError).command).toBe("PROG_LOAD");
      expect(() => iter.builtinLink("sockmap", { map })).toThrow(iter.IteratorTargetRefusedError);
      expect(await openFdsSettled(before)).toBe(before);

      const r = run("sockmap", String(map.info().id));
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toEqual([
        expect.stringMatching(/^bpf-iter: the kernel .*refuses sockmap iterator programs: .*EPERM/),
      ]);
    },
  );

  it.skipIf(skStorageLoads.available)(
    "where the kernel refuses bpf_sk_storage_map programs: skStorage() throws IteratorTargetRefusedError, the CLI says so in one line, no fd leaks",
    async () => {
      using map = skStorageMap(8, "iter_sk_refused");
      void map.fd;
      const before = openFds();
      await expect(iter.skStorage(map)).rejects.toMatchObject({
        name: "IteratorTargetRefusedError",
        target: "bpf_sk_storage_map",
        errno: "EPERM",
      });
      expect(await openFdsSettled(before)).toBe(before);

      const r = run("sk-storage", String(map.info().id));
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split("\n")).toEqual([
        expect.stringMatching(
          /^bpf-iter: the kernel .*refuses bpf_sk_storage_map iterator programs: .*EPERM/,
        ),
      ]);
    },
  );

  it("a map of another type, or none, is refused before anything loads, and no fd is left", async () => {
    using hash = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 4,
      maxEntries: 4,
      name: "iter_not_sockm",
    });
    using sockets = sockmap("iter_not_sk_st");
    void hash.fd;
    void sockets.fd;
    const before = openFds();
    await expect(iter.sockmapSockets(hash)).rejects.toThrow(
      /the sockmap iterator walks SOCKMAP or SOCKHASH maps; map fd \d+ is a HASH map/,
    );
    await expect(iter.skStorage(sockets)).rejects.toThrow(
      /the bpf_sk_storage_map iterator walks SK_STORAGE maps; map fd \d+ is a SOCKMAP map/,
    );
    await expect(iter.sockmapSockets(hash)).rejects.toBeInstanceOf(TypeError);
    // No map: the parameter check names what is missing.
    await expect(iter.sockmapSockets(undefined as unknown as number)).rejects.toBeInstanceOf(
      iter.IteratorParamError,
    );
    expect(() => iter.builtinRecordSize("sockmap")).toThrow(/the sockmap iterator needs \{ map \}/);
    // stdin is no map: a RangeError before any syscall.
    await expect(iter.skStorage(0)).rejects.toBeInstanceOf(RangeError);
    expect(await openFdsSettled(before)).toBe(before);

    const r = run("sockmap");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^bpf-iter: usage: bpf-iter sockmap <map-id\|pinned-path>/);
    const pin = run("pin", "sockmap", "/sys/fs/bpf/ts_ebpf_never");
    expect(pin.status).toBe(1);
    expect(pin.stderr).toMatch(/pin sockmap needs the map: --map <map-id\|pinned-path>/);
  });

  it("record sizes follow the map: key_size / value_size bytes; values too large for a record are an IteratorError naming the map's sizes", () => {
    using small = skStorageMap(8, "iter_sk_small");
    using large = skStorageMap(1024, "iter_sk_large");
    using hash12 = BpfMap.create({
      type: BpfMapType.SOCKHASH,
      keySize: 12,
      valueSize: 4,
      maxEntries: 4,
      name: "iter_sh_12",
    });
    using map4 = sockmap("iter_sm_4");
    const size = (target: string, map: BpfMap) => iter.builtinRecordSize(target, { map });
    expect(size("sockmap", hash12) - size("sockmap", map4)).toBe(8);
    expect(size("bpf_sk_storage_map", small) % 8).toBe(0);
    const layout = iter.builtinLayout("bpf_sk_storage_map", { map: small });
    const value = layout.fields.find((f) => f.name === "value");
    expect(value?.size).toBe(8);
    expect(() => size("bpf_sk_storage_map", large)).toThrow(
      /the bpf_sk_storage_map built-in cannot copy the elements of a map with 4-byte keys and 1024-byte values: record of \d+ bytes exceeds 448/,
    );
  });
});
