// Network and pid namespaces: the tests make their own (ip netns add, unshare),
// put sockets in them (loopback only), compare with ss inside the namespace
// and with /proc/<pid>/net/tcp of a process there, and compare pid views with
// /proc mounted inside an `unshare --pid --fork --mount-proc` child. Every
// namespace and process is removed at the end.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeKernel, kernelRequired } from "@ts-ebpf/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as iter from "../src/index.js";
import { hasTarget } from "./helpers.js";

const tool = (name: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
};
const haveTools = ["ip", "ss", "unshare", "setpriv"].every(tool);
// Under TS_EBPF_REQUIRE_KERNEL=1 a missing tool fails instead of skipping.
const skip = !haveTools && !kernelRequired();
if (!haveTools) console.warn("\n!!! namespace tests need ip, ss, unshare and setpriv !!!\n");

const tag = `tsebpf${process.pid}`;
const NAMED = `${tag}a`; // ip netns add, with a process holding sockets
const EMPTY = `${tag}c`; // ip netns add, nothing inside: only the bind mount keeps it
const PORT = 41000 + (process.pid % 1000);
const CLI = join(import.meta.dirname, "../dist/cli/main.js");

/** A node process that opens sockets on loopback and prints "ready". */
const HOLDER = `
const net = require("node:net"), dgram = require("node:dgram");
const port = Number(process.argv[1]);
const srv = net.createServer(() => {}).listen(port, "127.0.0.1", () => {
  const c = net.connect(port, "127.0.0.1", () => {
    const u = dgram.createSocket("udp4");
    u.bind(port + 1, "127.0.0.1", () => {
      const six = net.createServer().listen(port + 2, "::1", () => {
        const x = net.createServer().listen("\\0" + process.argv[2], () => console.log("ready"));
      });
    });
  });
});
setInterval(() => {}, 1e6);
`;

async function started(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`holder exited (${code}): ${out}`)));
  });
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" }).toString();
const inode = (path: string) => statSync(path).ino;

/** `ss -H <flags>` inside a named namespace: "STATE local peer" lines, as our records print them. */
function ssLines(ns: string, flags: string): string[] {
  const out = ip("netns", "exec", ns, "ss", "-H", flags).trim();
  if (out === "") return [];
  return out
    .split("\n")
    .map((line) => {
      const [state, , , local, peer] = line.trim().split(/\s+/);
      // An unconnected peer is "0.0.0.0:*", "[::]:*", or "*:*" in older ss.
      const wildcard = local!.startsWith("[") ? "[::]:0" : "0.0.0.0:0";
      return `${state} ${local} ${peer === "*:*" ? wildcard : peer!.replace(/:\*$/, ":0")}`;
    })
    .sort();
}

const SS_STATE: Record<string, string> = {
  ESTABLISHED: "ESTAB",
  LISTEN: "LISTEN",
  UNCONN: "UNCONN",
};
const hostPort = (a: string, p: number) => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);
const sockLine = (s: iter.InetSocket | iter.UdpSocket) =>
  `${SS_STATE[s.stateName] ?? s.stateName} ${hostPort(s.localAddress, s.localPort)} ${hostPort(s.remoteAddress, s.remotePort)}`;

/** IPv4 sockets of /proc/<pid>/net/tcp: "state local peer", addresses as text. */
function procTcp(pid: number): string[] {
  const addr = (hex: string) => {
    const [ip4, port] = hex.split(":");
    const b = Buffer.from(ip4!, "hex").reverse();
    return `${b.join(".")}:${Number.parseInt(port!, 16)}`;
  };
  return readFileSync(`/proc/${pid}/net/tcp`, "utf8")
    .split("\n")
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const [, local, peer, st] = line.trim().split(/\s+/);
      return `${Number.parseInt(st!, 16)} ${addr(local!)} ${addr(peer!)}`;
    })
    .sort();
}

afterAll(() => iter.closeBuiltins());

