// Extracts the bpf(2) tables that kernel BTF describes: the uapi enums
// (commands, map/program/attach/link types, flag enums) and the layouts of
// `union bpf_attr`'s per-command structs and of the info structs.
// Shared by gen-constants.mjs (writes src/**/*.gen.ts) and its --check mode
// (compares the committed tables with the running kernel).
//
// A small raw BTF reader lives here on purpose: this is a build tool that must
// run before any package is built (and in test VMs without bpftool).
import { readFileSync } from "node:fs";

const KIND = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
};

/** Parses a raw BTF blob into an array indexed by type id (0 = void). */
export function parseBtf(buf) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint16(0, true) !== 0xeb9f) throw new Error("not little-endian BTF");
  const hdrLen = dv.getUint32(4, true);
  const typeOff = hdrLen + dv.getUint32(8, true);
  const typeLen = dv.getUint32(12, true);
  const strOff = hdrLen + dv.getUint32(16, true);
  const strLen = dv.getUint32(20, true);
  const strings = buf.subarray(strOff, strOff + strLen);
  const str = (off) => {
    const end = strings.indexOf(0, off);
    return Buffer.from(strings.subarray(off, end)).toString("latin1");
  };
  const types = [{ kind: 0, name: "" }];
  let p = typeOff;
  const end = typeOff + typeLen;
  while (p < end) {
    const name = str(dv.getUint32(p, true));
    const info = dv.getUint32(p + 4, true);
    const sizeOrType = dv.getUint32(p + 8, true);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const kindFlag = info >>> 31 === 1;
    p += 12;
    const t = { kind, name, size: sizeOrType, type: sizeOrType };
    switch (kind) {
      case KIND.INT:
        t.bits = dv.getUint32(p, true) & 0xff;
        p += 4;
        break;
      case KIND.ARRAY:
        t.elemType = dv.getUint32(p, true);
        t.nelems = dv.getUint32(p + 8, true);
        p += 12;
        break;
      case KIND.STRUCT:
      case KIND.UNION:
        t.members = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          const off = dv.getUint32(p + 8, true);
          t.members.push({
            name: str(dv.getUint32(p, true)),
            type: dv.getUint32(p + 4, true),
            bitOffset: kindFlag ? off & 0xffffff : off,
            bitSize: kindFlag ? off >>> 24 : 0,
          });
        }
        break;
      case KIND.ENUM:
        t.values = [];
        t.signed = kindFlag;
        for (let i = 0; i < vlen; i++, p += 8) {
          const v = kindFlag ? dv.getInt32(p + 4, true) : dv.getUint32(p + 4, true);
          t.values.push({ name: str(dv.getUint32(p, true)), value: BigInt(v) });
        }
        break;
      case KIND.ENUM64:
        t.values = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          const lo = BigInt(dv.getUint32(p + 4, true));
          const hi = BigInt(dv.getUint32(p + 8, true));
          t.values.push({ name: str(dv.getUint32(p, true)), value: (hi << 32n) | lo });
        }
        break;
      case KIND.FUNC_PROTO:
        p += 8 * vlen;
        break;
      case KIND.VAR:
      case KIND.DECL_TAG:
        p += 4;
        break;
      case KIND.DATASEC:
        p += 12 * vlen;
        break;
      default:
        break;
    }
    types.push(t);
  }
  return types;
}

export function readKernelBtf(path = "/sys/kernel/btf/vmlinux") {
  return parseBtf(readFileSync(path));
}

/** Named enums taken whole. Key: BTF enum name; value: [export name, prefix to strip]. */
const NAMED_ENUMS = {
  bpf_cmd: ["BpfCmd", "BPF_"],
  bpf_map_type: ["BpfMapType", "BPF_MAP_TYPE_"],
  bpf_prog_type: ["BpfProgType", "BPF_PROG_TYPE_"],
  bpf_attach_type: ["BpfAttachType", "BPF_"],
  bpf_link_type: ["BpfLinkType", "BPF_LINK_TYPE_"],
  bpf_cgroup_iter_order: ["BpfCgroupIterOrder", "BPF_CGROUP_ITER_"],
  bpf_stats_type: ["BpfStatsType", "BPF_STATS_"],
};

/** Anonymous uapi enums, recognised by their first value. */
const ANON_ENUMS = {
  BPF_ANY: ["BpfUpdateFlag", "BPF_"],
  BPF_F_NO_PREALLOC: ["BpfMapFlag", "BPF_F_"],
  BPF_F_KPROBE_MULTI_RETURN: ["BpfKprobeMultiFlag", "BPF_F_"],
  BPF_F_UPROBE_MULTI_RETURN: ["BpfUprobeMultiFlag", "BPF_F_"],
};

