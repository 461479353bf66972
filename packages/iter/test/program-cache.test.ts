// The CLI's on-disk cache of built-in programs: what it stores comes back
// exactly, and anything that is not exactly what it wrote, where it wrote it,
// owned as it left it, is a miss (the caller then compiles from BTF).
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assemble, call, exit, mov } from "@ts-ebpf/dsl";
import { encode } from "@ts-ebpf/spec";
import { BpfAttachType, BpfProgType } from "@ts-ebpf/spec/constants";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  disableProgramCache,
  enableProgramCache,
  hash64,
  programCacheKey,
  readCachedProgram,
  writeCachedProgram,
} from "../src/builtins/program-cache.js";
import { type FieldDef, type RecordProgram, recordLayout } from "../src/builtins/record.js";

const FIELDS: readonly FieldDef[] = [
  { name: "pid", ctx: "task", path: "pid", kind: "u32" },
  { name: "start", ctx: "task", path: "start_time", kind: "u64" },
  { name: "comm", ctx: "task", path: "comm", kind: "char", len: 16 },
];
const KEY = '["a key", 1]';

function program(): RecordProgram<unknown> {
  const { instructions, labels } = assemble([mov("r0", 0), call("ktime_get_ns"), exit()]);
  return {
    spec: {
      name: "iter_task",
      type: BpfProgType.TRACING,
      expectedAttachType: BpfAttachType.TRACE_ITER,
      attachBtfId: 4242,
      license: "GPL",
      instructions,
    },
    layout: recordLayout(FIELDS, [4, 8, 16]),
    missing: ["start"],
    marks: new Map([...labels, ["field.pid", 1]]),
  };
}

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ts-ebpf-cache-test-"));
  dir = join(root, "cache");
  enableProgramCache(dir);
});
afterEach(() => {
  disableProgramCache();
  rmSync(root, { recursive: true, force: true });
});

const theFile = () => join(dir, readdirSync(dir).find((f) => f.endsWith(".json"))!);
const rewrite = (edit: (file: { key: string; payload: Record<string, unknown> }) => void) => {
  const file = JSON.parse(readFileSync(theFile(), "utf8"));
  edit(file);
  writeFileSync(theFile(), JSON.stringify(file));
};
/** Rewrites the payload and forges a matching digest: only the content checks stand. */
const forge = (edit: (payload: Record<string, unknown>) => void) =>
  rewrite((file) => {
    edit(file.payload);
    (file as { digest?: string }).digest = hash64(`${file.key}\n${JSON.stringify(file.payload)}`);
  });

