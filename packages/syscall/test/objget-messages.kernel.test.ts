// BPF_OBJ_GET's EACCES on a path that holds no BPF object says so, as bpftool
// does (attack review of issue 13): "... is not a BPF object (a directory)".
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, expect, it } from "vitest";
import { BpfError, BpfMap, Link, objGet, Program } from "../src/index.js";
import { pinPath } from "./helpers.js";

const bpffsDir = pinPath("dir");
const scratch = mkdtempSync(join(tmpdir(), "ts-ebpf-objget-"));

afterAll(() => {
  try {
    rmdirSync(bpffsDir);
  } catch {
    // not made
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** The error `open` throws. */
function failure(open: () => unknown): unknown {
  try {
    open();
  } catch (e) {
    return e;
  }
  throw new Error("opened");
}

describeKernel("OBJ_GET of a path holding no BPF object", () => {
  it("a bpffs directory: not a BPF object (a directory)", () => {
    mkdirSync(bpffsDir);
    for (const open of [
      () => BpfMap.fromPinned(bpffsDir),
      () => Program.fromPinned(bpffsDir),
      () => Link.fromPinned(bpffsDir),
      () => objGet(bpffsDir),
    ]) {
      const e = failure(open);
      expect(e).toBeInstanceOf(BpfError);
      expect((e as BpfError).code).toBe("EACCES");
      expect(String(e)).toContain(`${bpffsDir} is not a BPF object (a directory)`);
    }
  });

  it("a regular file or a directory outside bpffs says so", () => {
    const file = join(scratch, "plain");
    writeFileSync(file, "x");
    expect(String(failure(() => BpfMap.fromPinned(file)))).toContain(
      `${file} is not a BPF object (a regular file outside bpffs)`,
    );
    expect(String(failure(() => Link.fromPinned(scratch)))).toContain(
      `${scratch} is not a BPF object (a directory)`,
    );
  });
});
