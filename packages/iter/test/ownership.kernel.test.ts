// fd ownership of readers (issue 13, finding 2 for iter): a reader whose
// constructor throws leaves the fd to its caller, which closes it once; the
// finalizer never closes it again (by then an unrelated file of the
// application). The script runs the GC, so it runs in a child node against
// the built dist.
//
// Findings 2 and 10: a reader reads from a private fd ≥ 3 (open(2) of a pin
// with stdin closed gave fd 0), and its public fd closed behind its back and
// reused by another file neither redirects its reads nor gets that file
// closed by close() or the finalizer.
import { spawnSync } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { createIterator, ksyms } from "../src/index.js";
import { ksymAddressProgram, taskTextProgram } from "./programs.js";

const DIST = new URL("../dist/index.js", import.meta.url).href;

/** Runs an ES module script in a child node (with gc()); its last stdout line is JSON. */
function child(script: string) {
  const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    encoding: "utf8",
  });
  const lines = r.stdout.trim().split("\n");
  return { stderr: r.stderr, json: () => JSON.parse(lines[lines.length - 1]!) };
}

/** In a child script: opens `path` until open(2) gives the number `fd` again. */
const OPEN_AT = `
  const openAt = (path, fd) => {
    const extra = [];
    try {
      for (let i = 0; i < 10000; i++) {
        const got = openSync(path, "r");
        if (got === fd) return got;
        extra.push(got);
        if (got > fd) break;
      }
      throw new Error("fd " + fd + " was not handed out again");
    } finally { for (const e of extra) closeSync(e); }
  };`;

describeKernel("reader fd ownership", () => {
  it("open({ signal: {} }) and openPinned(path, { signal: 'x' }) throw, and no unrelated file is closed later", () => {
    const pin = `/sys/fs/bpf/ts_ebpf_iter_own_${process.pid}`;
    const script = `
      import { builtinLink, closeBuiltins, openPinned } from ${JSON.stringify(DIST)};
      import { fstatSync, openSync, rmSync } from "node:fs";
      const link = builtinLink("task");
      link.pin(${JSON.stringify(pin)});
      const errors = new Set();
      for (let i = 0; i < 20; i++) {
        try { link.open({ signal: {} }); } catch (e) { errors.add(e.name + ": " + e.message); }
        try { openPinned(${JSON.stringify(pin)}, { signal: "x" }); } catch (e) { errors.add(e.name + ": " + e.message); }
      }
      rmSync(${JSON.stringify(pin)});
      // Unrelated files take the numbers the failed readers' callers closed.
      const files = Array.from({ length: 40 }, () => openSync("/dev/null", "r"));
      for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      const closedBehindOurBack = files.filter((fd) => { try { fstatSync(fd); return false; } catch { return true; } }).length;
      closeBuiltins();
      console.log(JSON.stringify({ errors: [...errors], closedBehindOurBack }));
    `;
    const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(JSON.parse(lines[lines.length - 1]!)).toEqual({
      errors: ["TypeError: signal must be an AbortSignal"],
      closedBehindOurBack: 0,
    });
  });
});

describeKernel("reader fd ownership: signals", () => {
  it("a signal that only looks like an AbortSignal is refused before the reader owns its fd, and the fd is closed once", () => {
    const pin = `/sys/fs/bpf/ts_ebpf_iter_fake_signal_${process.pid}`;
    const script = `
      import { builtinLink, closeBuiltins, IteratorReader, openPinned } from ${JSON.stringify(DIST)};
      import { closeSync, fstatSync, openSync, rmSync } from "node:fs";
      const link = builtinLink("task");
      link.pin(${JSON.stringify(pin)});
      const fake = () => Object.create(AbortSignal.prototype); // passes instanceof; its getters throw
      const errors = new Set();
      const attempt = (f) => { try { f(); errors.add("none"); } catch (e) { errors.add(e.name + ": " + e.message); } };
      for (let i = 0; i < 20; i++) {
        attempt(() => link.open({ signal: fake() }));
        attempt(() => openPinned(${JSON.stringify(pin)}, { signal: fake() }));
        const fd = openSync("/dev/null", "r");
        attempt(() => new IteratorReader(fd, { signal: fake() }));
        closeSync(fd); // a failed constructor left it to its caller
      }
      rmSync(${JSON.stringify(pin)});
      const files = Array.from({ length: 40 }, () => openSync("/dev/null", "r"));
      for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      const closedBehindOurBack = files.filter((fd) => { try { fstatSync(fd); return false; } catch { return true; } }).length;
      closeBuiltins();
      console.log(JSON.stringify({ errors: [...errors], closedBehindOurBack }));
    `;
    const r = child(script);
    expect(r.stderr).toBe("");
    expect(r.json()).toEqual({
      errors: ["TypeError: signal must be an AbortSignal"],
      closedBehindOurBack: 0,
    });
  });
});

