// query() in other network namespaces, and "all" finding namespaces that only
// an open fd keeps (no task in them, no mount). The tests make their own
// namespaces (ip netns add; unshare --net in a child that hands its sockets
// over a node IPC channel to a holder and exits, the holder keeping an nsfs
// fd), put loopback sockets in them, and compare with ss run inside
// (ip netns exec, nsenter --net=/proc/<holder>/fd/<fd>). Everything is removed
// at the end.

import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describeKernel, kernelRequired } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import * as iter from "../src/index.js";
import { hasTarget } from "./helpers.js";

const tool = (name: string) =>
  spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "pipe" }).status === 0;
const haveTools = ["ip", "ss", "unshare", "nsenter"].every(tool);
// Under TS_EBPF_REQUIRE_KERNEL=1 a missing tool fails instead of skipping.
const skip = !haveTools && !kernelRequired();
if (!haveTools) console.warn("\n!!! netns query tests need ip, ss, unshare and nsenter !!!\n");

const tag = `tsebpfq${process.pid}`;
const NAMED = `${tag}n`;
const PORT = 42000 + (process.pid % 1000); // NAMED: PORT (tcp), PORT + 1 (udp)
const FD_PORT = PORT + 10; // the fd-held namespace: FD_PORT (tcp), FD_PORT + 1 (udp)
const GONE_PORT = PORT + 20; // a second fd-held namespace, removed mid-test
const CLI = join(import.meta.dirname, "../dist/cli/main.js");

/** In a named namespace: a listener, a connection to it, a UDP socket; prints "ready". */
const INSIDE = `
const net = require("node:net"), dgram = require("node:dgram");
const port = Number(process.argv[1]);
const srv = net.createServer(() => {}).listen(port, "127.0.0.1", () => {
  const c = net.connect(port, "127.0.0.1", () => {
    dgram.createSocket("udp4").bind(port + 1, "127.0.0.1", () => console.log("ready"));
  });
});
setInterval(() => {}, 1e6);
`;

/**
 * The child of FD_HOLDER: in a new network namespace (unshare --net), it
 * makes a listener, a connection to it and a UDP socket, sends the four
 * sockets to its parent over the IPC channel and exits.
 */
const FD_CHILD = `
const net = require("node:net"), dgram = require("node:dgram");
const port = Number(process.argv[1]);
process.send("ns");
process.once("message", () => {
  const srv = net.createServer().listen(port, "127.0.0.1", () => {
    let accepted, client;
    const both = () => {
      if (!accepted || !client) return;
      const u = dgram.createSocket("udp4");
      u.bind(port + 1, "127.0.0.1", () => {
        process.send("srv", srv);
        process.send("acc", accepted);
        process.send("cli", client);
        process.send("udp", u);
        process.send("done", () => process.exit(0));
      });
    };
    srv.once("connection", (s) => { accepted = s; both(); });
    const c = net.connect(port, "127.0.0.1", () => { client = c; both(); });
  });
});
`;

/**
 * Holds a network namespace by an nsfs fd only: it opens its child's
 * /proc/<pid>/ns/net, takes the child's sockets, and once the child has
 * exited (no task is left in the namespace, no mount has it) prints
 * "ready <fd>".
 */
const FD_HOLDER = `
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const port = Number(process.argv[1]);
const child = ${JSON.stringify(FD_CHILD)};
const c = spawn("unshare", ["--net", "sh", "-c",
  "ip link set lo up && exec \\"" + process.execPath + "\\" -e '" + child + "' " + port],
  { stdio: ["ignore", "inherit", "inherit", "ipc"] });
const kept = [];
let nsfd, done = false, exited = false;
const finish = () => {
  if (!done || !exited) return;
  if (nsfd === undefined || kept.length !== 4) { console.log("failed " + kept.length); process.exit(1); }
  console.log("ready " + nsfd);
};
c.on("message", (m, handle) => {
  if (m === "ns") { nsfd = fs.openSync("/proc/" + c.pid + "/ns/net", "r"); c.send("go"); return; }
  if (handle) { handle.on("error", () => {}); kept.push(handle); }
  if (m === "done") { done = true; finish(); }
});
c.on("exit", () => { exited = true; finish(); });
setInterval(() => {}, 1e6);
`;

/** Waits for "ready" (with whatever follows on its line) from a child. */
async function ready(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /ready ?(\S*)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`holder exited (${code}): ${out}`)));
  });
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" }).toString();
const inode = (path: string) => statSync(path).ino;
const own = () => inode("/proc/thread-self/ns/net");

