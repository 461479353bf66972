// fast-check arbitraries of argument descriptors, one per argument kind. Each
// kind mixes plausible values (right type; sizes at and around the sizes the
// kernel will use) with wrong ones of every type.

import fc from "fast-check";
import type { BufVariant, D } from "./descriptor.js";

/**
 * A whole argument list of the right shape. `needs`: [argument path, bytes]
 * for buffers the kernel reads or writes that many bytes of ("1" is the
 * second argument, "0.keys" a field of the first): a call that succeeds with
 * a shorter one handed the kernel memory outside the buffer.
 */
export interface Coupled {
  self?: D;
  args: D[];
  needs?: [string, number][];
}

/** An argument kind: a name (see KINDS below) or a shape built from kinds. */
export type Kind =
  | string
  | { obj: Record<string, Kind> }
  | { oneOf: Kind[] }
  | { arrayOf: Kind; max?: number }
  | { tuple: Kind[] }
  | { lit: D }
  | { safe: string };

const u = (x: "undefined" | "null" | "NaN" | "Infinity" | "-Infinity" | "-0" | "true" | "false") =>
  ({ u: x }) as D;
const n = (x: number): D => ({ n: x });
const s = (x: string): D => ({ s: x });
const ref = (x: string): D => ({ ref: x });
const refs = (...names: string[]) => fc.constantFrom(...names.map(ref));

const BUF_VARIANTS: BufVariant[] = [
  "plain",
  "buffer",
  "sub",
  "empty",
  "detached",
  "shared",
  "growable",
  "resizable",
  "shrunk",
  "pooled",
  "guarded",
  "int32",
  "dataview",
];

const EVIL = [
  "evil:throwingProxy",
  "evil:throwingFnProxy",
  "evil:revokedProxy",
  "evil:valueOfThrows",
  "evil:toPrimitiveThrows",
  "evil:valueOfDetaches",
  "evil:getterDetaches",
  "evil:fakeU8",
  "evil:arrayLikeHuge",
  "evil:arrayLikeNegative",
  "evil:throwingIterable",
  "evil:sparseArray",
  "evil:arrayWithThrowingElement",
  "evil:fnThrows",
  "evil:fnReturnsMinus1",
  "evil:fnReturnsHostile",
  "evil:class",
  "evil:date",
  "evil:regexp",
  "evil:promise",
  "evil:jsMap",
  "evil:arrayBuffer",
  "evil:sharedArrayBuffer",
  "evil:nullProto",
  "evil:emptyObject",
  "evil:frozenEmpty",
  "evil:bigint64array",
  "evil:float64array",
  "evil:error",
  "evil:abortedSignal",
  "evil:fakeSignal",
  "evil:objectWithFdGetterThrows",
  "evil:fakeHandleClosedFd",
  "evil:fakeHandleStdin",
  "evil:fakeHandleNegative",
  "evil:deepNest",
  "evil:cyclic",
  "evil:symbolIterator",
];

/**
 * Objects of the wrong kind: real handles made for the call (a library may
 * call close() on what it was given: never on an object the batch keeps),
 * closed handles, and values of other packages.
 */
const WRONG_OBJECTS = [
  "fresh:map:hash",
  "fresh:map:big",
  "fresh:prog:task",
  "fresh:link:task",
  "fresh:iterLink",
  "h:closed:map",
  "h:closed:prog",
  "h:closed:link",
  "h:btf:small",
  "val:layout:struct",
  "val:codec:u32",
  "val:spec:task",
  "val:insn:exit",
  "val:items:exit",
];

const FD_NUMBERS = [0, 1, 2, -1, 2 ** 31, 2 ** 31 - 1, 2 ** 32 + 3, 1.5, -0];
const POOL_FDS = [
  "fd:map:hash",
  "fd:map:big",
  "fd:map:percpu",
  "fd:map:array",
  "fd:prog:task",
  "fd:prog:sf",
  "fd:link:task",
  "fd:iterLink",
  "fd:btf",
  "fd:iter",
  "fd:file",
  "fd:dir",
  "fd:pipeR",
  "fd:pipeW",
  "fd:devnull",
  "fd:closed",
  "fd:justClosed",
];
const OWN_FDS = [
  "own:map:hash",
  "own:map:big",
  "own:prog:task",
  "own:link:task",
  "own:btf",
  "own:iter",
  "own:file",
  "own:dir",
  "own:pipeR",
  "own:devnull",
];

export interface Sizes {
  ncpu: number;
}

export class Arbitraries {
  readonly #named = new Map<string, fc.Arbitrary<D>>();
  readonly hostile: fc.Arbitrary<D>;
  /** Hostile values that are neither numbers nor objects holding an open fd. */
  readonly hostileNotFd: fc.Arbitrary<D>;

