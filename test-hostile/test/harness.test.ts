// The harness's own checks: what enumeration finds, that the guard bytes
// see a write past a buffer, and that the signature table only names kinds
// the generators know. Pure: no kernel, no child process.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Arbitraries } from "../src/arbitraries.js";
import { enumerate } from "../src/enumerate.js";
import { CallContext, Env } from "../src/env.js";
import { SIGNATURES } from "../src/signatures.js";

describe("enumerate", () => {
  class Base {
    close(): void {}
    get fd(): number {
      return 3;
    }
  }
  class Handle extends Base {
    static open(): Handle {
      return new Handle();
    }
    read(): number {
      return 1;
    }
  }
  class Failure extends Error {}
  const ns = {
    Base,
    Handle,
    Alias: Handle,
    Failure,
    plain: () => 1,
    codecs: { u32: { encode: () => 0, size: 4 }, flag: 1 },
    CONSTANT: 7,
  };

  it("finds functions, constructors, statics, methods, accessors and functions inside objects", () => {
    const found = enumerate("syscall", { ".": ns });
    const keys = found.map((c) => c.key).sort();
    expect(keys).toEqual(
      [
        "syscall:Base",
        "syscall:Base#close",
        "syscall:Base#fd",
        "syscall:Failure",
        "syscall:Handle",
        "syscall:Handle#read",
        "syscall:Handle.open",
        "syscall:codecs.u32.encode",
        "syscall:plain",
      ].sort(),
    );
    // Inherited members are keyed by the class that declares them; aliases are listed.
    expect(found.find((c) => c.key === "syscall:Handle")?.aliases).toEqual(["Handle", "Alias"]);
    expect(found.find((c) => c.key === "syscall:Base#fd")?.kind).toBe("getter");
    // Error's own statics (captureStackTrace...) are V8's, not the package's.
    expect(keys.some((k) => k.includes("captureStackTrace"))).toBe(false);
  });
});

describe("guard bytes", () => {
  const env = Object.create(Env.prototype) as Env; // only the buffer code of CallContext is used

  it("report a write past the end of a guarded buffer, and nothing for one inside it", () => {
    const ctx = new CallContext(env);
    const view = ctx.materialize({ buf: "guarded", len: 4 }) as Uint8Array;
    view.fill(1);
    expect(ctx.checkGuards()).toEqual([]);
    new Uint8Array(view.buffer, view.byteOffset, 7).fill(2); // 3 bytes too many, as the kernel would
    expect(ctx.checkGuards()).toEqual([
      "a 4-byte buffer: 3 bytes changed after its end, 0 before its start",
    ]);
  });
});

describe("signatures", () => {
  const arbs = new Arbitraries({ ncpu: 2 });

  it("name only kinds the generators know", () => {
    const unknown: string[] = [];
    const visit = (key: string, k: unknown): void => {
      if (typeof k === "string") {
        if (!arbs.has(k)) unknown.push(`${key}: ${k}`);
      } else if (k && typeof k === "object") {
        const o = k as Record<string, unknown>;
        if ("safe" in o) visit(key, `safe:${o.safe}`);
        else if ("obj" in o) for (const v of Object.values(o.obj as object)) visit(key, v);
        else if ("oneOf" in o) for (const v of o.oneOf as unknown[]) visit(key, v);
        else if ("tuple" in o) for (const v of o.tuple as unknown[]) visit(key, v);
        else if ("arrayOf" in o) visit(key, o.arrayOf);
      }
    };
    for (const [key, entry] of Object.entries(SIGNATURES)) {
      if ("skip" in entry) continue;
      for (const k of entry.args) visit(key, k);
      if (entry.this) visit(key, entry.this);
      if (entry.coupled) arbs.coupled(entry.coupled); // throws for an unknown generator
    }
    expect(unknown).toEqual([]);
  });

  it("give right-shaped map calls the sizes the kernel uses", () => {
    const samples = fc.sample(arbs.coupled("lookup"), { seed: 1, numRuns: 50 });
    for (const s of samples) {
      const fd = (s.args[0] as { ref: string }).ref;
      const valueSize = {
        "fd:map:hash": 8,
        "fd:map:big": 1 << 20,
        "fd:map:percpu": 16,
        "fd:map:array": 64,
      }[fd];
      expect(s.needs).toEqual([
        ["1", 4],
        ["2", valueSize],
      ]);
    }
  });
});
