// mapElems: the contents of any map through the bpf_map_elem iterator, one
// bpf_seq_write of the key and one of the value per element. Per-CPU maps
// give every CPU's value, each rounded up to 8 bytes, as MAP_LOOKUP_ELEM does.

import { loadKernelBtf } from "@ts-ebpf/btf";
import { call, exit, type Item, jeq, label, ldx, mov } from "@ts-ebpf/dsl";
import { codecs, type Program } from "@ts-ebpf/syscall";
import { BpfMapType } from "@ts-ebpf/syscall/constants";
import { IteratorError } from "../errors.js";
import { createIterator, loadIteratorProgram } from "../link.js";
import type { IteratorReader, ReaderOptions } from "../reader.js";
import { iteratorSpec } from "./record.js";

/** What mapElems needs of a map; a `Map` from @ts-ebpf/syscall has all of it. */
export interface IterableMap<K = Uint8Array, V = Uint8Array> {
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  /** Bytes of one value as user space sees it (per-CPU: rounded to 8 × possible CPUs). */
  readonly valueSlotSize?: number;
  readonly keyCodec?: ElemDecoder<K>;
  readonly valueCodec?: ElemDecoder<V>;
}

/** The decoding half of a codec; `decodeAt` (when present) reads in place, without a subarray. */
export interface ElemDecoder<T> {
  decode(bytes: Uint8Array): T;
  decodeAt?(view: DataView, offset: number): T;
}

const PERCPU = new Set<number>([
  BpfMapType.PERCPU_HASH,
  BpfMapType.PERCPU_ARRAY,
  BpfMapType.LRU_PERCPU_HASH,
]);

const programs = new Map<string, Program>();

export function closeMapElemPrograms(): void {
  for (const p of programs.values()) p.close();
  programs.clear();
}

function checkMap(map: IterableMap<unknown, unknown>): { keySize: number; valueSize: number } {
  if (typeof map !== "object" || map === null || typeof map.fd !== "number") {
    throw new TypeError(
      "map must be a Map handle from @ts-ebpf/syscall (fd, type, keySize, valueSize)",
    );
  }
  const { keySize, valueSize } = map;
  if (!Number.isInteger(keySize) || keySize < 1 || !Number.isInteger(valueSize) || valueSize < 1) {
    throw new TypeError(`map has no usable key/value sizes (key ${keySize}, value ${valueSize})`);
  }
  const slot = map.valueSlotSize ?? (PERCPU.has(map.type) ? Number.NaN : valueSize);
  if (!Number.isInteger(slot)) throw new TypeError("per-CPU map without valueSlotSize");
  return { keySize, valueSize: slot };
}

/** The bpf_map_elem program for one key/value shape (loaded once per shape). */
export function mapElemProgram(keySize: number, valueSize: number): Program {
  const key = `${keySize}/${valueSize}`;
  let prog = programs.get(key);
  if (!prog) {
    const btf = loadKernelBtf();
    const seq = btf.memberOffset("bpf_iter_meta", "seq").offset;
    const ctx = (m: string) => btf.memberOffset("bpf_iter__bpf_map_elem", m).offset;
    const body: Item[] = [
      ldx("u64", "r6", "r1", ctx("meta")),
      ldx("u64", "r6", "r6", seq),
      ldx("u64", "r7", "r1", ctx("key")),
      ldx("u64", "r8", "r1", ctx("value")),
      jeq("r7", 0, "out"),
      jeq("r8", 0, "out"),
      mov("r1", "r6"),
      mov("r2", "r7"),
      mov("r3", keySize),
      call("seq_write"),
      mov("r1", "r6"),
      mov("r2", "r8"),
      mov("r3", valueSize),
      call("seq_write"),
      label("out"),
      mov("r0", 0),
      exit(),
    ];
    const spec = iteratorSpec(btf, "bpf_map_elem", body, "iter_map_elem");
    prog = loadIteratorProgram(spec, "bpf_map_elem", btf);
    programs.set(key, prog);
  }
  return prog;
}

/** A reader over the map's elements as back-to-back records: key bytes then value bytes. */
export function openMapElems(
  map: IterableMap<unknown, unknown>,
  options: ReaderOptions = {},
): IteratorReader {
  const { keySize, valueSize } = checkMap(map);
  const prog = mapElemProgram(keySize, valueSize);
  using link = createIterator(prog, "bpf_map_elem", { map });
  // The reader holds the iterator open; the link fd can go.
  return link.open(options);
}

/** All elements as raw records (key || value), in the kernel's iteration order. */
export async function mapElemsRaw(
  map: IterableMap<unknown, unknown>,
  options: ReaderOptions = {},
): Promise<Buffer> {
  return openMapElems(map, { chunkSize: 1 << 20, ...options }).readAll();
}

export function mapElemsRawSync(
  map: IterableMap<unknown, unknown>,
  options: ReaderOptions = {},
): Buffer {
  return openMapElems(map, { chunkSize: 1 << 20, ...options }).readAllSync();
}

/** Splits raw records into [key, value] pairs, decoded with the map's codecs when it has them. */
export function decodeMapElems<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  raw: Uint8Array,
): Array<[K, V]> {
  const { keySize, valueSize } = checkMap(map as IterableMap<unknown, unknown>);
  const size = keySize + valueSize;
  if (raw.length % size !== 0) {
    throw new IteratorError(
      `map iterator output of ${raw.length} bytes is not a multiple of ${size}`,
    );
  }
  const n = raw.length / size;
  const out = new Array<[K, V]>(n);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const readKey = fieldReader(map.keyCodec, keySize);
  const readValue = fieldReader(map.valueCodec, valueSize);
  for (let i = 0, off = 0; i < n; i++, off += size) {
    out[i] = [readKey(view, raw, off), readValue(view, raw, off + keySize)];
  }
  return out;
}

type FieldReader<T> = (view: DataView, bytes: Uint8Array, offset: number) => T;

/**
 * Decoder of one key or value at an offset. u32/u64 read straight from the
 * chunk's DataView; other codecs with `decodeAt` (bytes, @ts-ebpf/btf
 * layouts) read in place; only codecs without it get a subarray per element.
 */
function fieldReader<T>(codec: ElemDecoder<T> | undefined, size: number): FieldReader<T> {
  if (codec === (codecs.u32 as unknown))
    return ((v, _b, o) => v.getUint32(o, true)) as FieldReader<T>;
  if (codec === (codecs.u64 as unknown))
    return ((v, _b, o) => v.getBigUint64(o, true)) as FieldReader<T>;
  if (codec?.decodeAt) {
    const decodeAt = codec.decodeAt.bind(codec);
    return (v, _b, o) => decodeAt(v, o);
  }
  if (codec) return (_v, b, o) => codec.decode(b.subarray(o, o + size));
  return ((_v, b, o) => b.slice(o, o + size)) as FieldReader<T>;
}

/** Every element of the map as [key, value], decoded with the map's codecs. */
export async function mapElems<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  options: ReaderOptions = {},
): Promise<Array<[K, V]>> {
  return decodeMapElems(map, await mapElemsRaw(map as IterableMap<unknown, unknown>, options));
}

export function mapElemsSync<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  options: ReaderOptions = {},
): Array<[K, V]> {
  return decodeMapElems(map, mapElemsRawSync(map as IterableMap<unknown, unknown>, options));
}