describe("program cache", () => {
  it("gives back what it stored: instructions, attach id, layout, missing fields, marks", () => {
    const stored = program();
    expect(readCachedProgram(KEY, FIELDS)).toBeUndefined();
    writeCachedProgram(KEY, FIELDS, stored);
    const back = readCachedProgram(KEY, FIELDS)!;
    expect(encode(back.spec.instructions)).toEqual(encode(stored.spec.instructions));
    expect(back.spec).toMatchObject({
      name: "iter_task",
      type: BpfProgType.TRACING,
      expectedAttachType: BpfAttachType.TRACE_ITER,
      attachBtfId: 4242,
      license: "GPL",
    });
    const placed = (p: RecordProgram<unknown>) =>
      p.layout.fields.map(({ name, offset, size }) => ({ name, offset, size }));
    expect(placed(back)).toEqual(placed(stored));
    expect(back.layout.size).toBe(stored.layout.size);
    expect(back.missing).toEqual(["start"]);
    expect([...back.marks]).toEqual([...stored.marks]);
    // A private directory and file.
    expect(readdirSync(dir)).toHaveLength(1);
    expect(readFileSync(theFile()).length).toBeGreaterThan(0);
  });

  it("misses for another key, or other fields", () => {
    writeCachedProgram(KEY, FIELDS, program());
    expect(readCachedProgram('["another key"]', FIELDS)).toBeUndefined();
    expect(readCachedProgram(KEY, FIELDS.slice(0, 2))).toBeUndefined();
  });

  it("misses for a damaged file: bad JSON, a changed byte, a truncated file", () => {
    writeCachedProgram(KEY, FIELDS, program());
    const good = readFileSync(theFile(), "utf8");
    writeFileSync(theFile(), good.slice(0, good.length - 5));
    expect(readCachedProgram(KEY, FIELDS)).toBeUndefined();
    writeFileSync(theFile(), good.replace('"attachBtfId":4242', '"attachBtfId":4243'));
    expect(readCachedProgram(KEY, FIELDS)).toBeUndefined();
    writeFileSync(theFile(), "");
    expect(readCachedProgram(KEY, FIELDS)).toBeUndefined();
    writeFileSync(theFile(), good);
    expect(readCachedProgram(KEY, FIELDS)).toBeDefined();
  });

  it("misses when the content is inconsistent, even with a matching digest", () => {
    writeCachedProgram(KEY, FIELDS, program());
    const cases: ((p: Record<string, unknown>) => void)[] = [
      (p) => {
        p.offsets = [0, 8, 20]; // not where the definition puts comm
      },
      (p) => {
        p.sizes = [4, 8, 20]; // a comm longer than its definition's 16 bytes
      },
      (p) => {
        p.sizes = [4, 8, 400]; // longer than a record can be
      },
      (p) => {
        p.insns = Buffer.from([1, 2, 3]).toString("base64"); // not whole instructions
      },
      (p) => {
        p.insns = "";
      },
      (p) => {
        p.attachBtfId = 0;
      },
      (p) => {
        p.missing = ["nosuchfield"];
      },
      (p) => {
        p.name = "../../etc";
      },
      (p) => {
        p.marks = [["field.pid", -1]];
      },
    ];
    const good = readFileSync(theFile(), "utf8");
    for (const edit of cases) {
      writeFileSync(theFile(), good);
      forge(edit);
      expect(readCachedProgram(KEY, FIELDS), String(edit)).toBeUndefined();
    }
    // The forged digest alone is accepted: the content checks are what refused the others.
    writeFileSync(theFile(), good);
    forge(() => {});
    expect(readCachedProgram(KEY, FIELDS)).toBeDefined();
  });

  it("is not used in a directory others can reach, nor from a file others can write", () => {
    writeCachedProgram(KEY, FIELDS, program());
    chmodSync(dir, 0o755);
    expect(readCachedProgram(KEY, FIELDS)).toBeUndefined();
    chmodSync(dir, 0o700);
    chmodSync(theFile(), 0o666);
    expect(readCachedProgram(KEY, FIELDS)).toBeUndefined();
    chmodSync(theFile(), 0o600);
    expect(readCachedProgram(KEY, FIELDS)).toBeDefined();
  });

  it("is not used below a directory others could write (unless sticky, as /tmp)", () => {
    const open = join(root, "open");
    mkdirSync(open, { mode: 0o700 });
    chmodSync(open, 0o777);
    enableProgramCache(join(open, "cache"));
    writeCachedProgram(KEY, FIELDS, program());
    // Nothing made there either (sudo keeping the caller's HOME: no root-owned ~/.cache).
    expect(readdirSync(open)).toEqual([]);
    enableProgramCache(join(open, ".cache", "ts-ebpf"));
    writeCachedProgram(KEY, FIELDS, program());
    expect(readdirSync(open)).toEqual([]);
    enableProgramCache(join(open, "cache"));
    chmodSync(open, 0o1777);
    writeCachedProgram(KEY, FIELDS, program());
    expect(readCachedProgram(KEY, FIELDS)).toBeDefined();
    chmodSync(open, 0o777);
    expect(readCachedProgram(KEY, FIELDS)).toBeUndefined();
  });

  it("follows no symlink: neither the directory nor the file", () => {
    writeCachedProgram(KEY, FIELDS, program());
    const real = theFile();
    // The file's name, made a symlink to a good copy elsewhere.
    const copy = join(root, "copy.json");
    writeFileSync(copy, readFileSync(real), { mode: 0o600 });
    rmSync(real);
    symlinkSync(copy, real);
    expect(readCachedProgram(KEY, FIELDS)).toBeUndefined();
    // The directory, a symlink to a good one.
    const other = join(root, "other");
    mkdirSync(other, { mode: 0o700 });
    enableProgramCache(other);
    writeCachedProgram(KEY, FIELDS, program());
    const link = join(root, "link");
    symlinkSync(other, link);
    enableProgramCache(link);
    expect(readCachedProgram(KEY, FIELDS)).toBeUndefined();
    writeCachedProgram(KEY, FIELDS, program()); // refused too: nothing new appears
    expect(readdirSync(other)).toHaveLength(1);
    // Nor through a trailing slash, which makes lstat follow the symlink.
    enableProgramCache(`${link}/`);
    expect(readCachedProgram(KEY, FIELDS)).toBeUndefined();
    writeCachedProgram(`${KEY} 2`, FIELDS, program());
    expect(readdirSync(other)).toHaveLength(1);
  });

  it("is off until enabled, and with TS_EBPF_CACHE=0", () => {
    disableProgramCache();
    expect(programCacheKey("task", "task", FIELDS)).toBeUndefined();
    writeCachedProgram(KEY, FIELDS, program());
    expect(readdirSync(root)).toEqual([]);
    const saved = process.env.TS_EBPF_CACHE;
    process.env.TS_EBPF_CACHE = "0";
    try {
      enableProgramCache(dir);
      expect(programCacheKey("task", "task", FIELDS)).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.TS_EBPF_CACHE;
      else process.env.TS_EBPF_CACHE = saved;
    }
  });

  it("keys by kernel, compiler and definition", () => {
    const key = programCacheKey("task", "task", FIELDS);
    // No kernel BTF here (or no boot id): no key, and no cache.
    if (key === undefined) return;
    expect(programCacheKey("task", "task", FIELDS)).toBe(key);
    expect(programCacheKey("task_file", "task", FIELDS)).not.toBe(key);
    expect(programCacheKey("task", "task", [...FIELDS, FIELDS[0]!])).not.toBe(key);
    expect(key).toContain(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
  });

  it("hash64: 16 hex digits, stable, different for different inputs", () => {
    expect(hash64("abc")).toMatch(/^[0-9a-f]{16}$/);
    expect(hash64("abc")).toBe(hash64(Buffer.from("abc")));
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(hash64(`key ${i}`));
    expect(seen.size).toBe(2000);
  });
});

describe("program cache, across upgrades and boots", () => {
  it("keys by the installed version of every package the program is compiled with", () => {
    const key = programCacheKey("task", "task", FIELDS);
    if (key === undefined) return; // no kernel BTF here: no cache at all
    // As Node finds them from iter's directory (this package's node_modules, else above it).
    const own = fileURLToPath(new URL("..", import.meta.url));
    const versionOf = (path: string) =>
      (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
    expect(key).toContain(`${join(own, "package.json")}@${versionOf(join(own, "package.json"))}`);
    for (const name of ["@ts-ebpf/btf", "@ts-ebpf/dsl", "@ts-ebpf/spec"]) {
      const path = join(own, "node_modules", name, "package.json");
      expect(key).toContain(`${path}@${versionOf(path)}`);
    }
  });

  it("a write removes the files of earlier boots (never read again), and nothing else", () => {
    writeCachedProgram(KEY, FIELDS, program());
    const longAgo = new Date(1000_000); // 1970: before any boot
    const stale = ["prog-0123456789abcdef.json", "prog-0123456789abcdef.json.77.tmp"];
    for (const name of [...stale, "notes.txt"]) {
      writeFileSync(join(dir, name), "{}", { mode: 0o600 });
      utimesSync(join(dir, name), longAgo, longAgo);
    }
    writeCachedProgram(`${KEY} 2`, FIELDS, program());
    const left = readdirSync(dir);
    for (const name of stale) expect(left).not.toContain(name);
    expect(left).toContain("notes.txt");
    expect(left.filter((f) => f.endsWith(".json"))).toHaveLength(2); // this boot's two
    expect(readCachedProgram(KEY, FIELDS)).toBeDefined();
  });
});
