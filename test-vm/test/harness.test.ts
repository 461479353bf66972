// The harness tested by booting guests (about 5 min under TCG): a failing
// test fails the run, a hanging guest is killed at the timeout and reported.
// Opt in with TS_EBPF_VM_SELFTEST=1 (needs qemu-system-x86 and a built dist/).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { testVmDir } from "../src/paths.js";

const enabled = process.env.TS_EBPF_VM_SELFTEST === "1";
const suite = enabled ? describe : describe.skip;
const reason = enabled ? "" : " [skipped: set TS_EBPF_VM_SELFTEST=1 to boot guests]";

function harness(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(
    process.execPath,
    [join(testVmDir, "dist", "cli.js"), "--kernel", "6.1", ...args],
    {
      encoding: "utf8",
      timeout: 590_000,
    },
  );
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

suite(`test-vm harness in a guest${reason}`, () => {
  it("passes a passing test", { timeout: 600_000 }, () => {
    const { code, out } = harness("--self-test", "pass");
    expect(out).toMatch(/6\.1\s+\S+\s+v\d+\S*\s+\w+\s+ok\s+\S+ s\s+1\s+0\s+0/);
    expect(code, out).toBe(0);
  });

  it("fails when a test in the guest fails", { timeout: 600_000 }, () => {
    const { code, out } = harness("--self-test", "fail");
    expect(out).toContain(
      "FAIL  test-vm/fixtures/self-test/fail.kernel.test.ts > self-test: fail > fails on purpose",
    );
    expect(out).toContain("deliberate self-test failure");
    expect(code, out).toBe(1);
  });

  it("kills a guest whose test stops moving and names the test", { timeout: 600_000 }, () => {
    // Long enough to reach the test on a loaded host, where it then spins.
    const { code, out } = harness("--self-test", "hang", "--stall", "240");
    expect(out).toMatch(/TIMEOUT/);
    expect(out).toContain("no progress for 240 s");
    expect(out).toContain(
      'hung in kernel tests, in test-vm/fixtures/self-test/hang.kernel.test.ts, in test "self-test: hang > never returns"',
    );
    expect(code, out).toBe(1);
  });
  it("--exec runs a command, streams its output, returns its status; --out is writable", {
    timeout: 600_000,
  }, () => {
    const out = mkdtempSync(join(tmpdir(), "test-vm-out-"));
    try {
      const r = harness(
        "--out",
        out,
        "--exec",
        'echo "in $(uname -r)"; echo done > "$TS_EBPF_VM_OUT/marker"; exit 7',
      );
      expect(r.out).toMatch(/in 6\.1\.\d+/);
      expect(r.code, r.out).toBe(7);
      expect(readFileSync(join(out, "marker"), "utf8")).toBe("done\n");
      const hang = harness("--timeout", "20", "--exec", "sleep 600");
      expect(hang.out).toMatch(/ran past 20 s/);
      expect(hang.code).toBe(124);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
