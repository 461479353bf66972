// One batch: every exported callable of one package, called `runs` times
// with generated hostile arguments, in this (child) process. Writes a
// BatchReport as JSON to --report; the vitest parent judges it. Run by hand:
//
//   node --expose-gc dist/child.js --package syscall [--seed N] [--runs N]
//     [--report out.json] [--only key,key] [--exclude key,key] [--no-kernel]

import { appendFileSync, closeSync, openSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { Arbitraries, type Kind } from "./arbitraries.js";
import { type D, describeArgs } from "./descriptor.js";
import {
  type Callable,
  documentedErrors,
  enumerate,
  loadPackage,
  PACKAGES,
  type PackageName,
} from "./enumerate.js";
import { CallContext, Env, type FdSnapshot, fdIsOpen, HostileError, snapshotFds } from "./env.js";
import type { BatchReport, ExportReport, Finding } from "./report.js";
import { isBuiltinStatic, SIGNATURES, type Sig } from "./signatures.js";

// biome-ignore lint/suspicious/noExplicitAny: the packages are driven dynamically
type Any = any;

const { values: opts } = parseArgs({
  options: {
    package: { type: "string" },
    seed: { type: "string" },
    runs: { type: "string" },
    report: { type: "string" },
    progress: { type: "string" },
    only: { type: "string" },
    exclude: { type: "string" },
    "no-kernel": { type: "boolean" },
    "call-timeout": { type: "string" },
  },
});

const pkg = opts.package as PackageName;
if (!PACKAGES.includes(pkg)) {
  console.error(`--package must be one of ${PACKAGES.join(", ")}`);
  process.exit(2);
}
const seed = Number(opts.seed ?? Date.now() % 2 ** 31);
const runs = Number(opts.runs ?? 20);
const only = opts.only ? new Set(opts.only.split(",")) : undefined;
const exclude = new Set(opts.exclude ? opts.exclude.split(",") : []);
const kernel = !opts["no-kernel"];
// Generous: turbo runs every package's tests at once on two cores.
const callTimeoutMs = Number(opts["call-timeout"] ?? 15_000);
const progressPath = opts.progress;
const started = Date.now();

const gc = (globalThis as { gc?: () => void }).gc;

// A call that blocks synchronously never lets a timer run: a watchdog thread
// kills the process when the call counter has not moved for four times the
// call timeout, after writing which call it was to the progress file.
const heartbeat = new Int32Array(new SharedArrayBuffer(8));
const watchdog = new Worker(
  `const { workerData } = require("node:worker_threads");
   const { appendFileSync } = require("node:fs");
   const beat = workerData.beat;
   let last = -1, since = Date.now();
   setInterval(() => {
     const now = Atomics.load(beat, 0);
     if (now !== last || Atomics.load(beat, 1) === 0) { last = now; since = Date.now(); return; }
     if (Date.now() - since > workerData.limit) {
       if (workerData.progress) appendFileSync(workerData.progress, "(watchdog) the call above blocked for " + workerData.limit + " ms\\n");
       process.kill(process.pid, "SIGKILL");
     }
   }, 250);`,
  { eval: true, workerData: { beat: heartbeat, limit: callTimeoutMs * 4, progress: progressPath } },
);
watchdog.unref();

/** Deterministic per-callable seed, so one export replays alone with --only. */
function seedFor(key: string): number {
  let h = seed | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x9e3779b1);
  return h >>> 0;
}

const V8_TYPE_ERROR =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not a constructor|Cannot convert|Cannot mix BigInt|Cannot destructure|Cannot create property|Cannot use 'in' operator|private member|private field|cannot be invoked without 'new'|Invalid typed array length|is not an object|Cannot perform|Cannot access|detached|out of bounds|Reflect\.|Proxy|revoked|toPrimitive|Object\.defineProperty|Invalid attempt|Do not know how to serialize|The first argument must be|The "\w+" argument must be/;
const V8_RANGE_ERROR =
  /Maximum call stack|Invalid array length|Invalid typed array length|Array buffer allocation failed|out of memory|Invalid string length|out of range|must be non-negative|offset is out of bounds|Start offset|Invalid DataView length/;

