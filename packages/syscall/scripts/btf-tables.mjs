// Extracts the bpf(2) tables that kernel BTF describes: the uapi enums
// (commands, map/program/attach/link types, flag enums) and the layouts of
// `union bpf_attr`'s per-command structs and of the info structs.
// Shared by gen-constants.mjs (writes src/**/*.gen.ts) and
// test/tables.kernel.test.ts (compares the committed tables with the running
// kernel). BTF is read with @ts-ebpf/btf (a devDependency: build it first,
// `npx turbo run build --filter=@ts-ebpf/btf`, or run the generator as
// `npx turbo run gen-constants --filter=@ts-ebpf/syscall`).

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

/**
 * Dotted paths of a struct's or union's scalar members, in declaration order:
 * anonymous members opened up, named nested ones as `outer.inner`. Unnamed
 * scalars (bitfield padding) cannot be addressed and are left out.
 */
function memberPaths(btf, id, prefix, out) {
  for (const m of btf.composite(id).members) {
    const kind = btf.resolve(m.type).kind;
    if (kind === "struct" || kind === "union") {
      memberPaths(btf, m.type, m.name === "" ? prefix : `${prefix}${m.name}.`, out);
    } else if (m.name !== "") {
      out.add(prefix + m.name); // first one wins (same field in two union arms)
    }
  }
  return out;
}

/** Byte offset and size of every member path (a bitfield: its 4-byte word and bits in it). */
function layoutOf(btf, id) {
  const fields = {};
  for (const path of memberPaths(btf, id, "", new Set())) {
    const at = btf.memberOffset(id, path);
    if (at.bitSize) {
      fields[path] = {
        offset: Math.floor(at.bitOffset / 32) * 4,
        size: 4,
        bitOffset: at.bitOffset % 32,
        bitSize: at.bitSize,
      };
    } else {
      if (at.bitOffset % 8 !== 0) throw new Error(`${path}: unaligned member`);
      fields[path] = { offset: at.offset, size: at.size };
    }
  }
  return fields;
}

/** Everything the generated files hold, as plain data, from a parsed BTF (@ts-ebpf/btf). */
export function extractTables(btf) {
  const enums = {};
  for (const t of btf.types()) {
    if (t.kind !== "enum" && t.kind !== "enum64") continue;
    const spec = t.name ? NAMED_ENUMS[t.name] : ANON_ENUMS[t.values[0]?.name];
    if (!spec || enums[spec[0]]) continue;
    const [exportName, prefix] = spec;
    const values = [];
    for (const v of t.values) {
      if (!v.name.startsWith(prefix) || v.name.startsWith("__")) continue;
      values.push({ name: v.name.slice(prefix.length), cName: v.name, value: BigInt(v.value) });
    }
    enums[exportName] = { cName: t.name || `(anonymous, first ${t.values[0].name})`, values };
  }

  const bpfAttr = btf.findType("bpf_attr", "union");
  if (!bpfAttr) throw new Error("no union bpf_attr in BTF");
  const attr = {};
  for (const m of bpfAttr.members) {
    const fields = layoutOf(btf, m.type);
    const first = Object.keys(fields)[0];
    const name = m.name || ATTR_ANON_NAMES[first] || `anon_${first}`;
    attr[name] = { size: btf.sizeOf(m.type), fields };
  }

  const info = {};
  for (const [cName, exportName] of Object.entries(INFO_STRUCTS)) {
    const t = btf.findType(cName, "struct") ?? btf.findType(cName, "union");
    if (!t) continue;
    info[exportName] = { cName, size: t.size, fields: layoutOf(btf, t.id) };
  }
  return { enums, attr, info };
}
