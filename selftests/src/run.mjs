// The kernel's own iterator selftests (tools/testing/selftests/bpf/progs/
// bpf_iter_*.c) through libbpf and through ts-ebpf, side by side (issue 23).
// The programs are GPL-2.0: they are taken at run time from Debian's
// linux-source package closest to the running kernel, fetched with apt-get
// download through test-vm's private apt (the host's apt sources are neither
// read nor changed) and cached under selftests/.cache, never committed.
// Each is compiled against the running kernel's vmlinux.h (bpftool), every
// iterator program of it loaded by libbpf (src/libbpf-loader.c, built with
// libbpf-dev) and by @ts-ebpf/elf + createIterator; outputs and globals are
// compared. Usage: node selftests/src/run.mjs [--source <5.10|6.1|6.12|7.2>]
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { privateApt, privateAptUpdate } from "../../test-vm/dist/kernels.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const cache = join(root, ".cache");
const kernelsJson = JSON.parse(readFileSync(join(root, "..", "test-vm", "kernels.json"), "utf8"));
const entries = Array.isArray(kernelsJson) ? kernelsJson : kernelsJson.kernels;
const log = (msg) => process.stderr.write(`[selftests] ${msg}\n`);

/** Releases apart, counting at most 20 minors a major (6.18 -> 7.2 is 4 releases). */
const releaseIndex = (v) => {
  const [major, minor] = v.split(".").map(Number);
  return major * 20 + minor;
};

function pickSource() {
  const i = process.argv.indexOf("--source");
  if (i > 0) return entries.find((e) => e.name === process.argv[i + 1]) ?? fail("no such source");
  const running = releaseIndex(release());
  return [...entries].sort(
    (a, b) =>
      Math.abs(releaseIndex(a.name) - running) - Math.abs(releaseIndex(b.name) - running) ||
      releaseIndex(b.name) - releaseIndex(a.name),
  )[0];
}

function fail(msg) {
  throw new Error(msg);
}

/** Downloads linux-source-<name> (cached) and extracts the iterator selftests and their headers. */
function prepareSource(entry) {
  const pkg = `linux-source-${entry.name}`;
  const debs = join(cache, "debs");
  mkdirSync(debs, { recursive: true });
  let deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
  if (!deb) {
    const opts = privateApt(entries);
    privateAptUpdate(opts, log);
    log(`downloading ${pkg}`);
    execFileSync("apt-get", [...opts, "download", "-q", pkg], {
      cwd: debs,
      stdio: ["ignore", 2, 2],
    });
    deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
    if (!deb) fail(`apt-get download ${pkg} produced no .deb`);
  }
  const src = join(cache, `src-${deb.replace(/\.deb$/, "")}`);
  const progs = join(src, "tools/testing/selftests/bpf/progs");
  if (!existsSync(progs)) {
    mkdirSync(src, { recursive: true });
    log(`extracting the bpf selftests of ${deb}`);
    const tarball = `usr/src/${pkg}.tar.xz`;
    execFileSync("sh", [
      "-c",
      `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" "./${tarball}" 2>/dev/null || dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" "${tarball}"`,
      "sh",
      join(debs, deb),
      src,
    ]);
    execFileSync("tar", [
      "-xJf",
      join(src, tarball),
      "-C",
      src,
      "--strip-components=1",
      "--wildcards",
      "*/tools/testing/selftests/bpf/progs/*",
      "*/tools/testing/selftests/bpf/*.h",
    ]);
  }
  return { src, progs, deb };
}

function firstError(stderr) {
  return (
    stderr
      .split("\n")
      .find((l) => /error:/.test(l))
      ?.trim() ?? stderr.trim().split("\n")[0]
  );
}

/** The iterator programs (SEC("iter/...") / SEC("iter.s/...")) of an object, by name. */
function iterPrograms(object) {
  const out = execFileSync("llvm-objdump", ["-t", object], { encoding: "utf8" });
  const names = [];
  for (const line of out.split("\n")) {
    const m = /\sF\s+(iter(?:\.s)?\/\S+)\s+\S+\s+(\S+)$/.exec(line);
    if (m) names.push(m[2]);
  }
  return names;
}

/**
 * Runs one loader. Its own pid (which task iterators print and selftests
 * store in globals) is replaced by "<pid>" in the output and by zeros in
 * the globals, so the two loaders' runs compare.
 */
