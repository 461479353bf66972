// Finds every callable a package exports, at run time: functions, classes
// (constructor, static methods, prototype methods and accessors, inherited
// ones keyed by the class that declares them), and functions inside exported
// objects (codecs.u32.encode, nodeFdIo.read). A newly exported function shows
// up here by itself, and the suite fails until it has a signature.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export const PACKAGES = ["spec", "syscall", "btf", "dsl", "iter", "elf", "exporter"] as const;
export type PackageName = (typeof PACKAGES)[number];

export type CallableKind = "function" | "constructor" | "static" | "method" | "getter" | "objectFn";

export interface Callable {
  /** "syscall:mapLookupElem", "syscall:BpfMap.create", "syscall:FdHandle#pin", "syscall:codecs.u32.encode". */
  key: string;
  pkg: PackageName;
  kind: CallableKind;
  /** Every name it is exported under (an alias exports the same value under another name). */
  aliases: string[];
  fn: Function;
  /** For objectFn: the object it is a property of (its natural `this`). */
  owner?: object;
}

const require = createRequire(import.meta.url);

/**
 * The entry points of a package: "." and every subpath of its package.json
 * "exports" (the "internal" ones only when asked for).
 */
export function entryPoints(
  pkg: PackageName,
  options: { internal?: boolean } = {},
): { subpath: string; file: string }[] {
  const manifestPath = require.resolve(`@ts-ebpf/${pkg}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  const out: { subpath: string; file: string }[] = [];
  for (const [subpath, target] of Object.entries<unknown>(
    manifest.exports ?? { ".": manifest.main },
  )) {
    if (subpath.endsWith(".json")) continue;
    // An "internal" subpath is the packages' declared non-public API (raw
    // commands that cannot be made safe): not part of the public surface.
    if (!options.internal && /(^|\/)internal(\/|$)/.test(subpath)) continue;
    const file =
      typeof target === "string"
        ? target
        : ((target as { default?: string; import?: string }).default ??
          (target as { import?: string }).import);
    if (!file) continue;
    out.push({ subpath, file: join(dirname(manifestPath), file) });
  }
  return out;
}

export async function loadPackage(
  pkg: PackageName,
): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const { subpath, file } of entryPoints(pkg)) {
    out[subpath] = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  }
  return out;
}

const isNative = (f: unknown) =>
  typeof f === "function" && /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(f));

export function isClass(v: unknown): v is new (...args: unknown[]) => unknown {
  return typeof v === "function" && /^class[\s{]/.test(Function.prototype.toString.call(v));
}

function memberName(k: string | symbol): string {
  return typeof k === "symbol" ? `[${k.description}]` : k;
}

export function enumerate(
  pkg: PackageName,
  entries: Record<string, Record<string, unknown>>,
): Callable[] {
  const seen = new Map<unknown, Callable>();
  const out: Callable[] = [];
  const classNames = new Map<Function, string>();
  const add = (c: Omit<Callable, "aliases">, identity: unknown, alias: string) => {
    const prior = seen.get(identity);
    if (prior) {
      if (!prior.aliases.includes(alias)) prior.aliases.push(alias);
      return;
    }
    const full: Callable = { ...c, aliases: [alias] };
    seen.set(identity, full);
    out.push(full);
  };
  // Class names first, so an inherited member is keyed by its declaring class.
  for (const ns of Object.values(entries)) {
    for (const [name, v] of Object.entries(ns)) {
      if (isClass(v) && !classNames.has(v)) classNames.set(v, name);
    }
  }
  const walkObject = (path: string, obj: object, depth: number, visited: Set<object>) => {
    if (depth > 3 || visited.has(obj)) return;
    visited.add(obj);
    for (const [k, v] of Object.entries(obj)) {
      const p = `${path}.${k}`;
      if (typeof v === "function" && !isClass(v)) {
        add({ key: `${pkg}:${p}`, pkg, kind: "objectFn", fn: v, owner: obj }, v, p);
      } else if (v && typeof v === "object" && !ArrayBuffer.isView(v)) {
        walkObject(p, v, depth + 1, visited);
      }
    }
  };
  for (const ns of Object.values(entries)) {
    for (const [name, v] of Object.entries(ns)) {
      if (isClass(v)) {
        const cls = classNames.get(v) ?? name;
        add({ key: `${pkg}:${cls}`, pkg, kind: "constructor", fn: v }, v, name);
        // Static methods, up the static chain (not Function.prototype).
        for (
          let c: Function | null = v;
          c && c !== Function.prototype && !isNative(c);
          c = Object.getPrototypeOf(c)
        ) {
          const owner = classNames.get(c) ?? c.name;
          for (const k of Reflect.ownKeys(c)) {
            if (k === "length" || k === "name" || k === "prototype") continue;
            const d = Object.getOwnPropertyDescriptor(c, k);
            if (d && typeof d.value === "function") {
              add(
                {
                  key: `${pkg}:${owner}.${memberName(k)}`,
                  pkg,
                  kind: "static",
                  fn: d.value,
                  owner: v,
                },
                d.value,
                `${name}.${memberName(k)}`,
              );
            }
          }
        }
        // Prototype methods and accessors, up to Object.prototype / Error.prototype.
        for (
          let proto = v.prototype;
          proto && !isNative(proto.constructor);
          proto = Object.getPrototypeOf(proto)
        ) {
          const ctor = proto.constructor as Function;
          const owner = classNames.get(ctor) ?? ctor.name;
          for (const k of Reflect.ownKeys(proto)) {
            if (k === "constructor") continue;
            const d = Object.getOwnPropertyDescriptor(proto, k)!;
            const key = `${pkg}:${owner}#${memberName(k)}`;
            if (typeof d.value === "function") {
              add({ key, pkg, kind: "method", fn: d.value }, d.value, `${name}#${memberName(k)}`);
            } else if (d.get) {
              add({ key, pkg, kind: "getter", fn: d.get }, d.get, `${name}#${memberName(k)}`);
            }
          }
        }
      } else if (typeof v === "function") {
        add({ key: `${pkg}:${name}`, pkg, kind: "function", fn: v }, v, name);
      } else if (v && typeof v === "object" && !ArrayBuffer.isView(v)) {
        walkObject(name, v, 1, new Set());
      }
    }
  }
  return out;
}

/** Every Error subclass the packages export: the documented error types. */
export function documentedErrors(all: Record<string, Record<string, unknown>>[]): Function[] {
  const out = new Set<Function>();
  for (const entries of all) {
    for (const ns of Object.values(entries)) {
      for (const v of Object.values(ns)) {
        if (typeof v === "function" && v.prototype instanceof Error) out.add(v);
      }
    }
  }
  return [...out];
}
