import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CpioArchive } from "../src/cpio.js";

const work = mkdtempSync(join(tmpdir(), "cpio-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("CpioArchive", () => {
  it("writes an archive busybox cpio unpacks, parents first", () => {
    const host = join(work, "host-file");
    writeFileSync(host, "from the host\n");
    const archive = new CpioArchive()
      .file("etc/deep/inline.txt", Buffer.from("inline"), 0o600)
      .file("usr/bin/tool", { hostPath: host }, 0o755)
      .symlink("bin/sh", "busybox")
      .dir("empty");
    expect(archive.paths.slice(0, 3)).toEqual(["etc", "etc/deep", "etc/deep/inline.txt"]);
    const out = join(work, "a.cpio");
    const size = archive.write(out);
    expect(size % 4).toBe(0);
    expect(statSync(out).size).toBe(size);

    const dest = join(work, "unpacked");
    const r = spawnSync("sh", [
      "-c",
      `mkdir -p ${dest} && cd ${dest} && busybox cpio -i -d < ${out}`,
    ]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readFileSync(join(dest, "etc/deep/inline.txt"), "utf8")).toBe("inline");
    expect(statSync(join(dest, "etc/deep/inline.txt")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dest, "usr/bin/tool"), "utf8")).toBe("from the host\n");
    expect(statSync(join(dest, "usr/bin/tool")).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(dest, "bin/sh"))).toBe("busybox");
    expect(statSync(join(dest, "empty")).isDirectory()).toBe(true);
  });

  it("normalizes paths so one file is one entry", () => {
    const a = new CpioArchive().file("/x//y/", Buffer.alloc(0)).file("x/y", Buffer.from("2"));
    expect(a.paths).toEqual(["x", "x/y"]);
    expect(a.has("/x/y")).toBe(true);
  });
});
