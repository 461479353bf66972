// The decode goals' floors: the fastest hand-written JavaScript for the same
// work on the same bytes, in the same form (for...of over [key, value] for
// the records, as the issue requires `for (const [k, v] of ...)` to work),
// with no library code, on the Node running the bench. A goal whose budget
// its floor already exceeds is out of JavaScript's reach on this Node,
// whatever the library does. Each floor reads nothing: the caller times the
// same read as the library's variant before it.
//
// flatRecords is the same visit with no API at all: one loop over the bytes.
// V8 then keeps most bigints unboxed (nothing takes them out of the loop),
// which no API that hands out a value per element allows.
//
// Records are mapElems' u32 → u64 records: key (4 bytes) then value (8), 12
// bytes, so values alternate between 8-byte-aligned offsets and offsets 4
// past one. In the flat loop BigUint64Array loads are the cheapest way to
// make a bigint on Node 20 and 22 (DataView.getBigUint64 is a runtime call
// there: 15 against 6.5 ns), so it copies the records once into a kept
// buffer, 4 bytes further on, and reads every value through one of two
// aligned views. Behind an iterator or in a retained array those loads are
// slower than DataView getters (22.4 against 19.2 ms for 1M pairs through
// for...of; 180 against 121 ms for a retained array), so the floors of those
// forms use the getters.

import type { Outcome } from "./measure.js";

const RECORD = 12;

/** The copy 4 bytes on, kept from one call to the next as a fast loop would keep it. */
let shiftedCopy = new Uint8Array(0);

/** u32 keys, and each value's view and index, for records of 12 bytes. */
function views(raw: Uint8Array): {
  keys: Uint32Array;
  /** Values of odd records (8-aligned in `raw`). */
  odd: BigUint64Array;
  /** Values of even records, in the copy 4 bytes further on. */
  even: BigUint64Array;
  n: number;
} {
  // Our read buffers start 8-aligned; anything else is copied to one that does.
  const bytes = raw.byteOffset % 8 === 0 ? raw : new Uint8Array(raw);
  const n = bytes.length / RECORD;
  if (shiftedCopy.length < bytes.length + 8) shiftedCopy = new Uint8Array(bytes.length + 8);
  const shifted = shiftedCopy;
  shifted.set(bytes, 4);
  return {
    keys: new Uint32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 4)),
    odd: new BigUint64Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 8)),
    even: new BigUint64Array(shifted.buffer, 0, Math.floor(shifted.length / 8)),
    n,
  };
}

/** V8 before 13 (Node 20, 22) calls into the runtime for getBigUint64; BigInt(u32) is cheaper. */
const LOW_WORD_FIRST = Number.parseInt(process.versions.v8, 10) < 13;

/** The smallest iterator of [u32, u64] pairs over 12-byte records (little-endian). */
class PairIterator implements IterableIterator<[number, bigint]> {
  #o = 0;
  readonly #view: DataView;
  readonly #end: number;
  constructor(raw: Uint8Array) {
    this.#view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    this.#end = raw.length;
  }
  next(): IteratorResult<[number, bigint]> {
    const o = this.#o;
    if (o >= this.#end) return { done: true, value: undefined };
    this.#o = o + RECORD;
    const view = this.#view;
    const value =
      LOW_WORD_FIRST && view.getUint32(o + 8, true) === 0
        ? BigInt(view.getUint32(o + 4, true))
        : view.getBigUint64(o + 4, true);
    return { done: false, value: [view.getUint32(o, true), value] };
  }
  [Symbol.iterator](): IterableIterator<[number, bigint]> {
    return this;
  }
}

/**
 * Every element visited as the records variant visits it (keys summed, the
 * largest value kept), through `for (const [k, v] of ...)` over the smallest
 * iterator that gives each element's pair. The loop is a copy of ts-api's
 * visitRecords on purpose: one function fed two iterator classes would be
 * optimised for neither, and slow both figures.
 */
export function floorRecords(raw: Uint8Array): Outcome {
  let items = 0;
  let keys = 0;
  let big = 0n;
  for (const [k, v] of new PairIterator(raw)) {
    keys += k;
    if (v > big) big = v;
    items++;
  }
  if (items > 0 && big === 0n) throw new Error("every value read as 0");
  if (keys < 0) throw new Error("negative u32 key");
  return { items };
}

/**
 * The same visit with no API: one loop over two typed arrays, no iterator
 * protocol, no [key, value] array, bigints made by BigUint64Array loads.
 */
export function flatRecords(raw: Uint8Array): Outcome {
  const { keys, odd, even, n } = views(raw);
  let sum = 0;
  let big = 0n;
  // Record i: key word 3i; value at byte 12i + 4, which is word (12i + 8) / 8
  // of the shifted copy for even i, word (12i + 4) / 8 of the records for odd
  // i. Two records a turn: no branch on the alignment.
  let i = 0;
  for (; i + 1 < n; i += 2) {
    sum += keys[3 * i]! + keys[3 * i + 3]!;
    const a = even[(12 * i + 8) >> 3]!;
    const b = odd[(12 * i + 16) >> 3]!;
    if (a > big) big = a;
    if (b > big) big = b;
  }
  if (i < n) {
    sum += keys[3 * i]!;
    const a = even[(12 * i + 8) >> 3]!;
    if (a > big) big = a;
  }
  if (n > 0 && big === 0n) throw new Error("every value read as 0");
  if (sum < 0) throw new Error("negative u32 key");
  return { items: n };
}

/** Two Uint8Array views of the records' buffer per element, first byte of each read. */
export function floorBytes(raw: Uint8Array): Outcome {
  const buffer = raw.buffer;
  const base = raw.byteOffset;
  const n = raw.length / RECORD;
  let sum = 0;
  for (let i = 0, o = base; i < n; i++, o += RECORD) {
    const k = new Uint8Array(buffer, o, 4);
    const v = new Uint8Array(buffer, o + 4, 8);
    sum += k[0]! + v[0]!;
  }
  if (sum < 0) throw new Error("unreachable");
  return { items: n };
}

/** A pre-sized array of [number, bigint] pairs, read with DataView getters. */
export function floorArray(raw: Uint8Array): Outcome {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.length / RECORD;
  const out = new Array<[number, bigint]>(n);
  for (let i = 0, o = 0; i < n; i++, o += RECORD) {
    out[i] = [view.getUint32(o, true), view.getBigUint64(o + 4, true)];
  }
  if (n > 0 && out[n - 1]![1] === 0n && out[0]![1] === 0n) throw new Error("values read as 0");
  return { items: out.length };
}
