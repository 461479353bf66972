// The launcher's V8 code cache (cli/launch.ts): code that V8 runs, so a file
// is used only when it is exactly what the launcher wrote, for this bundle
// and this Node, in a private directory, owned by us and writable by no one
// else; anything else (damaged, truncated, another key, a symlink, another
// owner) reads as no cache.
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type CodeCache,
  checksum,
  codeCacheOf,
  readCodeCache,
  writeCodeCache,
} from "../src/cli/launch.js";

const ID = "0123456789abcdef";
const DATA = Buffer.from(Array.from({ length: 5003 }, (_, i) => (i * 7919) & 0xff));

let base: string;
let bundle: string;
const savedEnv = { ...process.env };
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "bpf-iter-code-cache-"));
  bundle = join(base, "start.js");
  writeFileSync(bundle, "// a bundle\n");
  process.env.TS_EBPF_CACHE_DIR = join(base, "cache");
  delete process.env.TS_EBPF_CACHE;
  delete process.env.NODE_DISABLE_COMPILE_CACHE;
});
afterEach(() => {
  process.env = { ...savedEnv };
  rmSync(base, { recursive: true, force: true });
});

const cacheOf = (): CodeCache => {
  const cache = codeCacheOf(bundle, ID, 12);
  if (cache === undefined) throw new Error("no code cache");
  return cache;
};
const dataStart = (file: Buffer) => file.length - DATA.length;

describe("codeCacheOf", () => {
  it("is a file of the bundle's id in code-cache/ of the cache directory, made 0700 when written", () => {
    const cache = cacheOf();
    expect(cache.file).toBe(join(base, "cache", "code-cache", `cli-${ID}-${process.version}.bin`));
    expect(readCodeCache(cache)).toBeUndefined();
    expect(existsSync(join(base, "cache"))).toBe(false); // reading makes nothing
    writeCodeCache(cache, DATA);
    expect(statSync(join(base, "cache", "code-cache")).mode & 0o777).toBe(0o700);
  });

  it("keys the bundle's build, size, time and inode, and Node's version, V8 and arch", () => {
    const before = cacheOf().key;
    expect(before).toContain(ID);
    expect(before).toContain(process.version);
    expect(before).toContain(process.versions.v8);
    expect(codeCacheOf(bundle, "fedcba9876543210", 12)?.key).not.toBe(before);
    expect(codeCacheOf(bundle, ID, 13)?.key).not.toBe(before);
    utimesSync(bundle, new Date(1_000_000), new Date(1_000_000));
    expect(cacheOf().key).not.toBe(before);
  });

  it("is off with TS_EBPF_CACHE=0, NODE_DISABLE_COMPILE_CACHE, or no cache directory", () => {
    process.env.TS_EBPF_CACHE = "0";
    expect(codeCacheOf(bundle, ID, 12)).toBeUndefined();
    delete process.env.TS_EBPF_CACHE;
    process.env.NODE_DISABLE_COMPILE_CACHE = "1";
    expect(codeCacheOf(bundle, ID, 12)).toBeUndefined();
    delete process.env.NODE_DISABLE_COMPILE_CACHE;
    delete process.env.TS_EBPF_CACHE_DIR;
    delete process.env.XDG_CACHE_HOME;
    delete process.env.HOME;
    expect(codeCacheOf(bundle, ID, 12)).toBeUndefined();
    // A bundle that is not there: nothing to key.
    process.env.TS_EBPF_CACHE_DIR = join(base, "cache");
    expect(codeCacheOf(join(base, "gone.js"), ID, 12)).toBeUndefined();
  });
});

