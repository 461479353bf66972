// mapElems: the contents of any map through the bpf_map_elem iterator, one
// bpf_seq_write of the key and one of the value per element. Per-CPU maps
// give every CPU's value, each rounded up to 8 bytes, as MAP_LOOKUP_ELEM does:
// which maps those are and the size of their values is @ts-ebpf/syscall's
// (mapValueSlotSize), the one owner of that list.

import { loadKernelBtf } from "@ts-ebpf/btf";
import { call, exit, type Item, jeq, label, ldx, mov } from "@ts-ebpf/dsl";
import { type Decoder, decoderAt } from "@ts-ebpf/spec";
import { iterContextStruct } from "@ts-ebpf/spec/constants";
import { mapValueSlotSize, type Program } from "@ts-ebpf/syscall";
import { IteratorError } from "../errors.js";
import { createIterator, loadIteratorProgram } from "../link.js";
import { consumeOwnReader } from "../owned-fd.js";
import { type IteratorReader, type ReaderOptions, RecordSplitter } from "../reader.js";
import { iteratorSpec } from "./record.js";

/** What mapElems needs of a map; a `Map` from @ts-ebpf/syscall has all of it. */
export interface IterableMap<K = Uint8Array, V = Uint8Array> {
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  /**
   * Bytes of one value as user space sees it (per-CPU: rounded to 8 × possible
   * CPUs). Optional: it follows from type and valueSize (syscall's
   * mapValueSlotSize); a value that disagrees is a TypeError.
   */
  readonly valueSlotSize?: number;
  /** When known, sizes mapElemsRaw's buffer in one go. */
  readonly maxEntries?: number;
  /**
   * Codecs (the reading half is enough) of keySize and value-slot bytes. They
   * must not keep the bytes they are given: mapElems reuses its read buffers.
   */
  readonly keyCodec?: Decoder<K>;
  readonly valueCodec?: Decoder<V>;
}

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
  const type = map.type;
  if (!Number.isInteger(type) || type < 0) {
    throw new TypeError(`map has no usable type (a BPF_MAP_TYPE_* number), got ${String(type)}`);
  }
  const slot = mapValueSlotSize(type, valueSize);
  if (map.valueSlotSize !== undefined && map.valueSlotSize !== slot) {
    throw new TypeError(
      `map.valueSlotSize is ${String(map.valueSlotSize)}, but a map of type ${type} with ${valueSize}-byte values has ${slot}-byte value slots`,
    );
  }
  return { keySize, valueSize: slot };
}

/** The bpf_map_elem program for one key/value shape (loaded once per shape). */
export function mapElemProgram(keySize: number, valueSize: number): Program {
  const key = `${keySize}/${valueSize}`;
  let prog = programs.get(key);
  if (!prog) {
    const btf = loadKernelBtf();
    const seq = btf.memberOffset("bpf_iter_meta", "seq").offset;
    const ctx = (m: string) => btf.memberOffset(iterContextStruct("bpf_map_elem"), m).offset;
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
  const hint = sizeHint(map);
  return consumeOwnReader(openMapElems(map, { chunkSize: 1 << 20, ...options }), (r) =>
    r.readAll({ sizeHint: hint }),
  );
}

export function mapElemsRawSync(
  map: IterableMap<unknown, unknown>,
  options: ReaderOptions = {},
): Buffer {
  return openMapElems(map, { chunkSize: 1 << 20, ...options }).readAllSync({
    sizeHint: sizeHint(map),
  });
}

/** The largest output the map can give: every entry present. */
function sizeHint(map: IterableMap<unknown, unknown>): number | undefined {
  const { keySize, valueSize } = checkMap(map);
  const n = map.maxEntries;
  return Number.isInteger(n) && n! > 0 ? n! * (keySize + valueSize) : undefined;
}

/** Splits raw records into [key, value] pairs, decoded with the map's codecs when it has them. */
export function decodeMapElems<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  raw: Uint8Array,
): Array<[K, V]> {
  const decoder = new MapElemsDecoder(map);
  decoder.push(raw);
  return decoder.end();
}

/**
 * Decodes mapElems records (key bytes then value bytes) as chunks arrive:
 * `push()` each chunk, `end()` for the pairs. A record cut by a chunk
 * boundary (only possible with chunks smaller than the kernel's seq buffer)
 * is carried over to the next chunk.
 */
export class MapElemsDecoder<K = Uint8Array, V = Uint8Array> {
  readonly out: Array<[K, V]> = [];
  readonly #splitter: RecordSplitter;
  readonly #keySize: number;
  readonly #readKey: FieldReader<K>;
  readonly #readValue: FieldReader<V>;
  readonly #decode = (bytes: Uint8Array, from: number, to: number): void => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const { out } = this;
    const size = this.#splitter.size;
    const keySize = this.#keySize;
    const readKey = this.#readKey;
    const readValue = this.#readValue;
    for (let off = from; off < to; off += size) {
      out.push([readKey(view, bytes, off), readValue(view, bytes, off + keySize)]);
    }
  };

  constructor(map: IterableMap<K, V>) {
    const { keySize, valueSize } = checkMap(map as IterableMap<unknown, unknown>);
    this.#keySize = keySize;
    this.#splitter = new RecordSplitter(keySize + valueSize);
    this.#readKey = fieldReader("keyCodec", map.keyCodec, keySize);
    this.#readValue = fieldReader("valueCodec", map.valueCodec, valueSize);
  }

  push(chunk: Uint8Array): void {
    this.#splitter.push(chunk, this.#decode);
  }

  end(): Array<[K, V]> {
    const splitter = this.#splitter;
    if (splitter.pending > 0) {
      throw new IteratorError(
        `map iterator output of ${splitter.total} bytes is not a multiple of ${splitter.size}`,
      );
    }
    return this.out;
  }
}

type FieldReader<T> = (view: DataView, bytes: Uint8Array, offset: number) => T;

/**
 * Decoder of one key or value at an offset: the codec read in place
 * (decoderAt), or without a codec a copy of the bytes.
 */
function fieldReader<T>(name: string, codec: Decoder<T> | undefined, size: number): FieldReader<T> {
  if (codec === undefined) return ((_v, b, o) => b.slice(o, o + size)) as FieldReader<T>;
  if (typeof codec !== "object" || codec === null) {
    throw new TypeError(`map.${name} must be a codec ({size, decode}), got ${typeof codec}`);
  }
  if (codec.size !== size) {
    throw new TypeError(
      `map.${name} is a codec of ${String(codec.size)} bytes, but the map's elements hold ${size}`,
    );
  }
  const read = decoderAt(codec);
  return (v, _b, o) => read(v, o);
}

/** Every element of the map as [key, value], decoded with the map's codecs. */
export async function mapElems<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  options: ReaderOptions = {},
): Promise<Array<[K, V]>> {
  const decoder = new MapElemsDecoder(map);
  // Decoding one chunk overlaps the kernel producing the next (forEachChunk).
  const reader = openMapElems(map as IterableMap<unknown, unknown>, {
    chunkSize: 1 << 20,
    ...options,
  });
  await consumeOwnReader(reader, (r) => r.forEachChunk((chunk) => decoder.push(chunk)));
  return decoder.end();
}

export function mapElemsSync<K = Uint8Array, V = Uint8Array>(
  map: IterableMap<K, V>,
  options: ReaderOptions = {},
): Array<[K, V]> {
  return decodeMapElems(map, mapElemsRawSync(map as IterableMap<unknown, unknown>, options));
}
