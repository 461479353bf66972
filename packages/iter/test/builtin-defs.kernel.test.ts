import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { BpfMap } from "@ts-ebpf/syscall";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { builtins, closeBuiltins } from "../src/index.js";
import { hasTarget } from "./helpers.js";

afterAll(() => closeBuiltins());

/** Non-empty lines of a /proc file (0 when it is absent). */
function procLines(path: string): number {
  try {
    return readFileSync(path, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "").length;
  } catch {
    return 0;
  }
}

/**
 * Targets whose objects the test cannot make and /proc shows or not: IPv6
 * routes exist only with IPv6 up, netlink sockets are the kernel's own.
 * Every other target's objects exist while the test reads (this process, its
 * sockets and map, the iterator's own program and link, ksyms, caches, the
 * root cgroup).
 */
const FROM_PROC: Readonly<Record<string, () => boolean>> = {
  ipv6_route: () => procLines("/proc/net/ipv6_route") > 0,
  // Below a header line.
  netlink: () => procLines("/proc/net/netlink") > 1,
};

describeKernel("built-in definitions on the running kernel", () => {
  const servers: Server[] = [];
  const udp = createSocket("udp4");
  let map: BpfMap | undefined;
  beforeAll(async () => {
    // A socket of each kind the socket built-ins walk, and a map for bpf_map.
    const tcp = createServer();
    const unix = createServer();
    servers.push(tcp, unix);
    await new Promise<void>((res) => tcp.listen(0, "127.0.0.1", res));
    await new Promise<void>((res) => unix.listen(`\0ts-ebpf-defs-${process.pid}`, res));
    await new Promise<void>((res) => udp.bind(0, "127.0.0.1", res));
    map = BpfMap.create({ type: 2, keySize: 4, valueSize: 4, maxEntries: 1, name: "defs_probe" });
  });
  afterAll(() => {
    for (const s of servers) s.close();
    udp.close();
    map?.close();
  });

  it("every built-in's CLI columns name cells of the rows it prints, in table and JSON form; every target the kernel has prints rows", async () => {
    const checked: string[] = [];
    const expected: string[] = [];
    for (const b of builtins()) {
      // The kernel's BTF says which targets it has.
      if (!hasTarget(b.target)) continue;
      // A built-in over a map's elements needs a map of sockets: sock-builtins.kernel.test.ts.
      if (b.map) continue;
      if (FROM_PROC[b.target]?.() ?? true) expected.push(b.target);
      using link = b.link();
      const bytes = await link.readAll();
      const table = b.decodeRows(bytes, true);
      const json = b.decodeRows(bytes, false);
      expect(table.length, b.target).toBe(bytes.length / b.layout().size);
      expect(json.length, b.target).toBe(table.length);
      if (table.length === 0) continue;
      checked.push(b.target);
      for (const c of b.cli.columns) {
        expect(table[0], `${b.target} column ${c.key}`).toHaveProperty(c.key);
        // A socket's JSON is the record (address and port apart); every other keeps the table's cells.
        if (b.target !== "tcp" && b.target !== "udp")
          expect(json[0], `${b.target} json ${c.key}`).toHaveProperty(c.key);
      }
    }
    // 5.10 has 11 iterator targets, 6.12 20: at least task, task_file, bpf_map, bpf_prog, tcp, udp.
    expect(expected.length).toBeGreaterThanOrEqual(6);
    expect(checked.sort()).toEqual(expected.sort());
  });
});
