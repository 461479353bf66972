// The child's environment: every named value a descriptor can refer to (fds,
// paths, handles, hostile objects), built once per batch, plus the per-call
// context that makes fresh values and cleans them up.
//
// Host safety: every path handed to the library is inside a private temp dir
// or a private directory under /sys/fs/bpf, both removed at the end; every fd
// number is one of this process's own (or a number that is not open); every
// BPF object is one this process created. Maps and links are only written to,
// updated or detached through fresh objects made for that one call.

import { execFileSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  constants as fsc,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { BufVariant, D } from "./descriptor.js";

/** Thrown by the hostile objects themselves: the caller's own error, allowed to propagate. */
export class HostileError extends Error {
  override name = "HostileError";
}

export type Modules = Record<string, Record<string, unknown>>;

// biome-ignore lint/suspicious/noExplicitAny: the packages are driven dynamically
type Any = any;

interface Closeable {
  close(): void;
}

/** fd number → what it is ("anon_inode:bpf-map map_id:7", "/tmp/x/file", "pipe:[123]"). */
export type FdSnapshot = Map<number, string>;

/** `withIds`: also the object id of each BPF fd (slower: one fdinfo read per BPF fd). */
export function snapshotFds(withIds = false): FdSnapshot {
  const out: FdSnapshot = new Map();
  for (const name of readdirSync("/proc/self/fd")) {
    const fd = Number(name);
    let what: string;
    try {
      what = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue; // the directory fd readdir itself used
    }
    if (withIds && what.startsWith("anon_inode:")) {
      try {
        const info = readFileSync(`/proc/self/fdinfo/${name}`, "utf8");
        const id = /^(map_id|prog_id|link_id|btf_id):\s*(\d+)/m.exec(info);
        if (id) what += ` ${id[1]}:${id[2]}`;
      } catch {
        continue;
      }
    }
    out.set(fd, what);
  }
  return out;
}

/** A tiny valid BTF blob: one `int` type named "int". */
export function smallBtfBlob(): Uint8Array {
  const strings = Buffer.from("\0int\0", "latin1");
  const types = Buffer.alloc(16);
  types.writeUInt32LE(1, 0); // name_off
  types.writeUInt32LE(1 << 24, 4); // info: kind INT
  types.writeUInt32LE(4, 8); // size
  types.writeUInt32LE(32, 12); // encoding 0, offset 0, bits 32
  const header = Buffer.alloc(24);
  header.writeUInt16LE(0xeb9f, 0);
  header.writeUInt8(1, 2);
  header.writeUInt32LE(24, 4);
  header.writeUInt32LE(0, 8);
  header.writeUInt32LE(types.length, 12);
  header.writeUInt32LE(types.length, 16);
  header.writeUInt32LE(strings.length, 20);
  return new Uint8Array(Buffer.concat([header, types, strings]));
}

export interface EnvOptions {
  kernel: boolean;
  modules: Modules;
}

export class Env {
  readonly kernel: boolean;
  readonly m: Modules;
  readonly tmp: string;
  bpffsDir: string | undefined;
  readonly ncpu: number;
  /** Named values that stay for the whole batch (never closed by a call). */
  readonly pool = new Map<string, unknown>();
  /** Named factories of fresh values (made per call, cleaned up after it). */
  readonly factories = new Map<string, (ctx: CallContext) => unknown>();
  /** Fds of the pool, to tell "the library closed an fd it does not own". */
  readonly poolFds = new Set<number>();
  readonly #teardown: (() => void)[] = [];
  #pooledBuffer = new ArrayBuffer(16, { maxByteLength: 1 << 16 });
  #counter = 0;

  constructor(options: EnvOptions) {
    this.kernel = options.kernel;
    this.m = options.modules;
    this.tmp = mkdtempSync(join(tmpdir(), "ts-ebpf-hostile-"));
    this.ncpu = this.kernel ? (this.sys.possibleCpus() as number) : 2;
  }

  get sys(): Any {
    return this.m.syscall;
  }

  unique(prefix: string): string {
    this.#counter += 1;
    return `${prefix}${this.#counter}`;
  }

  setup(): void {
    this.#files();
    this.#hostileObjects();
    this.#pureValues();
    if (this.kernel) this.#kernelObjects();
    else this.#fakeKernelObjects();
  }

  #files(): void {
    const t = this.tmp;
    writeFileSync(join(t, "file"), "hostile regular file\n".repeat(64));
    mkdirSync(join(t, "dir"));
    symlinkSync(join(t, "file"), join(t, "symlink"));
    symlinkSync(join(t, "nonexistent-target"), join(t, "dangling"));
    execFileSync("mkfifo", [join(t, "fifo-r"), join(t, "fifo-w")]);
    const elfFixtures = join(
      dirname(createRequire(import.meta.url).resolve("@ts-ebpf/elf/package.json")),
      "test",
      "fixtures",
    );
    for (const f of ["task.bpf.o", "task_map.bpf.o", "bad.bpf.o"]) {
      try {
        copyFileSync(join(elfFixtures, f), join(t, f));
      } catch {
        writeFileSync(join(t, f), "not an ELF file");
      }
    }
    const paths: Record<string, string> = {
      "path:none": join(t, "nonexistent"),
      "path:file": join(t, "file"),
      "path:dir": join(t, "dir"),
      "path:symlink": join(t, "symlink"),
      "path:dangling": join(t, "dangling"),
      // A FIFO is not in the generic path kinds: reading one blocks until a
      // writer comes, in any library (loadCollection(fifo) hangs like cat does).
      "path:fifo": join(t, "fifo-r"),
      "path:elf": join(t, "task.bpf.o"),
      "path:elf:map": join(t, "task_map.bpf.o"),
      "path:elf:bad": join(t, "bad.bpf.o"),
      "path:nul": `${join(t, "file")}\0/etc/passwd`,
      "path:long": join(t, "a".repeat(5000)),
      "path:relative": "ts-ebpf-hostile-relative-nonexistent",
      "path:trailingSlash": `${join(t, "file")}/`,
    };
    for (const [k, v] of Object.entries(paths)) this.pool.set(k, v);
    this.factories.set("path:tmp:new", () => join(t, this.unique("new-")));

    // fds that are not BPF objects. The FIFOs: a read end whose writer is gone
    // (reads see EOF at once) and a write end whose reader is gone (EPIPE), so
    // nothing ever blocks.
    const file = openSync(join(t, "file"), "r");
    const dir = openSync(join(t, "dir"), "r");
    const fifoR = openSync(join(t, "fifo-r"), fsc.O_RDONLY | fsc.O_NONBLOCK);
    const fifoRWriter = openSync(join(t, "fifo-r"), fsc.O_WRONLY | fsc.O_NONBLOCK);
    closeSync(fifoRWriter);
    const fifoWReader = openSync(join(t, "fifo-w"), fsc.O_RDONLY | fsc.O_NONBLOCK);
    const fifoW = openSync(join(t, "fifo-w"), fsc.O_WRONLY | fsc.O_NONBLOCK);
    closeSync(fifoWReader);
    const devnull = openSync("/dev/null", "r+");
    for (const [k, fd] of [
      ["fd:file", file],
      ["fd:dir", dir],
      ["fd:pipeR", fifoR],
      ["fd:pipeW", fifoW],
      ["fd:devnull", devnull],
    ] as const) {
      this.#poolFd(k, fd);
    }
    this.pool.set("fd:closed", 1000); // never opened: fds are handed out lowest first
    this.factories.set("fd:justClosed", () => {
      const fd = openSync(join(t, "file"), "r");
      closeSync(fd); // the next open anywhere gets this number again
      return fd;
    });
    const ownFile = (flags: string | number, p: string) => (ctx: CallContext) =>
      ctx.ownFd(openSync(p, flags));
    this.factories.set("own:file", ownFile("r", join(t, "file")));
    this.factories.set("own:dir", ownFile("r", join(t, "dir")));
    this.factories.set("own:pipeR", ownFile(fsc.O_RDONLY | fsc.O_NONBLOCK, join(t, "fifo-r")));
    this.factories.set("own:devnull", ownFile("r", "/dev/null"));
  }

  #poolFd(name: string, fd: number): void {
    this.pool.set(name, fd);
    this.poolFds.add(fd);
    this.#teardown.push(() => closeSync(fd));
  }

  #hostileObjects(): void {
    const p = this.pool;
    const thrower = (what: string) => () => {
      throw new HostileError(`hostile ${what}`);
    };
    const trapAll: ProxyHandler<object> = {};
    for (const trap of [
      "get",
      "set",
      "has",
      "ownKeys",
      "getOwnPropertyDescriptor",
      "defineProperty",
      "deleteProperty",
      "getPrototypeOf",
      "apply",
      "construct",
    ] as const) {
      (trapAll as Any)[trap] = thrower(`proxy trap ${trap}`);
    }
    this.factories.set("evil:throwingProxy", () => new Proxy({}, trapAll));
    this.factories.set("evil:throwingFnProxy", () => new Proxy(() => {}, trapAll));
    this.factories.set("evil:revokedProxy", () => {
      const r = Proxy.revocable({}, {});
      r.revoke();
      return r.proxy;
    });
    this.factories.set("evil:valueOfThrows", () => ({
      valueOf: thrower("valueOf"),
      toString: thrower("toString"),
    }));
    this.factories.set("evil:toPrimitiveThrows", () => ({
      [Symbol.toPrimitive]: thrower("toPrimitive"),
    }));
    // Coercing it detaches or shrinks every buffer made for the same call: a
    // length checked before the coercion is then a lie.
    this.factories.set("evil:valueOfDetaches", (ctx) => {
      const detach = (ret: unknown) => () => {
        ctx.sabotageBuffers();
        return ret;
      };
      return { valueOf: detach(4), toString: detach("task"), [Symbol.toPrimitive]: detach(4) };
    });
    this.factories.set("evil:getterDetaches", (ctx) => {
      const o: Record<string, unknown> = {};
      for (const k of ["fd", "size", "length", "keySize", "valueSize", "count", "type", "name"]) {
        Object.defineProperty(o, k, {
          get: () => {
            ctx.sabotageBuffers();
            return 4;
          },
          enumerable: true,
        });
      }
      return o;
    });
    this.factories.set("evil:fakeU8", () => Object.create(Uint8Array.prototype));
    this.factories.set("evil:arrayLikeHuge", () => ({ length: 1_000_000 }));
    this.factories.set("evil:arrayLikeNegative", () => ({ length: -1, 0: 1 }));
    this.factories.set("evil:throwingIterable", () => ({
      *[Symbol.iterator]() {
        yield undefined;
        yield [new Uint8Array(4), new Uint8Array(8)];
        throw new HostileError("hostile iterator");
      },
    }));
    this.factories.set("evil:sparseArray", () => {
      const a: unknown[] = [];
      a[5] = 1;
      return a;
    });
    this.factories.set("evil:arrayWithThrowingElement", () => {
      const a: unknown[] = [1, 2];
      Object.defineProperty(a, 1, { get: thrower("array element") });
      return a;
    });
    this.factories.set("evil:fnThrows", () => thrower("callback"));
    this.factories.set("evil:fnReturnsMinus1", () => () => -1);
    this.factories.set("evil:fnReturnsHostile", () => () => ({ valueOf: thrower("valueOf") }));
    this.factories.set("evil:class", () => class Hostile {});
    // chunk-detach: a forEachChunk callback / readRecords decoder that transfers
    // the previous chunk's buffer (a read(2) may be filling it now) and its own.
    const chunkDetacher = () => {
      let prev: Uint8Array | undefined;
      return (chunk: unknown) => {
        if (!(chunk instanceof Uint8Array)) return;
        for (const b of prev ? [prev, chunk] : [chunk]) {
          const before = b.byteLength;
          try {
            structuredClone(b.buffer, { transfer: [b.buffer as ArrayBuffer] });
          } catch {
            continue; // refused: as it should be
          }
          if (before > 0 && b.byteLength === 0) {
            throw new Error("a callback detached a buffer a read(2) may be filling");
          }
        }
        prev = chunk;
      };
    };
    this.factories.set("evil:fnDetachesChunk", chunkDetacher);
    this.factories.set("evil:decoderDetachesChunk", () => {
      const seen = chunkDetacher();
      return {
        size: 8,
        decode(bytes: unknown, offset: number) {
          seen(bytes);
          return offset;
        },
      };
    });
    this.factories.set("evil:date", () => new Date(0));
    this.factories.set("evil:regexp", () => /x/g);
    this.factories.set("evil:promise", () => Promise.resolve(1));
    this.factories.set("evil:jsMap", () => new Map([[1, 2]]));
    this.factories.set("evil:arrayBuffer", () => new ArrayBuffer(16));
    this.factories.set("evil:sharedArrayBuffer", () => new SharedArrayBuffer(16));
    this.factories.set("evil:nullProto", () => Object.create(null));
    this.factories.set("evil:emptyObject", () => ({}));
    this.factories.set("evil:frozenEmpty", () => Object.freeze({}));
    this.factories.set("evil:bigint64array", () => new BigInt64Array(2));
    this.factories.set("evil:float64array", () => new Float64Array(2));
    this.factories.set("evil:error", () => new Error("an error object as an argument"));
    this.factories.set("evil:abortedSignal", () =>
      AbortSignal.abort(new HostileError("hostile abort reason")),
    );
    this.factories.set("evil:signal", () => new AbortController().signal);
    this.factories.set("evil:abortingSoon", () => {
      const c = new AbortController();
      setTimeout(() => c.abort(new HostileError("hostile abort reason")), 1).unref();
      return c.signal;
    });
    this.factories.set("evil:fakeSignal", () => ({ aborted: false, addEventListener() {} }));
    this.factories.set("evil:objectWithFdGetterThrows", () => ({
      get fd(): number {
        throw new HostileError("hostile fd getter");
      },
    }));
    this.factories.set("evil:fakeHandleClosedFd", () => ({ fd: 1000, closed: false }));
    this.factories.set("evil:fakeHandleStdin", () => ({ fd: 0 }));
    this.factories.set("evil:fakeHandleNegative", () => ({ fd: -1 }));
    this.factories.set("evil:deepNest", () => {
      let o: Record<string, unknown> = {};
      for (let i = 0; i < 10_000; i++) o = { next: o, fd: 1000 };
      return o;
    });
    this.factories.set("evil:cyclic", () => {
      const o: Record<string, unknown> = { fd: 1000 };
      o.self = o;
      o.next = o;
      return o;
    });
    p.set("evil:symbolIterator", Symbol.iterator);
  }

  #pureValues(): void {
    const { dsl, btf } = this.m as Any;
    const p = this.pool;
    const items = [dsl.mov("r0", 0), dsl.exit()];
    p.set("val:items:exit", items);
    p.set("val:insn:exit", dsl.exit());
    p.set("val:insn:mov", dsl.mov("r1", 7));
    p.set("val:insn:ldimm64", dsl.ldImm64("r1", 1n));
    p.set("val:insn:call", dsl.call("trace_printk"));
    p.set("val:insn:jmpLabel", dsl.ja("out"));
    p.set("val:insn:label", dsl.label("out"));
    p.set("val:insn:fake", { code: 0xff, dst: 11, src: 12, off: 1e9, imm: 2 ** 40 });
    p.set("val:items:loop", [dsl.label("l"), dsl.ja("l")]);
    p.set("val:items:undefinedLabel", [dsl.ja("nowhere"), dsl.exit()]);
    p.set("val:items:mapRef", [dsl.ldMapFd("r1", { name: "m" }), dsl.mov("r0", 0), dsl.exit()]);
    const bytes = dsl.encode(items);
    p.set("val:insnBytes", bytes);
    p.set("val:insnBytes:odd", bytes.subarray(0, 13));
    p.set("val:insnBytes:ldimm64Half", dsl.encode([dsl.ldImm64("r1", 1n)]).subarray(0, 8));
    const random = new Uint8Array(64);
    random.forEach((_, i) => {
      random[i] = (i * 73 + 41) & 0xff;
    });
    p.set("val:insnBytes:random", random);
    p.set("val:text:valid", "r0 = 0\nexit\n");
    p.set("val:text:badEscape", 'r1 = "\\q"\nexit\n');
    p.set("val:text:control", 'r1 = "a\u0001b"\nexit');
    p.set("val:text:garbage", "r0 = = = \u0000 goto goto");
    p.set("val:text:huge", `${"r0 = 0\n".repeat(20_000)}exit\n`);
    p.set("val:fmt:ok", "%d %s\n");
    p.set("val:fmt:bad", "%o %n %*d %");
    p.set("val:fmt:many", "%d ".repeat(20));
    const blob = smallBtfBlob();
    p.set("val:btfBlob", blob);
    const truncated = blob.slice(0, 30);
    p.set("val:btfBlob:truncated", truncated);
    const mutated = blob.slice();
    new DataView(mutated.buffer).setUint32(12, 0xfffffff0, true); // type_len
    p.set("val:btfBlob:mutated", mutated);
    const hugeSize = blob.slice();
    new DataView(hugeSize.buffer).setUint32(24 + 8, 0x40000000, true); // int of 1 GiB
    p.set("val:btfBlob:hugeSize", hugeSize);
    for (const [name, f] of [
      ["val:elf:task", "task.bpf.o"],
      ["val:elf:map", "task_map.bpf.o"],
      ["val:elf:bad", "bad.bpf.o"],
    ]) {
      p.set(name as string, new Uint8Array(readFileSync(join(this.tmp, f as string))));
    }
    const elf = p.get("val:elf:task") as Uint8Array;
    p.set("val:elf:truncated", elf.slice(0, 100));
    const flipped = elf.slice();
    for (let i = 64; i < flipped.length; i += 97) flipped[i] = (flipped[i] ?? 0) ^ 0xff;
    p.set("val:elf:flipped", flipped);
    p.set("val:elf:headerOnly", elf.slice(0, 64));

    const kbtf = btf.loadKernelBtf();
    p.set("h:btf:kernel", kbtf);
    p.set("h:btf:small", btf.parseBtf(blob));
    try {
      p.set("h:btf:hugeSize", btf.parseBtf(hugeSize));
    } catch {
      p.set("h:btf:hugeSize", btf.parseBtf(blob));
    }
    p.set("val:btfType:task_struct", kbtf.findType("task_struct"));
    p.set("val:btfType:int", kbtf.findType("int"));
    p.set("val:layout:struct", btf.struct({ a: btf.u32, b: btf.u64, c: btf.char(8) }));
    p.set("val:layout:u32", btf.u32);
    p.set("val:decoder:fake", { size: 4, decode: () => 1 });
    p.set("val:decoder:zero", { size: 0, decode: () => 1 });
    p.set("val:decoder:throwing", {
      size: 4,
      decode: () => {
        throw new HostileError("hostile decoder");
      },
    });
    p.set("val:codec:u32", this.sys.codecs.u32);
    p.set("val:codec:u64", this.sys.codecs.u64);
    p.set("val:codec:bytes3", this.sys.codecs.bytes(3));
    p.set("val:codec:lying", {
      size: 4,
      encode: () => {}, // writes nothing, claims 4 bytes
      decode: () => 0,
    });
    p.set("val:codec:huge", { size: 2 ** 31, encode() {}, decode: () => 0 });
    // Codecs as an attacker writes them (attack review of issue 13). Each throws a
    // plain Error (an undocumented type: a finding) when its attack got through.
    const sys = this.sys as Any;
    const u32At = (b: Uint8Array, k: unknown) =>
      new DataView(b.buffer, b.byteOffset, 4).setUint32(0, Number(k) >>> 0, true);
    // codec-arena: the slot's ArrayBuffer held the preset element attr, map_fd
    // first; this writes the fd of a map with 1 MiB values there (then get()
    // copies 1 MiB into the handle's value slot: heap corruption, a signal).
    p.set("val:codec:arena", {
      size: 4,
      encode(k: unknown, target: Uint8Array) {
        u32At(target, k);
        const big = p.get("h:map:big") as { fd?: number } | undefined;
        if (target.byteOffset >= 4 && typeof big?.fd === "number") {
          new DataView(target.buffer).setUint32(0, big.fd, true);
        }
      },
      decode: (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true),
    });
    // keys-detach / codec slots: transfers the buffer it is handed; a slot whose
    // address the kernel is given must not come loose.
    const detach = (b: Uint8Array, what: string) => {
      const before = b.byteLength;
      try {
        structuredClone(b.buffer, { transfer: [b.buffer as ArrayBuffer] });
      } catch {
        return; // refused: as it should be
      }
      if (before > 0 && b.byteLength === 0) {
        throw new Error(`a codec detached the ${what} buffer whose address the kernel is given`);
      }
    };
    p.set("val:codec:detaching", {
      size: 4,
      encode(k: unknown, target: Uint8Array) {
        detach(target, "key/value");
        u32At(target, k);
      },
      decode(b: Uint8Array) {
        detach(b, "key/value/previous key");
        return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
      },
    });
    // adopt-window: every property read tries to build a second map handle on
    // each fd (the constructor is only `protected`); one built is a finding.
    const forge = () => {
      const shape = { type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, name: "forged" };
      for (let fd = 3; fd < 512; fd++) {
        let forged: Any;
        try {
          forged = Reflect.construct(sys.BpfMap, [fd, shape]);
        } catch {
          continue;
        }
        throw new Error(
          `a codec getter built a second map handle around fd ${fd} (${forged?.name})`,
        );
      }
    };
    p.set("val:codec:forging", {
      get size() {
        forge();
        return 4;
      },
      get encode() {
        forge();
        return sys.codecs.u32.encode;
      },
      get decode() {
        forge();
        return sys.codecs.u32.decode;
      },
    });
    try {
      p.set("val:iterCtx:task", dsl.iterContext(kbtf, "task"));
    } catch {
      p.set("val:iterCtx:task", {});
    }
    const spec = {
      name: "hostile_task",
      type: this.sys.BpfProgType.TRACING,
      expectedAttachType: this.sys.BpfAttachType.TRACE_ITER,
      license: "GPL",
      instructions: items,
    };
    p.set("val:spec:task", spec);
    // A map reference no spec or caller map resolves.
    p.set("val:spec:badReloc", {
      ...spec,
      instructions: [dsl.ldMapFd("r1", { name: "nope" }), ...items],
    });
    // A map value reference, with an offset past 2^32, on an exit.
    p.set("val:spec:relocOnExit", {
      ...spec,
      instructions: [items[0], { ...items[1], map: { handle: { fd: 1000 } }, imm2: 2 ** 40 }],
    });
    p.set("val:spec:socketFilter", {
      type: this.sys.BpfProgType.SOCKET_FILTER,
      license: "GPL",
      instructions: items,
    });
    p.set("val:spec:withMaps", {
      ...spec,
      maps: [{ name: "m", type: 1, keySize: 4, valueSize: 8, maxEntries: 2 ** 31 }],
    });
    p.set("val:fdio:throwing", {
      read: () => Promise.reject(new HostileError("hostile io")),
      readSync: () => {
        throw new HostileError("hostile io");
      },
      close: () => {},
    });
    // Claims more bytes than it was asked for, once, then end of file.
    this.factories.set("val:fdio:lying", () => {
      let told = false;
      const lie = (length: number) => {
        if (told) return 0;
        told = true;
        return length + 4096;
      };
      return {
        read: (_fd: number, _b: Uint8Array, _o: number, length: number) =>
          Promise.resolve(lie(length)),
        readSync: (_fd: number, _b: Uint8Array, _o: number, length: number) => lie(length),
        close: () => {},
      };
    });
    p.set("val:mapDesc:fake", { fd: 1000, type: 1, keySize: 4, valueSize: 8 });
    p.set("val:mapDesc:zero", { fd: 1000, type: 1, keySize: 0, valueSize: 0 });
    p.set("val:mapDesc:huge", { fd: 1000, type: 1, keySize: 2 ** 31, valueSize: 2 ** 31 });
    p.set("val:ownPid", process.pid);
    // struct bpf_prog_info asking for 4096 bytes of translated instructions
    // (xlated_prog_len at 20) and 64 map ids (nr_map_ids at 52): what the
    // kernel writes through the pointers at 32 and 56 if anyone patches them in.
    this.factories.set("val:progInfo:greedy", () => {
      const b = new Uint8Array(224);
      const dv = new DataView(b.buffer);
      dv.setUint32(20, 4096, true);
      dv.setUint32(52, 64, true);
      return b;
    });
    const elfFile = (this.m as Any).elf.parseElf(p.get("val:elf:task"));
    p.set("val:elfFile", elfFile);
    p.set("val:section:text", elfFile.section(".text") ?? elfFile.section("iter/task") ?? {});
    p.set("val:section:btf", elfFile.section(".BTF") ?? {});
    const E = (this.m as Any).elf;
    p.set("val:collectionSpec", E.parseCollection(p.get("val:elf:task")));
    p.set("val:collectionSpec:map", E.parseCollection(p.get("val:elf:map")));
    p.set("val:fieldType:u8", btf.u8);
    p.set("val:fieldType:char16", btf.char(16));
    p.set("val:fieldType:bytesHuge", btf.bytes(2 ** 30));
    p.set("val:fieldDefs:task", [
      { name: "pid", ctx: "task", path: "pid", kind: "u32" },
      { name: "comm", ctx: "task", path: "comm", kind: "str", len: 16 },
    ]);
    const I = (this.m as Any).iter;
    this.factories.set("fresh:splitter", () => new I.RecordSplitter(8));
    this.factories.set(
      "fresh:kernelModuleTypes",
      () => new E.KernelModuleTypes(p.get("h:btf:kernel") ?? p.get("h:btf:small")),
    );
    this.factories.set(
      "fresh:mapElements",
      () => new I.MapElements({ fd: 1000, type: 1, keySize: 4, valueSize: 8 }, new Uint8Array(36)),
    );
    this.factories.set(
      "fresh:mapElemsDecoder",
      () => new I.MapElemsDecoder({ fd: 1000, type: 1, keySize: 4, valueSize: 8 }),
    );
    // The exporter with sources that read nothing: its calls need no kernel.
    const X = (this.m as Any).exporter;
    const none = async () => [];
    this.factories.set("fresh:exporter", (ctx) =>
      ctx.ownHandle(
        new X.Exporter({
          sources: {
            processes: async () => new Map(),
            tcp: none,
            udp: none,
            bpfProgs: none,
            bpfMaps: none,
            bpfLinks: none,
            cgroups: none,
          },
          onError: () => {},
        }),
      ),
    );
    this.factories.set(
      "fresh:processDecoder",
      () =>
        new X.ProcessDecoder({
          size: 96,
          offsets: {
            startTime: 0,
            utime: 8,
            stime: 16,
            runtime: 24,
            rss: 32,
            cgroupId: 40,
            tgid: 48,
            pid: 52,
            uid: 56,
            state: 60,
            exitState: 64,
            flags: 68,
          },
          fds: 72,
          fdsTruncated: 76,
          comm: 80,
          exe: -1,
          missing: [],
        }),
    );
    p.set("val:elfRelocRecord", { insnOff: 0, typeId: 1, accessStr: "0:1", kind: 0 });
    p.set("val:verifierReport", { log: "0: (b7) r0 = 0\n1: (95) exit\nR0 !read_ok", errno: 13 });
  }

  #kernelObjects(): void {
    const { syscall: S, iter: I } = this.m as Any;
    const p = this.pool;
    const dir = `/sys/fs/bpf/ts-ebpf-hostile-${process.pid}-${Date.now()}`;
    mkdirSync(dir, { mode: 0o700 });
    this.bpffsDir = dir;
    const T = S.BpfMapType;
    const mapShapes: Record<string, Any> = {
      hash: { type: T.HASH, keySize: 4, valueSize: 8, maxEntries: 16 },
      big: { type: T.ARRAY, keySize: 4, valueSize: 1 << 20, maxEntries: 1 },
      percpu: { type: T.PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 4 },
      array: { type: T.ARRAY, keySize: 4, valueSize: 64, maxEntries: 4 },
    };
    const makeMap = (kind: string, extra: Any = {}) =>
      S.BpfMap.create({ ...mapShapes[kind], name: `hostile_${kind}`, ...extra });
    const taskSpec = p.get("val:spec:task");
    const makeProg = () => I.loadIteratorProgram(taskSpec, "task");
    const sfSpec = p.get("val:spec:socketFilter") as Any;
    const makeSfProg = () =>
      S.Program.load({ type: sfSpec.type, instructions: p.get("val:insnBytes"), license: "GPL" });
    const handles: [string, Closeable & { fd: number }][] = [];
    const keep = (name: string, h: Any) => {
      p.set(name, h);
      handles.push([name, h]);
      return h;
    };
    for (const kind of Object.keys(mapShapes)) {
      const m = keep(`h:map:${kind}`, makeMap(kind));
      m.set(new Uint8Array(4), new Uint8Array(m.valueCodec.size)); // one element to iterate over
    }
    keep(
      "h:map:codec",
      makeMap("hash", { key: S.codecs.u32, value: S.codecs.u64, name: "hostile_codec" }),
    );
    const prog = keep("h:prog:task", makeProg());
    keep("h:prog:sf", makeSfProg());
    // A plain Link of an iterator: attachIterator is internal (it checks no
    // target), so the public way is a Link on the fd of a checked IteratorLink.
    const plainLinkOf = () => {
      const checked = I.createIterator(prog, "task");
      try {
        return S.Link.fromFd(checked.fd);
      } finally {
        checked.close();
      }
    };
    const link = keep("h:link:task", plainLinkOf());
    keep("h:iterLink", I.createIterator(prog, "task"));
    // A BTF object, and a raw bpf_iter fd.
    const btf = S.btfLoad(p.get("val:btfBlob"));
    this.#poolFd("fd:btf", btf.fd);
    this.#poolFd("fd:iter", S.openIteratorFd(link));
    for (const [name, h] of handles) {
      this.#poolFd(`fd:${name.slice(2)}`, h.fd);
      this.#teardown.push(() => h.close());
    }
    this.poolFds.add(link.fd);
    // Closed handles of each kind.
    for (const [name, make] of [
      ["h:closed:map", () => makeMap("hash")],
      ["h:closed:prog", makeProg],
      ["h:closed:link", plainLinkOf],
      ["h:closed:iterLink", () => I.createIterator(prog, "task")],
    ] as const) {
      const h = (make as () => Closeable)();
      h.close();
      p.set(name, h);
    }
    // Pins of each kind, inside the private bpffs directory.
    const pins: Record<string, Any> = {
      "path:pin:map": p.get("h:map:hash"),
      "path:pin:mapBig": p.get("h:map:big"),
      "path:pin:prog": prog,
      "path:pin:link": link,
      "path:pin:iterLink": p.get("h:iterLink"),
    };
    for (const [name, h] of Object.entries(pins)) {
      const path = join(dir, name.slice("path:pin:".length));
      h.pin(path);
      p.set(name, path);
    }
    p.set("path:bpfdir", dir);
    p.set("path:pin:none", join(dir, "nonexistent"));
    const linkToPin = join(this.tmp, "symlink-to-pin");
    symlinkSync(join(dir, "map"), linkToPin);
    p.set("path:symlinkToPin", linkToPin);
    this.factories.set("path:pin:new", () => join(dir, this.unique("new-")));
    p.set("val:mapDesc:hash", p.get("h:map:hash"));
    p.set("val:spec:usesPoolMap", {
      ...(taskSpec as Any),
      instructions: [
        (this.m as Any).dsl.ldMapFd("r1", { handle: p.get("h:map:hash") }),
        ...(taskSpec as Any).instructions,
      ],
    });
    // Ids of this process's own objects (never another process's).
    for (const kind of ["hash", "big"])
      p.set(`id:map:${kind}`, (p.get(`h:map:${kind}`) as Any).info().id);
    p.set("id:prog:task", prog.info().id);
    p.set("id:link:task", link.info().id);
    p.set("id:btf", S.btfInfo(btf.fd).id);

    // Fresh objects: receivers of methods that close, write, update or detach,
    // and arguments of calls that take ownership.
    const own = (name: string, make: () => Any) =>
      this.factories.set(name, (ctx) => ctx.ownHandle(make()));
    for (const kind of Object.keys(mapShapes)) own(`fresh:map:${kind}`, () => makeMap(kind));
    own("fresh:map:codec", () =>
      makeMap("hash", { key: S.codecs.u32, value: S.codecs.u64, name: "hostile_codec" }),
    );
    // A handle whose fd was closed behind its back and whose number now holds
    // a map with 1 MiB values (issue 13, finding 2).
    this.factories.set("fresh:map:hijacked", (ctx) => {
      const m = ctx.ownHandle(makeMap("hash"));
      const fd = m.fd;
      closeSync(fd);
      const big = ctx.ownFd(S.mapCreate({ ...mapShapes.big }));
      if (big !== fd) closeSync(big); // the number went elsewhere: a handle of a closed fd then
      return m;
    });
    // syscall's Btf handle, where the package has one.
    if (typeof S.Btf?.load === "function") own("fresh:btf", () => S.Btf.load(p.get("val:btfBlob")));
    else this.factories.set("fresh:btf", () => ({ fd: 1000 }));
    own("fresh:map:frozen", () => {
      const m = makeMap("array");
      m.freeze();
      return m;
    });
    own("fresh:prog:task", makeProg);
    own("fresh:prog:sf", makeSfProg);
    // patched-info: a genuine task program whose own info() claims it was
    // loaded for bpf_map; the target check must not ask the object.
    own("fresh:prog:patchedInfo", () => {
      const prog = makeProg();
      const real = prog.info();
      const claimed = (p.get("h:btf:kernel") as Any)?.findType?.("bpf_iter_bpf_map", "func")?.id;
      Object.defineProperty(prog, "info", {
        value: () => ({ ...real, attachBtfId: claimed ?? real.attachBtfId }),
      });
      return prog;
    });
    own("fresh:link:task", plainLinkOf);
    own("fresh:iterLink", () => I.createIterator(prog, "task"));
    own("fresh:iterLink:owning", () => I.createIterator(taskSpec, "task"));
    own("fresh:reader", () => (p.get("h:iterLink") as Any).open());
    this.factories.set("fresh:reader:pid", (ctx) =>
      ctx.ownHandle(ctx.ownHandle(I.createIterator(prog, "task", { pid: process.pid })).open()),
    );
    const ownObjFd = (name: string, path: string) =>
      this.factories.set(name, (ctx) => ctx.ownFd(S.objGet(path)));
    ownObjFd("own:map:hash", join(dir, "map"));
    ownObjFd("own:map:big", join(dir, "mapBig"));
    ownObjFd("own:prog:task", join(dir, "prog"));
    ownObjFd("own:link:task", join(dir, "link"));
    this.factories.set("own:btf", (ctx) => ctx.ownFd(S.btfLoad(p.get("val:btfBlob")).fd));
    this.factories.set("own:iter", (ctx) => ctx.ownFd(S.openIteratorFd(link)));
    this.factories.set("own:link:new", (ctx) =>
      ctx.ownFd(S.linkCreate({ progFd: prog.fd, attachType: S.BpfAttachType.TRACE_ITER })),
    );
    this.factories.set("own:map:new", (ctx) => ctx.ownFd(S.mapCreate({ ...mapShapes.array })));
    own("fresh:collection", () => (this.m as Any).elf.loadCollection(join(this.tmp, "task.bpf.o")));
  }

  #fakeKernelObjects(): void {
    // Without privileges the kernel objects are stand-ins of the right shape
    // whose fds are not BPF objects; kernel calls fail with BpfError (EPERM).
    const p = this.pool;
    const file = p.get("fd:file") as number;
    for (const name of [
      "h:map:hash",
      "h:map:big",
      "h:map:percpu",
      "h:map:array",
      "h:map:codec",
      "h:prog:task",
      "h:prog:sf",
      "h:link:task",
      "h:iterLink",
      "h:closed:map",
      "h:closed:prog",
      "h:closed:link",
      "h:closed:iterLink",
    ]) {
      p.set(name, { fd: file, type: 1, keySize: 4, valueSize: 8 });
    }
    for (const name of ["fd:map:hash", "fd:map:big", "fd:prog:task", "fd:link:task", "fd:btf"]) {
      p.set(name, file);
    }
    for (const name of [
      "fd:map:percpu",
      "fd:map:array",
      "fd:map:codec",
      "fd:prog:sf",
      "fd:iterLink",
      "fd:iter",
    ]) {
      p.set(name, file);
    }
    const none = join(this.tmp, "nonexistent");
    for (const name of [
      "path:pin:map",
      "path:pin:mapBig",
      "path:pin:prog",
      "path:pin:link",
      "path:pin:iterLink",
      "path:bpfdir",
      "path:pin:none",
      "path:symlinkToPin",
    ]) {
      p.set(name, none);
    }
    this.factories.set("path:pin:new", () => join(this.tmp, this.unique("new-")));
    p.set("val:mapDesc:hash", p.get("val:mapDesc:fake"));
    p.set("val:spec:usesPoolMap", p.get("val:spec:badReloc"));
    for (const name of ["id:map:hash", "id:map:big", "id:prog:task", "id:link:task", "id:btf"]) {
      p.set(name, 0x7fff_fff0);
    }
    const ownFile = this.factories.get("own:file")!;
    for (const name of [
      "own:map:hash",
      "own:map:big",
      "own:prog:task",
      "own:link:task",
      "own:btf",
      "own:iter",
    ]) {
      this.factories.set(name, ownFile);
    }
    for (const name of [
      "fresh:map:hash",
      "fresh:map:big",
      "fresh:map:percpu",
      "fresh:map:array",
      "fresh:map:codec",
      "fresh:map:frozen",
      "fresh:map:hijacked",
      "fresh:prog:task",
      "fresh:prog:sf",
      "fresh:link:task",
      "fresh:iterLink",
      "fresh:iterLink:owning",
      "fresh:reader",
      "fresh:reader:pid",
      "fresh:collection",
      "fresh:btf",
    ]) {
      this.factories.set(name, () => ({ fd: 1000 }));
    }
    this.factories.set("own:link:new", ownFile);
    this.factories.set("own:map:new", ownFile);
  }

  has(name: string): boolean {
    return this.pool.has(name) || this.factories.has(name);
  }

  /** After each call the pooled resizable buffer changes size. */
  resizePooled(seed: number): void {
    this.#pooledBuffer.resize((seed * 2654435761) % 70);
  }

  pooledView(): Uint8Array {
    return new Uint8Array(this.#pooledBuffer);
  }

  teardown(): void {
    for (const f of this.#teardown.reverse()) {
      try {
        f();
      } catch {
        // already closed (a finding is reported elsewhere)
      }
    }
    if (this.bpffsDir) rmSync(this.bpffsDir, { recursive: true, force: true });
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

const GUARD = 4096;
const GUARD_BYTE = 0xa5;

/** What one call made, so it can be cleaned up after it. */
export class CallContext {
  readonly buffers: { ab: ArrayBuffer | SharedArrayBuffer; view: Uint8Array }[] = [];
  /** fds handed over to the call: closed after it unless the library closed them. */
  readonly ownedFds: { fd: number; what: string | undefined }[] = [];
  readonly ownedHandles: Closeable[] = [];
  readonly paths: string[] = [];

  /** Buffers with guard bytes around them (see checkGuards). */
  readonly guarded: { view: Uint8Array; len: number }[] = [];

  constructor(readonly env: Env) {}

  /**
   * Guard bytes that changed: someone (the kernel) wrote outside a buffer it
   * was handed. Returns a description per damaged buffer.
   */
  checkGuards(): string[] {
    const out: string[] = [];
    for (const { view, len } of this.guarded) {
      const ab = view.buffer as ArrayBuffer;
      if (ab.byteLength !== len + 2 * GUARD) continue; // detached or resized by the call's own hostility
      const all = new Uint8Array(ab);
      let before = 0;
      let after = 0;
      for (let i = 0; i < GUARD; i++) if (all[i] !== GUARD_BYTE) before++;
      for (let i = GUARD + len; i < all.length; i++) if (all[i] !== GUARD_BYTE) after++;
      if (before || after)
        out.push(
          `a ${len}-byte buffer: ${after} bytes changed after its end, ${before} before its start`,
        );
    }
    return out;
  }

  ownFd(fd: number): number {
    let what: string | undefined;
    try {
      what = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      what = undefined;
    }
    this.ownedFds.push({ fd, what });
    return fd;
  }

  ownHandle<T>(h: T): T {
    if (h && typeof (h as Any).close === "function")
      this.ownedHandles.push(h as unknown as Closeable);
    return h;
  }

  /** Detaches or shrinks every buffer made for this call (see evil:valueOfDetaches). */
  sabotageBuffers(): void {
    for (const { ab } of this.buffers) {
      if (ab instanceof ArrayBuffer) {
        if (ab.resizable) ab.resize(0);
        else if (ab.byteLength > 0) structuredClone(ab, { transfer: [ab] });
      }
    }
  }

  materialize(d: D): unknown {
    if ("u" in d) {
      switch (d.u) {
        case "undefined":
          return undefined;
        case "null":
          return null;
        case "NaN":
          return Number.NaN;
        case "Infinity":
          return Number.POSITIVE_INFINITY;
        case "-Infinity":
          return Number.NEGATIVE_INFINITY;
        case "-0":
          return -0;
        case "true":
          return true;
        case "false":
          return false;
      }
    }
    if ("n" in d) return d.n;
    if ("b" in d) return BigInt(d.b);
    if ("s" in d) return d.s;
    if ("sym" in d) return Symbol(d.sym);
    if ("buf" in d) return this.#buffer(d.buf, d.len, d.fill ?? 0);
    if ("ref" in d) return this.resolve(d.ref);
    if ("o" in d) {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(d.o)) o[k] = this.materialize(v);
      return o;
    }
    return d.a.map((x) => this.materialize(x));
  }

  resolve(name: string): unknown {
    const env = this.env;
    if (env.pool.has(name)) return env.pool.get(name);
    const f = env.factories.get(name);
    if (!f) throw new Error(`harness: no value named ${name}`);
    const v = f(this);
    if (name === "path:pin:new" || name === "path:tmp:new") this.paths.push(v as string);
    return v;
  }

  #buffer(variant: BufVariant, len: number, fill: number): unknown {
    const track = (view: Uint8Array) => {
      view.fill(fill);
      this.buffers.push({ ab: view.buffer as ArrayBuffer, view });
      return view;
    };
    switch (variant) {
      case "plain":
        return track(new Uint8Array(len));
      case "buffer":
        return track(Buffer.allocUnsafe(len));
      case "sub":
        return track(new Uint8Array(len + 24).subarray(8, 8 + len));
      case "empty":
        return track(new Uint8Array(0));
      case "detached": {
        const view = new Uint8Array(len);
        structuredClone(view.buffer, { transfer: [view.buffer] });
        return view;
      }
      case "shared":
        return track(new Uint8Array(new SharedArrayBuffer(len)));
      case "growable":
        return track(new Uint8Array(new SharedArrayBuffer(len, { maxByteLength: len * 2 + 16 })));
      case "resizable":
        return track(new Uint8Array(new ArrayBuffer(len, { maxByteLength: len * 2 + 16 })));
      case "shrunk": {
        const ab = new ArrayBuffer(len + 8, { maxByteLength: len * 2 + 16 });
        const view = new Uint8Array(ab, 0, len + 8);
        ab.resize(len >> 1);
        this.buffers.push({ ab, view });
        return view;
      }
      case "guarded": {
        const ab = new ArrayBuffer(len + 2 * GUARD);
        new Uint8Array(ab).fill(GUARD_BYTE);
        const view = new Uint8Array(ab, GUARD, len);
        this.guarded.push({ view, len });
        return track(view);
      }
      case "pooled":
        return this.env.pooledView();
      case "int32":
        return new Int32Array(Math.ceil(len / 4));
      case "dataview":
        return new DataView(new ArrayBuffer(len));
    }
  }
}

export function fdIsOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}
