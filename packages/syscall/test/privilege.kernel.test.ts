// Least privilege: the subset a non-root user with only CAP_BPF + CAP_PERFMON
// needs passes, and without them the error names the missing capabilities.
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describeKernel, skipWithoutTool } from "@ts-ebpf/testing";
import { describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("./fixtures/least-privilege.mjs", import.meta.url));
const NOBODY = "65534";

function hasSetpriv(): boolean {
  try {
    execFileSync("setpriv", ["--version"], { stdio: "ignore" });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

function runAsNobody(caps: string): {
  uid: number;
  steps: string[];
  error?: Record<string, string>;
} {
  const r = spawnSync(
    "setpriv",
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      `--inh-caps=-all${caps}`,
      `--ambient-caps=-all${caps}`,
      process.execPath,
      fixture,
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

describeKernel("least privilege (setpriv, uid 65534)", () => {
  const canDrop = hasSetpriv();
  const title = canDrop
    ? "as nobody"
    : "[skipped: needs util-linux setpriv and root to drop privileges from]";
  (skipWithoutTool(canDrop) ? describe.skip : describe)(title, () => {
    it("with only CAP_BPF + CAP_PERFMON: maps, a socket filter and an iterator work", () => {
      const r = runAsNobody(",+bpf,+perfmon");
      expect(r.uid).toBe(65534);
      expect(r.error).toBeUndefined();
      expect(r.steps).toEqual(["map 5", "socket_filter 7", "iterator read 0"]);
    });

    it("without capabilities: a BpfError naming CAP_BPF and CAP_PERFMON", () => {
      const r = runAsNobody("");
      expect(r.steps).toEqual([]);
      expect(r.error).toMatchObject({ name: "BpfError", code: "EPERM", command: "MAP_CREATE" });
      expect(r.error!.message).toContain("missing capabilities CAP_BPF, CAP_PERFMON");
    });

    it("with CAP_BPF alone: the tracing load names CAP_PERFMON", () => {
      const r = runAsNobody(",+bpf");
      expect(r.steps).toEqual(["map 5", "socket_filter 7"]);
      expect(r.error).toMatchObject({ name: "BpfError", code: "EPERM", command: "PROG_LOAD" });
      expect(r.error!.message).toContain("missing capabilities CAP_PERFMON");
    });
  });
});
