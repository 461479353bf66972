// The kernel's own iterator selftests (tools/testing/selftests/bpf/progs/
// bpf_iter_*.c, cgroup_iter.c, kmem_cache_iter.c) through libbpf and through
// ts-ebpf, side by side (issue 23). The programs are GPL-2.0: they are taken
// at run time from Debian's linux-source package, fetched with apt-get
// download through test-vm's private apt (the host's apt sources are neither
// read nor changed) and cached under selftests/.cache, never committed. Each
// is compiled against the kernel's vmlinux.h (bpftool), every iterator
// program of it loaded by libbpf (src/libbpf-loader.c, built static with
// libbpf-dev) and by @ts-ebpf/elf + createIterator, with the same link
// parameters (a map, filled alike, for map iterators; a sleeping child's pid
// for task iterators; the cgroup2 root for cgroup iterators); outputs and
// globals are compared.
//
//   node selftests/src/run.mjs [--source <5.10|6.1|6.12|7.2>]
//       the running kernel, with the closest source (or the one named)
//   node selftests/src/run.mjs --guest <5.10|6.1|6.12|7.2>
//       prepares a test-vm guest kernel's run on this host (no compiler in
//       the guests): that kernel's source, compiled against its vmlinux.h
//       (from the guest's vmlinuz: scripts/extract-vmlinux), the loader,
//       into selftests/.cache/guest-<name>, with status.json saying whether
//       it is ready (kept while the kernels.json entry, this runner and the
//       loader's source are unchanged) or why it failed; `pnpm test:vm`
//       runs this before booting a guest whose tests include the selftests
//   node selftests/src/run.mjs --compare <dir>
//       the comparison alone, of a prepared directory (what the guest runs:
//       the repository is mounted read-only at the same path in the guests)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const cache = join(root, ".cache");
const repo = join(root, "..");
const kernelsJson = JSON.parse(readFileSync(join(repo, "test-vm", "kernels.json"), "utf8"));
const entries = Array.isArray(kernelsJson) ? kernelsJson : kernelsJson.kernels;
const log = (msg) => process.stderr.write(`[selftests] ${msg}\n`);
const argValue = (flag) => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1] : undefined;
};

/** The program files: every bpf_iter_*.c, and the iterator programs of the cgroup and kmem_cache tests. */
const PROGRAM_FILE = /^(bpf_iter_.*|cgroup_iter|kmem_cache_iter)\.c$/;

/** Releases apart, counting at most 20 minors a major (6.18 -> 7.2 is 4 releases). */
const releaseIndex = (v) => {
  const [major, minor] = v.split(".").map(Number);
  return major * 20 + minor;
};

function fail(msg) {
  throw new Error(msg);
}

function entryNamed(name) {
  return entries.find((e) => e.name === name) ?? fail(`no kernel ${name} in test-vm/kernels.json`);
}

function closestEntry() {
  const running = releaseIndex(release());
  return [...entries].sort(
    (a, b) =>
      Math.abs(releaseIndex(a.name) - running) - Math.abs(releaseIndex(b.name) - running) ||
      releaseIndex(b.name) - releaseIndex(a.name),
  )[0];
}

/**
 * Downloads linux-source-<name> (cached) and extracts the bpf selftests,
 * their headers and scripts/extract-vmlinux.
 */
