// Runs every query on every type of a Btf, so fuzz and hostile-input tests
// reach all decoding paths. Only BtfError may escape.
import type { Btf } from "../src/index.js";

/**
 * layout.ts's bounds, written out: the fuzz tests check the promise (a layout
 * never allocates or decodes more than this), not whatever the source says.
 */
const MAX_LAYOUT_SIZE = 1 << 24;
const MAX_LAYOUT_VALUES = 1 << 22;

/** JS values in a decoded record, counted as layout.ts counts them. */
function countValues(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + countValues(x), 1);
  if (v && typeof v === "object" && !(v instanceof Uint8Array)) {
    return Object.values(v).reduce((n: number, x) => n + countValues(x), 1);
  }
  return 1;
}

export function exercise(btf: Btf): void {
  const attempt = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if ((e as Error)?.name !== "BtfError") throw e;
    }
  };
  for (let id = 0; id < btf.typeCount; id++) {
    attempt(() => {
      const t = btf.type(id);
      attempt(() => btf.resolve(id));
      attempt(() => btf.sizeOf(id));
      attempt(() => btf.alignOf(id));
      attempt(() => btf.typeName(id));
      attempt(() => btf.formatC(id));
      attempt(() => btf.findType(t.name, t.kind));
      if (t.name) attempt(() => btf.lookup(t.name));
      if (t.kind === "struct" || t.kind === "union") {
        attempt(() => {
          const layout = btf.layout(id);
          // Bounded allocation and work whatever the blob declares: no size guard here.
          if (layout.size > MAX_LAYOUT_SIZE) {
            throw new Error(`layout of type ${id}: ${layout.size} bytes`);
          }
          const bytes = new Uint8Array(layout.size).fill(0xa5);
          const decoded = layout.decode(layout.encode(layout.decode(bytes)));
          const values = countValues(decoded);
          if (values > MAX_LAYOUT_VALUES) {
            throw new Error(`layout of type ${id}: decodes to ${values} values`);
          }
        });
        for (const m of t.members) {
          if (m.name) attempt(() => btf.memberOffset(id, m.name));
        }
      }
      if (t.kind === "enum" || t.kind === "enum64") attempt(() => btf.enumValues(id));
    });
  }
  attempt(() => btf.iteratorTargets());
  attempt(() => btf.enumerator("RED"));
  attempt(() => btf.funcId("bpf_iter_fake"));
  attempt(() => btf.memberOffset("bpf_iter__fake", "task.rec.comm"));
}
