// The codecs a map's own BTF gives its keys and values: what mapElems decodes
// with when the caller gave none, and what `bpf-iter map` prints, as bpftool
// does (structs as objects through btf's compiled readers, enums by name,
// per-CPU values as one value per CPU).

import { BtfError, codecFromBtf, loadKernelBtf, parseBtf } from "@ts-ebpf/btf";
import { defineField, type FieldType } from "@ts-ebpf/spec";
import { Btf, isPerCpuMapType, mapInfo, possibleCpus } from "@ts-ebpf/syscall";

export interface MapBtfCodecs {
  /** The key's codec; undefined when the map has no BTF key type (or it does not fit the key size). */
  readonly key: FieldType<unknown> | undefined;
  /** The value's codec (per-CPU maps: an array with one value per possible CPU); undefined likewise. */
  readonly value: FieldType<unknown> | undefined;
  /** Id of the BTF object the types come from. */
  readonly btfId: number;
}

/** Codecs by BTF object and type ids: a map's BTF is read and compiled once. */
const cache = new Map<string, MapBtfCodecs | undefined>();
const CACHE_LIMIT = 256;

/**
 * The codecs of a map's key and value from the BTF it was created with
 * (btf_key_type_id / btf_value_type_id, as clang objects loaded through
 * @ts-ebpf/elf give their maps), decoded as bpftool prints them: see
 * codecFromBtf's `symbolic`. Undefined when the map carries no BTF value type
 * or its BTF cannot describe the bytes (a type of another size).
 */
export function mapBtfCodecs(map: { readonly fd: number }): MapBtfCodecs | undefined {
  if (typeof map !== "object" || map === null || typeof map.fd !== "number") {
    throw new TypeError("map must be a Map handle from @ts-ebpf/syscall (an object with an fd)");
  }
  const info = mapInfo(map.fd);
  if (info.btfId === 0 || (info.btfKeyTypeId === 0 && info.btfValueTypeId === 0)) return undefined;
  const id = [
    info.btfId,
    info.btfKeyTypeId,
    info.btfValueTypeId,
    info.type,
    info.keySize,
    info.valueSize,
  ].join("/");
  if (cache.has(id)) return cache.get(id);
  let codecs: MapBtfCodecs | undefined;
  try {
    codecs = compile(info);
  } catch (e) {
    // BTF that does not describe the bytes: the dump still works, as bytes.
    if (!(e instanceof BtfError || e instanceof RangeError)) throw e;
    codecs = undefined;
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(id, codecs);
  return codecs;
}

function compile(info: ReturnType<typeof mapInfo>): MapBtfCodecs | undefined {
  let data: Uint8Array | undefined;
  let kernel = false;
  {
    using btf = Btf.fromId(info.btfId);
    const got = btf.info({ withData: true });
    data = got.btf;
    kernel = got.kernelBtf;
  }
  if (!data) return undefined;
  // Module BTF is split on vmlinux; a program's own BTF stands alone.
  const btf = parseBtf(data, kernel && info.btfId !== 1 ? loadKernelBtf() : undefined);
  const fits = (typeId: number, size: number) => {
    if (typeId === 0) return undefined;
    const codec = codecFromBtf(btf, typeId, { symbolic: true });
    return codec.size === size ? codec : undefined;
  };
  const key = fits(info.btfKeyTypeId, info.keySize);
  let value = fits(info.btfValueTypeId, info.valueSize);
  if (value && isPerCpuMapType(info.type)) value = perCpu(value, possibleCpus());
  if (!key && !value) return undefined;
  return { key, value, btfId: info.btfId };
}

/**
 * A per-CPU map's value as user space reads it: `cpus` values of `type`, each
 * in a slot rounded up to 8 bytes, decoded to an array with one value per CPU.
 */
export function perCpu<T>(type: FieldType<T>, cpus: number): FieldType<T[]> {
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 8192) {
    throw new RangeError(`cpus must be an integer in 1..8192, got ${String(cpus)}`);
  }
  if (typeof type !== "object" || type === null || typeof type.decodeAt !== "function") {
    throw new TypeError("type must be a field type (a codec with decodeAt/encodeAt)");
  }
  const slot = Math.ceil(type.size / 8) * 8;
  const { decodeAt, encodeAt } = type;
  return defineField({
    describe: `${type.describe} per CPU [${cpus}]`,
    size: slot * cpus,
    align: 8,
    decodeAt(v: DataView, o: number): T[] {
      const out = new Array<T>(cpus);
      for (let i = 0; i < cpus; i++) out[i] = decodeAt(v, o + i * slot);
      return out;
    },
    encodeAt(x: readonly T[], v: DataView, o: number): void {
      if (!Array.isArray(x) || x.length !== cpus) {
        throw new TypeError(`a per-CPU value is an array of ${cpus} values (one per possible CPU)`);
      }
      new Uint8Array(v.buffer, v.byteOffset + o, slot * cpus).fill(0);
      for (let i = 0; i < cpus; i++) encodeAt(x[i]!, v, o + i * slot);
    },
  });
}