  constructor(readonly sizes: Sizes) {
    const special = fc.constantFrom<D>(
      u("undefined"),
      u("null"),
      u("NaN"),
      u("Infinity"),
      u("-Infinity"),
      u("-0"),
      u("true"),
      u("false"),
      { sym: "hostile" },
    );
    const numbers = fc
      .oneof(
        fc.constantFrom(
          0,
          1,
          -1,
          7,
          2 ** 31,
          2 ** 32,
          2 ** 32 + 1,
          2 ** 53,
          -(2 ** 53),
          1.5,
          1e308,
        ),
        fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
      )
      .map(n);
    const bigints = fc
      .constantFrom(0n, 1n, -1n, 2n ** 64n, 2n ** 63n, -(2n ** 63n) - 1n, 2n ** 200n)
      .map((b): D => ({ b: b.toString() }));
    const strings = fc.oneof(
      fc.constantFrom("", "x", "\0", "%s", "task", "r0", "hash", "𝕏", "a".repeat(10_000)),
      fc.string({ maxLength: 12 }),
    );
    this.hostileNotFd = fc.oneof(
      // -0 is fd 0 to anything that takes a number
      special.filter((d) => !("u" in d && d.u === "-0")),
      bigints,
      strings.map(s),
      refs(...EVIL.filter((e) => !/cyclic|deepNest/.test(e))),
    );
    this.hostile = fc.oneof(
      { weight: 3, arbitrary: special },
      { weight: 3, arbitrary: numbers },
      { weight: 1, arbitrary: bigints },
      { weight: 2, arbitrary: strings.map(s) },
      { weight: 3, arbitrary: this.buffer(fc.constantFrom(0, 1, 4, 8, 16, 64)) },
      { weight: 4, arbitrary: refs(...EVIL) },
      { weight: 2, arbitrary: refs(...WRONG_OBJECTS) },
      { weight: 1, arbitrary: refs(...POOL_FDS) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<D>(
          { o: {} },
          { a: [] },
          { a: [u("undefined")] },
          { o: { fd: n(1000) } },
        ),
      },
    );
    this.#define();
  }

  buffer(len: fc.Arbitrary<number>, variants: BufVariant[] = BUF_VARIANTS): fc.Arbitrary<D> {
    return fc
      .record({
        buf: fc.oneof(
          { weight: 6, arbitrary: fc.constant<BufVariant>("plain") },
          { weight: 6, arbitrary: fc.constantFrom(...variants) },
        ),
        len,
        fill: fc.constantFrom(0, 0xff, 0x41),
      })
      .map((b): D => b);
  }

  /** A kind: mostly plausible values, sometimes anything at all. */
  of(kind: Kind): fc.Arbitrary<D> {
    if (typeof kind === "object" && "safe" in kind) return this.plausible(kind);
    return fc.oneof(
      { weight: 5, arbitrary: this.plausible(kind) },
      { weight: 1, arbitrary: this.hostile },
    );
  }

  /**
   * A method's receiver: an object made for the call (the method may close
   * or modify it), sometimes one of another kind or not an object at all.
   */
  receiver(kind: Kind): fc.Arbitrary<D> {
    return fc.oneof(
      { weight: 8, arbitrary: this.plausible(kind) },
      {
        weight: 1,
        arbitrary: refs(
          "fresh:map:hash",
          "fresh:prog:task",
          "fresh:link:task",
          "fresh:iterLink",
          "fresh:reader",
          "val:elfFile",
          "h:btf:small",
          "h:closed:map",
        ),
      },
      { weight: 1, arbitrary: this.hostileNotFd },
    );
  }

  plausible(kind: Kind): fc.Arbitrary<D> {
    if (typeof kind === "string") {
      const a = this.#named.get(kind);
      if (!a) throw new Error(`harness: no arbitrary for kind ${kind}`);
      return a;
    }
    if ("lit" in kind) return fc.constant(kind.lit);
    if ("safe" in kind) return this.plausible(`safe:${kind.safe}`);
    if ("oneOf" in kind) return fc.oneof(...kind.oneOf.map((k) => this.of(k)));
    if ("tuple" in kind)
      return fc.tuple(...kind.tuple.map((k) => this.of(k))).map((a): D => ({ a }));
    if ("arrayOf" in kind)
      return fc.array(this.of(kind.arrayOf), { maxLength: kind.max ?? 4 }).map((a): D => ({ a }));
    const fields: Record<string, fc.Arbitrary<D>> = {};
    for (const [k, v] of Object.entries(kind.obj)) fields[k] = this.of(v);
    return fc
      .tuple(
        fc.record(fields, { requiredKeys: [] }),
        fc.option(
          fc.tuple(fc.constantFrom("junk", "__proto__", "constructor"), this.hostileNotFd),
          {
            freq: 8,
          },
        ),
      )
      .map(([o, extra]): D => {
        const out = { ...o } as Record<string, D>;
        if (extra) Object.defineProperty(out, extra[0], { value: extra[1], enumerable: true });
        return { o: out };
      });
  }