interface Classified {
  type: string;
  ok: boolean;
}

async function main(): Promise<void> {
  const fdsBeforeSetup = snapshotFds().size;
  const modules: Record<string, Record<string, unknown>> = {};
  const entries: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const p of PACKAGES) {
    entries[p] = await loadPackage(p);
    modules[p] = entries[p]["."] as Record<string, unknown>;
  }
  const documented = [
    TypeError,
    RangeError,
    HostileError,
    ...documentedErrors(Object.values(entries)),
  ];

  const findings: Finding[] = [];
  const report: BatchReport = {
    package: pkg,
    seed,
    runs,
    kernel,
    fds: { beforeSetup: fdsBeforeSetup, beforeBatch: -1, afterBatch: -1, afterTeardown: -1 },
    fdDiff: { added: [], removed: [] },
    exports: [],
    uncovered: [],
    skipped: [],
    findings,
    calls: 0,
    durationMs: 0,
  };
  let current = "setup";
  let currentArgs = "";
  process.on("uncaughtException", (e) => {
    findings.push({
      key: current,
      kind: "uncaught",
      args: currentArgs,
      type: errorType(e),
      message: String((e as Error)?.message ?? e),
      stack: String((e as Error)?.stack ?? ""),
    });
  });
  process.on("unhandledRejection", (e) => {
    findings.push({
      key: current,
      kind: "uncaught",
      args: currentArgs,
      type: errorType(e),
      message: `unhandled rejection: ${String((e as Error)?.message ?? e)}`,
      stack: String((e as Error)?.stack ?? ""),
    });
  });

  const env = new Env({ kernel, modules });
  env.setup();
  const arbs = new Arbitraries({ ncpu: env.ncpu });
  const iterModule = modules.iter as Any;
  const resetCaches = () => {
    iterModule.closeBuiltins?.();
    iterModule.closeMapElemPrograms?.();
    iterModule.closeQueries?.();
  };

  const classify = (e: unknown, sig: Sig | undefined): Classified => {
    const type = errorType(e);
    if (sig?.allow?.types.includes(type)) return { type, ok: true };
    if (e instanceof HostileError) return { type: "HostileError(caller's own)", ok: true };
    const isDoc = documented.some((c) => e instanceof c);
    if (!isDoc) return { type, ok: false };
    if (e?.constructor === TypeError && V8_TYPE_ERROR.test((e as Error).message))
      return { type: "TypeError(v8)", ok: true };
    if (e?.constructor === RangeError && V8_RANGE_ERROR.test((e as Error).message))
      return { type: "RangeError(v8)", ok: true };
    return { type, ok: true };
  };

  const callables = enumerate(pkg, entries[pkg]!).filter((c) => !isBuiltinStatic(c.key));
  const sigs = new Map<Callable, Sig>();
  for (const c of callables) {
    const entry = SIGNATURES[c.key];
    if (!entry) report.uncovered.push(c.key);
    else if ("skip" in entry) report.skipped.push({ key: c.key, reason: entry.skip });
    else {
      checkKinds(arbs, c.key, entry);
      sigs.set(c, entry);
    }
  }

  const poolValues = new Set(env.pool.values());
  const before = snapshotFds(true);
  report.fds.beforeBatch = before.size;
  let calls = 0;

  outer: for (const [c, sig] of sigs) {
    if (only && !only.has(c.key)) continue;
    if (exclude.has(c.key)) continue;
    const exp: ExportReport = { key: c.key, aliases: c.aliases, calls: 0, ms: 0, outcomes: {} };
    const exportStarted = Date.now();
    report.exports.push(exp);
    const count = (what: string) => {
      exp.outcomes[what] = (exp.outcomes[what] ?? 0) + 1;
    };
    const n = Math.max(1, Math.round(runs * (sig.runs ?? 1)));
    const needsThis = c.kind === "method" || c.kind === "getter";
    const independent = fc.record({
      self: needsThis ? arbs.receiver(sig.this ?? "any") : fc.constant<D>({ u: "undefined" }),
      args: fc.tuple(...sig.args.map((k) => arbs.of(k))),
      arity: fc.constantFrom(0, 0, 0, 0, -1, 1),
      extra: arbs.hostile,
    });
    const shaped = sig.coupled
      ? arbs.coupled(sig.coupled).map((x) => ({
          self: x.self ?? ({ u: "undefined" } as D),
          args: x.args,
          arity: 0,
          extra: { u: "undefined" } as D,
          needs: x.needs,
        }))
      : undefined;
    const samples = fc.sample(shaped ? fc.oneof(independent, shaped) : independent, {
      seed: seedFor(c.key),
      numRuns: n,
    });
    for (let run = 0; run < samples.length; run++) {
      const sample = samples[run]!;
      let argDescs: D[] = [...sample.args];
      if (sample.arity < 0) argDescs = argDescs.slice(0, -1);
      if (sample.arity > 0) argDescs.push(sample.extra);
      const desc = `${needsThis ? `this=${describeArgs([sample.self]).slice(1, -1)} ` : ""}${describeArgs(argDescs)}`;
      current = c.key;
      currentArgs = desc;
      const finding = (kind: string, message: string, extra: Partial<Finding> = {}) =>
        findings.push({ key: c.key, kind, args: desc, run, message, ...extra });

      const snapBefore = snapshotFds();
      const ctx = new CallContext(env);
      let self: unknown;
      let args: unknown[];
      try {
        self = needsThis ? ctx.materialize(sample.self) : undefined;
        args = argDescs.map((d) => ctx.materialize(d));
      } catch (e) {
        finding("harness", `materializing arguments failed: ${String(e)}`, {
          stack: String((e as Error)?.stack),
        });
        cleanup(ctx, snapBefore);
        continue;
      }
      if (progressPath) appendFileSync(progressPath, `${c.key} run ${run} ${desc}\n`);
      calls++;
      exp.calls++;
      Atomics.store(heartbeat, 0, calls);
      Atomics.store(heartbeat, 1, 1);
      let result: unknown;
      // Every other run of an async reader method starts a second, overlapping
      // call on the same receiver first (issue 13, finding 3): it must be
      // queued or refused with a documented error, never crash or mix fds.
      let overlapping: Promise<unknown> | undefined;
      if (sig.overlap && run % 2 === 1) {
        try {
          overlapping = Promise.resolve(invoke(c, self, args));
        } catch (e) {
          overlapping = Promise.reject(e);
        }
      }
      try {
        result = invoke(c, self, args);
        result = await settle(result, callTimeoutMs);
        // An argument handed back (lookup(type) returns the type) is the caller's, not a result to walk.
        if (!args.includes(result) && result !== self)
          await consume(result, (e) => {
            const k = classify(e, sig);
            count(`${k.type} (while iterating the result)`);
            if (!k.ok) unexpected(e, "while iterating the result");
          });
        count("ok");
        for (const [path, bytes] of (sample as { needs?: [string, number][] }).needs ?? []) {
          const got = byteLengthAt(args, path);
          if (got !== undefined && got < bytes)
            finding(
              "short-buffer-accepted",
              `succeeded with ${path.replace(/^(\d+)/, "argument $1")} of ${got} bytes where the kernel uses ${bytes}`,
            );
        }
      } catch (e) {
        if (e instanceof Timeout) {
          count("hang");
          finding("hang", `no result after ${callTimeoutMs} ms`);
        } else {
          const k = classify(e, sig);
          count(k.type);
          if (!k.ok) unexpected(e, "");
        }
      }
      function unexpected(e: unknown, where: string) {
        finding(
          "unexpected-error",
          `${where ? `${where}: ` : ""}${String((e as Error)?.message ?? e)}`,
          {
            type: errorType(e),
            stack: String((e as Error)?.stack ?? ""),
          },
        );
      }
      const handedBack = args.includes(result) || result === self || poolValues.has(result);
      try {
        if (!handedBack) checkReturned(result, (kind, message) => finding(kind, message));
      } catch (e) {
        finding(
          "wrong-kind-accepted",
          `returned a ${errorType(result)} that cannot say what it holds: ${String((e as Error)?.message ?? e)}`,
        );
      }
      // What the call made is the caller's to close; not what it only shows
      // (a getter's handle, the receiver returned for chaining, a pool object).
      const made =
        c.kind !== "getter" && result !== self && !args.includes(result) && !poolValues.has(result);
      if (made)
        await disposeResult(result, sig, snapBefore, (e, what) => {
          const k = classify(e, sig);
          if (!k.ok) unexpected(e, what);
        });
      if (overlapping) {
        try {
          const other = await settle(overlapping, callTimeoutMs);
          count("ok (overlapping call)");
          await disposeResult(other, sig, snapBefore, () => {});
        } catch (e) {
          if (e instanceof Timeout) {
            count("hang (overlapping call)");
            finding("hang", `the overlapping call: no result after ${callTimeoutMs} ms`);
          } else {
            const k = classify(e, sig);
            count(`${k.type} (overlapping call)`);
            if (!k.ok) unexpected(e, "the overlapping call");
          }
        }
      }
      Atomics.store(heartbeat, 1, 0);
      for (const damage of ctx.checkGuards())
        finding("wrote-outside-buffer", `the guard bytes around ${damage}`);
      cleanup(ctx, snapBefore);
      if (sig.resetCaches) resetCaches();
      env.resizePooled(calls);
      let snapAfter = snapshotFds();
      // A read still in flight on the thread pool when an abort or an error
      // ended the call closes its fd when it returns (a deferred close, by
      // design): give it a moment before calling the fd leaked.
      for (let wait = 0; wait < 40 && diff(snapBefore, snapAfter).added.length > 0; wait++) {
        await new Promise((r) => setTimeout(r, 10));
        snapAfter = snapshotFds();
      }
      const { added, removed } = diff(snapBefore, snapAfter);
      if (added.length > 0) finding("fd-leak", `fds left open by the call: ${added.join("; ")}`);
      if (removed.length > 0) {
        finding("foreign-close", `fds the call did not own were closed: ${removed.join("; ")}`);
        const lostPool = removed.filter((r) => env.poolFds.has(Number(r.split(" ")[0])));
        repairStdio();
        if (lostPool.length > 0) {
          report.aborted = `pool fds closed by ${c.key} ${desc}: ${lostPool.join("; ")}`;
          break outer;
        }
      }
      if (calls % 200 === 0) await finalizerCheckpoint(c.key);
    }
    // Constructors and factories are where a finalizer can be registered for an fd that is then closed.
    if (c.kind === "constructor" || c.kind === "static") await finalizerCheckpoint(c.key);
    exp.ms = Date.now() - exportStarted;
  }

  /**
   * A handle that came back must hold what its class says (a BpfMap a map fd,
   * a Link a link fd...), never fd 0-2, and an IteratorLink the target it
   * names: accepting an object of the wrong kind is a finding even without
   * an error.
   */
  function checkReturned(v: unknown, report: (kind: string, message: string) => void): void {
    if (!kernel || !v || typeof v !== "object") return;
    const S = modules.syscall as Any;
    const I = modules.iter as Any;
    const want =
      v instanceof S.BpfMap
        ? ["BpfMap", "anon_inode:bpf-map"]
        : S.Btf && v instanceof S.Btf
          ? ["Btf", "anon_inode:btf"]
          : v instanceof S.Program
            ? ["Program", "anon_inode:bpf-prog"]
            : v instanceof S.Link || v instanceof I.IteratorLink
              ? [v.constructor.name, "anon_inode:bpf_link"]
              : undefined;
    if (!want) return;
    const h = v as Any;
    if (h.closed) return;
    const fd = h.fd as number;
    let what: string;
    try {
      what = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      what = "(not open)";
    }
    if (fd <= 2)
      report(
        "stdio-handle",
        `returned a ${want[0]} owning fd ${fd} (${what}); fds 0-2 are never a handle's`,
      );
    // A link reads "bpf_link" when created and "bpf-link" when reopened (OBJ_GET, GET_FD_BY_ID).
    const accepted =
      want[1] === "anon_inode:bpf_link" ? [want[1], "anon_inode:bpf-link"] : [want[1]];
    if (!accepted.includes(what))
      report("wrong-kind-accepted", `returned a ${want[0]} whose fd ${fd} is ${what}`);
    if (v instanceof I.IteratorLink && typeof h.target === "string") {
      try {
        const info = h.info();
        if (info.target !== h.target)
          report(
            "wrong-kind-accepted",
            `returned an IteratorLink for target ${h.target} whose link iterates ${info.target}`,
          );
      } catch {
        // info() failing is its own call's business
      }
    }
  }

  async function finalizerCheckpoint(key: string): Promise<void> {
    if (!gc) return;
    // Fill the free low fd numbers with canaries: a finalizer closing an fd
    // number it no longer owns (a double close) then closes a canary.
    const canaries: number[] = [];
    for (let i = 0; i < 48; i++) canaries.push(openSync("/dev/null", "r"));
    gc();
    // FinalizationRegistry callbacks run as tasks after the collection.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 1));
    }
    for (const fd of canaries) {
      let intact = false;
      try {
        intact = readlinkSync(`/proc/self/fd/${fd}`) === "/dev/null";
      } catch {
        intact = false;
      }
      if (intact) closeSync(fd);
      else
        findings.push({
          key,
          kind: "finalizer-close",
          message: `a finalizer closed fd ${fd} (a /dev/null canary it never owned) after calls of ${key}: some handle's fd was closed twice`,
        });
    }
  }

  function repairStdio(): void {
    for (const want of [0, 1, 2]) {
      if (fdIsOpen(want)) continue;
      const fd = openSync("/dev/null", "r+");
      if (fd !== want) closeSync(fd);
    }
  }

  resetCaches();
  await finalizerCheckpoint("(end of batch)");
  const after = snapshotFds(true);
  report.fds.afterBatch = after.size;
  report.fdDiff = diff(before, after);
  env.teardown();
  report.fds.afterTeardown = snapshotFds().size;
  report.calls = calls;
  report.durationMs = Date.now() - started;
  const json = JSON.stringify(report, null, 1);
  if (opts.report) writeFileSync(opts.report, json);
  else process.stderr.write(`${json}\n`);
}

