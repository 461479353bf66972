import { execFileSync } from "node:child_process";
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ldx } from "@ts-ebpf/dsl";
import { slotsOf } from "@ts-ebpf/spec";
import { BpfMap } from "@ts-ebpf/syscall";
import { describeKernel, missingFromKernel, skipWithoutTool } from "@ts-ebpf/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as iter from "../src/index.js";
import { loadQuery } from "../src/query/query.js";
import { hasTarget, lacksTarget, startSleepers } from "./helpers.js";

const CLI = new URL("../bin/bpf-iter.js", import.meta.url).pathname;

afterAll(() => iter.closeQueries());

/** /proc/<pid>/status as a map of its lines. */
function procStatus(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const at = line.indexOf(":");
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return out;
}

/** Fields of /proc/<pid>/stat after the comm (index 0 is the state). */
function procStat(pid: number): { comm: string; rest: string[] } {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  return {
    comm: text.slice(open + 1, close),
    rest: text
      .slice(close + 2)
      .trim()
      .split(" "),
  };
}

/** What /proc says of a task for each query path the property test draws from. */
const PROC_OF: Record<string, (pid: number) => unknown> = {
  tgid: (pid) => Number(procStatus(pid).get("Tgid")),
  pid: (pid) => pid,
  "real_parent.tgid": (pid) => Number(procStatus(pid).get("PPid")),
  "cred.uid.val": (pid) => Number(procStatus(pid).get("Uid")!.split(/\s+/)[0]),
  "cred.euid.val": (pid) => Number(procStatus(pid).get("Uid")!.split(/\s+/)[1]),
  "cred.gid.val": (pid) => Number(procStatus(pid).get("Gid")!.split(/\s+/)[0]),
  comm: (pid) => procStat(pid).comm,
  "signal.nr_threads": (pid) => Number(procStatus(pid).get("Threads")),
  "mm.total_vm": (pid) => BigInt(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[0]!),
  // stat field 18 (index 15 after the state's index 0 at field 3): nice.
  static_prio: (pid) => 120 + Number(procStat(pid).rest[16]),
};

describe("where: the language", () => {
  it("parses and prints a predicate (and binds tighter than or, not before both)", () => {
    const p = iter.parseWhere('not pid == 1 or comm ^= "ss" && uid.val >= 0x3e8');
    expect(iter.formatWhere(p)).toBe('(not pid == 1 or (comm ^= "ss" and uid.val >= 1000))');
    expect(iter.formatWhere(iter.parseWhere("(a < -5) and !(b != c)"))).toBe(
      "(a < -5 and not b != c)",
    );
  });
  it("names the column of a syntax error", () => {
    expect(() => iter.parseWhere("pid == ")).toThrow(
      /expected a field, number or string at the end/,
    );
    expect(() => iter.parseWhere("pid = 3")).toThrow(/unexpected "=" at column 5/);
    expect(() => iter.parseWhere("pid == 1 pid")).toThrow(/unexpected text at column 10/);
    expect(() => iter.parseWhere('comm == "x')).toThrow(/unterminated string/);
  });
});