async function prepareSource(entry) {
  const pkg = `linux-source-${entry.name}`;
  const debs = join(cache, "debs");
  mkdirSync(debs, { recursive: true });
  // The source of the kernel's own version (its selftests name the fields that kernel has:
  // 6.1's newest source names a timer 6.1.176 lacks); the newest one where apt serves no such
  // version or cannot be reached and a source is cached.
  const exact = `${pkg}_${entry.version.replace(":", "%3a")}_all.deb`;
  const cached = () =>
    readdirSync(debs)
      .filter((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"))
      .sort()
      .pop();
  let deb = existsSync(join(debs, exact)) ? exact : undefined;
  if (!deb) {
    const { privateApt, privateAptUpdate } = await import("../../test-vm/dist/kernels.js");
    let why;
    for (const spec of [`${pkg}=${entry.version}`, pkg]) {
      try {
        const opts = privateApt(entries);
        privateAptUpdate(opts, log);
        log(`downloading ${spec}`);
        execFileSync("apt-get", [...opts, "download", "-q", spec], {
          cwd: debs,
          stdio: ["ignore", 2, 2],
        });
        deb = existsSync(join(debs, exact)) ? exact : cached();
        break;
      } catch (e) {
        why = String(e.message).split("\n")[0];
        deb = cached();
        if (deb) break;
      }
    }
    if (!deb)
      fail(
        `could not download ${pkg} through test-vm's private apt (no network or no Debian mirror?): ${why}`,
      );
    if (deb !== exact)
      log(`${pkg} at the kernel's version ${entry.version} is not available; using ${deb}`);
  }
  const src = join(cache, `src-${deb.replace(/\.deb$/, "")}`);
  const progs = join(src, "tools/testing/selftests/bpf/progs");
  const extractVmlinux = join(src, "scripts/extract-vmlinux");
  // What one extraction takes out; a cache extracted with fewer parts is extracted again.
  const extracted = join(src, ".extracted-v2");
  if (!existsSync(extracted)) {
    mkdirSync(src, { recursive: true });
    log(`extracting the bpf selftests of ${deb}`);
    const tarball = `usr/src/${pkg}.tar.xz`;
    if (!existsSync(join(src, tarball)))
      execFileSync("sh", [
        "-c",
        `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" "./${tarball}" 2>/dev/null || dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" "${tarball}"`,
        "sh",
        join(debs, deb),
        src,
      ]);
    // The source's own libbpf headers and what generates their helper declarations (some
    // programs need a newer bpf_helpers.h than libbpf-dev's), and libarena's headers (7.x):
    // tar names the patterns an older source lacks and extracts the rest, so its status is
    // judged by the files the run needs.
    spawnSync(
      "tar",
      [
        "-xJf",
        join(src, tarball),
        "-C",
        src,
        "--strip-components=1",
        "--wildcards",
        "*/tools/testing/selftests/bpf/progs/*",
        "*/tools/testing/selftests/bpf/*.h",
        "*/tools/testing/selftests/bpf/libarena/include/*",
        "*/tools/lib/bpf/*.h",
        "*/include/uapi/linux/bpf.h",
        "*/scripts/bpf_doc.py",
        "*/scripts/extract-vmlinux",
      ],
      { stdio: "ignore" },
    );
    for (const need of [progs, extractVmlinux, join(src, "tools/lib/bpf/bpf_helpers.h")])
      if (!existsSync(need)) fail(`${need} is missing after extracting ${tarball} of ${deb}`);
    writeFileSync(extracted, "");
  }
  return { src, progs, deb, extractVmlinux };
}

function firstError(stderr) {
  return (
    stderr
      .split("\n")
      .find((l) => /error:/.test(l))
      ?.trim() ?? stderr.trim().split("\n")[0]
  );
}

/** The iterator programs (SEC("iter/...") / SEC("iter.s/...")) of an object: name and target. */
function iterPrograms(object) {
  const out = execFileSync("llvm-objdump", ["-t", object], { encoding: "utf8" });
  const programs = [];
  for (const line of out.split("\n")) {
    const m = /\sF\s+iter(?:\.s)?\/(\S+)\s+\S+\s+(\S+)$/.exec(line);
    if (m) programs.push({ name: m[2], target: m[1] });
  }
  return programs;
}

/**
 * The source's own libbpf headers as <bpf/...> under build/libbpf-include,
 * with bpf_helper_defs.h generated from its uapi bpf.h (scripts/bpf_doc.py, as
 * libbpf's build does); undefined (with a line) when they cannot be made.
 */
function sourceLibbpfHeaders(src, build) {
  const dir = join(build, "libbpf-include");
  const bpfDir = join(dir, "bpf");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(bpfDir, { recursive: true });
  const lib = join(src, "tools/lib/bpf");
  for (const f of readdirSync(lib))
    if (f.endsWith(".h")) copyFileSync(join(lib, f), join(bpfDir, f));
  const defs = spawnSync(
    "python3",
    [join(src, "scripts/bpf_doc.py"), "--header", "--file", join(src, "include/uapi/linux/bpf.h")],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  if (defs.status !== 0) {
    log(
      `the source's libbpf headers are not used: bpf_doc.py failed: ${firstError(defs.stderr ?? "")}`,
    );
    return undefined;
  }
  writeFileSync(join(bpfDir, "bpf_helper_defs.h"), defs.stdout);
  return dir;
}

/**
 * Compiles every program file against `vmlinuxH`'s directory and builds the
 * (static: it runs in the guests too) libbpf loader into `build`; writes
 * build/manifest.json for the comparison.
 */
function compile({ progs, src }, build, sourceName, kernel) {
  const loader = join(build, "libbpf-loader");
  execFileSync("gcc", [
    "-O2",
    "-static",
    "-o",
    loader,
    join(here, "libbpf-loader.c"),
    "-lbpf",
    "-lelf",
    "-lz",
  ]);
  const sources = readdirSync(progs)
    .filter((f) => PROGRAM_FILE.test(f))
    .sort();
  const sourceHeaders = sourceLibbpfHeaders(src, build);
  const libarena = join(src, "tools/testing/selftests/bpf/libarena/include");
  const cc = (file, object, headers) =>
    spawnSync(
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
        ...(existsSync(libarena) ? [`-I${libarena}`] : []),
        ...(headers ? [`-I${headers}`] : []),
        "-I/usr/include/x86_64-linux-gnu",
        "-Wno-compare-distinct-pointer-types",
        "-c",
        join(progs, file),
        "-o",
        object,
      ],
      { encoding: "utf8" },
    );
  const objects = [];
  const notCompiling = [];
  for (const file of sources) {
    const object = join(build, file.replace(/\.c$/, ".o"));
    // libbpf-dev's headers first (the libbpf the reference side is built with); a file they
    // cannot compile (bpf_for_each and other newer macros) is tried with its source's own, as
    // the kernel's selftests build does.
    const first = cc(file, object, undefined);
    if (first.status === 0) {
      objects.push({ file, object, programs: iterPrograms(object) });
      continue;
    }
    const again = sourceHeaders && cc(file, object, sourceHeaders);
    if (again && again.status === 0) {
      objects.push({ file, object, headers: "source", programs: iterPrograms(object) });
      continue;
    }
    const error = firstError(first.stderr);
    const sourceError = again ? firstError(again.stderr) : undefined;
    notCompiling.push(
      `${file}: ${error}${sourceError && sourceError !== error ? `; with the source's own libbpf headers: ${sourceError}` : ""}`,
    );
  }
  const manifest = { source: sourceName, kernel, loader, objects, notCompiling };
  writeFileSync(join(build, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * A loader's result made comparable. The loader's own pid (which task
 * iterators print and selftests store in globals) and the runner's (the
 * ts-ebpf side runs in this process; the libbpf side is its child) are
 * zeroed in the globals, and the output's lines naming either are dropped:
 * they describe the loaders' own processes, which differ by construction (one
 * thread and a few fds in C, a dozen threads in Node; a whole-system task
 * walk, as before 6.1, meets them), so the two runs compare. Hashed kernel
 * pointers (%p: 0x00000000 and a 32-bit hash, as bpf_seq_printf_btf prints
 * every pointer field) are masked: a task_struct dump of the sleeping child
 * shows its neighbours in the task list, which are the libbpf loader's own
 * process in one run and nobody in the other.
 */
function comparable({ ok, stdout, globals, error }, pids) {
  const own = pids.map((pid) => {
    const hex = Buffer.alloc(4);
    hex.writeUInt32LE(pid);
    return { hex: hex.toString("hex"), line: new RegExp(`\\b${pid}\\b`) };
  });
  const masked = globals.map((g) => own.reduce((l, o) => l.replaceAll(o.hex, "00000000"), g));
  const text = stdout
    .toString("latin1")
    .split("\n")
    .filter((line) => !own.some((o) => o.line.test(line)))
    .join("\n")
    .replace(/\b0x00000000[0-9a-f]{8}\b/g, "0x(hashed)");
  return { ok, stdout: Buffer.from(text, "latin1"), globals: masked.sort().join("\n"), error };
}

/** The libbpf loader (a child process) on one program. */
function runLibbpf(loader, args) {
  const r = spawnSync(loader, args, { encoding: "buffer", maxBuffer: 1 << 28, timeout: 120_000 });
  const lines = r.stderr.toString().split("\n");
  const pid = Number(lines.find((l) => l.startsWith("pid "))?.slice(4) ?? 0);
  return comparable(
    {
      ok: r.status === 0,
      stdout: r.stdout,
      globals: lines.filter((l) => l.startsWith("global ")),
      error: lines
        .filter((l) => !l.startsWith("global ") && !l.startsWith("pid ") && l.trim() !== "")
        .slice(-3)
        .join(" | "),
    },
    pid ? [pid, process.pid] : [process.pid],
  );
}

const olderThan61 = () => releaseIndex(release()) < releaseIndex("6.1");

/** The cgroup2 root's id (its inode), or undefined without a cgroup2 mount. */
function cgroup2RootId() {
  const mount = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .find((f) => f[2] === "cgroup2")?.[1];
  return mount === undefined ? undefined : statSync(mount).ino;
}

/** Link parameters for a target, the same for both loaders. */
function linkArgs(target, sleeper) {
  if (["bpf_map_elem", "bpf_sk_storage_map", "sockmap"].includes(target))
    return ["--map-elem", "--fill", "3"];
  // Task parameters arrived in 6.1; before, the walk is of every task.
  if (["task", "task_file", "task_vma"].includes(target) && !olderThan61())
    return ["--pid", String(sleeper.pid)];
  if (target === "cgroup") {
    const id = cgroup2RootId();
    return id === undefined ? [] : ["--cgroup-id", String(id), "--order", "pre"];
  }
  return [];
}

/** Where two comparable results first differ, for the report: the output line or the globals. */
function firstDifference(ref, ts) {
  const a = ref.stdout.toString("latin1").split("\n");
  const b = ts.stdout.toString("latin1").split("\n");
  const clip = (l) => JSON.stringify(l === undefined ? "(none)" : l.slice(0, 160));
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if (a[i] !== b[i]) return `output line ${i + 1}: libbpf ${clip(a[i])}, ts-ebpf ${clip(b[i])}`;
  return `globals: libbpf ${clip(ref.globals)}, ts-ebpf ${clip(ts.globals)}`;
}

/** Loads every program of the manifest with both loaders and compares; prints the report and summary. */
async function compare(manifest) {
  // Imported here: it loads the built packages and the addon, which preparing a guest does not need.
  const { runTsEbpf } = await import("./ts-ebpf-loader.mjs");
  const runTs = (object, name, args) => comparable(runTsEbpf(object, name, args), [process.pid]);
  // A process that sleeps through the run: the task iterators' pid parameter.
  const sleeper = spawn("sleep", ["3600"], { stdio: "ignore" });
  const counts = {
    programs: 0,
    both: 0,
    matching: 0,
    varying: 0,
    differing: 0,
    onlyLibbpf: 0,
    onlyTs: 0,
    neither: 0,
  };
  const report = [];
  try {
    const only = argValue("--only");
    for (const { file, object, programs, headers } of manifest.objects) {
      if (only !== undefined && !file.includes(only)) continue;
      for (const { name, target } of programs) {
        counts.programs++;
        const args = [object, name, ...linkArgs(target, sleeper)];
        const ref = runLibbpf(manifest.loader, args);
        const ts = runTs(object, name, args.slice(2));
        const id = `${file}:${name}${args.length > 2 ? ` (${args.slice(2).join(" ")})` : ""}${headers === "source" ? " [compiled with its source's libbpf headers]" : ""}`;
        if (ref.ok && ts.ok) {
          counts.both++;
          const same = (a, b) => a.stdout.equals(b.stdout) && a.globals === b.globals;
          if (same(ref, ts)) {
            counts.matching++;
            report.push(`matches   ${id}: output ${ref.stdout.length} bytes`);
          } else {
            // A second libbpf run tells a program whose output changes from run to run
            // (link and map ids, symbol walk position, the loader's own stack) from a difference.
            const again = runLibbpf(manifest.loader, args);
            const varies = !again.ok || !same(ref, again);
            if (varies) counts.varying++;
            else counts.differing++;
            report.push(
              `${varies ? "varies " : "DIFFERS"}   ${id}: output ${ref.stdout.length}/${ts.stdout.length} bytes${ref.stdout.equals(ts.stdout) ? " (same)" : ""}, globals ${ref.globals === ts.globals ? "same" : "differ"}${varies ? " (libbpf's own two runs differ too)" : `; ${firstDifference(ref, ts)}`}`,
            );
          }
        } else if (ref.ok) {
          counts.onlyLibbpf++;
          report.push(`LIBBPF    ${id}: ts-ebpf: ${ts.error}`);
        } else if (ts.ok) {
          counts.onlyTs++;
          report.push(`ts-ebpf   ${id}: libbpf: ${ref.error}`);
        } else {
          counts.neither++;
          report.push(`neither   ${id}: libbpf: ${ref.error}; ts-ebpf: ${ts.error}`);
        }
      }
    }
  } finally {
    sleeper.kill();
  }
  for (const line of report) console.log(line);
  for (const line of manifest.notCompiling) console.log(`no-compile ${line}`);
  const summary = { ...counts, notCompiling: manifest.notCompiling.length };
  console.log(
    `selftests (linux-source-${manifest.source} on ${release()}): ${counts.programs} programs, ` +
      `${counts.both} loaded by both, ${counts.matching} matching ` +
      `(${counts.varying} more differ between two libbpf runs too, ${counts.differing} differ), ` +
      `${counts.onlyLibbpf} loaded only by libbpf, ${counts.onlyTs} only by ts-ebpf, ` +
      `${counts.neither} by neither, ${manifest.notCompiling.length} source files not compiling`,
  );
  console.log(`summary-json ${JSON.stringify(summary)}`);
  process.exitCode = counts.onlyLibbpf > 0 || counts.differing > 0 ? 1 : 0;
}

/** vmlinux.h of a BTF source (the running kernel's /sys/kernel/btf/vmlinux, or a vmlinux ELF). */
function writeVmlinuxH(btfFile, build) {
  const vmlinux = join(build, "vmlinux.h");
  if (!existsSync(vmlinux)) {
    const text = execFileSync("bpftool", ["btf", "dump", "file", btfFile, "format", "c"], {
      maxBuffer: 1 << 30,
    });
    writeFileSync(`${vmlinux}.tmp`, text);
    renameSync(`${vmlinux}.tmp`, vmlinux);
  }
}

const fileSha = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** The tools preparing a run needs, each with the Debian package that has it. */
function checkTools() {
  const missing = [];
  for (const [tool, pkg] of [
    ["clang", "clang"],
    ["llvm-objdump", "llvm"],
    ["bpftool", "bpftool"],
    ["gcc", "gcc"],
    ["xz", "xz-utils"],
    ["dpkg-deb", "dpkg"],
    ["python3", "python3"],
  ]) {
    const r = spawnSync(tool, ["--version"], { stdio: "ignore" });
    if (r.error || r.status !== 0) missing.push(`${tool} (${pkg})`);
  }
  for (const [file, pkg] of [
    ["/usr/include/bpf/libbpf.h", "libbpf-dev"],
    ["/usr/lib/x86_64-linux-gnu/libbpf.a", "libbpf-dev"],
  ]) {
    if (!existsSync(file)) missing.push(`${file} (${pkg})`);
  }
  if (missing.length > 0)
    fail(
      `missing or not working: ${missing.join(", ")}: scripts/setup.sh --test installs them (as root)`,
    );
}

/** Where a guest kernel's prepared run lives, and its status file. */
export const guestDir = (name) => join(cache, `guest-${name}`);
const statusFile = (name) => join(guestDir(name), "status.json");

/** Records that preparing `name` failed, for the guest test to report (it fails with the reason). */
export function writeGuestFailure(name, reason) {
  mkdirSync(guestDir(name), { recursive: true });
  writeFileSync(
    statusFile(name),
    `${JSON.stringify({ state: "failed", reason, at: new Date().toISOString() }, null, 2)}\n`,
  );
}

/**
 * Prepares a test-vm guest kernel's run on this host (the guests have no
 * compiler): that kernel's linux-source, compiled against the vmlinux.h of
 * its vmlinuz, and the static libbpf loader, in guestDir(name) with
 * status.json. Kept while the kernels.json entry, this runner and the
 * loader's source are unchanged and every file is there; returns
 * { cached, programs, files, notCompiling }.
 */
export async function prepareGuest(name) {
  const entry = entryNamed(name);
  const build = guestDir(entry.name);
  const key = {
    package: entry.package,
    version: entry.version,
    sha256: entry.sha256,
    runner: fileSha(fileURLToPath(import.meta.url)),
    loader: fileSha(join(here, "libbpf-loader.c")),
  };
  const keyText = JSON.stringify(key);
  const count = (m) => ({
    programs: m.objects.reduce((n, o) => n + o.programs.length, 0),
    files: m.objects.length,
    notCompiling: m.notCompiling,
  });
  if (existsSync(statusFile(entry.name))) {
    const status = JSON.parse(readFileSync(statusFile(entry.name), "utf8"));
    const manifestFile = join(build, "manifest.json");
    if (
      status.state === "ready" &&
      JSON.stringify(status.key) === keyText &&
      existsSync(manifestFile)
    ) {
      const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
      if (existsSync(manifest.loader) && manifest.objects.every((o) => existsSync(o.object)))
        return { cached: true, ...count(manifest) };
    }
  }
  // Until it is done, the run counts as failed (a killed preparation must not look ready).
  writeGuestFailure(entry.name, "the preparation did not finish");
  checkTools();
  const vmlinuz = join(repo, "test-vm", ".cache", "kernels", entry.name, "vmlinuz");
  if (!existsSync(vmlinuz))
    fail(
      `${vmlinuz} is missing: run the guest once first (node test-vm/dist/cli.js --kernel ${entry.name} --exec true)`,
    );
  const source = await prepareSource(entry);
  // vmlinux.h is kept while the kernel image is the same; the objects are rebuilt.
  const vmlinuxKey = join(build, "vmlinux.key");
  const vmlinuxH = join(build, "vmlinux.h");
  if (
    !existsSync(vmlinuxH) ||
    !existsSync(vmlinuxKey) ||
    readFileSync(vmlinuxKey, "utf8") !== entry.sha256
  ) {
    rmSync(vmlinuxH, { force: true });
    const elf = join(build, "vmlinux");
    log(`extracting ${entry.name}'s vmlinux (its BTF) from ${vmlinuz}`);
    writeFileSync(
      elf,
      execFileSync("sh", [source.extractVmlinux, vmlinuz], { maxBuffer: 1 << 30 }),
    );
    writeVmlinuxH(elf, build);
    rmSync(elf, { force: true });
    writeFileSync(vmlinuxKey, entry.sha256);
  }
  for (const f of readdirSync(build)) if (f.endsWith(".o")) rmSync(join(build, f));
  const manifest = compile(source, build, entry.name, entry.name);
  if (manifest.objects.length === 0)
    fail(`no program file compiled (the first: ${manifest.notCompiling[0] ?? "none found"})`);
  writeFileSync(
    statusFile(entry.name),
    `${JSON.stringify({ state: "ready", key, source: source.deb, at: new Date().toISOString() }, null, 2)}\n`,
  );
  return { cached: false, ...count(manifest) };
}

const compareDir = argValue("--compare");
const guest = argValue("--guest");
if (process.argv[1] !== fileURLToPath(import.meta.url)) {
  // Imported (test-vm's preparation step): nothing to run.
} else if (compareDir !== undefined) {
  await compare(JSON.parse(readFileSync(join(compareDir, "manifest.json"), "utf8")));
} else if (guest !== undefined) {
  try {
    const r = await prepareGuest(guest);
    log(
      `${r.cached ? "cached: " : ""}${r.programs} programs of ${r.files} files compiled for ${guest}; ${r.notCompiling.length} files do not compile`,
    );
    for (const line of r.notCompiling) log(`not compiling: ${line}`);
    console.log(
      `flock /work/vm.lock node test-vm/dist/cli.js --kernel ${guest} --exec 'node selftests/src/run.mjs --compare ${guestDir(guest)}'`,
    );
  } catch (e) {
    const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
    writeGuestFailure(guest, reason);
    log(`preparing ${guest} FAILED: ${reason}`);
    process.exitCode = 1;
  }
} else {
  const entry = argValue("--source") ? entryNamed(argValue("--source")) : closestEntry();
  log(`running kernel ${release()}; selftests of linux-source-${entry.name}`);
  checkTools();
  const source = await prepareSource(entry);
  const build = join(cache, `build-${entry.name}-${release()}`);
  mkdirSync(build, { recursive: true });
  writeVmlinuxH("/sys/kernel/btf/vmlinux", build);
  await compare(compile(source, build, entry.name, release()));
}