class Timeout extends Error {}

function settle(v: unknown, ms: number): Promise<unknown> {
  if (!v || typeof (v as { then?: unknown }).then !== "function") return Promise.resolve(v);
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    Promise.resolve(v as Promise<unknown>),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Timeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function invoke(c: Callable, self: unknown, args: unknown[]): unknown {
  const fn = c.fn as (...a: unknown[]) => unknown;
  switch (c.kind) {
    case "constructor":
      return Reflect.construct(fn, args);
    case "static":
      return Reflect.apply(fn, c.owner, args);
    case "method":
    case "getter":
      return Reflect.apply(fn, self, args);
    case "objectFn":
      return Reflect.apply(fn, c.owner, args);
    default:
      return Reflect.apply(fn, undefined, args);
  }
}

/** Walks a generator or async iterator result a few steps, the way a caller would. */
async function consume(v: unknown, onError: (e: unknown) => void): Promise<void> {
  if (!v || (typeof v !== "object" && typeof v !== "function")) return;
  const o = v as Any;
  let isStream: boolean;
  let isIterator: boolean;
  let isAsync: boolean;
  try {
    isStream = typeof o.pipe === "function" && typeof o.destroy === "function";
    isIterator = typeof o.next === "function";
    isAsync = typeof o[Symbol.asyncIterator] === "function";
  } catch {
    return; // a revoked or throwing Proxy handed back
  }
  if (isStream) {
    o.on?.("error", () => {});
    o.destroy();
    return;
  }
  if (!isIterator) return;
  let timedOut: Timeout | undefined;
  try {
    for (let i = 0; i < 5; i++) {
      const step = isAsync ? await settle(o.next(), callTimeoutMs) : o.next();
      if ((step as { done?: boolean })?.done) break;
    }
  } catch (e) {
    if (e instanceof Timeout) timedOut = e;
    else onError(e);
  }
  try {
    const r = o.return?.();
    if (isAsync) await settle(r, callTimeoutMs);
  } catch (e) {
    if (e instanceof Timeout) timedOut ??= e;
    else onError(e);
  }
  if (timedOut) throw timedOut;
}

async function disposeResult(
  v: unknown,
  sig: Sig,
  before: FdSnapshot,
  onError: (e: unknown, what: string) => void,
): Promise<void> {
  const closeRaw = (fd: unknown) => {
    if (
      typeof fd === "number" &&
      Number.isInteger(fd) &&
      fd >= 0 &&
      !before.has(fd) &&
      fdIsOpen(fd)
    )
      closeSync(fd);
  };
  if (sig.returns === "fd") closeRaw(v);
  if (sig.returns === "fdField" && v && typeof v === "object") closeRaw((v as { fd?: unknown }).fd);
  if (!v || (typeof v !== "object" && typeof v !== "function")) return;
  const o = v as Any;
  try {
    if (typeof o.pipe === "function" && typeof o.destroy === "function") return; // a stream: consume() destroyed it
  } catch {
    return; // a revoked or throwing Proxy handed back: nothing to close
  }
  try {
    if (typeof o.close === "function") await settle(o.close(), callTimeoutMs);
    else if (typeof o[Symbol.asyncDispose] === "function")
      await settle(o[Symbol.asyncDispose](), callTimeoutMs);
    else if (typeof o[Symbol.dispose] === "function") o[Symbol.dispose]();
  } catch (e) {
    onError(e, "closing the returned object");
  }
}

/** After a call: closes what was made for it and is still open. */
function cleanup(ctx: CallContext, before: FdSnapshot): void {
  for (const h of ctx.ownedHandles) {
    try {
      h.close();
    } catch {
      // a handle of a closed fd: the fd diff tells
    }
  }
  for (const { fd, what } of ctx.ownedFds) {
    if (before.has(fd)) continue; // the number was someone else's before the call
    let now: string | undefined;
    try {
      now = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      now = undefined;
    }
    if (now !== undefined && now === what) closeSync(fd);
  }
  for (const p of ctx.paths) rmSync(p, { force: true, recursive: true });
}

function diff(a: FdSnapshot, b: FdSnapshot): { added: string[]; removed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  for (const [fd, what] of b) if (a.get(fd) !== what) added.push(`${fd} ${what}`);
  for (const [fd, what] of a) if (b.get(fd) !== what) removed.push(`${fd} ${what}`);
  return { added, removed };
}

/** Byte length of a buffer argument ("1", "0.keys"), when it is one. */
function byteLengthAt(args: unknown[], path: string): number | undefined {
  let v: unknown = args;
  for (const part of path.split(".")) v = v && typeof v === "object" ? (v as Any)[part] : undefined;
  return ArrayBuffer.isView(v) ? v.byteLength : undefined;
}

function errorType(e: unknown): string {
  try {
    return errorTypeOf(e);
  } catch {
    return "a revoked or throwing Proxy";
  }
}

function errorTypeOf(e: unknown): string {
  if (e && typeof e === "object" && !(e instanceof Error)) return e.constructor?.name ?? "object";
  if (e instanceof Error) {
    const sys = e as NodeJS.ErrnoException;
    if (typeof sys.code === "string" && typeof sys.syscall === "string") return "SystemError";
    return e.constructor?.name ?? e.name;
  }
  return `thrown ${typeof e}`;
}

function checkKinds(arbs: Arbitraries, key: string, sig: Sig): void {
  const visit = (k: Kind) => {
    if (typeof k === "string") {
      if (!arbs.has(k)) throw new Error(`harness: ${key} uses unknown kind ${k}`);
    } else if ("obj" in k) Object.values(k.obj).forEach(visit);
    else if ("oneOf" in k) k.oneOf.forEach(visit);
    else if ("tuple" in k) k.tuple.forEach(visit);
    else if ("arrayOf" in k) visit(k.arrayOf);
    else if ("safe" in k) visit(`safe:${k.safe}`);
  };
  sig.args.forEach(visit);
  if (sig.this) visit(sig.this);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(3);
  },
);