describeKernel("readers own fds >= 3 (finding 10)", () => {
  it("with stdin closed, openPinned() and open() keep no fd 0-2: the pin opened as fd 0 is moved up", () => {
    const pin = `/sys/fs/bpf/ts_ebpf_iter_low_${process.pid}`;
    const script = `
      import { builtinLink, builtinRecordSize, closeBuiltins, openPinned } from ${JSON.stringify(DIST)};
      import { closeSync, existsSync, readdirSync, readlinkSync, rmSync } from "node:fs";
      const link = builtinLink("task");
      link.pin(${JSON.stringify(pin)});
      const fdsOf = (what) => readdirSync("/proc/self/fd").map(Number).filter((fd) => {
        try { return readlinkSync("/proc/self/fd/" + fd) === what; } catch { return false; }
      });
      closeSync(0); // open(2) hands out the lowest free number: 0
      const pinned = openPinned(${JSON.stringify(pin)});
      const pinFds = fdsOf(${JSON.stringify(pin)});
      const fd0Free = !existsSync("/proc/self/fd/0");
      const bytes = await pinned.readAll();
      const pinnedRead = bytes.length > 0 && bytes.length % builtinRecordSize("task") === 0;
      const opened = link.open();
      const iterFds = fdsOf("anon_inode:bpf_iter");
      const openedFd = opened.fd;
      opened.close();
      rmSync(${JSON.stringify(pin)});
      link.close();
      closeBuiltins();
      console.log(JSON.stringify({ pinFds, fd0Free, pinnedRead, iterFds, openedFd }));
    `;
    const r = child(script);
    expect(r.stderr).toBe("");
    const got = r.json();
    expect(got.pinFds).toHaveLength(1);
    expect(got.pinFds[0]).toBeGreaterThanOrEqual(3);
    expect(got.fd0Free).toBe(true);
    expect(got.pinnedRead).toBe(true);
    expect(got.iterFds.every((fd: number) => fd >= 3)).toBe(true);
    expect(got.openedFd).toBeGreaterThanOrEqual(3);
  });
});

describeKernel("a reader's public fd closed behind its back (finding 2)", () => {
  const dir = mkdtempSync(join(tmpdir(), "iter-secret-"));
  const secret = join(dir, "secret");
  writeFileSync(secret, "SECRET: the other file's contents\n");

  it("its number reused by another file: the reader reads the iterator, and close() leaves that file open", async () => {
    using link = createIterator(taskTextProgram(), "task");
    const r = link.open();
    const fd = r.fd;
    closeSync(fd);
    const other = openAtSameNumber(secret, fd);
    try {
      const text = await r.text();
      expect(text.startsWith("pid comm\n")).toBe(true);
      expect(text).not.toContain("SECRET");
      expect(r.closed).toBe(true);
      expect(readFileSync(other, "utf8")).toContain("SECRET");
    } finally {
      try {
        closeSync(other);
      } catch {
        // closed by the reader: the assertions above say so
      }
    }
  });

  it("a reader dropped without close(): the finalizer closes its own fds, not the file that took its public fd's number", () => {
    const script = `
      import { builtinLink, closeBuiltins } from ${JSON.stringify(DIST)};
      import { closeSync, fstatSync, openSync, readdirSync, readlinkSync } from "node:fs";
      ${OPEN_AT}
      const link = builtinLink("task");
      const iterFds = () => readdirSync("/proc/self/fd").filter((fd) => {
        try { return readlinkSync("/proc/self/fd/" + fd) === "anon_inode:bpf_iter"; } catch { return false; }
      }).length;
      // Each reader is dropped when dropReader returns: nothing refers to it after.
      const dropReader = () => {
        const fd = link.open().fd;
        closeSync(fd);
        return openAt("/dev/null", fd);
      };
      const others = Array.from({ length: 20 }, dropReader);
      const before = iterFds();
      for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      const closedBehindOurBack = others.filter((fd) => { try { fstatSync(fd); return false; } catch { return true; } }).length;
      const after = iterFds();
      for (const fd of others) { try { closeSync(fd); } catch {} }
      link.close();
      closeBuiltins();
      console.log(JSON.stringify({ before, after, closedBehindOurBack }));
    `;
    const r = child(script);
    expect(r.stderr).toBe("");
    expect(r.json()).toEqual({ before: 20, after: 0, closedBehindOurBack: 0 });
  });
});

/** Opens `path` until open(2) gives the number `fd` again (lower free numbers taken first, then given back). */
function openAtSameNumber(path: string, fd: number): number {
  const extra: number[] = [];
  try {
    for (let i = 0; i < 10_000; i++) {
      const got = openSync(path, "r");
      if (got === fd) return got;
      extra.push(got);
      if (got > fd) break;
    }
    throw new Error(`fd ${fd} was not handed out again`);
  } finally {
    for (const e of extra) closeSync(e);
  }
}

describeKernel("calls that make their own reader settle only once its fd is closed", () => {
  /** This process's iterator read fds (BPF_ITER_CREATE). */
  const iterFds = () =>
    readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === "anon_inode:bpf_iter";
      } catch {
        return false;
      }
    }).length;

  it("ksyms() and IteratorLink.readAll() aborted mid-read: when they reject, no iterator fd is left open", async () => {
    using link = createIterator(ksymAddressProgram(), "ksym");
    const before = iterFds();
    const left: string[] = [];
    let aborted = 0;
    for (let round = 0; round < 40; round++) {
      const ac = new AbortController();
      const call =
        round % 2 === 0 ? ksyms({ signal: ac.signal }) : link.readAll({ signal: ac.signal });
      // Aborts land while a read(2) runs on the thread pool: both calls take hundreds of reads.
      setTimeout(() => ac.abort(), round % 5);
      const outcome = await call.then(
        () => "done",
        (e: unknown) => (e as Error).name,
      );
      if (outcome === "AbortError") aborted++;
      if (iterFds() !== before)
        left.push(`round ${round} (${outcome}): ${iterFds() - before} fd(s)`);
    }
    expect(aborted).toBeGreaterThan(10);
    expect(left).toEqual([]);
  });
});