/** `union bpf_attr`'s anonymous structs, named by their first (flattened) member. */
const ATTR_ANON_NAMES = {
  map_type: "map_create",
  map_fd: "map_elem",
  prog_type: "prog_load",
  pathname: "obj",
  target_fd: "prog_attach",
  start_id: "get_id",
  btf: "btf_load",
};

const INFO_STRUCTS = {
  bpf_map_info: "BpfMapInfoLayout",
  bpf_prog_info: "BpfProgInfoLayout",
  bpf_link_info: "BpfLinkInfoLayout",
  bpf_btf_info: "BpfBtfInfoLayout",
  bpf_iter_link_info: "BpfIterLinkInfoLayout",
};

function resolve(types, id) {
  let t = types[id];
  while (
    t &&
    (t.kind === KIND.TYPEDEF ||
      t.kind === KIND.CONST ||
      t.kind === KIND.VOLATILE ||
      t.kind === KIND.RESTRICT ||
      t.kind === KIND.TYPE_TAG)
  ) {
    t = types[t.type];
  }
  return t;
}

function sizeOf(types, id) {
  const t = resolve(types, id);
  switch (t.kind) {
    case KIND.INT:
    case KIND.ENUM:
    case KIND.ENUM64:
    case KIND.STRUCT:
    case KIND.UNION:
    case KIND.FLOAT:
      return t.size;
    case KIND.PTR:
      return 8;
    case KIND.ARRAY:
      return t.nelems * sizeOf(types, t.elemType);
    default:
      throw new Error(`no size for kind ${t.kind}`);
  }
}

/** Flattens a struct/union into dotted member paths with byte offsets and sizes. */
function flatten(types, id, baseBits, prefix, out) {
  const t = resolve(types, id);
  for (const m of t.members) {
    const mt = resolve(types, m.type);
    const bits = baseBits + m.bitOffset;
    const aggregate = mt.kind === KIND.STRUCT || mt.kind === KIND.UNION;
    if (aggregate && m.name === "") {
      flatten(types, m.type, bits, prefix, out);
      continue;
    }
    const name = prefix + m.name;
    if (aggregate) {
      flatten(types, m.type, bits, `${name}.`, out);
      continue;
    }
    if (out.has(name)) continue; // first one wins (same field in two union arms)
    if (m.bitSize) {
      out.set(name, {
        offset: Math.floor(bits / 32) * 4,
        size: 4,
        bitOffset: bits % 32,
        bitSize: m.bitSize,
      });
    } else {
      if (bits % 8 !== 0) throw new Error(`${name}: unaligned member`);
      out.set(name, { offset: bits / 8, size: sizeOf(types, m.type) });
    }
  }
  return out;
}

function findNamed(types, kind, name) {
  return types.findIndex((t) => t.kind === kind && t.name === name);
}

/** Everything the generated files hold, as plain data. */
export function extractTables(types) {
  const enums = {};
  for (const t of types) {
    if (t.kind !== KIND.ENUM && t.kind !== KIND.ENUM64) continue;
    const spec = t.name ? NAMED_ENUMS[t.name] : ANON_ENUMS[t.values[0]?.name];
    if (!spec || enums[spec[0]]) continue;
    const [exportName, prefix] = spec;
    const values = [];
    for (const v of t.values) {
      if (!v.name.startsWith(prefix) || v.name.startsWith("__")) continue;
      values.push({ name: v.name.slice(prefix.length), cName: v.name, value: v.value });
    }
    enums[exportName] = { cName: t.name || `(anonymous, first ${t.values[0].name})`, values };
  }

  const attrId = findNamed(types, KIND.UNION, "bpf_attr");
  if (attrId < 0) throw new Error("no union bpf_attr in BTF");
  const attr = {};
  for (const m of types[attrId].members) {
    const fields = flatten(types, m.type, 0, "", new Map());
    const first = [...fields.keys()][0];
    const name = m.name || ATTR_ANON_NAMES[first] || `anon_${first}`;
    attr[name] = { size: sizeOf(types, m.type), fields: Object.fromEntries(fields) };
  }

  const info = {};
  for (const [cName, exportName] of Object.entries(INFO_STRUCTS)) {
    let id = findNamed(types, KIND.STRUCT, cName);
    if (id < 0) id = findNamed(types, KIND.UNION, cName);
    if (id < 0) continue;
    info[exportName] = {
      cName,
      size: sizeOf(types, id),
      fields: Object.fromEntries(flatten(types, id, 0, "", new Map())),
    };
  }
  return { enums, attr, info };
}