describeKernel("query()", () => {
  let sleepers: Awaited<ReturnType<typeof startSleepers>>;
  beforeAll(async () => {
    sleepers = await startSleepers(3);
  });
  afterAll(() => sleepers.stop());

  it("errors a user can act on: the struct and nearest members, where a path stops, why a predicate does not type-check", () => {
    const err = (select: iter.QuerySelect, where?: string, target = "task") => {
      try {
        iter.compileQuery(target, { select, ...(where === undefined ? {} : { where }) });
      } catch (e) {
        expect(e).toBeInstanceOf(iter.QueryError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(err(["real_parnet.tgid"])).toMatch(
      /struct task_struct has no member "real_parnet"; nearest: real_parent/,
    );
    expect(err(["cred.uid.vla"])).toMatch(/no member "vla"; nearest: val/);
    expect(err(["pid.x"])).toMatch(/the path stops at pid, a pid_t .* remove \.x/);
    expect(err(["mm"])).toMatch(/mm is a pointer \(struct mm_struct \*\).*mm\.<member>/);
    expect(err(["comm"], "comm > 3")).toMatch(
      /comm \(char\[16\]\) is a string: only ==, != and \^= .* not >/,
    );
    expect(err(["pid"], 'pid == "1"')).toMatch(
      /pid \(pid_t\) is a number; compare it with a number/,
    );
    expect(err(["pid"], "pid == 4294967296")).toMatch(/outside the range of pid \(pid_t\)/);
    expect(err(["pid"], "cred.uid == 1")).toMatch(
      /cred.uid is a struct; compare one of its members/,
    );
    expect(err(["pid"], "comm ^= pid")).toMatch(
      /compare it with a quoted string, not the field pid/,
    );
    expect(err(["sk.sk_rcvbuf"], undefined, "tcp")).toMatch(/select sk.__sk_common.<member>/);
    expect(() => iter.compileQuery("task", { select: [] })).toThrow(/select names no field/);
    expect(() => iter.compileQuery("task", { select: [1 as unknown as string] })).toThrow(
      TypeError,
    );
    expect(() => iter.compileQuery("task", { select: ["pid"], stringLength: 1 })).toThrow(
      RangeError,
    );
  });

  it("maps a verifier rejection back to the field that caused it", () => {
    // Every kernel refuses a load through a register the program never set:
    // the code reading cred.uid.val starts with one, the rest is the query's own.
    const q = iter.compileQuery("task", { select: { pid: "tgid", uid: "cred.uid.val" } });
    const { marks } = q as unknown as { marks: ReadonlyMap<string, number> };
    const slot = marks.get("field.f1");
    expect(slot).toBeGreaterThan(marks.get("field.f0")!);
    let at = 0;
    const instructions = q.spec.instructions.map((insn) => {
      const here = at;
      at += slotsOf(insn);
      return here === slot ? ldx("u64", "r3", "r9", 0) : insn;
    });
    const broken = { ...q, spec: { ...q.spec, instructions } };
    expect(() => loadQuery(broken)).toThrow(iter.QueryError);
    expect(() => loadQuery(broken)).toThrow(
      new RegExp(
        `verifier rejected the code reading the field cred\\.uid\\.val \\([^)]+\\) \\(instruction ${slot}\\): R9 !read_ok`,
      ),
    );
    // The same query unbroken loads.
    using program = loadQuery(q);
    expect(program.fd).toBeGreaterThan(2);
  });

  it("shows the generated program in verifier syntax, the predicate before the write", () => {
    const q = iter.compileQuery("task", { select: ["pid"], where: "pid == tgid" });
    expect(q.listing).toMatch(/if r1 == r2 goto/);
    expect(q.listing.indexOf("r1 == r2")).toBeLessThan(q.listing.indexOf("call bpf_seq_write"));
    expect(q.recordSize).toBe(8);
  });

  it("comparisons decided when compiling leave no unreachable code (the verifier refuses it)", async () => {
    const all = await iter.query("task", { select: ["pid"], where: 'comm ^= "" or pid < 0' });
    expect(all.length).toBeGreaterThan(3);
    const none = await iter.query("task", {
      select: ["pid"],
      where: 'comm == "a name longer than sixteen bytes" and pid > 0',
    });
    expect(none).toEqual([]);
  });

  it("selected task values equal /proc's for processes alive throughout (random field sets)", async () => {
    const paths = Object.keys(PROC_OF);
    await fc.assert(
      fc.asyncProperty(fc.subarray(paths, { minLength: 1 }), async (selected) => {
        const rows = await iter.query("task", {
          select: ["pid", ...selected.filter((p) => p !== "pid")],
          where: `pid == ${sleepers.pids[0]} or pid == ${sleepers.pids[1]} or pid == ${sleepers.pids[2]}`,
        });
        expect(rows.map((r) => r.pid).sort()).toEqual([...sleepers.pids].sort());
        for (const row of rows) {
          for (const path of selected)
            expect(row[path], path).toEqual(PROC_OF[path]!(row.pid as number));
        }
      }),
      { numRuns: 12 },
    );
  });

  it("a predicate's output is the unfiltered output filtered in JavaScript (random predicates)", async () => {
    const select = {
      pid: "pid",
      tgid: "tgid",
      ppid: "real_parent.tgid",
      uid: "cred.uid.val",
      prio: "static_prio",
      comm: "comm",
    } as const;
    const base = await iter.query("task", { select });
    const values = (k: keyof typeof select) => base.map((r) => r[k]);
    const numeric = ["pid", "tgid", "ppid", "uid", "prio"] as const;
    const compare = fc.oneof(
      fc.record({
        op: fc.constantFrom("==", "!=", "<", "<=", ">", ">="),
        left: fc.constantFrom(...numeric),
        right: fc.oneof(
          fc.constantFrom(...numeric).map((f) => ({ field: f })),
          fc
            .constantFrom(...values("pid"), ...values("prio"), 0, 1000)
            .map((n) => ({ value: n as number })),
        ),
      }),
      fc.record({
        op: fc.constantFrom("==", "!=", "^="),
        left: fc.constant("comm"),
        right: fc
          .constantFrom(...(values("comm") as string[]))
          .chain((c) =>
            fc.integer({ min: 0, max: c.length }).map((n) => ({ text: c.slice(0, n) })),
          ),
      }),
    );
    type Cmp = {
      op: string;
      left: string;
      right: { field?: string; value?: number; text?: string };
    };
    type Tree = Cmp | { and: [Tree, Tree] } | { or: [Tree, Tree] } | { not: Tree };
    const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
      t: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        compare as fc.Arbitrary<Tree>,
        fc.tuple(tie("t"), tie("t")).map((p) => ({ and: p }) as Tree),
        fc.tuple(tie("t"), tie("t")).map((p) => ({ or: p }) as Tree),
        tie("t").map((t) => ({ not: t }) as Tree),
      ),
    })).t;
    const text = (t: Tree): string => {
      if ("and" in t) return `(${text(t.and[0])} and ${text(t.and[1])})`;
      if ("or" in t) return `(${text(t.or[0])} || ${text(t.or[1])})`;
      if ("not" in t) return `not (${text(t.not)})`;
      const r = t.right;
      return `${t.left} ${t.op} ${r.field ?? (r.text !== undefined ? JSON.stringify(r.text) : r.value)}`;
    };
    const evaluate = (t: Tree, row: Record<string, unknown>): boolean => {
      if ("and" in t) return evaluate(t.and[0], row) && evaluate(t.and[1], row);
      if ("or" in t) return evaluate(t.or[0], row) || evaluate(t.or[1], row);
      if ("not" in t) return !evaluate(t.not, row);
      const a = row[t.left] as number | string;
      const b = (t.right.field ? row[t.right.field] : (t.right.text ?? t.right.value)) as
        | number
        | string;
      switch (t.op) {
        case "==":
          return a === b;
        case "!=":
          return a !== b;
        case "<":
          return a < b;
        case "<=":
          return a <= b;
        case ">":
          return a > b;
        case ">=":
          return a >= b;
        default:
          return (a as string).startsWith(b as string);
      }
    };
    const key = (r: object) => JSON.stringify(r);
    await fc.assert(
      fc.asyncProperty(tree, async (t) => {
        const before = await iter.query("task", { select });
        const filtered = await iter.query("task", { select, where: text(t) });
        const after = await iter.query("task", { select });
        // Tasks come and go: judge the rows identical before and after.
        const stable = new Set(after.map(key));
        const kept = before.filter((r) => stable.has(key(r)));
        const keptKeys = new Set(kept.map(key));
        const expected = kept
          .filter((r) => evaluate(t, r))
          .map(key)
          .sort();
        const got = filtered
          .map(key)
          .filter((k) => keptKeys.has(k))
          .sort();
        expect(got, text(t)).toEqual(expected);
      }),
      { numRuns: 25 },
    );
  });

  it("types values by BTF: signed ints, 8-byte bigints, enums by name, bool, nested structs, arrays", async () => {
    const [row] = await iter.query("task", {
      select: { pid: "pid", prio: "static_prio", vm: "mm.total_vm", cred: "cred.uid", ids: "comm" },
      where: `pid == ${process.pid}`,
    });
    expect(row).toBeDefined();
    expect(typeof row!.prio).toBe("number");
    expect(typeof row!.vm).toBe("bigint");
    expect(row!.cred).toEqual({ val: Number(procStatus(process.pid).get("Uid")!.split(/\s+/)[0]) });
    // A value inside an array element is copied with bpf_probe_read_kernel (5.10's verifier
    // refuses some direct loads there): RLIMIT_NOFILE (7) as /proc/self/limits has it.
    const nofile = { select: { soft: "signal.rlim[7].rlim_cur" }, where: `pid == ${process.pid}` };
    expect(iter.compileQuery("task", nofile).columns[0]!.leaves[0]!.probeRead).toBe(true);
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))![1]!;
    expect(await iter.query("task", nofile)).toEqual([{ soft: BigInt(soft) }]);
    const bpfMaps = iter.compileQuery("bpf_map", {
      select: { type: "map.map_type", frozen: "map.frozen", name: "map.name" },
    });
    const leaf = (k: string) => bpfMaps.columns.find((c) => c.key === k)!.leaves[0]!.value.type;
    expect(leaf("type")).toBe("enum");
    expect(leaf("frozen")).toBe("bool");
    expect(leaf("name")).toBe("string");
  });

  /** A query per target with a BTF context: each loads and reads what the target's object holds. */
  const TARGET_QUERIES: Record<string, Record<string, string>> = {
    task_vma: { pid: "task.tgid", start: "vma.vm_start", end: "vma.vm_end" },
    udp: { port: "sk.__sk_common.skc_num" },
    unix: { family: "sk.__sk_common.skc_family" },
    netlink: { portid: "sk.portid" },
    bpf_map: { id: "map.id", name: "map.name", type: "map.map_type" },
    bpf_prog: { id: "prog.aux.id", type: "prog.type" },
    bpf_link: { id: "link.id", type: "link.type" },
    cgroup: { id: "cgroup.kn.id", level: "cgroup.level" },
    ksym: { name: "ksym.name", value: "ksym.value" },
  };
  for (const [target, select] of Object.entries(TARGET_QUERIES)) {
    it.skipIf(lacksTarget(target) !== undefined)(`${target}: a query loads and reads`, async () => {
      const rows = await iter.query(target, { select });
      for (const row of rows.slice(0, 50)) expect(Object.keys(row)).toEqual(Object.keys(select));
      if (target === "task_vma") {
        const mine = rows.filter((r) => r.pid === process.pid);
        expect(mine.length).toBeGreaterThan(0);
        expect(mine.every((r) => (r.start as bigint) < (r.end as bigint))).toBe(true);
      }
      if (target === "bpf_map") {
        using map = BpfMap.create({
          type: 2,
          keySize: 4,
          valueSize: 4,
          maxEntries: 1,
          name: "query_probe",
        });
        const again = await iter.query(target, { select, where: 'name == "query_probe"' });
        expect(again).toEqual([
          { id: map.info().id, name: "query_probe", type: "BPF_MAP_TYPE_ARRAY" },
        ]);
      }
      if (target === "ksym") expect(rows.some((r) => r.name === "bpf_seq_write")).toBe(true);
      if (target === "unix") expect(rows.every((r) => r.family === 1)).toBe(true);
    });
  }

  it("task_file: fd, inode and bpf_d_path's path equal the process's own fds (before 5.12 the path is refused, naming the release)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "query-"));
    const fds = [0, 1, 2].map((i) => openSync(join(dir, `f${i}`), "w"));
    // bpf_d_path in iterator programs came with the task_vma iterator (5.12).
    const noDPath = missingFromKernel(
      "bpf_d_path in iterators (it came with the task_vma iterator)",
      hasTarget("task_vma"),
      "5.12",
    );
    const where = `task.tgid == ${process.pid} and task.pid == ${process.pid}`;
    try {
      if (noDPath) {
        await expect(
          iter.query("task_file", { select: { fd: "fd", path: "file.f_path" }, where }),
        ).rejects.toThrow(
          /reading the field file\.f_path \(struct path\) \(iterator programs may call bpf_d_path from Linux 5\.12 on/,
        );
      }
      const rows = await iter.query("task_file", {
        select: {
          fd: "fd",
          ino: "file.f_inode.i_ino",
          // Without bpf_d_path: the name in the dentry.
          path: noDPath ? "file.f_path.dentry.d_name.name" : "file.f_path",
        },
        where,
      });
      for (const fd of fds) {
        const row = rows.find((r) => r.fd === fd);
        expect(row, `fd ${fd}`).toBeDefined();
        expect(row!.ino).toBe(fstatSync(fd, { bigint: true }).ino);
        const link = readlinkSync(`/proc/self/fd/${fd}`);
        expect(row!.path).toBe(noDPath ? basename(link) : link);
      }
    } finally {
      for (const fd of fds) closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });

  describe("tcp", () => {
    let server: Server;
    let port = 0;
    beforeAll(async () => {
      server = createServer();
      await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => server.close());
    it.skipIf(lacksTarget("tcp") !== undefined || skipWithoutTool(hasSs()))(
      "a listening socket's port, state and uid equal ss -tanpe's",
      async () => {
        const rows = await iter.query("tcp", {
          select: {
            port: "sk_common.skc_num",
            dport: "sk.__sk_common.skc_dport",
            state: "sk_common.skc_state",
            uid: "uid",
          },
          where: `sk_common.skc_num == ${port}`,
        });
        expect(rows).toEqual([{ port, dport: 0, state: 10, uid: process.getuid!() }]);
        const ss = execFileSync("ss", [
          "-tanpe",
          "state",
          "listening",
          `sport = :${port}`,
        ]).toString();
        // ss -e prints uid: only when it is not 0.
        const uid = process.getuid!();
        expect(ss).toMatch(
          new RegExp(
            `127\\.0\\.0\\.1:${port}\\b.*pid=${process.pid}\\b${uid ? `.*uid:${uid}` : ""}`,
          ),
        );
      },
    );
  });

  it("processes(): one row per process matching /proc/<pid>/{status,stat,statm,exe,cgroup}", async () => {
    const ps = await iter.processes();
    expect(ps.every((p) => p.pid === p.tid)).toBe(true);
    for (const pid of sleepers.pids) {
      const p = ps.find((x) => x.pid === pid);
      expect(p, `pid ${pid}`).toBeDefined();
      const status = procStatus(pid);
      const stat = procStat(pid);
      expect(p!.ppid).toBe(Number(status.get("PPid")));
      expect(p!.uid).toBe(Number(status.get("Uid")!.split(/\s+/)[0]));
      expect(p!.gid).toBe(Number(status.get("Gid")!.split(/\s+/)[0]));
      expect(p!.comm).toBe(stat.comm);
      expect(p!.state).toBe(stat.rest[0]);
      expect(p!.threads).toBe(Number(status.get("Threads")));
      // The kernel's percpu counters: /proc sums the CPUs' parts, the program reads
      // the shared count, off by at most a batch per CPU per counter (3 counters).
      const cpus = availableParallelism();
      const slack = 3 * cpus * Math.max(32, 2 * cpus);
      const statm = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
      expect(Math.abs(p!.rssPages - statm)).toBeLessThanOrEqual(slack);
      // starttime (field 22) is in clock ticks of 1/100 s.
      expect(Math.floor(Number(p!.startTimeNs) / 1e7)).toBe(Number(stat.rest[19]));
      expect(p!.exe).toBe(readlinkSync(`/proc/${pid}/exe`));
      const v2 = readFileSync(`/proc/${pid}/cgroup`, "utf8")
        .split("\n")
        .find((l) => l.startsWith("0::"));
      if (v2 && p!.cgroupPath !== undefined) expect(p!.cgroupPath).toBe(v2.slice(3));
    }
    const threads = await iter.processes({ threads: true });
    expect(threads.length).toBeGreaterThan(ps.length);
    const mine = threads.filter((t) => t.pid === process.pid);
    expect(mine.length).toBe(Number(procStatus(process.pid).get("Threads")));
    const one = await iter.processes({ where: `pid == ${sleepers.pids[0]}` });
    expect(one.map((p) => p.pid)).toEqual([sleepers.pids[0]]);
  });

  it("processArgs(): argv and the environment from a sleepable iterator equal /proc/<pid>/{cmdline,environ} (before 5.18 a QueryError names the release)", async (ctx) => {
    const why = missingFromKernel("bpf_copy_from_user_task", iter.hasCopyFromUserTask(), "5.18");
    if (why) {
      await expect(iter.processArgs()).rejects.toThrow(iter.QueryError);
      await expect(iter.processes({ argv: true })).rejects.toThrow(
        /bpf_copy_from_user_task in a sleepable task iterator: Linux 5\.18 or later/,
      );
      return ctx.skip(why);
    }
    const args = await iter.processArgs();
    for (const pid of sleepers.pids) {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
      expect(args.find((a) => a.pid === pid)).toEqual({
        pid,
        strings: cmdline,
        truncated: false,
      });
    }
    const env = await iter.processArgs({ which: "env", max: 16 });
    const own = env.find((e) => e.pid === process.pid)!;
    const environ = readFileSync("/proc/self/environ", "latin1");
    expect(own.truncated).toBe(environ.length > 16);
    expect(own.strings.join("\0")).toBe(environ.slice(0, 16).replace(/\0$/, ""));
    const ps = await iter.processes({ argv: true, where: `pid == ${sleepers.pids[0]}` });
    expect(ps[0]!.argv).toEqual(["sleep", "600"]);
    await expect(iter.processArgs({ max: 12 })).rejects.toThrow(RangeError);
  });

  it("bpf-iter query and ps", () => {
    const out = execFileSync(process.execPath, [
      CLI,
      "query",
      "task",
      "pid=tgid,ppid=real_parent.tgid,comm",
      "--where",
      `tgid == ${sleepers.pids[0]} and pid == tgid`,
      "--json",
    ]).toString();
    expect(
      out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([{ pid: sleepers.pids[0], ppid: process.pid, comm: "sleep" }]);
    const ps = execFileSync(process.execPath, [
      CLI,
      "ps",
      "--json",
      "--where",
      `pid == ${sleepers.pids[1]}`,
    ]).toString();
    expect(JSON.parse(ps)).toMatchObject({
      pid: sleepers.pids[1],
      comm: "sleep",
      state: "S",
      threads: 1,
    });
    const table = execFileSync(process.execPath, [CLI, "ps"]).toString();
    expect(table.split("\n")[0]).toMatch(/^\s*PID\s+PPID\s+UID\s+GID\s+S\s+THR\s+RSS/);
    const bad = (() => {
      try {
        execFileSync(process.execPath, [CLI, "query", "task", "real_parnet.tgid"], {
          stdio: "pipe",
        });
      } catch (e) {
        return (e as { stderr: Buffer }).stderr.toString();
      }
      return "";
    })();
    expect(bad).toMatch(/no member "real_parnet"; nearest: real_parent/);
  });
});

function hasSs(): boolean {
  try {
    execFileSync("ss", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
