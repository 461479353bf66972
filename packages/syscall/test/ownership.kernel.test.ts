// fd ownership (issue 13, findings 2, 5, 10 and pin modes): handles own their
// fds by construction. Scripts that crash, close stdin or run the GC run in a
// child node against the built dist.
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readlinkSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { btfBlob, describeKernel } from "@ts-ebpf/testing";
import { afterAll, describe, expect, it } from "vitest";
import {
  BpfAttachType,
  BpfMap,
  BpfMapType,
  BpfProgType,
  Btf,
  encodeIterLinkInfo,
  getFdById,
  ids,
  Link,
  loadProgram,
  ObjectKindError,
  Program,
  progLoad,
} from "../src/index.js";
import { attachIterator } from "../src/internal.js";
import {
  funcId,
  openFdCount,
  pinPath,
  removePins,
  returnZero,
  specInstructions,
} from "./helpers.js";

const DIST = new URL("../dist/index.js", import.meta.url).href;

/** Runs an ES module script in a child node; its last stdout line is JSON. */
function child(script: string, args: string[] = []) {
  const r = spawnSync(process.execPath, [...args, "--input-type=module", "-e", script], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    encoding: "utf8",
  });
  const lines = r.stdout.trim().split("\n");
  return {
    status: r.status,
    signal: r.signal,
    stderr: r.stderr,
    json: () => JSON.parse(lines[lines.length - 1] ?? "null"),
  };
}

