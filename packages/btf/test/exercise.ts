// Runs every query on every type of a Btf, so fuzz and hostile-input tests
// reach all decoding paths. Only BtfError may escape.
import type { Btf } from "../src/index.js";

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
      if (t.kind === "struct" || t.kind === "union") {
        attempt(() => {
          const layout = btf.layout(id);
          if (layout.size <= 1 << 16) {
            const bytes = new Uint8Array(layout.size).fill(0xa5);
            layout.decode(layout.encode(layout.decode(bytes)));
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
