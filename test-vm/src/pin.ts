// `--pin <package> [--suite <suite>]`: the kernels.json entry for the newest
// version of a kernel package the private apt (test-vm/.cache/apt) serves, so
// adding or moving a kernel is one paste.
import { run } from "./exec.js";
import { type KernelEntry, privateApt, privateAptUpdate } from "./kernels.js";

export function pinEntry(
  pkg: string,
  suites: Pick<KernelEntry, "suite" | "component">[],
  log: (msg: string) => void = () => {},
): KernelEntry {
  const opts = privateApt(suites);
  privateAptUpdate(opts, log);
  const policy = run("apt-cache", [...opts, "policy", pkg]);
  const version = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  if (!version || version === "(none)") {
    throw new Error(
      `apt-cache policy ${pkg}: no candidate version in ${suites.map((s) => s.suite).join(", ")} (try --suite)`,
    );
  }
  // The line under the candidate's version row names its archive, e.g.
  // "500 <mirror>/debian-security bookworm-security/main amd64 Packages".
  const table = policy.slice(policy.indexOf("Version table:"));
  const afterVersion = table.slice(table.indexOf(` ${version} `));
  const archive = /\d+\s+(https?:\/\/\S+)\s+(\S+)\/(\S+)\s+\S+\s+Packages/.exec(afterVersion);
  if (!archive)
    throw new Error(`apt-cache policy ${pkg}: cannot tell which archive serves ${version}`);
  const show = run("apt-cache", [...opts, "show", `${pkg}=${version}`]);
  const sha256 = /^SHA256:\s*([0-9a-f]{64})$/m.exec(show)?.[1];
  if (!sha256) throw new Error(`apt-cache show ${pkg}=${version}: no SHA256 field`);
  const name = /^(\d+\.\d+)/.exec(version)?.[1] ?? pkg;
  const entry: KernelEntry = {
    name,
    package: pkg,
    version,
    sha256,
    suite: archive[2]!,
    component: archive[3]!,
  };
  // Debian 7.x splits the kernel: linux-image-* depends on linux-binary-*
  // (vmlinuz), linux-modules-* and linux-base-* (config, modules.builtin) of
  // the same version; each is pinned too.
  const depends = /^Depends:\s*(.*)$/m.exec(show)?.[1] ?? "";
  const parts: { package: string; sha256: string }[] = [];
  for (const dep of depends.split(",")) {
    const m = /^\s*(linux-(?:binary|modules|base)-\S+)\s+\(=\s*([^)\s]+)\)/.exec(dep);
    if (!m || m[2] !== version) continue;
    const partShow = run("apt-cache", [...opts, "show", `${m[1]}=${version}`]);
    const partSha = /^SHA256:\s*([0-9a-f]{64})$/m.exec(partShow)?.[1];
    if (!partSha) throw new Error(`apt-cache show ${m[1]}=${version}: no SHA256 field`);
    parts.push({ package: m[1]!, sha256: partSha });
  }
  if (parts.length > 0) entry.parts = parts;
  return entry;
}