describeKernel("fd ownership by construction", () => {
  const open: { close(): void }[] = [];
  afterAll(() => {
    for (const h of open) h.close();
    removePins();
  });

  it("a constructor that throws closes its fd once: the finalizer never closes an unrelated file later", () => {
    // Map.create with a wrong-size value codec, Map.fromFd with a wrong-size
    // key codec: the handles' constructors throw after the map fd exists.
    const script = `
      import { BpfMap, BpfMapType, codecs } from ${JSON.stringify(DIST)};
      import { openSync, fstatSync } from "node:fs";
      const healthy = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, key: codecs.u32, value: codecs.u64 });
      healthy.set(0, 42n);
      const lent = healthy.fd;
      let thrown = 0;
      for (let i = 0; i < 20; i++) {
        try { BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, value: codecs.u32 }); } catch { thrown++; }
        try { BpfMap.fromFd(lent, { key: codecs.u64 }); } catch { thrown++; }
      }
      // Unrelated files take the numbers the failed constructors freed.
      const files = Array.from({ length: 40 }, () => openSync("/dev/null", "r"));
      for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      const closedBehindOurBack = files.filter((fd) => { try { fstatSync(fd); return false; } catch { return true; } }).length;
      let lentStillOpen = true;
      try { fstatSync(lent); } catch { lentStillOpen = false; }
      console.log(JSON.stringify({ thrown, closedBehindOurBack, lentStillOpen, value: String(healthy.get(0)) }));
    `;
    const r = child(script, ["--expose-gc"]);
    expect(r.stderr).toBe("");
    expect(r.json()).toEqual({
      thrown: 40,
      closedBehindOurBack: 0,
      lentStillOpen: true,
      value: "42",
    });
  });

  it("closing a handle's fd behind its back, then reusing the number for a 1 MiB-value map, cannot redirect the handle", () => {
    const script = `
      import { BpfMap, BpfMapType, codecs } from ${JSON.stringify(DIST)};
      import { closeSync, readFileSync } from "node:fs";
      const healthy = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, key: codecs.u32, value: codecs.u64 });
      healthy.set(0, 42n);
      const n = healthy.fd;
      closeSync(n);
      const big = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 1 << 20, maxEntries: 1 });
      // The number now names the big map (else this test would prove nothing).
      const reused = /^value_size:\\s*1048576$/m.test(readFileSync("/proc/self/fdinfo/" + n, "utf8"));
      const values = [healthy.get(0), healthy.get(0)].map(String);
      healthy.set(0, 7n);
      console.log(JSON.stringify({ reused, values, after: String(healthy.get(0)), big: big.get(new Uint8Array(4))?.length }));
    `;
    const r = child(script);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    expect(r.json()).toEqual({ reused: true, values: ["42", "42"], after: "7", big: 1 << 20 });
  });

  it("a public fd closed behind the handle's back: the handle neither closes its new owner's file nor hands out the stale number", () => {
    const m = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const id = m.info().id;
    const stale = m.fd;
    closeSync(stale);
    const unrelated = openSync("/dev/null", "r");
    try {
      expect(unrelated).toBe(stale); // the number was reused
      const fresh = m.fd;
      expect(fresh).not.toBe(stale);
      expect(readlinkSync(`/proc/self/fd/${fresh}`)).toBe("anon_inode:bpf-map");
      const view = BpfMap.fromFd(fresh);
      expect(view.info().id).toBe(id);
      view.close();
      m.close();
      expect(readlinkSync(`/proc/self/fd/${unrelated}`)).toBe("/dev/null");
      expect(() => readlinkSync(`/proc/self/fd/${fresh}`)).toThrow();
    } finally {
      closeSync(unrelated);
    }
  });

  it("new on a handle class (callable from JavaScript) is a TypeError: it never owns, nor later closes, an fd nobody gave it", () => {
    const before = openFdCount();
    type AnyCtor = new (...args: unknown[]) => { close(): void };
    for (const make of [
      () => new (Link as unknown as AnyCtor)(2),
      () => new (Program as unknown as AnyCtor)(0, 1, "p", "", []),
      () => new (BpfMap as unknown as AnyCtor)(1, { type: 2, keySize: 4, valueSize: 4 }),
    ]) {
      expect(make).toThrow(TypeError);
      expect(make).toThrow(/static methods/);
    }
    expect(readlinkSync("/proc/self/fd/2")).not.toBe("");
    expect(openFdCount()).toBe(before);
  });

  it("Map#get checks its flags before the syscall (an object was a SyntaxError from BigInt)", () => {
    using m = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(() => m.get(new Uint8Array(4), { length: -1 } as never)).toThrow(TypeError);
    expect(() => m.get(new Uint8Array(4), -1)).toThrow(RangeError);
    expect(m.get(new Uint8Array(4))).toEqual(new Uint8Array(4));
  });

  describe("object kinds are checked after OBJ_GET, GET_FD_BY_ID and fromFd", () => {
    type Kind = "map" | "prog" | "link";
    const objects = {} as Record<Kind, { fd: number; path: string; id: number }>;
    const opener = {
      map: BpfMap,
      prog: Program,
      link: Link,
    } as const;
    const noun: Record<Kind, string> = { map: "map", prog: "program", link: "link" };
    const article: Record<Kind, string> = {
      map: "a BPF map",
      prog: "a BPF program",
      link: "a BPF link",
    };

    it("setup: a pinned map, program and link", () => {
      const m = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      open.push(m);
      const p = Program.load({
        type: BpfProgType.SOCKET_FILTER,
        instructions: returnZero(),
        license: "GPL",
      });
      open.push(p);
      const iter = loadProgram({
        type: BpfProgType.TRACING,
        expectedAttachType: BpfAttachType.TRACE_ITER,
        attachBtfId: funcId("bpf_iter_bpf_map")!,
        license: "GPL",
        instructions: specInstructions(returnZero()),
      });
      open.push(iter);
      const l = attachIterator(iter);
      open.push(l);
      for (const [kind, h] of [
        ["map", m],
        ["prog", p],
        ["link", l],
      ] as const) {
        const path = pinPath(kind);
        h.pin(path);
        objects[kind] = { fd: h.fd, path, id: h.info().id };
      }
    });

    for (const want of ["map", "prog", "link"] as const) {
      for (const have of ["map", "prog", "link"] as const) {
        if (want === have) continue;
        it(`${opener[want].name}.fromPinned / fromFd of ${article[have]}: ObjectKindError, fd count unchanged`, () => {
          const o = objects[have];
          const before = openFdCount();
          expect(() => opener[want].fromPinned(o.path)).toThrow(ObjectKindError);
          expect(() => opener[want].fromPinned(o.path)).toThrow(
            `${o.path} is ${article[have]}, not a ${noun[want]}`,
          );
          expect(() => opener[want].fromFd(o.fd)).toThrow(
            `fd ${o.fd} is ${article[have]}, not a ${noun[want]}`,
          );
          // fromFd never closes what the caller lent it.
          expect(readlinkSync(`/proc/self/fd/${o.fd}`)).toMatch(/^anon_inode:bpf/);
          expect(openFdCount()).toBe(before);
        });
      }
      it(`${opener[want].name}.fromFd of a BTF object, a regular file, a directory, /dev/null, fds 0-2: errors, nothing closed`, () => {
        const btf = getFdById("btf", ids("btf").next().value as number);
        // A regular file every machine has, guests included (they have no /etc/hostname).
        const filePath = fileURLToPath(import.meta.url);
        const file = openSync(filePath, "r");
        const dir = openSync("/tmp", "r");
        const devNull = openSync("/dev/null", "r");
        try {
          const before = openFdCount();
          expect(() => opener[want].fromFd(btf)).toThrow(
            `fd ${btf} is a BTF object, not a ${noun[want]}`,
          );
          expect(() => opener[want].fromFd(file)).toThrow(
            `fd ${file} is not a BPF ${noun[want]} (it refers to ${readlinkSync(`/proc/self/fd/${file}`)})`,
          );
          expect(() => opener[want].fromFd(dir)).toThrow(ObjectKindError);
          expect(() => opener[want].fromFd(devNull)).toThrow(
            `fd ${devNull} is not a BPF ${noun[want]} (it refers to /dev/null)`,
          );
          expect(() => opener[want].fromFd(0)).toThrow(RangeError);
          expect(() => opener[want].fromFd(2)).toThrow(RangeError);
          expect(openFdCount()).toBe(before);
          for (const fd of [btf, file, dir, devNull]) expect(() => statFd(fd)).not.toThrow();
        } finally {
          for (const fd of [btf, file, dir, devNull]) closeSync(fd);
        }
      });
      it(`${opener[want].name}.fromId gives its own kind; a missing id leaves the fd count unchanged`, () => {
        const before = openFdCount();
        const h = opener[want].fromId(objects[want].id);
        expect(h.info().id).toBe(objects[want].id);
        expect(readlinkSync(`/proc/self/fd/${h.fd}`)).toBe(
          { map: "anon_inode:bpf-map", prog: "anon_inode:bpf-prog", link: "anon_inode:bpf-link" }[
            want
          ],
        );
        h.close();
        expect(() => opener[want].fromId(0x7ffffff0)).toThrow(/ENOENT/);
        expect(openFdCount()).toBe(before);
      });
    }

    it("fromFd lends: the handle has its own fd; the caller's stays open and the caller's", () => {
      const o = objects.map;
      const m = BpfMap.fromFd(o.fd);
      expect(m.fd).not.toBe(o.fd);
      expect(m.info().id).toBe(o.id);
      m.close();
      expect(readlinkSync(`/proc/self/fd/${o.fd}`)).toBe("anon_inode:bpf-map");
    });
  });

  it("Btf: a handle on a BTF object, kind-checked like the others, not pinnable", () => {
    const before = openFdCount();
    const btf = Btf.load(tinyBtf());
    const m = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      const { id } = btf.info();
      const byId = Btf.fromId(id);
      expect(byId.info().id).toBe(id);
      byId.close();
      const lent = Btf.fromFd(btf.fd);
      expect(lent.info().id).toBe(id);
      lent.close();
      expect(readlinkSync(`/proc/self/fd/${btf.fd}`)).toBe("anon_inode:btf");
      expect(() => Btf.fromFd(m.fd)).toThrow(`fd ${m.fd} is a BPF map, not a BTF object`);
      expect(() => BpfMap.fromFd(btf.fd)).toThrow(`fd ${btf.fd} is a BTF object, not a map`);
      expect(() => btf.pin(pinPath("btf"))).toThrow(/BTF objects cannot be pinned/);
      // loadProgram takes it as the program's BTF.
      const p = loadProgram(
        {
          type: BpfProgType.SOCKET_FILTER,
          instructions: specInstructions(returnZero()),
          license: "GPL",
        },
        { btf },
      );
      expect(p.info().btfId).toBe(0); // no func_info: the kernel keeps no BTF
      p.close();
    } finally {
      btf.close();
      m.close();
    }
    expect(openFdCount()).toBe(before);
  });

  it("fds 0-2 are never handed out: with stdin closed, every fd-creating command gives an fd >= 3", () => {
    const script = `
      import * as s from ${JSON.stringify(DIST)};
      import { attachIterator } from ${JSON.stringify(DIST.replace(/index\.js$/, "internal.js"))};
      import { closeSync, existsSync, readlinkSync, rmSync } from "node:fs";
      const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
      const btf = new Uint8Array(${JSON.stringify([...tinyBtf()])});
      const iterTarget = ${funcId("bpf_iter_bpf_map")};
      closeSync(0); // the kernel hands out the lowest free number: 0
      const got = {};
      const run = (name, make) => { got[name] = make(); return got[name]; };
      const m = run("Map.create", () => s.BpfMap.create({ type: s.BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }).fd);
      run("mapCreate", () => s.mapCreate({ type: s.BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }));
      run("progLoad", () => s.progLoad({ type: s.BpfProgType.SOCKET_FILTER, instructions: insns, license: "GPL" }).fd);
      run("Program.load", () => s.Program.load({ type: s.BpfProgType.SOCKET_FILTER, instructions: insns, license: "GPL" }).fd);
      const id = s.mapInfo(m).id;
      run("getFdById", () => s.getFdById("map", id));
      run("Map.fromId", () => s.BpfMap.fromId(id).fd);
      run("btfLoad", () => s.btfLoad(btf).fd);
      const path = "/sys/fs/bpf/ts_ebpf_test_" + process.pid + "_low";
      s.objPin(m, path);
      run("objGet", () => s.objGet(path));
      run("Map.fromPinned", () => s.BpfMap.fromPinned(path).fd);
      rmSync(path);
      const iter = s.loadProgram({ type: s.BpfProgType.TRACING, expectedAttachType: s.BpfAttachType.TRACE_ITER, attachBtfId: iterTarget, license: "GPL", instructions: [{ opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] });
      const linkFd = run("linkCreate", () => s.linkCreate({ progFd: iter.fd, attachType: s.BpfAttachType.TRACE_ITER }));
      run("iterCreate", () => s.iterCreate(linkFd));
      run("attachIterator", () => attachIterator(iter).fd);
      const bpfAtLow = [0, 1, 2].filter((fd) => { try { return readlinkSync("/proc/self/fd/" + fd).startsWith("anon_inode:"); } catch { return false; } });
      let fromFdLow;
      try { s.BpfMap.fromFd(0); } catch (e) { fromFdLow = e.name; }
      console.log(JSON.stringify({ got, bpfAtLow, fd0Free: !existsSync("/proc/self/fd/0"), fromFdLow }));
    `;
    const r = child(script);
    expect(r.stderr).toBe("");
    const { got, bpfAtLow, fd0Free, fromFdLow } = r.json();
    expect(Object.keys(got)).toHaveLength(12);
    for (const [name, fd] of Object.entries(got as Record<string, number>)) {
      expect({ name, atLeast3: fd >= 3 }).toEqual({ name, atLeast3: true });
    }
    expect(bpfAtLow).toEqual([]);
    expect(fd0Free).toBe(true);
    expect(fromFdLow).toBe("RangeError");
  });

  describe("pin(path, { mode })", () => {
    it("pins 0600 by default and applies an explicit mode, whatever the umask", () => {
      const script = `
        import { BpfMap, BpfMapType, Program, BpfProgType } from ${JSON.stringify(DIST)};
        import { statSync, rmSync } from "node:fs";
        process.umask(0o277); // the kernel alone would make 0400
        const base = "/sys/fs/bpf/ts_ebpf_test_" + process.pid + "_mode_";
        const m = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
        const p = Program.load({ type: BpfProgType.SOCKET_FILTER, instructions: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL" });
        m.pin(base + "default");
        m.pin(base + "0644", { mode: 0o644 });
        p.pin(base + "prog0640", { mode: 0o640 });
        const modes = ["default", "0644", "prog0640"].map((n) => (statSync(base + n).mode & 0o7777).toString(8));
        for (const n of ["default", "0644", "prog0640"]) rmSync(base + n);
        console.log(JSON.stringify(modes));
      `;
      const r = child(script);
      expect(r.stderr).toBe("");
      expect(r.json()).toEqual(["600", "644", "640"]);
    });

    it("checks mode and path before pinning; a missing directory is OBJ_PIN ENOENT", () => {
      const m = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      open.push(m);
      const path = pinPath("checked");
      expect(() => m.pin(path, { mode: 0o4755 })).toThrow(RangeError);
      expect(() => m.pin(path, { mode: -1 })).toThrow(RangeError);
      expect(() => m.pin(path, { mode: "644" as never })).toThrow(RangeError);
      expect(() => m.pin("/sys/fs/bpf/")).toThrow(RangeError);
      expect(() => statSync(path)).toThrow();
      expect(() => m.pin(`${pinPath("nodir")}/x`)).toThrow(/OBJ_PIN: ENOENT/);
      m.pin(path, { mode: 0o600 });
      expect(statSync(path).mode & 0o7777).toBe(0o600);
    });
  });
});

