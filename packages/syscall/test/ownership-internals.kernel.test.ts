// Internals behind fd ownership (package-internal functions, so kept apart
// from ownership.kernel.test.ts, which uses the public API only): the
// open-file comparison handles use before handing out or closing their public
// fd, and the checks pin() makes before changing a new pin's mode.
import {
  chownSync,
  closeSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, expect, it } from "vitest";
import { dupAbove2, sameOpenFile } from "../src/fds.js";
import { ownFd, setPinModeAt } from "../src/handles/fd.js";
import { BpfMap, BpfMapType, BpfProgType, objPin, Program } from "../src/index.js";
import { native } from "../src/native.js";
import { pinPath, removePins, returnZero } from "./helpers.js";

describeKernel("fd ownership internals", () => {
  const open: { close(): void }[] = [];
  afterAll(() => {
    for (const h of open) h.close();
    removePins();
  });

  it("sameOpenFile tells a dup from another object with kcmp, and through fdinfo without it", () => {
    const a = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const b = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const file = openSync("/dev/null", "r");
    const binding = native();
    const kcmp = binding.sameFile;
    try {
      for (const mode of ["kcmp", "fdinfo"]) {
        if (mode === "fdinfo") binding.sameFile = () => -38; // ENOSYS: no CONFIG_KCMP
        const dup = dupAbove2(a.fd);
        expect({ mode, same: sameOpenFile(a.fd, dup) }).toEqual({ mode, same: true });
        expect({ mode, same: sameOpenFile(a.fd, b.fd) }).toEqual({ mode, same: false });
        expect({ mode, same: sameOpenFile(a.fd, file) }).toEqual({ mode, same: false });
        closeSync(dup);
        expect({ mode, same: sameOpenFile(a.fd, dup) }).toEqual({ mode, same: false });
      }
    } finally {
      binding.sameFile = kcmp;
      closeSync(file);
      a.close();
      b.close();
    }
  });

  it("changes the mode only of the pin it just made: a symlink, hard link, foreign owner, other object or non-bpffs file at the name is left alone", () => {
    const dir = pinPath("dir");
    mkdirSync(dir);
    const victim = join(mkdtempSync(join(tmpdir(), "ts-ebpf-pin-")), "victim");
    writeFileSync(victim, "secret", { mode: 0o600 });
    const m = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const other = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
    });
    const prog = Program.load({
      type: BpfProgType.SOCKET_FILTER,
      instructions: returnZero(),
      license: "GPL",
    });
    open.push(m, other, prog);
    // What another user could have put at the name between OBJ_PIN and chmod.
    symlinkSync(victim, join(dir, "symlink"));
    objPin(m.fd, join(dir, "linked"));
    linkSync(join(dir, "linked"), join(dir, "linked2"));
    objPin(m.fd, join(dir, "foreign"));
    chownSync(join(dir, "foreign"), 65534, 65534);
    objPin(other.fd, join(dir, "other"));
    objPin(prog.fd, join(dir, "prog"));
    objPin(m.fd, join(dir, "ours"));
    const dirFd = openSync(dir, "r");
    const tmpFd = openSync(dirname(victim), "r");
    try {
      const set = (fd: number, name: string) =>
        setPinModeAt(fd, name, name, 0o644, ownFd(m), "map");
      expect(() => set(dirFd, "symlink")).toThrow(/was pinned, but .*not a pin/);
      expect(() => set(dirFd, "linked")).toThrow(/other hard links/);
      expect(() => set(dirFd, "foreign")).toThrow(/owned by uid 65534/);
      expect(() => set(dirFd, "other")).toThrow(/another object/);
      expect(() => set(dirFd, "prog")).toThrow(/another object/);
      expect(() => set(dirFd, "gone")).toThrow(/opening it again failed/);
      expect(() => set(tmpFd, "victim")).toThrow(/outside bpffs/);
      for (const name of ["linked", "foreign", "other", "prog"])
        expect({ name, mode: statSync(join(dir, name)).mode & 0o777 }).toEqual({
          name,
          mode: 0o600,
        });
      expect(statSync(victim).mode & 0o777).toBe(0o600);
      set(dirFd, "ours");
      expect(statSync(join(dir, "ours")).mode & 0o777).toBe(0o644);
    } finally {
      closeSync(dirFd);
      closeSync(tmpFd);
      rmSync(dir, { recursive: true });
      rmSync(dirname(victim), { recursive: true });
    }
  });
});
