// Argument checks that run before any syscall: wrong types are TypeErrors,
// out-of-range numbers and buffers of the wrong size RangeErrors.
import { isArrayBuffer, isUint8Array } from "node:util/types";

export function u32(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  }
  if (value < 0 || value > 0xffffffff) {
    throw new RangeError(`${name} must be between 0 and 4294967295, got ${value}`);
  }
  return value;
}

export function positiveU32(name: string, value: unknown): number {
  const v = u32(name, value);
  if (v === 0) throw new RangeError(`${name} must be positive, got 0`);
  return v;
}

export function fd(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be a file descriptor (integer), got ${describe(value)}`);
  }
  if (value < 0 || value > 0x7fffffff) {
    throw new RangeError(`${name} must be a non-negative file descriptor, got ${value}`);
  }
  return value;
}

export function u64(name: string, value: unknown): bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new TypeError(`${name} must be a safe integer or bigint, got ${value}`);
    }
    value = BigInt(value);
  }
  if (typeof value !== "bigint") {
    throw new TypeError(`${name} must be a bigint or integer, got ${describe(value)}`);
  }
  if (value < 0n || value > 0xffffffffffffffffn) {
    throw new RangeError(`${name} must fit in 64 unsigned bits, got ${value}`);
  }
  return value;
}

// The intrinsic byteLength getter: a Uint8Array subclass can override
// `byteLength`, but not what this reads (detached or out-of-bounds views read 0).
const typedArrayByteLength = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  "byteLength",
)?.get as (this: Uint8Array) => number;

/** Bytes a Uint8Array spans now, as the engine sees them (not a getter a subclass overrides). */
export function byteLength(buffer: Uint8Array): number {
  return typedArrayByteLength.call(buffer);
}

/**
 * A Uint8Array (a Buffer is one), checked by brand: a Proxy or an object that
 * only inherits from Uint8Array.prototype is refused. With `size`, it must
 * span exactly that many bytes; `what` says where the size comes from.
 */
export function bytes(name: string, value: unknown, size?: number, what?: string): Uint8Array {
  if (!isUint8Array(value)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  }
  if (size !== undefined) {
    const given = byteLength(value);
    if (given !== size) {
      throw new RangeError(
        `${name} must be ${size} bytes${what ? ` (${what})` : ""}, got ${given}${detachedNote(value)}`,
      );
    }
  }
  return value;
}

/** A Uint8Array of at least `size` bytes (the kernel touches `size`). */
export function bytesAtLeast(name: string, value: unknown, size: number, what: string): Uint8Array {
  const b = bytes(name, value);
  const given = byteLength(b);
  if (given < size) {
    throw new RangeError(
      `${name} must be at least ${size} bytes (${what}), got ${given}${detachedNote(b)}`,
    );
  }
  return b;
}

const typedArrayBuffer = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  "buffer",
)?.get as (this: Uint8Array) => ArrayBufferLike;

function detachedNote(b: Uint8Array): string {
  if (byteLength(b) !== 0) return "";
  const buffer = typedArrayBuffer.call(b);
  return isArrayBuffer(buffer) && isDetached(buffer) ? " (its ArrayBuffer is detached)" : "";
}

const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength")
  ?.get as (this: ArrayBuffer) => number;
const arrayBufferDetached = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "detached")
  ?.get as ((this: ArrayBuffer) => boolean) | undefined;

function isDetached(buffer: ArrayBuffer): boolean {
  // Node 20 lacks ArrayBuffer.prototype.detached; a zero-length buffer is the best guess there.
  return arrayBufferDetached
    ? arrayBufferDetached.call(buffer)
    : arrayBufferByteLength.call(buffer) === 0;
}

export function string(name: string, value: unknown): string {
  if (typeof value !== "string")
    throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  return value;
}

/** An object name of at most 15 bytes of [A-Za-z0-9_.] (the kernel rejects others). */
export function objName(name: string, value: unknown): Uint8Array {
  const s = string(name, value);
  const b = Buffer.from(s, "utf8");
  if (b.length > 15) throw new RangeError(`${name} "${s}" is longer than 15 bytes`);
  if (!/^[A-Za-z0-9_.]*$/.test(s)) {
    throw new RangeError(`${name} "${s}" may hold only letters, digits, "_" and "."`);
  }
  return b;
}

/** A NUL-terminated copy of a path for the kernel. */
export function cPath(name: string, value: unknown): Uint8Array {
  const s = string(name, value);
  if (s.length === 0) throw new RangeError(`${name} must not be empty`);
  if (s.includes("\0")) throw new TypeError(`${name} must not contain NUL`);
  return Buffer.from(`${s}\0`, "utf8");
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return value.constructor?.name ?? "an object";
  return `${typeof value} ${String(value)}`;
}
