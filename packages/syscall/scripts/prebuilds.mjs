#!/usr/bin/env node
// Builds the prebuilt addons that ship inside the npm tarball:
//   prebuilds/linux-x64/@ts-ebpf+syscall.glibc.node
//   prebuilds/linux-arm64/@ts-ebpf+syscall.glibc.node
// with `prebuildify --napi` (one N-API build serves every Node version), the
// foreign architecture with Debian's cross compiler (g++-aarch64-linux-gnu or
// g++-x86-64-linux-gnu). node-gyp-build loads them at run time, so an install
// that matches runs nothing (pnpm 10's defaults, --ignore-scripts and yarn work).
//
// Each build runs in a scratch copy of the package: prebuildify rebuilds
// ./build, and the monorepo's own build/Release must stay this machine's addon.
// A prebuild newer than binding.gyp and native/* is kept (--force rebuilds).
// Run by `prepack`; `--check` only verifies that both are present and current.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const FILE = "@ts-ebpf+syscall.glibc.node";
const force = process.argv.includes("--force");
const checkOnly = process.argv.includes("--check");

// The GNU triplet and Debian package of each architecture's compiler.
const toolchains = {
  x64: { triplet: "x86_64-linux-gnu", debian: "g++-x86-64-linux-gnu" },
  arm64: { triplet: "aarch64-linux-gnu", debian: "g++-aarch64-linux-gnu" },
};

const sources = ["binding.gyp", ...readdirSync(join(pkgDir, "native")).map((f) => `native/${f}`)];
const newestSource = Math.max(...sources.map((f) => statSync(join(pkgDir, f)).mtimeMs));
const output = (arch) => join(pkgDir, "prebuilds", `linux-${arch}`, FILE);
const current = (arch) =>
  existsSync(output(arch)) && statSync(output(arch)).mtimeMs >= newestSource;

function onPath(command) {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// node-gyp reads Node's headers from npm_config_nodedir instead of downloading them.
function nodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const candidates = ["/usr", "/usr/local", dirname(dirname(process.execPath))];
  const found = candidates.find((d) => existsSync(join(d, "include", "node", "node_api.h")));
  if (!found) {
    throw new Error(
      "prebuilds: no Node headers (include/node/node_api.h) under /usr, /usr/local or this Node's prefix; set npm_config_nodedir",
    );
  }
  return found;
}

function build(arch) {
  const native = arch === process.arch;
  const { triplet, debian } = toolchains[arch];
  const env = { ...process.env, npm_config_nodedir: nodedir(), npm_config_loglevel: "warn" };
  let stripBin = "strip";
  if (!native) {
    if (!onPath(`${triplet}-g++`)) {
      throw new Error(
        `prebuilds: the ${arch} addon needs the cross compiler ${triplet}-g++ (Debian: apt-get install ${debian})`,
      );
    }
    Object.assign(env, { CC: `${triplet}-gcc`, CXX: `${triplet}-g++`, LINK: `${triplet}-g++` });
    stripBin = `${triplet}-strip`;
  }
  const scratch = mkdtempSync(join(tmpdir(), `ts-ebpf-prebuild-${arch}-`));
  try {
    for (const f of ["package.json", "binding.gyp", "native"]) {
      cpSync(join(pkgDir, f), join(scratch, f), { recursive: true });
    }
    // binding.gyp asks node-addon-api for its include dir from the package's own node_modules.
    symlinkSync(join(pkgDir, "node_modules"), join(scratch, "node_modules"));
    const prebuildify = join(pkgDir, "node_modules", "prebuildify", "bin.js");
    execFileSync(
      process.execPath,
      [prebuildify, "--napi", "--strip", "--strip-bin", stripBin, "--tag-libc", "--arch", arch],
      { cwd: scratch, env, stdio: ["ignore", "ignore", "inherit"] },
    );
    mkdirSync(dirname(output(arch)), { recursive: true });
    cpSync(join(scratch, "prebuilds", `linux-${arch}`, FILE), output(arch));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  // The ELF machine must be the one asked for (a wrong CXX would pass silently otherwise).
  const machine = execFileSync("od", ["-An", "-tu2", "-j18", "-N2", output(arch)], {
    encoding: "utf8",
  }).trim();
  const expected = { x64: "62", arm64: "183" }[arch];
  if (machine !== expected) {
    throw new Error(`prebuilds: ${output(arch)} has ELF machine ${machine}, not ${arch}`);
  }
  console.error(`prebuilds: built ${join("prebuilds", `linux-${arch}`, FILE)}`);
}

if (process.platform !== "linux" || !(process.arch in toolchains)) {
  console.error(
    `prebuilds: builds on linux-x64 or linux-arm64, not ${process.platform}-${process.arch}`,
  );
  process.exit(1);
}
const stale = [];
for (const arch of Object.keys(toolchains)) {
  if (!force && current(arch)) continue;
  if (checkOnly) stale.push(arch);
  else build(arch);
}
if (stale.length > 0) {
  console.error(
    `prebuilds: missing or older than native/: ${stale.join(", ")} (run pnpm prebuilds)`,
  );
  process.exit(1);
}