describe("fd 0 is an fd, not 'absent'", () => {
  it("fields the kernel reads 0 as 'none' in refuse fd 0 instead of silently meaning every task, every cgroup or vmlinux", () => {
    expect(() => encodeIterLinkInfo({ pidFd: 0 })).toThrow(/pidFd is fd 0/);
    expect(() => encodeIterLinkInfo({ cgroupFd: 0 })).toThrow(RangeError);
    expect(() => encodeIterLinkInfo({ mapFd: 0 })).toThrow(RangeError);
    const base = { type: BpfProgType.TRACING, instructions: returnZero(), license: "GPL" };
    expect(() => progLoad({ ...base, attachBtfObjFd: 0 })).toThrow(/attachBtfObjFd is fd 0/);
    expect(() => progLoad({ ...base, attachProgFd: 0 })).toThrow(RangeError);
  });
});

function statFd(fd: number) {
  return readlinkSync(`/proc/self/fd/${fd}`);
}

/** A minimal BTF blob: one 32-bit signed INT "int". */
function tinyBtf(): Uint8Array {
  const strings = Buffer.from("\0int\0");
  const types = Buffer.alloc(16);
  types.writeUInt32LE(1, 0); // name_off
  types.writeUInt32LE(1 << 24, 4); // kind INT
  types.writeUInt32LE(4, 8); // size
  types.writeUInt32LE((1 << 24) | 32, 12); // SIGNED, offset 0, 32 bits
  return btfBlob(types, strings);
}
