// RLIMIT_MEMLOCK: kernels before 5.11 charge maps and programs to it. A child
// started under `ulimit -l 64` makes 256 KiB of them: on such a kernel the
// library raises the limit itself (as libbpf does), and without the right to
// raise it the BpfError's hint names the limit; on a later kernel the limit
// plays no part and is left alone. Which kernel this is comes from its BTF.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { loadKernelBtf } from "@ts-ebpf/btf";
import { btfBlob, describeKernel, skipWithoutTool } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { btfChargesMemlock, kernelChargesMemlock } from "../src/memlock.js";

const fixture = fileURLToPath(new URL("./fixtures/memlock.mjs", import.meta.url));

it("btfChargesMemlock: a BTF naming struct bpf_map_memory is a kernel that charges the limit", () => {
  const charging = btfBlob(new Uint8Array(0), Buffer.from("\0bpf_map\0bpf_map_memory\0"));
  const later = btfBlob(new Uint8Array(0), Buffer.from("\0bpf_map\0bpf_map_memory_usage\0"));
  expect(btfChargesMemlock(charging)).toBe(true);
  expect(btfChargesMemlock(later)).toBe(false);
  expect(() => btfChargesMemlock(new Uint8Array(32))).toThrow(/not BTF/);
});

/**
 * util-linux's setpriv by absolute path: a BusyBox sh runs its own setpriv
 * applet (no --reuid) for a bare name, the guests' among them.
 */
function setprivPath(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const path = `${dir}/setpriv`;
    if (!existsSync(path) || basename(realpathSync(path)) === "busybox") continue;
    try {
      execFileSync(path, ["--version"], { stdio: "ignore" });
      return path;
    } catch {}
  }
  return undefined;
}
const setpriv = process.getuid?.() === 0 ? setprivPath() : undefined;

/** Runs the fixture under a 64 KiB locked-memory limit, `prefix` before node (setpriv ...). */
function underSmallLimit(prefix: string): {
  before: string;
  after: string;
  made: string[];
  error?: Record<string, string>;
} {
  const r = spawnSync(
    "sh",
    ["-c", `ulimit -l 64 && exec ${prefix} "${process.execPath}" "${fixture}"`],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

describeKernel("RLIMIT_MEMLOCK", () => {
  const charges = kernelChargesMemlock();

  it("the running kernel charges the limit exactly when its BTF has struct bpf_map_memory (5.10, not 5.11+)", () => {
    expect(charges).toBe(loadKernelBtf().findType("bpf_map_memory", "struct") !== undefined);
  });

  it("a process under a 64 KiB limit makes a 256 KiB map and a program (before 5.11: by raising the limit)", () => {
    const r = underSmallLimit("");
    expect(r.before).toBe("65536");
    expect(r.error).toBeUndefined();
    expect(r.made).toEqual(["map", "program"]);
    // Raised only where the kernel charges it; root may raise it to infinity.
    expect(r.after).toBe(charges ? "unlimited" : "65536");
  });

  it.skipIf(skipWithoutTool(setpriv !== undefined))(
    "as nobody with CAP_BPF + CAP_PERFMON (no CAP_SYS_RESOURCE: the limit cannot be raised): before 5.11 the BpfError's hint names RLIMIT_MEMLOCK",
    () => {
      // uid 65534 with only CAP_BPF + CAP_PERFMON.
      const r = underSmallLimit(
        `${setpriv} --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+bpf,+perfmon --ambient-caps=-all,+bpf,+perfmon`,
      );
      expect(r.after).toBe("65536");
      if (!charges) {
        expect(r.error).toBeUndefined();
        expect(r.made).toEqual(["map", "program"]);
        return;
      }
      expect(r.made).toEqual([]);
      expect(r.error).toMatchObject({ name: "BpfError", code: "EPERM", command: "MAP_CREATE" });
      expect(r.error!.message).toMatch(
        /charges BPF maps and programs to RLIMIT_MEMLOCK, which is 64 KiB \(hard limit 64 KiB\) and could not be raised/,
      );
    },
  );
});
