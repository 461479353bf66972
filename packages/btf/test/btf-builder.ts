// Writes BTF blobs for tests: kinds clang 14 does not emit (ENUM64, signed
// enums), split BTF, big-endian data, and hostile entries.
import { BTF_KIND } from "../src/types.js";

export interface BuildOptions {
  littleEndian?: boolean;
  /** For split BTF: the base's typeCount and stringsEnd. */
  base?: { typeCount: number; stringsEnd: number };
}

interface RawType {
  nameOff: number;
  info: number;
  sizeOrType: number;
  extra: number[];
}

const info = (kind: number, vlen: number, kindFlag = false): number =>
  ((kindFlag ? 1 : 0) * 2 ** 31 + kind * 2 ** 24 + vlen) >>> 0;

export class BtfBuilder {
  private strs: string[] = [""];
  private strOffsets = new Map<string, number>([["", 0]]);
  private strLen = 1;
  private readonly types: RawType[] = [];
  private readonly firstId: number;
  private readonly strBase: number;

  constructor(private readonly options: BuildOptions = {}) {
    this.firstId = options.base?.typeCount ?? 1;
    this.strBase = options.base?.stringsEnd ?? 0;
  }

  str(s: string): number {
    if (s === "" && this.options.base) return 0;
    let off = this.strOffsets.get(s);
    if (off === undefined) {
      off = this.strLen;
      this.strs.push(s);
      this.strOffsets.set(s, off);
      this.strLen += new TextEncoder().encode(s).length + 1;
    }
    return this.strBase + off;
  }

  raw(t: RawType): number {
    this.types.push(t);
    return this.firstId + this.types.length - 1;
  }

  int(
    name: string,
    size: number,
    o: { signed?: boolean; char?: boolean; bool?: boolean; bits?: number; offset?: number } = {},
  ): number {
    const enc = (o.signed ? 1 : 0) | (o.char ? 2 : 0) | (o.bool ? 4 : 0);
    const data = ((enc << 24) | ((o.offset ?? 0) << 16) | (o.bits ?? size * 8)) >>> 0;
    return this.raw({
      nameOff: this.str(name),
      info: info(BTF_KIND.INT, 0),
      sizeOrType: size,
      extra: [data],
    });
  }

  ref(
    kind: "ptr" | "typedef" | "volatile" | "const" | "restrict" | "type_tag",
    type: number,
    name = "",
  ): number {
    const k = { ptr: 2, typedef: 8, volatile: 9, const: 10, restrict: 11, type_tag: 18 }[kind];
    return this.raw({ nameOff: this.str(name), info: info(k, 0), sizeOrType: type, extra: [] });
  }

  array(type: number, indexType: number, nelems: number): number {
    return this.raw({
      nameOff: 0,
      info: info(BTF_KIND.ARRAY, 0),
      sizeOrType: 0,
      extra: [type, indexType, nelems],
    });
  }

  composite(
    kind: "struct" | "union",
    name: string,
    size: number,
    members: { name: string; type: number; bitOffset: number; bitfieldSize?: number }[],
    kindFlag = members.some((m) => m.bitfieldSize),
  ): number {
    const extra: number[] = [];
    for (const m of members) {
      extra.push(
        this.str(m.name),
        m.type,
        kindFlag ? (((m.bitfieldSize ?? 0) << 24) | m.bitOffset) >>> 0 : m.bitOffset,
      );
    }
    const k = kind === "struct" ? BTF_KIND.STRUCT : BTF_KIND.UNION;
    return this.raw({
      nameOff: this.str(name),
      info: info(k, members.length, kindFlag),
      sizeOrType: size,
      extra,
    });
  }

  enum(name: string, size: number, values: [string, number][], signed = false): number {
    const extra: number[] = [];
    for (const [n, v] of values) extra.push(this.str(n), v >>> 0);
    return this.raw({
      nameOff: this.str(name),
      info: info(BTF_KIND.ENUM, values.length, signed),
      sizeOrType: size,
      extra,
    });
  }

  enum64(name: string, size: number, values: [string, bigint][], signed = false): number {
    const extra: number[] = [];
    for (const [n, v] of values) {
      const u = BigInt.asUintN(64, v);
      extra.push(this.str(n), Number(u & 0xffffffffn), Number(u >> 32n));
    }
    return this.raw({
      nameOff: this.str(name),
      info: info(BTF_KIND.ENUM64, values.length, signed),
      sizeOrType: size,
      extra,
    });
  }

  fwd(name: string, union = false): number {
    return this.raw({
      nameOff: this.str(name),
      info: info(BTF_KIND.FWD, 0, union),
      sizeOrType: 0,
      extra: [],
    });
  }

  funcProto(ret: number, params: { name: string; type: number }[]): number {
    const extra: number[] = [];
    for (const p of params) extra.push(this.str(p.name), p.type);
    return this.raw({
      nameOff: 0,
      info: info(BTF_KIND.FUNC_PROTO, params.length),
      sizeOrType: ret,
      extra,
    });
  }

  func(name: string, proto: number, linkage = 1): number {
    return this.raw({
      nameOff: this.str(name),
      info: info(BTF_KIND.FUNC, linkage),
      sizeOrType: proto,
      extra: [],
    });
  }

  var(name: string, type: number, linkage = 1): number {
    return this.raw({
      nameOff: this.str(name),
      info: info(BTF_KIND.VAR, 0),
      sizeOrType: type,
      extra: [linkage],
    });
  }

  datasec(
    name: string,
    size: number,
    vars: { type: number; offset: number; size: number }[],
  ): number {
    const extra: number[] = [];
    for (const v of vars) extra.push(v.type, v.offset, v.size);
    return this.raw({
      nameOff: this.str(name),
      info: info(BTF_KIND.DATASEC, vars.length),
      sizeOrType: size,
      extra,
    });
  }

  float(name: string, size: number): number {
    return this.raw({
      nameOff: this.str(name),
      info: info(BTF_KIND.FLOAT, 0),
      sizeOrType: size,
      extra: [],
    });
  }

  declTag(name: string, type: number, componentIdx: number): number {
    return this.raw({
      nameOff: this.str(name),
      info: info(BTF_KIND.DECL_TAG, 0),
      sizeOrType: type,
      extra: [componentIdx >>> 0],
    });
  }

  build(): Uint8Array {
    const le = this.options.littleEndian ?? true;
    const typeWords = this.types.reduce((n, t) => n + 3 + t.extra.length, 0);
    const typeLen = typeWords * 4;
    const strBytes: number[] = [];
    for (const s of this.strs) strBytes.push(...new TextEncoder().encode(s), 0);
    const out = new Uint8Array(24 + typeLen + strBytes.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0xeb9f, le);
    v.setUint8(2, 1);
    v.setUint32(4, 24, le);
    v.setUint32(8, 0, le);
    v.setUint32(12, typeLen, le);
    v.setUint32(16, typeLen, le);
    v.setUint32(20, strBytes.length, le);
    let p = 24;
    for (const t of this.types) {
      for (const w of [t.nameOff, t.info, t.sizeOrType, ...t.extra]) {
        v.setUint32(p, w >>> 0, le);
        p += 4;
      }
    }
    out.set(strBytes, p);
    return out;
  }
}