function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "buffer", maxBuffer: 1 << 28, timeout: 120_000 });
  const lines = r.stderr.toString().split("\n");
  const pid = Number(lines.find((l) => l.startsWith("pid "))?.slice(4) ?? 0);
  const pidHex = Buffer.alloc(4);
  pidHex.writeUInt32LE(pid);
  const globals = lines
    .filter((l) => l.startsWith("global "))
    .map((l) => (pid ? l.replaceAll(pidHex.toString("hex"), "00000000") : l));
  let stdout = r.stdout.toString("latin1");
  if (pid) stdout = stdout.replace(new RegExp(`\\b${pid}\\b`, "g"), "<pid>");
  return {
    ok: r.status === 0,
    stdout: Buffer.from(stdout, "latin1"),
    globals: globals.sort().join("\n"),
    error: lines
      .filter((l) => !l.startsWith("global ") && !l.startsWith("pid ") && l.trim() !== "")
      .slice(-3)
      .join(" | "),
  };
}

const entry = pickSource();
log(`running kernel ${release()}; selftests of linux-source-${entry.name}`);
const { progs, src } = prepareSource(entry);
const build = join(cache, `build-${entry.name}-${release()}`);
mkdirSync(build, { recursive: true });
const vmlinux = join(build, "vmlinux.h");
if (!existsSync(vmlinux))
  writeFileSync(
    vmlinux,
    execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"], {
      maxBuffer: 1 << 30,
    }),
  );
const loader = join(build, "libbpf-loader");
execFileSync("gcc", ["-O2", "-o", loader, join(here, "libbpf-loader.c"), "-lbpf"]);
const tsLoader = join(here, "ts-ebpf-loader.mjs");

const sources = readdirSync(progs)
  .filter((f) => /^bpf_iter_.*\.c$/.test(f))
  .sort();
const counts = {
  programs: 0,
  both: 0,
  matching: 0,
  varying: 0,
  onlyLibbpf: 0,
  onlyTs: 0,
  neither: 0,
};
const notCompiling = [];
const report = [];
for (const file of sources) {
  const object = join(build, file.replace(/\.c$/, ".o"));
  const cc = spawnSync(
    "clang",
    [
      "-g",
      "-O2",
      "-target",
      "bpf",
      "-D__TARGET_ARCH_x86",
      `-I${build}`,
      `-I${progs}`,
      `-I${join(src, "tools/testing/selftests/bpf")}`,
      "-I/usr/include/x86_64-linux-gnu",
      "-Wno-compare-distinct-pointer-types",
      "-c",
      join(progs, file),
      "-o",
      object,
    ],
    { encoding: "utf8" },
  );
  if (cc.status !== 0) {
    notCompiling.push(`${file}: ${firstError(cc.stderr)}`);
    continue;
  }
  for (const name of iterPrograms(object)) {
    counts.programs++;
    const ref = run(loader, [object, name]);
    const ts = run(process.execPath, [tsLoader, object, name]);
    const id = `${file}:${name}`;
    if (ref.ok && ts.ok) {
      counts.both++;
      const same = (a, b) => a.stdout.equals(b.stdout) && a.globals === b.globals;
      if (same(ref, ts)) counts.matching++;
      else {
        // A second libbpf run tells a program whose output changes from run to run
        // (link and map ids, symbol walk position, the loader's own stack) from a difference.
        const again = run(loader, [object, name]);
        const varies = !again.ok || !same(ref, again);
        if (varies) counts.varying++;
        report.push(
          `${varies ? "varies " : "differs"}   ${id}: output ${ref.stdout.length}/${ts.stdout.length} bytes${ref.stdout.equals(ts.stdout) ? " (same)" : ""}, globals ${ref.globals === ts.globals ? "same" : "differ"}${varies ? " (libbpf's own two runs differ too)" : ""}`,
        );
      }
    } else if (ref.ok) {
      counts.onlyLibbpf++;
      report.push(`libbpf    ${id}: ts-ebpf: ${ts.error}`);
    } else if (ts.ok) {
      counts.onlyTs++;
      report.push(`ts-ebpf   ${id}: libbpf: ${ref.error}`);
    } else {
      counts.neither++;
      report.push(`neither   ${id}: libbpf: ${ref.error}; ts-ebpf: ${ts.error}`);
    }
  }
}
for (const line of report) console.log(line);
for (const line of notCompiling) console.log(`no-compile ${line}`);
console.log(
  `selftests (linux-source-${entry.name} on ${release()}): ${counts.programs} programs, ` +
    `${counts.both} loaded by both, ${counts.matching} matching ` +
    `(${counts.varying} more differ between two libbpf runs too), ` +
    `${counts.onlyLibbpf} loaded only by libbpf, ${counts.onlyTs} only by ts-ebpf, ` +
    `${counts.neither} by neither, ${notCompiling.length} source files not compiling`,
);
process.exitCode = counts.onlyLibbpf > 0 ? 1 : 0;
