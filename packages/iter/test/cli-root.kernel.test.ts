// `bpf-iter cat` as root never looks the path up a second time (attack review
// of issue 13): whatever errno BPF_OBJ_GET gives root (EPERM from a security
// policy included), cat refuses instead of opening the path again as a file.
// And a path that holds no BPF object is named as such, bpftool-style.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadProgram } from "@ts-ebpf/syscall";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, expect, it } from "vitest";
import { createIterator } from "../src/index.js";
import { taskLineProgram } from "./programs.js";

const cli = fileURLToPath(new URL("../bin/bpf-iter.js", import.meta.url));
const base = `/sys/fs/bpf/ts_ebpf_test_${process.pid}_cliroot`;
const preload = `/tmp/ts_ebpf_test_${process.pid}_eperm.mjs`;

afterAll(() => {
  rmSync(`${base}_pin`, { force: true });
  try {
    rmdirSync(`${base}_dir`);
  } catch {
    // not made
  }
  rmSync(preload, { force: true });
});

describeKernel("bpf-iter cat as root", () => {
  it.runIf(process.geteuid?.() === 0)(
    "an OBJ_GET EPERM (a security policy) is an error, not a second lookup of the path",
    () => {
      using prog = loadProgram(taskLineProgram("CAT-SECOND-LOOKUP\n"));
      using link = createIterator(prog, "task");
      link.pin(`${base}_pin`);
      // A security policy refusing root BPF_OBJ_GET, simulated in the CLI's process
      // at the addon (the CLI is a bundle with its own copy of syscall's modules,
      // but the addon is one: require() gives every copy the same exports object).
      const syscallDir = fileURLToPath(
        new URL("../node_modules/@ts-ebpf/syscall/", import.meta.url),
      );
      writeFileSync(
        preload,
        'import { createRequire } from "node:module";\n' +
          `const dir = ${JSON.stringify(syscallDir)};\n` +
          'const binding = createRequire(dir + "package.json")("node-gyp-build")(dir);\n' +
          "const bpf = binding.bpf;\n" +
          "binding.bpf = (cmd, ...args) => (cmd === 7 /* OBJ_GET */ ? -1 /* -EPERM */ : bpf(cmd, ...args));\n",
      );
      const r = spawnSync(process.execPath, ["--import", preload, cli, "cat", `${base}_pin`], {
        encoding: "utf8",
      });
      expect(r.stdout).not.toContain("CAT-SECOND-LOOKUP");
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/BPF_OBJ_GET refused it \(EPERM\)/);
    },
  );

  it("a bpffs directory is named: not a BPF object (a directory)", () => {
    mkdirSync(`${base}_dir`, { recursive: true });
    const r = spawnSync(process.execPath, [cli, "cat", `${base}_dir`], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/is not a BPF object \(a directory\)/);
  });
});