describe("readCodeCache / writeCodeCache", () => {
  it("neither reads nor writes where the directory is not private to us", () => {
    const shared = join(base, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o777); // writable by all, not sticky: the directory could be swapped
    process.env.TS_EBPF_CACHE_DIR = join(shared, "ts-ebpf");
    writeCodeCache(cacheOf(), DATA);
    expect(readdirSync(shared)).toEqual([]);
    // Made by someone else (here: made open to others) and holding a good file.
    process.env.TS_EBPF_CACHE_DIR = join(base, "cache");
    const cache = cacheOf();
    writeCodeCache(cache, DATA);
    expect(readCodeCache(cache)).toBeDefined();
    chmodSync(cache.dir, 0o755);
    expect(readCodeCache(cache)).toBeUndefined();
    chmodSync(cache.dir, 0o700);
    const link = join(base, "link");
    symlinkSync(join(base, "cache"), link);
    process.env.TS_EBPF_CACHE_DIR = link;
    expect(readCodeCache(cacheOf())).toBeUndefined();
    process.env.TS_EBPF_CACHE_DIR = "relative/dir";
    writeCodeCache(cacheOf(), DATA);
    expect(readCodeCache(cacheOf())).toBeUndefined();
  });

  it("reads back what it wrote, written 0600 and atomically (no temporary file left)", () => {
    const cache = cacheOf();
    expect(readCodeCache(cache)).toBeUndefined();
    writeCodeCache(cache, DATA);
    expect(readCodeCache(cache)?.equals(DATA)).toBe(true);
    expect(readdirSync(join(base, "cache", "code-cache"))).toEqual([
      `cli-${ID}-${process.version}.bin`,
    ]);
    expect(statSync(cache.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(cache.file).length).toBeGreaterThan(DATA.length);
  });

  it("ignores a file of another key (another bundle, another Node)", () => {
    const cache = cacheOf();
    writeCodeCache({ ...cache, key: `${cache.key} ` }, DATA);
    expect(readCodeCache(cache)).toBeUndefined();
  });

  it("ignores a damaged, truncated, lengthened or foreign file", () => {
    const cache = cacheOf();
    writeCodeCache(cache, DATA);
    const good = readFileSync(cache.file);
    const variants: Buffer[] = [
      good.subarray(0, good.length - 1), // truncated
      good.subarray(0, 30),
      Buffer.concat([good, Buffer.from([0])]), // grown
      Buffer.from("not a code cache at all"),
      Buffer.alloc(good.length),
    ];
    // One bit flipped anywhere: header, key, data (start, middle, end).
    for (const at of [0, 25, 40, dataStart(good), dataStart(good) + 2501, good.length - 1]) {
      const flipped = Buffer.from(good);
      flipped[at]! ^= 0x10;
      variants.push(flipped);
    }
    for (const bytes of variants) {
      writeFileSync(cache.file, bytes);
      expect(readCodeCache(cache)).toBeUndefined();
    }
    writeFileSync(cache.file, good);
    expect(readCodeCache(cache)?.equals(DATA)).toBe(true);
  });

  it("ignores a file others can write, another user's, a symlink, a directory", () => {
    const cache = cacheOf();
    writeCodeCache(cache, DATA);
    chmodSync(cache.file, 0o620);
    expect(readCodeCache(cache)).toBeUndefined();
    chmodSync(cache.file, 0o600);
    expect(readCodeCache(cache)).toBeDefined();
    if (process.geteuid?.() === 0) {
      chownSync(cache.file, 65534, 65534);
      expect(readCodeCache(cache)).toBeUndefined();
      chownSync(cache.file, 0, 0);
    }
    const elsewhere = join(base, "elsewhere.bin");
    renameSync(cache.file, elsewhere);
    symlinkSync(elsewhere, cache.file);
    expect(readCodeCache(cache)).toBeUndefined();
    // Writing replaces the symlink itself (rename), never writes through it.
    writeCodeCache(cache, DATA);
    expect(readCodeCache(cache)?.equals(DATA)).toBe(true);
    expect(readFileSync(elsewhere).equals(readFileSync(cache.file))).toBe(true);
    rmSync(cache.file);
    mkdirSync(cache.file);
    expect(readCodeCache(cache)).toBeUndefined();
  });

  it("removes other builds' and Nodes' files from before this boot, keeps this boot's", () => {
    const cache = cacheOf();
    const dir = join(base, "cache", "code-cache");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const old = [
      "cli-00000000000000aa-v20.19.0.bin",
      `cli-${ID}-v18.0.0.bin`,
      "cli-00000000000000bb-v22.12.0.bin.123.tmp",
    ];
    for (const name of [...old, "cli-00000000000000cc-v24.0.0.bin", "other-file"]) {
      writeFileSync(join(dir, name), "x");
    }
    for (const name of [...old, "other-file"]) utimesSync(join(dir, name), 1000, 1000);
    writeCodeCache(cache, DATA);
    expect(readdirSync(dir).sort()).toEqual(
      ["cli-00000000000000cc-v24.0.0.bin", `cli-${ID}-${process.version}.bin`, "other-file"].sort(),
    );
  });
});

describe("checksum", () => {
  it("is zlib's CRC-32: differs for one bit changed anywhere, and for the length", () => {
    expect(checksum(Buffer.from("123456789"))).toBe(0xcbf43926); // the CRC-32 check value
    const sum = checksum(DATA);
    expect(checksum(Buffer.from(DATA))).toBe(sum);
    for (const at of [0, 1, 2, 3, 2500, DATA.length - 2, DATA.length - 1]) {
      for (const bit of [0x01, 0x80]) {
        const changed = Buffer.from(DATA);
        changed[at]! ^= bit;
        expect(checksum(changed)).not.toBe(sum);
      }
    }
    expect(checksum(Buffer.concat([DATA, Buffer.alloc(4)]))).not.toBe(sum);
  });
});