  /**
   * Right types, sizes near the real ones: a map of the pool (or a fresh one
   * as receiver) with key and value buffers sized around its key size and
   * value slot (0..size+8, 1 byte for a 1 MiB value...). Memory bugs hide here.
   */
  coupled(name: string): fc.Arbitrary<Coupled> {
    const { ncpu } = this.sizes;
    const maps = [
      { m: "hash", k: 4, v: 8 },
      { m: "big", k: 4, v: 1 << 20 },
      { m: "percpu", k: 4, v: 8 * ncpu },
      { m: "array", k: 4, v: 64 },
    ];
    const around = (size: number) =>
      fc.constantFrom(
        ...new Set([0, 1, size >> 1, size - 1, size, size + 1, size + 8].filter((x) => x >= 0)),
      );
    if (name === "infoPointers") {
      // Caller pointers into a greedy bpf_prog_info (the base API took them).
      const small = fc.constantFrom(0, 1, 8).map((len): D => ({ buf: "guarded", len }));
      return fc.tuple(small, small).map(([a, b]) => ({
        args: [
          ref("fd:prog:task"),
          ref("val:progInfo:greedy"),
          { a: [{ a: [n(32), a] }, { a: [n(56), b] }] },
        ],
      }));
    }
    if (name === "createIterator") {
      // A loaded program (or a spec) for one target, attached as another, with
      // the other target's parameters (issue 13, finding 5).
      const mismatched = fc.tuple(
        refs("h:prog:task", "val:spec:task", "fresh:prog:task", "fresh:prog:patchedInfo"),
        this.plausible("target"),
        fc.oneof(
          fc.constant<D>({ o: { map: ref("h:map:hash") } }),
          fc.constant<D>({ o: { map: ref("fd:map:hash") } }),
          fc.constant<D>({ o: { pid: ref("val:ownPid") } }),
          fc.constant<D>({ o: { order: s("pre") } }),
          fc.constant<D>(u("undefined")),
        ),
      );
      // A task program whose own info() claims bpf_map, attached as bpf_map
      // (attack review of issue 13): the returned link must iterate what it names.
      const patched = fc.constant<D[]>([
        ref("fresh:prog:patchedInfo"),
        s("bpf_map"),
        u("undefined"),
      ]);
      return fc
        .oneof({ weight: 3, arbitrary: mismatched }, { weight: 1, arbitrary: patched })
        .map((args) => ({ args }));
    }
    // Mostly flags 0 and zeroed keys: the kernel then finds element 0 and copies it.
    const flags = fc.oneof({ weight: 4, arbitrary: fc.constant(n(0)) }, this.plausible("flags"));
    return fc.constantFrom(...maps).chain(({ m, k, v }): fc.Arbitrary<Coupled> => {
      const key = fc.oneof(
        { weight: 3, arbitrary: around(k).map((len): D => ({ buf: "plain", len })) },
        { weight: 2, arbitrary: around(k).map((len): D => ({ buf: "guarded", len })) },
        this.buffer(around(k)),
      );
      const value = fc.oneof(
        { weight: 2, arbitrary: around(v).map((len): D => ({ buf: "guarded", len })) },
        this.buffer(around(v)),
      );
      const fd = ref(`fd:map:${m}`);
      const self =
        m === "hash"
          ? fc.constantFrom(ref("fresh:map:hash"), ref("fresh:map:hijacked"))
          : fc.constant(ref(`fresh:map:${m}`));
      const count = fc.constantFrom(0, 1, 2, 3, 16);
      const batch = count.chain((c) =>
        fc.record({
          mapFd: fc.constant(fd),
          keys: this.buffer(around(k * Math.max(c, 1))),
          values: this.buffer(around(v * Math.max(c, 1))),
          count: fc.constant(n(c)),
          inBatch: fc.oneof(fc.constant<D>(u("null")), this.buffer(around(k))),
          outBatch: this.buffer(around(k)),
        }),
      );
      switch (name) {
        case "lookup":
        case "update":
          return fc.tuple(key, value, flags).map(([a, b, c]) => ({
            args: [fd, a, b, c],
            needs: [
              ["1", k],
              ["2", v],
            ],
          }));
        case "delete":
          return fc.tuple(key, flags).map(([a, c]) => ({ args: [fd, a, c], needs: [["1", k]] }));
        case "nextKey":
          return fc.tuple(fc.oneof(key, fc.constant<D>(u("null"))), key).map(([a, b]) => ({
            args: [fd, a, b],
            needs: [
              ["1", k],
              ["2", k],
            ],
          }));
        case "batch":
        case "deleteBatchRaw":
          return batch.map((o) => {
            const c = (o.count as { n: number }).n;
            const needs: [string, number][] = [["0.keys", k * c]];
            if (name === "batch") needs.push(["0.values", v * c]); // DELETE_BATCH reads no values
            return { args: [{ o }], needs };
          });
        case "get":
          return fc
            .tuple(key, flags)
            .chain(([a, c]) => self.map((h) => ({ self: h, args: [a, c] })));
        case "has":
        case "delete#":
          return fc.tuple(self, key).map(([h, a]) => ({ self: h, args: [a] }));
        case "set":
          return fc
            .tuple(key, value, flags)
            .chain(([a, b, c]) => self.map((h) => ({ self: h, args: [a, b, c] })));
        case "updateBatch":
          return fc
            .array(
              fc.tuple(key, value).map(([a, b]): D => ({ a: [a, b] })),
              { maxLength: 3 },
            )
            .chain((a) => self.map((h) => ({ self: h, args: [{ a }] })));
        case "deleteBatch":
          return fc
            .array(key, { maxLength: 3 })
            .chain((a) => self.map((h) => ({ self: h, args: [{ a }] })));
        case "testRun":
          return fc
            .tuple(this.buffer(around(64)), this.buffer(around(64)))
            .map(([dataIn, dataOut]) => ({
              args: [{ o: { progFd: ref("fd:prog:sf"), dataIn, dataOut, repeat: n(1) } }],
            }));
        default:
          throw new Error(`harness: no coupled generator ${name}`);
      }
    });
  }