const STATE: Record<number, string> = { 1: "ESTAB", 7: "UNCONN", 10: "LISTEN" };

/** `ss -H <flags>` run by `prefix` (ip netns exec / nsenter): "STATE local peer" lines. */
function ssLines(prefix: readonly string[], flags: string): string[] {
  const out = execFileSync(prefix[0]!, [...prefix.slice(1), "ss", "-H", flags], { stdio: "pipe" })
    .toString()
    .trim();
  if (out === "") return [];
  return out
    .split("\n")
    .map((line) => {
      const [state, , , local, peer] = line.trim().split(/\s+/);
      return `${state} ${local} ${peer === "*:*" ? "0.0.0.0:0" : peer!.replace(/:\*$/, ":0")}`;
    })
    .sort();
}

/** What a query selects of an IPv4 socket to compare with ss. */
const SOCKET = {
  state: "sk.__sk_common.skc_state",
  laddr: "sk.__sk_common.skc_rcv_saddr",
  lport: "sk.__sk_common.skc_num",
  raddr: "sk.__sk_common.skc_daddr",
  rport: "sk.__sk_common.skc_dport",
} as const;
type SocketRow = iter.QueryRow<typeof SOCKET>;

/** An address as the kernel keeps it (network order, read as a little-endian u32). */
const ipv4 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
const swap16 = (n: number) => ((n & 255) << 8) | (n >>> 8);
const rowLine = (r: SocketRow) =>
  `${STATE[r.state as number] ?? r.state} ${ipv4(r.laddr as number)}:${r.lport} ${ipv4(r.raddr as number)}:${swap16(r.rport as number)}`;

afterAll(() => {
  iter.closeQueries();
  iter.closeBuiltins();
});

