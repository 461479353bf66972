// bpf-iter serve reaches this package: its usage, and a bad option's message and code.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { expect, it } from "vitest";

const require = createRequire(import.meta.url);
const bpfIter = join(dirname(require.resolve("@ts-ebpf/iter/package.json")), "bin", "bpf-iter.js");

it("bpf-iter serve --help prints the exporter's options", () => {
  const r = spawnSync(process.execPath, [bpfIter, "serve", "--help"], { encoding: "utf8" });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/usage: bpf-iter serve/);
  expect(r.stdout).toMatch(/--group-by comm\|exe\|cgroup\|user/);
});

it("a bad option: the reason and the usage on stderr, exit code 2", () => {
  const r = spawnSync(process.execPath, [bpfIter, "serve", "--group-by", "pid"], {
    encoding: "utf8",
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/--group-by must be one of comm, exe, cgroup, user, got "pid"/);
});
