// `--pin <package>`: the kernels.json entry for the version of a kernel
// package that the host's apt would install, so adding a kernel is one paste.
import { run } from "./exec.js";
import type { KernelEntry } from "./kernels.js";

export function pinEntry(pkg: string): KernelEntry {
  const policy = run("apt-cache", ["policy", pkg]);
  const version = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  if (!version || version === "(none)") {
    throw new Error(
      `apt-cache policy ${pkg}: no candidate version (run apt-get update, or add the suite)`,
    );
  }
  // The line under the candidate's version row names its archive, e.g.
  // "500 <mirror>/debian-security bookworm-security/main amd64 Packages".
  const table = policy.slice(policy.indexOf("Version table:"));
  const afterVersion = table.slice(table.indexOf(` ${version} `));
  const archive = /\d+\s+(https?:\/\/\S+)\s+(\S+)\/(\S+)\s+\S+\s+Packages/.exec(afterVersion);
  if (!archive)
    throw new Error(`apt-cache policy ${pkg}: cannot tell which archive serves ${version}`);
  const show = run("apt-cache", ["show", `${pkg}=${version}`]);
  const sha256 = /^SHA256:\s*([0-9a-f]{64})$/m.exec(show)?.[1];
  if (!sha256) throw new Error(`apt-cache show ${pkg}=${version}: no SHA256 field`);
  const name = /^(\d+\.\d+)/.exec(version)?.[1] ?? pkg;
  return {
    name,
    package: pkg,
    version,
    sha256,
    suite: archive[2]!,
    component: archive[3]!,
  };
}