describeKernel("query() in network namespaces", () => {
  const children: ChildProcess[] = [];
  let inside: ChildProcess; // in NAMED
  let holder: ChildProcess; // keeps the fd-held namespace
  let holderFd = 0; // its nsfs fd
  let fdNs = 0; // that namespace's inode
  let heldPath = ""; // /proc/<holder>/fd/<fd>

  beforeAll(async () => {
    if (skip) return;
    ip("netns", "add", NAMED);
    ip("-n", NAMED, "link", "set", "lo", "up");
    inside = spawn("ip", ["netns", "exec", NAMED, process.execPath, "-e", INSIDE, String(PORT)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(inside);
    holder = spawn(process.execPath, ["-e", FD_HOLDER, String(FD_PORT)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(holder);
    const [, fd] = await Promise.all([ready(inside), ready(holder)]);
    holderFd = Number(fd);
    heldPath = `/proc/${holder.pid}/fd/${holderFd}`;
    fdNs = inode(heldPath);
  });

  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    try {
      ip("netns", "del", NAMED);
    } catch {
      // not made
    }
  });

  const namedSs = (flags: string) => ssLines(["ip", "netns", "exec", NAMED], flags);
  const heldSs = (flags: string) => ssLines(["nsenter", `--net=${heldPath}`], flags);

  it.skipIf(skip || !hasTarget("tcp"))(
    "query(tcp, { netns: path | pid | { fd } }) gives the rows ss shows inside, each tagged with the namespace",
    async () => {
      const ino = inode(`/run/netns/${NAMED}`);
      const byPath = await iter.query("tcp", { select: SOCKET, netns: `/run/netns/${NAMED}` });
      expect(byPath.map(rowLine).sort()).toEqual(namedSs("-tan"));
      expect(byPath).toHaveLength(3); // listener and both ends of the connection
      for (const r of byPath) expect(r.netns).toBe(ino);
      const byPid = await iter.query("tcp", { select: SOCKET, netns: inside.pid! });
      // ip netns exec execs the command: the pid is node's, in NAMED.
      expect(byPid.map(rowLine).sort()).toEqual(namedSs("-tan"));
      const fd = openSync(`/run/netns/${NAMED}`, "r");
      try {
        const byFd = iter.querySync("tcp", { select: SOCKET, netns: { fd } });
        expect(byFd.map(rowLine).sort()).toEqual(namedSs("-tan"));
        expect(statSync(`/proc/self/fd/${fd}`).ino).toBe(ino); // borrowed, still open
      } finally {
        closeSync(fd);
      }
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    "a where predicate runs in every namespace: only the matching rows, tagged",
    async () => {
      const rows = await iter.query("tcp", {
        select: { port: "sk.__sk_common.skc_num", state: "sk.__sk_common.skc_state" },
        where: "sk.__sk_common.skc_state == 10",
        netns: "all",
      });
      expect(rows.every((r) => r.state === 10)).toBe(true);
      const listeners = (ns: number) =>
        rows
          .filter((r) => r.netns === ns)
          .map((r) => r.port)
          .sort();
      expect(listeners(inode(`/run/netns/${NAMED}`))).toEqual([PORT]);
      expect(listeners(fdNs)).toEqual([FD_PORT]);
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    'the fd-held namespace has no task and no mount, and "all" finds it by its open nsfs file',
    async () => {
      expect((await iter.taskNamespaces()).some((t) => t.netns === fdNs)).toBe(false);
      expect(
        iter.netnsMounts(readFileSync("/proc/self/mountinfo", "utf8")).map(([i]) => i),
      ).not.toContain(fdNs);
      const files = await iter.netnsFiles();
      expect(files).toContainEqual({ tgid: holder.pid, pid: holder.pid, fd: holderFd, ino: fdNs });
      expect(iter.netnsFilesSync()).toContainEqual({
        tgid: holder.pid,
        pid: holder.pid,
        fd: holderFd,
        ino: fdNs,
      });
      const found = await iter.networkNamespaces();
      const held = found.filter((n) => n.inode === fdNs);
      expect(held).toEqual([
        { inode: fdNs, source: `/proc/${holder.pid}/task/${holder.pid}/fd/${holderFd}` },
      ]);
      const inodes = found.map((n) => n.inode);
      expect(new Set(inodes).size).toBe(inodes.length); // deduplicated by inode
    },
  );

  it.skipIf(skip || !hasTarget("tcp") || !hasTarget("udp"))(
    'tcp, udp and query with "all" list the fd-held namespace\'s sockets as ss inside it does',
    async () => {
      const skipped: iter.SkippedNamespace[] = [];
      const onSkipped = (s: iter.SkippedNamespace) => skipped.push(s);
      const tcpLines = heldSs("-tan");
      expect(tcpLines).toHaveLength(3);
      const builtin = (await iter.tcp({ netns: "all", onSkipped })).filter((s) => s.netns === fdNs);
      expect(
        builtin
          .map(
            (s) =>
              `${STATE[s.state]} ${s.localAddress}:${s.localPort} ${s.remoteAddress}:${s.remotePort}`,
          )
          .sort(),
      ).toEqual(tcpLines);
      const rows = await iter.query("tcp", { select: SOCKET, netns: "all", onSkipped });
      expect(
        rows
          .filter((r) => r.netns === fdNs)
          .map(rowLine)
          .sort(),
      ).toEqual(tcpLines);
      // Every namespace's sockets are there: NAMED's too, and ours.
      expect(
        rows
          .filter((r) => r.netns === inode(`/run/netns/${NAMED}`))
          .map(rowLine)
          .sort(),
      ).toEqual(namedSs("-tan"));
      const sync = iter.querySync("tcp", { select: SOCKET, netns: "all", onSkipped });
      expect(
        sync
          .filter((r) => r.netns === fdNs)
          .map(rowLine)
          .sort(),
      ).toEqual(tcpLines);
      const udp = await iter.query("udp", { select: SOCKET, netns: "all", onSkipped });
      expect(
        udp
          .filter((r) => r.netns === fdNs)
          .map(rowLine)
          .sort(),
      ).toEqual(heldSs("-uan"));
      // The namespace named by the holder's fd path is the same one.
      const byPath = await iter.query("tcp", { select: SOCKET, netns: heldPath });
      expect(byPath.map(rowLine).sort()).toEqual(tcpLines);
      expect(skipped).toEqual([]);
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    "an fd-held namespace that vanishes before it is opened is skipped and reported, not fatal",
    async () => {
      const gone = spawn(process.execPath, ["-e", FD_HOLDER, String(GONE_PORT)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      children.push(gone);
      const goneFd = Number(await ready(gone));
      const goneNs = inode(`/proc/${gone.pid}/fd/${goneFd}`);
      const files = await iter.netnsFiles();
      expect(files.some((f) => f.ino === goneNs)).toBe(true);
      const exited = new Promise((resolve) => gone.once("exit", resolve));
      gone.kill("SIGKILL");
      await exited;
      const skipped: iter.SkippedNamespace[] = [];
      const records = await iter.readPerNetns(
        iter.builtinOf("tcp")!,
        { netns: "all", onSkipped: (s) => skipped.push(s) },
        iter.taskNamespaces,
        async () => files,
      );
      expect(skipped).toEqual([
        expect.objectContaining({
          inode: goneNs,
          source: `/proc/${gone.pid}/task/${gone.pid}/fd/${goneFd}`,
        }),
      ]);
      expect(skipped[0]!.error.message).toMatch(/fd holding it was closed/);
      // The namespaces still there were read.
      expect(records.some((r) => r.netns === fdNs)).toBe(true);
      expect(records.some((r) => r.netns === goneNs)).toBe(false);
    },
  );

  it.skipIf(skip)(
    "netnsFiles() keeps only network namespace files, not other nsfs files",
    async () => {
      const others = ["mnt", "pid", "uts", "ipc"].map((t) => openSync(`/proc/self/ns/${t}`, "r"));
      const net = openSync("/proc/self/ns/net", "r");
      try {
        const mine = (await iter.netnsFiles()).filter((f) => f.tgid === process.pid);
        expect(mine.map((f) => f.fd)).toContain(net);
        for (const fd of others) expect(mine.map((f) => f.fd)).not.toContain(fd);
        for (const f of mine) expect(f.ino).toBe(own());
      } finally {
        for (const fd of [...others, net]) closeSync(fd);
      }
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    "every thread stays in its network namespace through query and querySync in others",
    async () => {
      const before = own();
      await iter.query("tcp", { select: SOCKET, netns: "all" });
      iter.querySync("udp", { select: SOCKET, netns: heldPath });
      for (const tid of readdirSync("/proc/self/task")) {
        // A thread that ended since the listing (ENOENT) is in no namespace any more.
        const ns = statSync(`/proc/self/task/${tid}/ns/net`, { throwIfNoEntry: false });
        if (ns) expect(ns.ino, `thread ${tid}`).toBe(before);
      }
    },
  );

  it("refuses a netns it cannot use before anything reaches the kernel", async () => {
    await expect(iter.query("task", { select: ["pid"], netns: "all" })).rejects.toThrow(
      /netns applies to .*tcp.*not task/,
    );
    expect(() => iter.querySync("task", { select: ["pid"], netns: 1 })).toThrow(TypeError);
    await expect(
      iter.query("tcp", { select: { netns: "sk.__sk_common.skc_num" }, netns: "all" }),
    ).rejects.toThrow(iter.QueryError);
    await expect(
      iter.query("tcp", { select: ["sk.__sk_common.skc_num"], netns: 0 }),
    ).rejects.toThrow(RangeError);
    await expect(
      iter.query("tcp", { select: ["sk.__sk_common.skc_num"], netns: { fd: -1 } }),
    ).rejects.toThrow(RangeError);
    await expect(
      iter.query("tcp", {
        select: ["sk.__sk_common.skc_num"],
        netns: "all",
        onSkipped: 3 as unknown as () => void,
      }),
    ).rejects.toThrow(TypeError);
  });

  it.skipIf(skip || !hasTarget("tcp"))(
    "bpf-iter query --netns all: a NETNS column with the fd-held namespace's rows; --netns on task is a usage error",
    () => {
      const fields = "state=sk.__sk_common.skc_state,port=sk.__sk_common.skc_num";
      const out = execFileSync(process.execPath, [CLI, "query", "tcp", fields, "--netns", "all"])
        .toString()
        .trim()
        .split("\n");
      expect(out[0]).toMatch(/^\s*NETNS\s+STATE\s+PORT/);
      const held = out.filter((l) => l.trim().startsWith(`${fdNs} `));
      expect(held.map((l) => l.trim().split(/\s+/).slice(1).join(" ")).sort()).toEqual(
        heldSs("-tan")
          .map((l) => {
            const [state, local] = l.split(" ");
            return `${{ ESTAB: 1, LISTEN: 10 }[state!]} ${local!.split(":")[1]}`;
          })
          .sort(),
      );
      const json = execFileSync(process.execPath, [
        CLI,
        "query",
        "udp",
        "port=sk.__sk_common.skc_num",
        "--netns",
        heldPath,
        "--json",
      ])
        .toString()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { netns: number; port: number });
      expect(json).toEqual([{ port: FD_PORT + 1, netns: fdNs }]);
      const bad = spawnSync(process.execPath, [CLI, "query", "task", "pid", "--netns", "all"]);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr.toString()).toMatch(/--netns applies to/);
      const tcpAll = execFileSync(process.execPath, [CLI, "tcp", "--netns", "all"]).toString();
      expect(tcpAll).toContain(`127.0.0.1:${FD_PORT}`);
    },
  );
});
