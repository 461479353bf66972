// What a user does first, run against the installed tarballs as root: a typed
// built-in, an iterator written with the DSL, a map dump, a clang-built ELF object.
// Prints one "ok" line per part; any failure throws (non-zero exit).
import { readFileSync } from "node:fs";
import { loadKernelBtf } from "@ts-ebpf/btf";
import {
  fieldAddress,
  iterContext,
  iterProgram,
  iterReturn,
  loadField,
  seqPrintf,
} from "@ts-ebpf/dsl";
import { loadCollection } from "@ts-ebpf/elf";
import {
  createIterator,
  IteratorTargetRefusedError,
  mapElems,
  probeIteratorTarget,
  tasks,
} from "@ts-ebpf/iter";
import { BpfMapType } from "@ts-ebpf/spec/constants";
import { BpfMap, codecs } from "@ts-ebpf/syscall";

const check = (cond, what) => {
  if (!cond) throw new Error(`smoke: ${what}`);
};
const me = String(process.pid);

// 1. A built-in: typed task records.
const all = await tasks();
check(
  all.some((t) => t.pid === process.pid && t.comm.length > 0),
  "tasks() lists this process",
);
console.log(`ok built-in: tasks() gave ${all.length} tasks`);

// 2. A DSL iterator, offsets from the running kernel's BTF, read as text.
const btf = loadKernelBtf();
const ctx = iterContext(btf, "task", "r6");
const spec = iterProgram(ctx, [
  ctx.save(),
  ctx.meta.seq("r7"),
  ctx.loadNonNull("r8", "task"),
  loadField(btf, "r1", "r8", "task_struct", "pid"),
  fieldAddress(btf, "r2", "r8", "task_struct", "comm"),
  seqPrintf("r7", "%d %s\n", ["r1", "r2"]),
  iterReturn(0),
]);
const link = createIterator(spec, "task");
try {
  const rows = (await link.open().text()).trim().split("\n");
  check(
    rows.some((r) => r.split(" ")[0] === me),
    "the DSL iterator lists this process",
  );
  console.log(`ok DSL iterator: ${rows.length} rows`);
} finally {
  link.close();
}

// 3. A map dump: through a bpf_map_elem iterator where the kernel allows one,
//    else the typed refusal and the syscall walk.
const map = BpfMap.create({
  type: BpfMapType.HASH,
  keySize: 4,
  valueSize: 8,
  maxEntries: 16,
  name: "smoke",
  key: codecs.u32,
  value: codecs.u64,
});
try {
  for (let i = 0; i < 10; i++) map.set(i, BigInt(i * i));
  let entries;
  if (probeIteratorTarget("bpf_map_elem").loadable) {
    entries = [...(await mapElems(map))]; // MapElements: iterable [key, value] pairs
    console.log("ok map dump: bpf_map_elem iterator");
  } else {
    let refused = false;
    try {
      await mapElems(map);
    } catch (err) {
      refused = err instanceof IteratorTargetRefusedError;
    }
    check(refused, "mapElems() on a refusing kernel throws IteratorTargetRefusedError");
    entries = [...map.entries()];
    console.log("ok map dump: kernel refuses bpf_map_elem (typed error); walked with syscalls");
  }
  entries.sort((a, b) => a[0] - b[0]);
  check(entries.length === 10 && entries[9][0] === 9 && entries[9][1] === 81n, "map contents");
} finally {
  map.close();
}

// 4. A clang-built ELF object (shipped beside this file: no compiler here).
const obj = loadCollection(readFileSync(new URL("./task.bpf.o", import.meta.url)));
try {
  const prog = obj.programs.dump_task;
  const it = createIterator(prog, prog.iterTarget);
  try {
    const text = await it.open().text();
    check(text.startsWith("pid tgid comm\n"), "the ELF program's header line");
    check(
      text.split("\n").some((r) => r.split(" ")[0] === me),
      "the ELF iterator lists this process",
    );
    console.log(`ok ELF object: ${text.trim().split("\n").length - 1} tasks`);
  } finally {
    it.close();
  }
} finally {
  obj.close();
}
