import { execFileSync, spawnSync } from "node:child_process";
import { release } from "node:os";
import { fileURLToPath } from "node:url";
import { BpfMap, BpfMapType } from "@ts-ebpf/syscall";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";

const script = fileURLToPath(new URL("../dist/system-info.js", import.meta.url));

function hasSetpriv(): boolean {
  try {
    execFileSync("setpriv", ["--version"], { stdio: "ignore" });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

describeKernel("system-info example", () => {
  it("prints the kernel, BTF, capabilities and bpffs, and lists a map this test created", () => {
    using map = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 3,
      name: "ts_sysinfo",
    });
    const out = execFileSync(process.execPath, [script], { encoding: "utf8" });
    expect(out).toContain(`kernel        ${release()}`);
    expect(out).toMatch(/^BTF {11}\/sys\/kernel\/btf\/vmlinux/m);
    expect(out).toMatch(/^capabilities .*CAP_BPF/m);
    expect(out).toMatch(/^bpffs {9}/m);
    const row = out.split("\n").find((l) => l.startsWith(`${map.info().id} `));
    expect(row).toMatch(/^\d+\s+array\s+ts_sysinfo\s+4\s+4\s+3\b/);
  });

  it.runIf(hasSetpriv())("without root it says what it cannot see instead of failing", () => {
    const r = spawnSync(
      "setpriv",
      [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--ambient-caps=-all",
        process.execPath,
        script,
      ],
      { encoding: "utf8" },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("user          uid 65534");
    expect(r.stdout).toContain("can load      no: missing CAP_BPF, CAP_PERFMON");
    expect(r.stdout).toContain("maps (not visible)");
    expect(r.stdout).toContain("needs CAP_SYS_ADMIN");
  });
});
