// The capabilities the exporter needs, proven: as uid 65534 with exactly
// CAP_BPF and CAP_PERFMON (setpriv drops every other one, bounding set
// included) every collector succeeds; with either alone, none does.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { describeKernel, skipWithoutTool } from "@ts-ebpf/testing";
import { afterEach, expect, it } from "vitest";
import { seriesValue } from "./helpers.js";

const bin = fileURLToPath(new URL("../bin/ts-ebpf-exporter.js", import.meta.url));
const NOBODY = 65534;
const canDrop = spawnSync("setpriv", ["--version"]).status === 0 && process.getuid?.() === 0;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
  child = undefined;
});

/** Runs the exporter as nobody with exactly `caps`; the body of its first scrape, and its stderr. */
async function scrapeAsNobody(caps: string[], args: string[] = []) {
  const port = await freePort();
  const set = ["-all", ...caps.map((c) => `+${c}`)].join(",");
  child = spawn(
    "setpriv",
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      `--inh-caps=${set}`,
      `--ambient-caps=${set}`,
      `--bounding-set=${set}`,
      process.execPath,
      bin,
      "--listen",
      `127.0.0.1:${port}`,
      ...args,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  // Slow guests (QEMU without KVM) take a minute or more to parse BTF and load the programs.
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exporter exited ${child.exitCode}: ${stderr}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`);
      return { body: await r.text(), stderr };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`the exporter did not answer: ${stderr}`);
}

const success = (body: string, c: string) =>
  seriesValue(body, `bpf_iter_scrape_collector_success{collector="${c}"}`);

describeKernel("least capabilities (setpriv, uid 65534)", () => {
  const skip = skipWithoutTool(canDrop);

  it.skipIf(skip)("CAP_BPF and CAP_PERFMON alone: every collector succeeds", async () => {
    const { body } = await scrapeAsNobody(["bpf", "perfmon"]);
    for (const c of ["processes", "sockets", "bpf"]) expect(success(body, c), c).toBe(1);
    expect(body).toMatch(/^bpf_iter_group_processes\{groupname="\[kernel\]"\} [1-9]/m);
  });

  it.skipIf(skip)(
    "grouping by cgroup and by user needs nothing more",
    { timeout: 600_000 },
    async () => {
      for (const by of ["cgroup", "user"]) {
        const { body } = await scrapeAsNobody(
          ["bpf", "perfmon"],
          ["--group-by", by, "--collectors", "processes"],
        );
        expect(success(body, "processes"), by).toBe(1);
        child?.kill("SIGKILL");
      }
    },
  );

  it.skipIf(skip)(
    "without CAP_PERFMON, or without CAP_BPF, no collector works",
    { timeout: 600_000 },
    async () => {
      for (const [caps, missing] of [
        [["bpf"], "CAP_PERFMON"],
        [["perfmon"], "CAP_BPF"],
      ] as const) {
        const { body, stderr } = await scrapeAsNobody([...caps]);
        for (const c of ["processes", "sockets", "bpf"]) expect(success(body, c), c).toBe(0);
        expect(stderr).toContain(missing);
        child?.kill("SIGKILL");
      }
    },
  );
});