  has(kind: string): boolean {
    return this.#named.has(kind);
  }

  #define(): void {
    const def = (name: string, a: fc.Arbitrary<D>) => this.#named.set(name, a);
    const { ncpu } = this.sizes;
    const MiB = 1 << 20;
    def("any", this.hostile);
    def(
      "int",
      fc
        .oneof(fc.constantFrom(0, 1, 2, 3, 4, 8, 16, 64, 4096), fc.integer({ min: -4, max: 300 }))
        .map(n),
    );
    def("u32", fc.constantFrom(0, 1, 2, 3, 4, 8, 0xffffffff, 2 ** 31).map(n));
    def("flags", fc.constantFrom(0, 0, 0, 1, 2, 4, 8, 0x10, 0x80, 1 << 12, 0xffffffff).map(n));
    def("count", fc.constantFrom(0, 1, 2, 3, 4, 16, 17, 1000, 2 ** 32 - 1, 2 ** 31).map(n));
    def("size", fc.constantFrom(0, 1, 3, 4, 7, 8, 16, 64, 4096, MiB, 2 ** 31, 2 ** 32).map(n));
    def(
      "bigint",
      fc.constantFrom(0n, 1n, 42n, -1n, 2n ** 64n, 2n ** 63n).map((b): D => ({ b: String(b) })),
    );
    def("bool", fc.constantFrom(u("true"), u("false")));
    def(
      "str",
      fc.oneof(fc.constantFrom("", "x", "name", "\0", "%d", "a".repeat(300)), fc.string()).map(s),
    );
    def(
      "name",
      fc
        .constantFrom(
          "task",
          "hostile",
          "",
          "bpf_map",
          "task_struct",
          "x".repeat(16),
          "a b",
          "/",
          "../etc",
        )
        .map(s),
    );
    def(
      "target",
      fc
        .constantFrom(
          "task",
          "task_file",
          "task_vma",
          "bpf_map",
          "bpf_map_elem",
          "bpf_prog",
          "bpf_link",
          "tcp",
          "udp",
          "unix",
          "ksym",
          "cgroup",
          "kmem_cache",
          "bpf_sk_storage_map",
          "sockmap",
          "nonexistent",
          "",
          "TASK",
          "task\0",
          "../task",
        )
        .map(s),
    );
    def(
      "typeRef",
      fc.oneof(
        fc.constantFrom(0, 1, 2, 3, 100, 2 ** 31, -1, 1e9).map(n),
        fc
          .constantFrom(
            "task_struct",
            "struct task_struct",
            "union bpf_attr",
            "enum bpf_map_type",
            "u32",
            "int",
            "nonexistent_type",
            "",
            "struct",
            "struct ",
            "bpf_iter__task",
          )
          .map(s),
        refs("val:btfType:task_struct", "val:btfType:int"),
      ),
    );
    def(
      "memberPath",
      fc
        .constantFrom(
          "pid",
          "comm",
          "comm[0]",
          "comm[99]",
          "mm.exe_file",
          "a.b.c",
          "",
          ".",
          "[0]",
          "pid[",
        )
        .map(s),
    );
    def(
      "reg",
      fc.oneof(
        fc.constantFrom("r0", "r1", "r5", "r6", "r10", "r11", "fp", "R1", "r-1", "", "w1").map(s),
        fc.constantFrom(0, 1, 10, 11, -1, 1.5).map(n),
      ),
    );
    def("imm", fc.constantFrom(0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32, 1.5).map(n));
    def("off", fc.constantFrom(0, 8, -8, 32767, 32768, -32769, 1.5).map(n));
    def("label", fc.constantFrom("out", "l", "", "1abc", "a b", "r0", "exit").map(s));
    def(
      "helper",
      fc.oneof(
        fc.constantFrom("trace_printk", "seq_printf", "map_lookup_elem", "nonexistent", "").map(s),
        fc.constantFrom(0, 1, 6, 126, 100_000, -1).map(n),
      ),
    );
    def("sizeName", fc.constantFrom("u8", "u16", "u32", "u64", "b", "dw", "u128", "").map(s));
    // Buffers sized at and around every pool map's key and value (slot) sizes.
    const keyLens = fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 8, 12, 64);
    const valueLens = fc.constantFrom(
      0,
      1,
      4,
      7,
      8,
      9,
      16,
      63,
      64,
      72,
      8 * ncpu - 1,
      8 * ncpu,
      8 * ncpu + 8,
      MiB - 1,
      MiB,
      MiB + 8,
    );
    def("bytes", this.buffer(fc.oneof(fc.integer({ min: 0, max: 72 }), fc.constantFrom(4096))));
    def("key", this.buffer(keyLens));
    def("value", this.buffer(valueLens));
    def(
      "batch",
      this.buffer(
        fc.constantFrom(
          0,
          1,
          4,
          7,
          8,
          12,
          16,
          32,
          63,
          64,
          128,
          256,
          8 * ncpu * 4,
          8 * ncpu * 16,
          4096,
        ),
      ),
    );
    def(
      "info",
      this.buffer(fc.constantFrom(0, 1, 4, 8, 16, 32, 40, 64, 80, 96, 128, 224, 256, 4096)),
    );
    def(
      "insnBytes",
      fc.oneof(
        refs(
          "val:insnBytes",
          "val:insnBytes:odd",
          "val:insnBytes:ldimm64Half",
          "val:insnBytes:random",
        ),
        this.buffer(fc.constantFrom(0, 1, 8, 15, 16, 64)),
      ),
    );
    def(
      "btfBytes",
      fc.oneof(
        refs("val:btfBlob", "val:btfBlob:truncated", "val:btfBlob:mutated", "val:btfBlob:hugeSize"),
        this.buffer(fc.constantFrom(0, 1, 24, 40)),
      ),
    );
    def(
      "elfBytes",
      fc.oneof(
        refs(
          "val:elf:task",
          "val:elf:map",
          "val:elf:bad",
          "val:elf:truncated",
          "val:elf:flipped",
          "val:elf:headerOnly",
        ),
        this.buffer(fc.constantFrom(0, 4, 64)),
      ),
    );
    def(
      "text",
      fc.oneof(
        refs(
          "val:text:valid",
          "val:text:badEscape",
          "val:text:control",
          "val:text:garbage",
          "val:text:huge",
        ),
        fc
          .constantFrom(
            "r0 = 0",
            "exit",
            "goto +1",
            "call -0xff82",
            "r1 = *(u64 *)(r10 - 8)",
            "lock *(u32 *)(r1 + 0) += r2",
            "r0 = 0 ll",
            'r1 = "abc"',
            "r1 = map[nope]",
            "l:\ngoto l",
            "if r1 > 0x100000000 goto +0",
            "r0 = -9223372036854775809 ll",
          )
          .map(s),
        fc.string({ maxLength: 30 }).map(s),
      ),
    );
    def(
      "fmt",
      fc.oneof(
        refs("val:fmt:ok", "val:fmt:bad", "val:fmt:many"),
        fc.constantFrom("%d", "%s", "%pK", "%o", "%%", "%", "%lld %llx %pI4", "%c").map(s),
      ),
    );
    // fds: this process's BPF objects of every kind, files, a pipe, stdio,
    // numbers that are not open. Kind-specific kinds favour the right kind.
    const anyFd = fc.oneof(refs(...POOL_FDS), fc.constantFrom(...FD_NUMBERS).map(n));
    def("fd", anyFd);
    for (const [kind, names] of [
      ["map", ["fd:map:hash", "fd:map:big", "fd:map:percpu", "fd:map:array"]],
      ["prog", ["fd:prog:task", "fd:prog:sf"]],
      ["link", ["fd:link:task", "fd:iterLink"]],
      ["btf", ["fd:btf"]],
    ] as const) {
      def(
        `fd:${kind}`,
        fc.oneof({ weight: 3, arbitrary: refs(...names) }, { weight: 2, arbitrary: anyFd }),
      );
    }
    // fds handed over to a call that takes ownership: fds made for the call,
    // stdio, numbers that are not open, values of other types. Never another
    // open fd of this process: giving away an fd one does not own is the
    // caller's bug, not the library's.
    const notFds = this.hostileNotFd;
    def(
      "safe:ownFdRaw",
      fc.oneof(
        { weight: 4, arbitrary: refs(...OWN_FDS) },
        fc.constantFrom(-1, 1000, 2 ** 31, 1.5).map(n),
        notFds,
      ),
    );
    def(
      "safe:ownFd",
      fc.oneof(
        { weight: 4, arbitrary: refs(...OWN_FDS) },
        fc.constantFrom(0, 1, 2, -1, 1000, 2 ** 31, 1.5).map(n),
        notFds,
      ),
    );
    def(
      "id",
      fc.oneof(
        refs("id:map:hash", "id:map:big", "id:prog:task", "id:link:task", "id:btf"),
        fc.constantFrom(0, -1, 2 ** 31, 2 ** 32, 2 ** 53, 1.5).map(n),
      ),
    );
    def("objKind", fc.constantFrom("map", "prog", "link", "btf", "", "MAP", "task", "maps").map(s));
    def(
      "pid",
      fc.oneof(refs("val:ownPid"), fc.constantFrom(0, -1, 2 ** 31, 2 ** 32, 1.5, 4_194_305).map(n)),
    );
    const paths = [
      "path:none",
      "path:file",
      "path:dir",
      "path:symlink",
      "path:dangling",
      "path:elf",
      "path:nul",
      "path:long",
      "path:relative",
      "path:trailingSlash",
      "path:bpfdir",
      "path:pin:map",
      "path:pin:mapBig",
      "path:pin:prog",
      "path:pin:link",
      "path:pin:iterLink",
      "path:pin:none",
      "path:symlinkToPin",
      "path:tmp:new",
      "path:pin:new",
    ];
    def("path", fc.oneof(refs(...paths), fc.constantFrom("").map(s)));
    def("pinPath", fc.oneof({ weight: 3, arbitrary: refs("path:pin:new") }, refs(...paths)));
    def(
      "elfPath",
      fc.oneof(
        { weight: 3, arbitrary: refs("path:elf", "path:elf:map", "path:elf:bad") },
        refs(...paths),
      ),
    );
    const handles = {
      map: [
        "h:map:hash",
        "h:map:big",
        "h:map:percpu",
        "h:map:array",
        "h:map:codec",
        "h:closed:map",
      ],
      prog: ["h:prog:task", "h:prog:sf", "h:closed:prog"],
      link: ["h:link:task", "h:closed:link"],
      iterLink: ["h:iterLink", "h:closed:iterLink"],
      btf: ["h:btf:kernel", "h:btf:small", "h:btf:hugeSize"],
    };
    const allHandles = Object.values(handles).flat();
    const handle = fc.oneof(
      refs(...allHandles),
      refs("evil:fakeHandleClosedFd", "evil:fakeHandleStdin", "evil:objectWithFdGetterThrows"),
    );
    def("handle", handle);
    for (const [kind, names] of Object.entries(handles)) {
      def(
        `handle:${kind}`,
        fc.oneof({ weight: 3, arbitrary: refs(...names) }, { weight: 1, arbitrary: handle }),
      );
    }
    const fresh = {
      map: [
        "fresh:map:hash",
        "fresh:map:big",
        "fresh:map:percpu",
        "fresh:map:array",
        "fresh:map:codec",
        "fresh:map:frozen",
        "fresh:map:hijacked",
      ],
      prog: ["fresh:prog:task", "fresh:prog:sf"],
      link: ["fresh:link:task"],
      iterLink: ["fresh:iterLink", "fresh:iterLink:owning"],
      reader: ["fresh:reader", "fresh:reader:pid"],
    };
    for (const [kind, names] of Object.entries(fresh)) {
      def(`fresh:${kind}`, refs(...names));
      // Handles handed over to a call that takes ownership: fresh ones, closed
      // ones, fakes whose fd is not open; never one the batch keeps using.
      def(
        `safe:ownHandle:${kind}`,
        fc.oneof(
          { weight: 4, arbitrary: refs(...names) },
          refs(
            "h:closed:map",
            "h:closed:prog",
            "h:closed:link",
            "evil:fakeHandleClosedFd",
            "evil:fakeHandleStdin",
          ),
          this.hostileNotFd,
        ),
      );
    }
    def(
      "signal",
      fc.oneof(
        refs("evil:abortedSignal", "evil:signal", "evil:abortingSoon", "evil:fakeSignal"),
        fc.constantFrom(s("x"), { o: {} }),
      ),
    );
    def(
      "fdio",
      fc.oneof(refs("val:fdio:throwing", "val:fdio:lying"), fc.constant<D>({ o: { read: n(1) } })),
    );
    def(
      "readerOptions",
      this.plausible({
        obj: {
          chunkSize: { oneOf: ["size", { lit: n(4096) }, { lit: n(0) }, { lit: n(-1) }] },
          signal: "signal",
          target: "target",
          io: "fdio",
          sizeHint: "size",
        },
      }),
    );
    def(
      "fn",
      refs(
        "evil:fnThrows",
        "evil:fnReturnsMinus1",
        "evil:fnReturnsHostile",
        "evil:class",
        "evil:throwingFnProxy",
      ),
    );
    def(
      "insn",
      fc.oneof(
        refs(
          "val:insn:exit",
          "val:insn:mov",
          "val:insn:ldimm64",
          "val:insn:call",
          "val:insn:jmpLabel",
          "val:insn:label",
          "val:insn:fake",
        ),
        this.plausible({ obj: { code: "int", dst: "reg", src: "reg", off: "off", imm: "imm" } }),
      ),
    );
    def(
      "items",
      fc.oneof(
        refs("val:items:exit", "val:items:loop", "val:items:undefinedLabel", "val:items:mapRef"),
        fc.array(this.plausible("insn"), { maxLength: 4 }).map((a): D => ({ a })),
      ),
    );
    def(
      "spec",
      refs(
        "val:spec:task",
        "val:spec:badReloc",
        "val:spec:relocOnExit",
        "val:spec:socketFilter",
        "val:spec:withMaps",
        "val:spec:usesPoolMap",
      ),
    );
    def(
      "codec",
      refs(
        "val:codec:u32",
        "val:codec:u64",
        "val:codec:bytes3",
        "val:codec:lying",
        "val:codec:huge",
        "val:codec:arena",
        "val:codec:detaching",
        "val:codec:forging",
      ),
    );
    def(
      "decoder",
      refs("val:decoder:fake", "val:decoder:zero", "val:decoder:throwing", "val:layout:struct"),
    );
    // Callbacks handed the buffers of reads in flight (forEachChunk, readRecords).
    def("chunkFn", fc.oneof(this.plausible("fn"), refs("evil:fnDetachesChunk")));
    def("chunkDecoder", fc.oneof(this.plausible("decoder"), refs("evil:decoderDetachesChunk")));
    def("layout", refs("val:layout:struct", "val:layout:u32", "val:codec:u32"));
    def("btf", refs("h:btf:kernel", "h:btf:small", "h:btf:hugeSize"));
    def("iterCtx", refs("val:iterCtx:task"));
    def(
      "mapDesc",
      fc.oneof(
        refs("val:mapDesc:hash", "val:mapDesc:fake", "val:mapDesc:zero", "val:mapDesc:huge"),
        refs(...handles.map),
      ),
    );
    def(
      "iterParams",
      fc.oneof(
        this.plausible({ obj: { map: { oneOf: ["handle:map", "fd:map"] } } }),
        this.plausible({ obj: { tid: "pid", pid: "pid", pidFd: "fd" } }),
        this.plausible({ obj: { cgroupFd: "fd", cgroupId: "bigint", order: "str" } }),
      ),
    );
    def("report", refs("val:verifierReport"));
    // Sizes of kernel allocations and loop counts: wrong types and values the
    // kernel must refuse, never a size it would try to allocate (see signatures.ts).
    const safeWrong: D[] = [
      u("undefined"),
      u("null"),
      u("NaN"),
      u("-0"),
      n(1.5),
      s("4"),
      { b: "4" },
    ];
    const safe = (name: string, values: number[], extra: D[] = []) =>
      def(
        `safe:${name}`,
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...values.map(n)) },
          { weight: 1, arbitrary: fc.constantFrom(...safeWrong, ...extra) },
        ),
      );
    const evilNumbers = [ref("evil:valueOfThrows"), ref("evil:valueOfDetaches")];
    safe("logLevel", [0, 1, 2, 3, 4, 7, 8, -1, 2 ** 32 + 1], evilNumbers);
    safe("logSize", [0, 1, 127, 128, 4096, 65536, -1, 2 ** 32, 2 ** 32 + 128], evilNumbers);
    safe("mapType", [0, 1, 2, 5, 6, 9, 12, 13, 21, 27, 30, 31, 33, 99, -1, 2 ** 32 + 1]);
    safe("keySize", [0, 1, 4, 8, 64, 512, 513, -1, 2 ** 32 + 4], evilNumbers);
    safe("valueSize", [0, 1, 8, 4096, MiB, MiB + 1, -1, 2 ** 32 + 8], evilNumbers);
    safe("maxEntries", [0, 1, 2, 16, 2 ** 32 + 1, -1], evilNumbers);
    safe("mapFlags", [0, 1, 2, 4, 0x80, 0x400, 0x1000, 0xffffffff]);
    safe("numaNode", [0, -1, 1, 2 ** 31]);
    safe("ifindex", [0, 2 ** 31, -1]);
    safe("repeat", [0, 1, 2, 100]);
    def(
      "progType",
      fc.constantFrom(0, 1, 2, 5, 6, 17, 26, 27, 28, 29, 31, 99, -1, 2 ** 32 + 26).map(n),
    );
    def("attachType", fc.constantFrom(0, 1, 18, 24, 28, 39, 42, 99, -1).map(n));
    def("iterInfo", this.buffer(fc.constantFrom(0, 1, 4, 8, 12, 16, 24, 32)));
    def(
      "infoOffset",
      fc.constantFrom(0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 88, 200, -8, 4096, 1.5).map(n),
    );
    def("view", this.buffer(fc.constantFrom(0, 1, 2, 4, 7, 8, 16), ["dataview"]));
    def(
      "fresh:fdHandle",
      refs("fresh:map:hash", "fresh:map:big", "fresh:prog:task", "fresh:link:task"),
    );
    def("fresh:collection", refs("fresh:collection"));
    def("fresh:btf", refs("fresh:btf"));
    def("fresh:splitter", refs("fresh:splitter"));
    def("fresh:kernelModuleTypes", refs("fresh:kernelModuleTypes"));
    def("fresh:mapElemsDecoder", refs("fresh:mapElemsDecoder"));
    def("fresh:mapElements", refs("fresh:mapElements"));
    def("fresh:exporter", refs("fresh:exporter"));
    def("fresh:processDecoder", refs("fresh:processDecoder"));
    def("elfFile", refs("val:elfFile"));
    def(
      "section",
      fc.oneof(
        refs("val:section:text", "val:section:btf"),
        this.plausible({
          obj: {
            offset: "int",
            size: "size",
            name: "str",
            type: "int",
            link: "int",
            entsize: "int",
          },
        }),
      ),
    );
    def("collectionSpec", refs("val:collectionSpec", "val:collectionSpec:map"));
    def(
      "fieldType",
      refs(
        "val:layout:u32",
        "val:layout:struct",
        "val:fieldType:u8",
        "val:fieldType:char16",
        "val:fieldType:bytesHuge",
        "val:codec:u32",
      ),
    );
    def(
      "fieldDefs",
      fc.oneof(
        refs("val:fieldDefs:task"),
        fc
          .array(
            this.plausible({
              obj: { name: "name", ctx: "name", path: "memberPath", kind: "str", len: "size" },
            }),
            { maxLength: 3 },
          )
          .map((a): D => ({ a })),
      ),
    );
    def(
      "btfKind",
      fc.constantFrom(
        u("undefined"),
        s("struct"),
        s("union"),
        s("func"),
        s("int"),
        s("nope"),
        n(4),
      ),
    );
    def("btfType", refs("val:btfType:task_struct", "val:btfType:int"));
    def(
      "moduleName",
      fc.constantFrom("nonexistent", "", "vmlinux", ".", "x\0y", "bpf_testmod").map(s),
    );
    def(
      "linkParams",
      fc.oneof(
        fc.constantFrom<D>({ o: { kind: s("none") } }),
        this.plausible({ obj: { kind: { lit: s("map") }, mapFd: "fd:map" } }),
        this.plausible({ obj: { kind: { lit: s("task") }, tid: "pid", pid: "pid", pidFd: "fd" } }),
        this.plausible({
          obj: { kind: { lit: s("cgroup") }, order: "str", cgroupFd: "fd", cgroupId: "bigint" },
        }),
      ),
    );
    def("own:link:new", refs("own:link:new"));
    def("own:map:new", refs("own:map:new"));
    def("coreRecord", refs("val:elfRelocRecord"));
  }
}
