// "all" reopens namespaces it learned of earlier (a task's /proc/<pid>/ns/net,
// a mount point, /proc/<pid>/task/<tid>/fd/<fd>); in between, the pid, the
// fd or the mount can be reused for any other file. What is opened must be
// the namespace seen: the same inode on nsfs, not merely the same inode number.

import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { networkNamespaces } from "../src/builtins/namespaces.js";

let dir: string;
let fd: number;
let ino: number;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "netns-open-check-"));
  const path = join(dir, "not-a-namespace");
  writeFileSync(path, "x");
  fd = openSync(path, "r");
  ino = statSync(path).ino;
});

afterAll(() => {
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

it("an fd reused for a file with the namespace's inode number is not taken for the namespace", async () => {
  // As if the task_file walk had seen an nsfs file of inode `ino` at this fd,
  // and the fd had been closed and reused for a regular file with that inode number.
  const found = await networkNamespaces(
    async () => [],
    async () => [{ tgid: process.pid, pid: process.pid, fd, ino }],
  );
  expect(found.map((ns) => ns.inode)).not.toContain(ino);
  // The caller's own namespace is still there: the walk itself ran.
  expect(found.length).toBeGreaterThanOrEqual(1);
  expect(found[0]!.inode).toBe(statSync("/proc/thread-self/ns/net").ino);
});
