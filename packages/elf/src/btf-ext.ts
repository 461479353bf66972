// .BTF.ext: per-section func info, line info and CO-RE relocation records.
// Offsets in the file are in bytes from the start of the section; the kernel
// wants instruction indexes, which the linker computes when it places code.
import type { Btf } from "@ts-ebpf/btf";
import { ElfError } from "./errors.js";

export interface FuncInfoRecord {
  /** Byte offset in the ELF section. */
  readonly insnOff: number;
  readonly typeId: number;
}

export interface LineInfoRecord {
  readonly insnOff: number;
  readonly fileNameOff: number;
  readonly lineOff: number;
  readonly lineCol: number;
}

export interface CoreRelocationRecord {
  readonly insnOff: number;
  /** Local (.BTF) type id of the root type. */
  readonly typeId: number;
  /** Access string, e.g. "0:1:2". */
  readonly access: string;
  /** enum bpf_core_relo_kind */
  readonly kind: number;
}

export interface BtfExt {
  readonly funcInfoRecSize: number;
  readonly lineInfoRecSize: number;
  /** By ELF section name. */
  readonly funcInfo: ReadonlyMap<string, readonly FuncInfoRecord[]>;
  readonly lineInfo: ReadonlyMap<string, readonly LineInfoRecord[]>;
  readonly coreRelocations: ReadonlyMap<string, readonly CoreRelocationRecord[]>;
}

const BTF_MAGIC = 0xeb9f;

export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  if (!(bytes instanceof Uint8Array))
    throw new TypeError("parseBtfExt: bytes must be a Uint8Array");
  if (typeof (btf as Partial<Btf> | undefined)?.str !== "function")
    throw new TypeError("parseBtfExt: btf must be the object's parsed .BTF (a Btf)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.byteLength;
  const u32 = (at: number) => {
    if (at + 4 > len) throw new ElfError(`.BTF.ext truncated at byte ${at} (${len} bytes)`);
    return view.getUint32(at, true);
  };
  if (len < 24) throw new ElfError(`.BTF.ext header truncated (${len} bytes)`);
  if (view.getUint16(0, true) !== BTF_MAGIC) throw new ElfError(".BTF.ext: bad magic");
  if (bytes[2] !== 1) throw new ElfError(`.BTF.ext: unsupported version ${bytes[2]}`);
  const hdrLen = u32(4);
  if (hdrLen < 24 || hdrLen > len)
    throw new ElfError(`.BTF.ext header length ${hdrLen} out of range`);
  const name = (off: number) => {
    try {
      return btf.str(off);
    } catch (e) {
      throw new ElfError(`.BTF.ext: string offset ${off} not in .BTF`, -1, { cause: e });
    }
  };

  function sectionInfo<T>(
    off: number,
    size: number,
    what: string,
    minRec: number,
    decode: (at: number) => T,
  ): { recSize: number; bySection: Map<string, T[]> } {
    const bySection = new Map<string, T[]>();
    if (size === 0) return { recSize: minRec, bySection };
    const start = hdrLen + off;
    const end = start + size;
    if (end > len || size < 4)
      throw new ElfError(`.BTF.ext ${what} (${start}..${end}) past the end (${len})`);
    const recSize = u32(start);
    if (recSize < minRec || recSize % 4 !== 0)
      throw new ElfError(`.BTF.ext ${what}: record size ${recSize} (want at least ${minRec})`);
    let at = start + 4;
    while (at < end) {
      const sec = name(u32(at));
      const n = u32(at + 4);
      at += 8;
      if (n * recSize > end - at)
        throw new ElfError(`.BTF.ext ${what} of ${sec}: ${n} records do not fit`);
      const list = bySection.get(sec) ?? [];
      for (let i = 0; i < n; i++, at += recSize) list.push(decode(at));
      bySection.set(sec, list);
    }
    return { recSize, bySection };
  }

  const func = sectionInfo(u32(8), u32(12), "func info", 8, (at) => ({
    insnOff: u32(at),
    typeId: u32(at + 4),
  }));
  const line = sectionInfo(u32(16), u32(20), "line info", 16, (at) => ({
    insnOff: u32(at),
    fileNameOff: u32(at + 4),
    lineOff: u32(at + 8),
    lineCol: u32(at + 12),
  }));
  const core =
    hdrLen >= 32
      ? sectionInfo(u32(24), u32(28), "CO-RE relocations", 16, (at) => ({
          insnOff: u32(at),
          typeId: u32(at + 4),
          access: name(u32(at + 8)),
          kind: u32(at + 12),
        }))
      : { recSize: 16, bySection: new Map<string, CoreRelocationRecord[]>() };
  return {
    funcInfoRecSize: func.recSize,
    lineInfoRecSize: line.recSize,
    funcInfo: func.bySection,
    lineInfo: line.bySection,
    coreRelocations: core.bySection,
  };
}
