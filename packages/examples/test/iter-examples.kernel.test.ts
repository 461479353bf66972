import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { closeBuiltins, mapElems, probeIteratorTarget, tcp } from "@ts-ebpf/iter";
import { describeKernel, kernelFeature } from "@ts-ebpf/testing";
import { afterAll, expect, it } from "vitest";
import { dumpTasks } from "../src/iter-task-dump.js";
import { demoMap } from "../src/map-dump.js";
import { formatSockets } from "../src/tcp-sockets.js";

afterAll(() => closeBuiltins());

// Some kernels refuse bpf_map_elem programs even to root (a security policy).
const mapElem = kernelFeature("bpf_map_elem programs", () => probeIteratorTarget("bpf_map_elem"));

describeKernel("iterator examples", () => {
  it("iter-task-dump prints a header and this process's pid and comm", async () => {
    const lines = (await dumpTasks()).split("\n");
    expect(lines[0]).toBe("    PID COMM");
    const comm = readFileSync("/proc/self/comm", "utf8").trimEnd();
    expect(lines).toContain(`${String(process.pid).padStart(7)} ${comm}`);
    expect(lines.filter((l) => l === "    PID COMM")).toHaveLength(1);
  });

  it("iter-task-dump runs as a script from dist", () => {
    const script = fileURLToPath(new URL("../dist/iter-task-dump.js", import.meta.url));
    const out = execFileSync(process.execPath, [script], { encoding: "utf8" });
    expect(out.split("\n")[0]).toBe("    PID COMM");
    expect(out.split("\n").length).toBeGreaterThan(3);
  });

  it.skipIf(mapElem.skip)(`map-dump reads the demo map back ${mapElem.note}`, async () => {
    using map = demoMap();
    const entries = (await mapElems(map)).toArray().sort((a, b) => a[0] - b[0]);
    expect(entries).toEqual(Array.from({ length: 10 }, (_, i) => [i, BigInt(i * i)]));
    const script = fileURLToPath(new URL("../dist/map-dump.js", import.meta.url));
    const out = execFileSync(process.execPath, [script], { encoding: "utf8" });
    expect(out.trim().split("\n")).toEqual(
      Array.from({ length: 10 }, (_, i) => `${i} -> ${i * i}`),
    );
  });

  it.skipIf(mapElem.available)(
    "map-dump where the kernel refuses bpf_map_elem programs: one error line naming the target, exit 1",
    () => {
      const script = fileURLToPath(new URL("../dist/map-dump.js", import.meta.url));
      const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toEqual([
        expect.stringMatching(/^map-dump: the kernel .*refuses bpf_map_elem iterator programs/),
      ]);
    },
  );

  it("tcp-sockets shows a listening socket", async () => {
    const server = createServer();
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    try {
      const port = (server.address() as { port: number }).port;
      const text = formatSockets(await tcp());
      expect(text.split("\n")[0]).toMatch(/^STATE\s+LOCAL\s+REMOTE\s+UID$/);
      expect(text).toMatch(new RegExp(`LISTEN\\s+127\\.0\\.0\\.1:${port}\\s`));
    } finally {
      server.close();
    }
  });
});
