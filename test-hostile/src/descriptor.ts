// An argument is generated as a descriptor: plain JSON data that fast-check
// can shrink and print, and that the child turns into the real value only at
// call time (a detached buffer, a fresh fd and a revoked proxy must be made
// fresh for each call). `describe` gives the short form used in reports.

/** How a Uint8Array argument is built. */
export type BufVariant =
  | "plain" // new Uint8Array(len)
  | "buffer" // Buffer.allocUnsafe(len): small ones are views into node's shared pool
  | "sub" // a subarray at an offset of a larger buffer
  | "empty" // length 0, non-null address
  | "detached" // its ArrayBuffer transferred away (length 0, no backing store)
  | "shared" // on a SharedArrayBuffer
  | "growable" // on a growable SharedArrayBuffer
  | "resizable" // length-tracking view on a resizable ArrayBuffer
  | "shrunk" // fixed-length view on a resizable ArrayBuffer shrunk below it (out of bounds)
  | "pooled" // the batch's one length-tracking resizable buffer, resized between calls
  | "guarded" // inside a larger buffer whose bytes around it are checked after the call
  | "int32" // an Int32Array of the same byte length (a typed array of the wrong kind)
  | "dataview"; // a DataView over len bytes

export type D =
  | { u: "undefined" | "null" | "NaN" | "Infinity" | "-Infinity" | "-0" | "true" | "false" }
  | { n: number }
  | { b: string }
  | { s: string }
  | { sym: string }
  | { buf: BufVariant; len: number; fill?: number }
  | { ref: string } // a named value of the child's environment (fd, path, handle, hostile object...)
  | { o: { [key: string]: D } }
  | { a: D[] };

export function describe(d: D): string {
  if ("u" in d) return d.u;
  if ("n" in d) return String(d.n);
  if ("b" in d) return `${d.b}n`;
  if ("s" in d)
    return JSON.stringify(d.s.length > 40 ? `${d.s.slice(0, 40)}…(${d.s.length})` : d.s);
  if ("sym" in d) return `Symbol(${d.sym})`;
  if ("buf" in d) return `u8:${d.buf}(${d.len})`;
  if ("ref" in d) return d.ref;
  if ("o" in d)
    return `{${Object.entries(d.o)
      .map(([k, v]) => `${k}: ${describe(v)}`)
      .join(", ")}}`;
  return `[${d.a.map(describe).join(", ")}]`;
}

export function describeArgs(args: readonly D[]): string {
  return `(${args.map(describe).join(", ")})`;
}