describeKernel("network namespaces", () => {
  const children: ChildProcess[] = [];
  let unnamed: ChildProcess; // holds sockets in a namespace no mount keeps (unshare --net)

  beforeAll(async () => {
    if (skip) return;
    ip("netns", "add", NAMED);
    ip("netns", "add", EMPTY);
    ip("-n", NAMED, "link", "set", "lo", "up");
    const named = spawn(
      "ip",
      ["netns", "exec", NAMED, process.execPath, "-e", HOLDER, String(PORT), `${tag}-a`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(named);
    unnamed = spawn(
      "unshare",
      [
        "--net",
        "sh",
        "-c",
        `ip link set lo up && exec "${process.execPath}" -e '${HOLDER}' ${PORT + 10} ${tag}-b`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(unnamed);
    await Promise.all([started(named), started(unnamed)]);
  });

  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    for (const ns of [NAMED, EMPTY]) {
      try {
        ip("netns", "del", ns);
      } catch {
        // not made
      }
    }
  });

  const own = () => inode("/proc/thread-self/ns/net");

  it.skipIf(skip || !hasTarget("tcp"))(
    "tcp({ netns: /run/netns/<name> }) lists what `ip netns exec <name> ss -tan` does, each with that namespace's inode",
    async () => {
      const sockets = await iter.tcp({ netns: `/run/netns/${NAMED}` });
      expect(sockets.map(sockLine).sort()).toEqual(ssLines(NAMED, "-tan"));
      expect(sockets.length).toBe(4); // listener, both ends of the connection, ::1 listener
      const ino = inode(`/run/netns/${NAMED}`);
      for (const s of sockets) expect(s.netns).toBe(ino);
      expect(own()).not.toBe(ino);
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    "tcp({ netns: pid }) lists the sockets /proc/<pid>/net/tcp shows for a process inside",
    async () => {
      const pid = unnamed.pid!;
      const sockets = await iter.tcp({ netns: pid });
      const v4 = sockets.filter((s) => s.family === "inet");
      expect(
        v4
          .map(
            (s) => `${s.state} ${s.localAddress}:${s.localPort} ${s.remoteAddress}:${s.remotePort}`,
          )
          .sort(),
      ).toEqual(procTcp(pid));
      expect(v4.length).toBe(3);
      for (const s of sockets) expect(s.netns).toBe(inode(`/proc/${pid}/ns/net`));
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    "{ fd } walks the namespace of a borrowed fd, and leaves it open",
    async () => {
      const fd = openSync(`/run/netns/${NAMED}`, "r");
      try {
        const sockets = await iter.tcp({ netns: { fd } });
        expect(sockets.map(sockLine).sort()).toEqual(ssLines(NAMED, "-tan"));
        expect(statSync(`/proc/self/fd/${fd}`).ino).toBe(inode(`/run/netns/${NAMED}`));
      } finally {
        closeSync(fd);
      }
    },
  );

  it.skipIf(skip || !hasTarget("udp") || !hasTarget("unix"))(
    "udp and unix in a namespace match ss -uan and ss -xan there",
    async () => {
      const udp = await iter.udp({ netns: `/run/netns/${NAMED}` });
      expect(udp.map(sockLine).sort()).toEqual(ssLines(NAMED, "-uan"));
      expect(udp.length).toBe(1);
      const unix = await iter.unix({ netns: `/run/netns/${NAMED}` });
      // ss shows an abstract name with "@" for the leading NUL and for the
      // NULs after the name (node binds with the whole sun_path length).
      const ssUnix = ip("netns", "exec", NAMED, "ss", "-Hxan")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => {
          const cells = l.trim().split(/\s+/);
          return `${cells[4]} ${cells[5]}`;
        })
        .sort();
      expect(unix.map((u) => `${u.path.replace(/\0/g, "@") || "*"} ${u.ino}`).sort()).toEqual(
        ssUnix,
      );
      // Node pads an abstract name with NULs to the whole sun_path in some versions.
      expect(unix.some((u) => new RegExp(`^@${tag}-a\0*$`).test(u.path))).toBe(true);
    },
  );

  it.skipIf(skip || !hasTarget("netlink") || !hasTarget("ipv6_route"))(
    "netlink sockets and IPv6 routes of another namespace are that namespace's",
    async () => {
      const routes = await iter.ipv6Routes({ netns: `/run/netns/${NAMED}` });
      // Only loopback is up there: every route is on lo (or the kernel's null entry).
      expect(routes.length).toBeGreaterThan(0);
      for (const r of routes) expect(["lo", ""]).toContain(r.device);
      expect(routes.some((r) => r.destination === "::1")).toBe(true);
      const netlink = await iter.netlinkSockets({ netns: `/run/netns/${NAMED}` });
      const ours = await iter.netlinkSockets();
      expect(netlink.every((s) => s.netns === inode(`/run/netns/${NAMED}`))).toBe(true);
      expect(ours.every((s) => s.netns === own())).toBe(true);
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    '"all" finds the tasks\' namespaces and those only a mount keeps, and merges every socket',
    async () => {
      const found = await iter.networkNamespaces();
      const inodes = found.map((n) => n.inode);
      expect(new Set(inodes).size).toBe(inodes.length);
      const named = inode(`/run/netns/${NAMED}`);
      const empty = inode(`/run/netns/${EMPTY}`);
      const unnamedNs = inode(`/proc/${unnamed.pid}/ns/net`);
      expect(inodes).toEqual(expect.arrayContaining([own(), named, empty, unnamedNs]));
      const skipped: iter.SkippedNamespace[] = [];
      const all = await iter.tcp({ netns: "all", onSkipped: (s) => skipped.push(s) });
      const inNs = (ino: number) =>
        all
          .filter((s) => s.netns === ino)
          .map(sockLine)
          .sort();
      expect(inNs(named)).toEqual(ssLines(NAMED, "-tan"));
      expect(inNs(empty)).toEqual([]);
      expect(inNs(unnamedNs).length).toBe(4);
      // Nothing but the namespaces found was read, each once.
      expect([...new Set(all.map((s) => s.netns))].every((n) => inodes.includes(n))).toBe(true);
      expect(skipped).toEqual([]);
    },
  );

  it.skipIf(skip)(
    "taskNamespaces() gives each task's network and mount namespace, as /proc/<pid>/ns shows them",
    async () => {
      const list = await iter.taskNamespaces();
      const byPid = new Map(list.map((t) => [t.pid, t]));
      for (const pid of [process.pid, unnamed.pid!]) {
        expect(byPid.get(pid)).toEqual({
          tgid: pid,
          pid,
          netns: inode(`/proc/${pid}/ns/net`),
          mntns: inode(`/proc/${pid}/ns/mnt`),
        });
      }
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    "the event-loop thread and every other thread stay in their network namespace",
    async () => {
      const before = own();
      await iter.tcp({ netns: "all" });
      await iter.udp({ netns: `/run/netns/${NAMED}` });
      // The event-loop thread (tid = pid) first; it never ends.
      expect(inode(`/proc/self/task/${process.pid}/ns/net`)).toBe(before);
      let checked = 0;
      for (const tid of readdirSync("/proc/self/task")) {
        let ns: number;
        try {
          ns = inode(`/proc/self/task/${tid}/ns/net`);
        } catch (e) {
          // A thread that ended after the listing (the addon's, joined but still in
          // do_exit on one CPU) has no namespaces left: gone, not elsewhere.
          if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
          throw e;
        }
        expect(ns, `thread ${tid}`).toBe(before);
        checked++;
      }
      // V8's and libuv's threads at least.
      expect(checked).toBeGreaterThan(1);
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    "a namespace that vanished before it could be opened is skipped and reported, not fatal",
    async () => {
      const tcp = iter.builtinOf("tcp")!;
      const gone = { tgid: 0x3ffffff, pid: 0x3ffffff, netns: 4000000001, mntns: 0 };
      const skipped: iter.SkippedNamespace[] = [];
      const records = await iter.readPerNetns(
        tcp,
        { netns: "all", onSkipped: (s) => skipped.push(s) },
        async () => [gone],
      );
      expect(skipped).toHaveLength(1);
      expect(skipped[0]!.inode).toBe(4000000001);
      expect(skipped[0]!.error.message).toMatch(/exited/);
      // The namespaces still there (ours, the mounted ones) were read.
      expect(records.some((r) => r.netns === inode(`/run/netns/${NAMED}`))).toBe(true);
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    'without CAP_SYS_ADMIN: one namespace is an error naming it; "all" reads ours and reports the rest',
    () => {
      const script = `
        import("${join(import.meta.dirname, "../dist/index.js")}").then(async (it) => {
          let one;
          try { await it.tcp({ netns: "/run/netns/${NAMED}" }); one = "no error"; }
          catch (e) { one = e.message; }
          const skipped = [];
          const all = await it.tcp({ netns: "all", onSkipped: (s) => skipped.push(s.error.message) });
          console.log(JSON.stringify({ one, all: all.length, skipped }));
          it.closeBuiltins();
        });`;
      const out = execFileSync(
        "setpriv",
        [
          "--bounding-set=-sys_admin",
          "--inh-caps=-sys_admin",
          process.execPath,
          "--input-type=module",
          "-e",
          script,
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      ).toString();
      const result = JSON.parse(out) as { one: string; all: number; skipped: string[] };
      expect(result.one).toMatch(/CAP_SYS_ADMIN/);
      expect(result.skipped.length).toBeGreaterThan(0);
      for (const m of result.skipped) expect(m).toMatch(/CAP_SYS_ADMIN/);
    },
  );

  it("refuses bad selectors before anything reaches the kernel", async () => {
    await expect(iter.tcp({ netns: 0 })).rejects.toThrow(RangeError);
    await expect(iter.tcp({ netns: -3 })).rejects.toThrow(RangeError);
    await expect(iter.tcp({ netns: "" })).rejects.toThrow(TypeError);
    await expect(iter.tcp({ netns: { fd: -1 } })).rejects.toThrow(RangeError);
    await expect(iter.tcp({ netns: true as unknown as number })).rejects.toThrow(TypeError);
    await expect(iter.tcp({ netns: 0x3ffffff })).rejects.toThrow(/no process/);
    await expect(iter.tcp({ netns: "/nonexistent/ns" })).rejects.toThrow(/does not exist/);
  });

  it.skipIf(skip || !hasTarget("tcp"))(
    "a path that is not a network namespace is refused with the reason, a FIFO without blocking",
    async () => {
      await expect(iter.tcp({ netns: "/proc/self/ns/pid" })).rejects.toThrow(
        /not a network namespace/,
      );
      const dir = mkdtempSync(join(tmpdir(), "netns-fifo-"));
      try {
        execFileSync("mkfifo", [`${dir}/fifo`]);
        await expect(iter.tcp({ netns: `${dir}/fifo` })).rejects.toThrow(/not a network namespace/);
        await expect(iter.tasks({ pidns: `${dir}/fifo` })).rejects.toThrow(/not a namespace file/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(skip || !hasTarget("tcp"))(
    "bpf-iter tcp --netns all prints a NETNS column with every namespace's sockets",
    () => {
      const out = execFileSync(process.execPath, [CLI, "tcp", "--netns", "all"]).toString();
      const [header, ...rows] = out.trim().split("\n");
      expect(header).toMatch(/^\s*NETNS\s+STATE\s+LOCAL\s+REMOTE/);
      const named = String(inode(`/run/netns/${NAMED}`));
      const mine = rows.filter((r) => r.trim().startsWith(`${named} `));
      expect(mine).toHaveLength(4);
      expect(mine.some((r) => r.includes(`127.0.0.1:${PORT}`))).toBe(true);
      const one = execFileSync(process.execPath, [
        CLI,
        "udp",
        "--netns",
        `/run/netns/${NAMED}`,
        "--json",
      ])
        .toString()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { netns: number; localPort: number });
      expect(one).toEqual([expect.objectContaining({ netns: Number(named), localPort: PORT + 1 })]);
    },
  );
});

describeKernel("pid namespaces", () => {
  let outer: ChildProcess; // the unshare process: it unshared, its child is pid 1 inside
  let init = 0; // host pid of the namespace's pid 1

  beforeAll(async () => {
    if (skip) return;
    outer = spawn(
      "unshare",
      ["--pid", "--fork", "--mount-proc", "sh", "-c", "sleep 600 & sleep 600 & echo ready; wait"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await started(outer);
    const child = (await iter.tasks()).find((t) => t.ppid === outer.pid && t.pid === t.tgid);
    init = child!.tgid;
  });

  afterAll(() => {
    if (init) {
      try {
        process.kill(init, "SIGKILL");
      } catch {
        // gone
      }
    }
    outer?.kill("SIGKILL");
  });

  /** The processes /proc inside the namespace shows: "pid ppid name". */
  function insideProc(): string[] {
    const proc = `/proc/${init}/root/proc`;
    return readdirSync(proc)
      .filter((d) => /^\d+$/.test(d))
      .map((pid) => {
        const status = readFileSync(`${proc}/${pid}/status`, "utf8");
        const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, "m").exec(status)![1];
        return `${pid} ${field("PPid")} ${field("Name")}`;
      })
      .sort();
  }

  it.skipIf(skip)(
    "task records carry the pid namespace inode /proc/<pid>/ns/pid shows",
    async () => {
      const tasks = await iter.tasks();
      const byPid = new Map(tasks.map((t) => [t.pid, t]));
      const mine = byPid.get(process.pid)!;
      expect(mine.pidns).toBe(inode("/proc/self/ns/pid"));
      expect(mine.netns).toBe(inode("/proc/self/ns/net"));
      expect(mine.mntns).toBe(inode("/proc/self/ns/mnt"));
      const inner = byPid.get(init)!;
      expect(inner.pidns).toBe(inode(`/proc/${init}/ns/pid`));
      expect(inner.pidLevel).toBe(mine.pidLevel + 1);
      // unshare(CLONE_NEWPID) moved only its children: it stays in ours.
      const unshared = byPid.get(outer.pid!)!;
      expect(unshared.pidns).toBe(inode(`/proc/${outer.pid}/ns/pid`));
      expect(unshared.pidns).toBe(mine.pidns);
    },
  );

  it.skipIf(skip)(
    "tasks({ pidns }) gives exactly the processes and ids /proc inside the namespace shows",
    async () => {
      for (const selector of [init, `/proc/${init}/ns/pid`]) {
        const before = insideProc();
        const tasks = await iter.tasks({ pidns: selector });
        const leaders = tasks
          .filter((t) => t.nsPid === t.nsTgid)
          .map((t) => `${t.nsTgid} ${t.nsPpid} ${t.comm}`)
          .sort();
        expect(leaders).toEqual(before);
        expect(leaders.length).toBe(3); // sh and its two sleeps
        expect(tasks.find((t) => t.nsPid === 1)!.tgid).toBe(init);
      }
    },
  );

  it.skipIf(skip)("the caller's own namespace sees every task with its own ids", async () => {
    const tasks = await iter.tasks({ pidns: process.pid });
    const mine = tasks.find((t) => t.pid === process.pid)!;
    expect(mine.nsPid).toBe(process.pid);
    expect(mine.nsPpid).toBe(process.ppid);
  });

  it.skipIf(skip)(
    "cgroup id and path per task, as /proc/<pid>/cgroup shows the v2 path",
    async () => {
      // Without { pid } (a 6.1 parameter): every task, then ours.
      const tasks = (await iter.tasks({ cgroupPath: true })).filter((t) => t.tgid === process.pid);
      const line = readFileSync("/proc/self/cgroup", "utf8")
        .split("\n")
        .find((l) => l.startsWith("0::"));
      expect(tasks.length).toBeGreaterThan(0);
      for (const t of tasks) expect(typeof t.cgroupId).toBe("bigint");
      if (line && existsCgroup2()) expect(tasks[0]!.cgroupPath).toBe(line.slice(3));
    },
  );

  it("refuses bad pid namespace selectors", async () => {
    await expect(iter.tasks({ pidns: 0 })).rejects.toThrow(RangeError);
    await expect(iter.tasks({ pidns: "" })).rejects.toThrow(TypeError);
    await expect(iter.tasks({ pidns: "/nonexistent" })).rejects.toThrow(/does not exist/);
  });

  it.skipIf(skip)("bpf-iter ps --pidns <pid> shows the namespace's pids with host pids", () => {
    const out = execFileSync(process.execPath, [CLI, "ps", "--pidns", String(init)]).toString();
    const [header, ...rows] = out.trim().split("\n");
    expect(header).toMatch(/PID\s+TID\s+PPID\s+HOST-PID/);
    const first = rows.map((r) => r.trim().split(/\s+/)).find((c) => c[0] === "1")!;
    expect(Number(first[3])).toBe(init);
    expect(rows.length).toBe(3);
  });
});

function existsCgroup2(): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8").includes(" - cgroup2 ");
}

describe("netns mount parsing", () => {
  it("finds nsfs mounts of network namespaces only, with escaped paths", () => {
    const info = [
      "600 30 0:4 net:[4026532178] /run/netns/a rw shared:1 - nsfs nsfs rw",
      "601 30 0:4 net:[4026532999] /run/netns/with\\040space rw - nsfs nsfs rw",
      "602 30 0:4 pid:[4026532111] /run/pidns/x rw - nsfs nsfs rw",
      "603 30 0:4 / /mnt rw - ext4 /dev/sda rw",
    ].join("\n");
    expect(iter.netnsMounts(info)).toEqual([
      [4026532178, "/run/netns/a"],
      [4026532999, "/run/netns/with space"],
    ]);
  });
});
