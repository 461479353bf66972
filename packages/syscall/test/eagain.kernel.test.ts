// Issue 13, finding 6 (loading): the verifier gives up with EAGAIN whenever a
// signal is pending, and a profiler signals every millisecond or faster. PROG_LOAD's
// EAGAIN is retried until the kernel stops reporting it, within a time budget,
// in one place (progLoad; the ELF loader no longer retries around it).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeKernel } from "@ts-ebpf/testing";
import { describe, expect, it } from "vitest";
import { EAGAIN_RETRY_BUDGET_MS, retryEagain } from "../src/commands/prog.js";
import { Errno } from "../src/errno.js";

describe("retryEagain: PROG_LOAD's one retry loop", () => {
  it("retries an injected EAGAIN until the call stops reporting it, however often", () => {
    let calls = 0;
    const r = retryEagain(() => (++calls <= 40 ? -Errno.EAGAIN : 7));
    expect(r).toEqual({ result: 7, eagain: 40 });
    expect(calls).toBe(41);
  });

  it("passes other results through at once", () => {
    let calls = 0;
    const refused = () => {
      calls++;
      return -Errno.EACCES;
    };
    expect(retryEagain(refused)).toEqual({
      result: -Errno.EACCES,
      eagain: 0,
    });
    expect(calls).toBe(1);
  });

  it("gives up with EAGAIN once the time budget is spent", () => {
    let now = 0;
    let calls = 0;
    const r = retryEagain(
      () => {
        calls++;
        now += 100;
        return -Errno.EAGAIN;
      },
      1_000,
      () => now,
    );
    expect(r).toEqual({ result: -Errno.EAGAIN, eagain: 10 });
    expect(calls).toBe(10);
    expect(EAGAIN_RETRY_BUDGET_MS).toBeGreaterThanOrEqual(1_000);
  });
});

describeKernel("PROG_LOAD under a profiler", () => {
  it("100 loads of a 500-instruction program all succeed under node --cpu-prof --cpu-prof-interval 50", () => {
    const fixture = fileURLToPath(new URL("./fixtures/load-under-profiler.mjs", import.meta.url));
    const profiles = mkdtempSync(join(tmpdir(), "ts-ebpf-prof-"));
    try {
      const r = spawnSync(
        process.execPath,
        ["--cpu-prof", "--cpu-prof-dir", profiles, "--cpu-prof-interval", "50", fixture, "100"],
        { encoding: "utf8" },
      );
      expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({
        status: 0,
        signal: null,
        stderr: "",
      });
      expect(JSON.parse(r.stdout.trim())).toEqual({ loads: 100, failed: 0, message: "" });
    } finally {
      rmSync(profiles, { recursive: true, force: true });
    }
  });
});
