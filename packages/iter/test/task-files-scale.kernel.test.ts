// task_file past the kernel's object limit. One read(2) of an iterator visits
// at most MAX_ITER_OBJECTS (1,000,000, kernel/bpf/bpf_iter.c) objects: when
// it reaches that many with nothing written, bpf_seq_read stops and returns
// EAGAIN, and the next read resumes at the next object. A program that
// writes little (a filter, a count) over more than a million open files gets
// there; the reader must retry and lose nothing. A million fds also checks
// that taskFiles() returns every one of them.
//
// The fds are held by bash processes started as "tsfdhold" (a symlink, so
// their comm is distinctive), each dup()ing one /dev/null open as many times
// as its RLIMIT_NOFILE allows (raising the hard limit takes CAP_SYS_RESOURCE,
// which a container may withhold, so the million is spread over processes).
// They exit when their stdin closes: when the test ends, however it ends.
// Without bash (the test-vm guests have busybox only, and an emulated
// million fds would take too long there) the tests skip.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKernelBtf } from "@ts-ebpf/btf";
import {
  add,
  call,
  exit,
  type Item,
  jeq,
  jne,
  label,
  ldImm64,
  ldMapFd,
  ldx,
  mov,
  st,
  stx,
} from "@ts-ebpf/dsl";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfMap, codecs, type MapFdSource, openIteratorFd } from "@ts-ebpf/syscall";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  closeBuiltins,
  createIterator,
  type FdIo,
  IteratorReader,
  iteratorSpec,
  nodeFdIo,
  taskFiles,
} from "../src/index.js";

/** The kernel's MAX_ITER_OBJECTS: objects one read(2) visits at most. */
const MAX_ITER_OBJECTS = 1_000_000;
const COMM = "tsfdhold"; // 8 bytes: compared as one u64, then the NUL after it
const bash = ["/bin/bash", "/usr/bin/bash"].find((p) => existsSync(p));

/** This process's soft RLIMIT_NOFILE: what a child inherits and may use. */
function softFdLimit(): number {
  const m = /^Max open files\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  return m?.[1] === "unlimited" ? 1_048_576 : Number(m?.[1] ?? 1024);
}

/**
 * task_file program counting, in `counter`'s one u64, the fds of tasks whose
 * comm is COMM, and writing the count (8 bytes) at the end of the session
 * (the call with a NULL task): nothing at all is written before the end.
 */
function countHolderFdsProgram(counter: MapFdSource) {
  const btf = loadKernelBtf();
  const ctx = (m: string) => btf.memberOffset("bpf_iter__task_file", m).offset;
  const seqOff = btf.memberOffset("bpf_iter_meta", "seq").offset;
  const comm = btf.memberOffset("task_struct", "comm").offset;
  const marker = new DataView(new TextEncoder().encode(COMM).buffer).getBigUint64(0, true);
  const lookup: Item[] = [
    st("u32", "r10", -8, 0),
    ldMapFd("r1", { handle: counter }),
    mov("r2", "r10"),
    add("r2", -8),
    call("map_lookup_elem"),
    jeq("r0", 0, "out"),
  ];
  const body: Item[] = [
    ldx("u64", "r7", "r1", ctx("meta")),
    ldx("u64", "r8", "r1", ctx("task")),
    ldx("u64", "r6", "r7", seqOff),
    jeq("r8", 0, "end"),
    ldx("u64", "r1", "r8", comm),
    ldImm64("r2", marker),
    jne("r1", "r2", "out"),
    ldx("u8", "r1", "r8", comm + 8),
    jne("r1", 0, "out"),
    ...lookup,
    ldx("u64", "r1", "r0", 0),
    add("r1", 1),
    stx("u64", "r0", 0, "r1"),
    mov("r0", 0),
    exit(),
    label("end"),
    ...lookup,
    ldx("u64", "r1", "r0", 0),
    stx("u64", "r10", -16, "r1"),
    mov("r1", "r6"),
    mov("r2", "r10"),
    add("r2", -16),
    mov("r3", 8),
    call("seq_write"),
    label("out"),
    mov("r0", 0),
    exit(),
  ];
  return iteratorSpec(btf, "task_file", body, "test_fd_count");
}

describeKernel("task_file past 1,000,000 open fds", () => {
  const holders: ChildProcess[] = [];
  /** Each holder's fds as /proc lists them, once all are open. */
  const procFds = new Map<number, Set<number>>();
  let dir = "";

  beforeAll(async () => {
    if (!bash) return;
    dir = mkdtempSync(join(tmpdir(), "ts-ebpf-fds-"));
    const exe = join(dir, COMM);
    symlinkSync(bash, exe);
    const each = Math.max(1, Math.min(softFdLimit() - 64, 19_000));
    const count = Math.ceil((MAX_ITER_OBJECTS + 10_000) / each);
    const script = `exec 3</dev/null; for ((i = 1; i < ${each}; i++)); do exec {x}<&3 || exit 1; done; echo ready; read -r _`;
    await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(exe, ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
            holders.push(child);
            child.once("error", reject);
            child.once("exit", (code) => reject(new Error(`fd holder exited with ${code}`)));
            child.stdout!.once("data", () => resolve());
          }),
      ),
    );
    for (const child of holders) {
      procFds.set(child.pid!, new Set(readdirSync(`/proc/${child.pid}/fd`).map(Number)));
    }
  }, 300_000);

  afterAll(() => {
    for (const child of holders) {
      child.removeAllListeners("exit");
      child.stdin?.destroy();
      child.kill("SIGKILL");
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    closeBuiltins();
  });

  const total = () => [...procFds.values()].reduce((n, s) => n + s.size, 0);

  it.skipIf(!bash)(
    "a program silent for over 1,000,000 fds gets EAGAIN, is read on, and counts every fd",
    async () => {
      expect(total()).toBeGreaterThan(MAX_ITER_OBJECTS);
      using counter = BpfMap.create({
        type: BpfMapType.ARRAY,
        keySize: 4,
        valueSize: 8,
        maxEntries: 1,
        name: "fd_count",
        key: codecs.u32,
        value: codecs.u64,
      });
      using link = createIterator(countHolderFdsProgram(counter), "task_file");
      let eagain = 0;
      const io: FdIo = {
        ...nodeFdIo,
        read: (fd, b, o, l) =>
          nodeFdIo.read(fd, b, o, l).catch((e: NodeJS.ErrnoException) => {
            if (e.code === "EAGAIN") eagain++;
            throw e;
          }),
      };
      const out = await new IteratorReader(openIteratorFd(link.fd), { io }).readAll();
      // The kernel stopped at least once with nothing written, and the reader went on.
      expect(eagain).toBeGreaterThanOrEqual(1);
      expect(out.length).toBe(8);
      expect(Number(out.readBigUInt64LE(0))).toBe(total());
    },
    300_000,
  );

  it.skipIf(!bash)(
    "taskFiles() returns every fd of processes holding 1,000,000 between them",
    async () => {
      const seen = new Map<number, number[]>();
      for (const f of await taskFiles()) {
        const list = seen.get(f.tgid);
        if (list) list.push(f.fd);
        else if (procFds.has(f.tgid)) seen.set(f.tgid, [f.fd]);
      }
      let n = 0;
      for (const [pid, fds] of procFds) {
        const got = seen.get(pid) ?? [];
        expect(new Set(got).size, `fds of ${pid} listed twice`).toBe(got.length);
        expect(new Set(got), `fds of ${pid}`).toEqual(fds);
        n += got.length;
      }
      expect(n).toBeGreaterThan(MAX_ITER_OBJECTS);
    },
    300_000,
  );
});
