#!/usr/bin/env node
// Installs what users install: packs every publishable package (packages/* without
// "private") with `pnpm pack` (its prepack builds it and, for syscall, the prebuilds),
// checks each tarball, then installs the tarballs into fresh temporary projects with
// npm and with pnpm (default settings: pnpm 10 runs no dependency build script) with
// no compiler on PATH and no Node headers, on each Node version, and runs as root:
//   - smoke.mjs: a built-in, a DSL iterator, a map dump, a clang-built ELF object
//   - the root README's ```js blocks, and its ```ts blocks compiled with tsc
//   - consumer.ts typechecked with strict (and run), smoke.cjs through require()
//   - the addon taken away: the error names the package manager's command
//   - the pure packages (spec, btf, dsl) alone: no addon installed or loaded
//   - the linux-arm64 prebuild loaded by an arm64 Node under qemu-user
//   - yarn (Plug'n'Play) on the first Node version: smoke.mjs
//
// Usage: node scripts/pack-install.mjs [--node host,22,24] [--pm pnpm,npm]
//          [--tarballs DIR] [--no-arm64] [--no-yarn] [--keep]
// A Node version other than "host" comes from the npm registry through
// scripts/fetch-node.mjs (cached in .cache/node). Needs root and a kernel with BTF.
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const here = join(root, "scripts", "pack-install");
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const nodes = opt("--node", "host,22,24").split(",");
const managers = opt("--pm", "pnpm,npm").split(",");
const keep = argv.includes("--keep");
const arm64 = !argv.includes("--no-arm64");
const yarn = !argv.includes("--no-yarn");
const yarnVersion = "4.9.2";
const t0 = Date.now();
const log = (msg) =>
  console.log(`pack-install [${((Date.now() - t0) / 1000).toFixed(0)} s] ${msg}`);
const fail = (msg) => {
  throw new Error(`pack-install: ${msg}`);
};

if (process.getuid?.() !== 0) fail("run as root: the smoke programs load BPF programs");

const work = mkdtempSync(join(tmpdir(), "ts-ebpf-pack-install-"));
const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));

// ---------------------------------------------------------------------------
// 1. The publishable packages, in dependency order, and their tarballs.

const workspace = new Map(); // name -> { dir, manifest }
for (const d of readdirSync(join(root, "packages"))) {
  const file = join(root, "packages", d, "package.json");
  if (existsSync(file))
    workspace.set(readJson(file).name, {
      dir: join(root, "packages", d),
      manifest: readJson(file),
    });
}
const privateNames = new Set([...workspace].filter(([, p]) => p.manifest.private).map(([n]) => n));
const publishable = [...workspace.keys()].filter((n) => !privateNames.has(n));
const localDeps = (name) =>
  Object.keys(workspace.get(name).manifest.dependencies ?? {}).filter((d) => workspace.has(d));
const ordered = [];
const visit = (name) => {
  if (ordered.includes(name)) return;
  for (const d of localDeps(name)) visit(d);
  ordered.push(name);
};
publishable.forEach(visit);
const closure = (name) => {
  const seen = new Set();
  const walk = (n) => {
    for (const d of localDeps(n)) {
      if (seen.has(d)) continue;
      seen.add(d);
      walk(d);
    }
  };
  walk(name);
  return seen;
};
const nativeNames = new Set(publishable.filter((n) => workspace.get(n).manifest.gypfile));
// Issue 15: these install and work with no compiler and never pull in the addon.
const pure = ["@ts-ebpf/spec", "@ts-ebpf/btf", "@ts-ebpf/dsl"].filter((n) =>
  publishable.includes(n),
);
for (const n of pure) {
  const native = [n, ...closure(n)].filter((d) => nativeNames.has(d));
  if (native.length > 0)
    fail(`${n} must not depend on the addon package, but pulls in ${native.join(", ")}`);
}
log(`publishable: ${ordered.join(", ")}`);
// Changesets version the publishable packages as one fixed group: a new one must join it.
const fixed = readJson(join(root, ".changeset", "config.json")).fixed?.[0] ?? [];
if ([...fixed].sort().join() !== [...publishable].sort().join()) {
  fail(
    `.changeset/config.json "fixed" is ${fixed.join(", ")}; the publishable packages are ${publishable.join(", ")}`,
  );
}

const tarballDir = opt("--tarballs", join(work, "tarballs"));
mkdirSync(tarballDir, { recursive: true });
const tarballs = new Map();
for (const name of ordered) {
  const { dir, manifest } = workspace.get(name);
  const file = join(
    tarballDir,
    `${name.replace("@", "").replace("/", "-")}-${manifest.version}.tgz`,
  );
  if (!existsSync(file)) {
    execFileSync("pnpm", ["pack", "--pack-destination", tarballDir], {
      cwd: dir,
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  if (!existsSync(file)) fail(`pnpm pack of ${name} did not write ${file}`);
  tarballs.set(name, file);
}
log(`packed ${tarballs.size} tarballs`);

// ---------------------------------------------------------------------------
// 2. What each tarball holds and says.

for (const [name, file] of tarballs) {
  const entries = execFileSync("tar", ["tzf", file], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((e) => e.replace(/^package\//, ""));
  const has = (path) => entries.includes(path.replace(/^\.\//, ""));
  const m = JSON.parse(
    execFileSync("tar", ["xzfO", file, "package/package.json"], { encoding: "utf8" }),
  );
  const problems = [];
  for (const f of ["LICENSE", "README.md", "package.json"]) if (!has(f)) problems.push(`no ${f}`);
  for (const field of ["license", "repository", "homepage", "bugs", "engines", "description"]) {
    if (!m[field]) problems.push(`no "${field}"`);
  }
  if (m.license !== "MIT") problems.push(`license ${m.license}`);
  if (m.devDependencies) problems.push("devDependencies in the published manifest");
  const text = JSON.stringify(m);
  if (text.includes("workspace:")) problems.push("a workspace: range left in the manifest");
  for (const p of privateNames)
    if (text.includes(`"${p}"`)) problems.push(`names the private ${p}`);
  // Every `files` entry matches something; every main/types/exports/bin target is inside.
  for (const f of m.files ?? []) {
    if (!entries.some((e) => e === f || e.startsWith(`${f}/`)))
      problems.push(`"files" lists ${f}, absent`);
  }
  const targets = [m.main, m.types];
  const walk = (v) =>
    typeof v === "string"
      ? targets.push(v)
      : v && typeof v === "object" && Object.values(v).forEach(walk);
  walk(m.exports);
  walk(m.bin);
  for (const t of targets) if (t && !has(t)) problems.push(`${t} is not in the tarball`);
  if (entries.some((e) => /(^|\/)test\/|\.test\.[jt]s$|^build\//.test(e)))
    problems.push("tests or build/ inside");
  if (nativeNames.has(name)) {
    for (const arch of ["x64", "arm64"]) {
      const pre = `prebuilds/linux-${arch}/${name.replace("/", "+")}.glibc.node`;
      if (!has(pre)) problems.push(`no ${pre}`);
    }
    if (!m.os?.includes("linux")) problems.push('no "os": ["linux"]');
  }
  if (problems.length > 0) fail(`${name}: ${problems.join("; ")}`);
}
log(
  "tarballs: LICENSE, README, metadata, files, prebuilds (linux-x64, linux-arm64), no private or dev dependencies",
);

// ---------------------------------------------------------------------------
// 3. A machine with no compiler: shims that fail in front of the real ones.

const shims = join(work, "no-compiler");
mkdirSync(shims);
for (const tool of [
  "cc",
  "gcc",
  "g++",
  "c++",
  "clang",
  "clang++",
  "make",
  "aarch64-linux-gnu-g++",
]) {
  writeFileSync(
    join(shims, tool),
    `#!/bin/sh\necho "${tool}: no compiler on this machine (pack-install test)" >&2\nexit 127\n`,
  );
  chmodSync(join(shims, tool), 0o755);
}

function nodeBinary(version) {
  if (version === "host") return process.execPath;
  return execFileSync(process.execPath, [join(root, "scripts", "fetch-node.mjs"), version], {
    encoding: "utf8",
  }).trim();
}

function envFor(nodeBin) {
  const env = { ...process.env, PATH: `${dirname(nodeBin)}:${shims}:${process.env.PATH}` };
  for (const k of ["CC", "CXX", "npm_config_nodedir", "npm_config_user_agent", "NODE_OPTIONS"])
    delete env[k];
  for (const k of Object.keys(env))
    if (k.startsWith("npm_") || k.startsWith("PNPM_")) delete env[k];
  env.COREPACK_INTEGRITY_KEYS = "0";
  return env;
}

function sh(cmd, args, cwd, env, what) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    fail(`${what} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

// The root README's code blocks: what a new user copies first.
const readme = readFileSync(join(root, "README.md"), "utf8");
const readmeBlocks = (lang) =>
  [...readme.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1]);
const jsBlocks = readmeBlocks("js");
const tsBlocks = readmeBlocks("ts");
if (jsBlocks.length < 1 || tsBlocks.length < 1) fail("the README has no ```js or no ```ts example");
// The site's getting-started page shows the same quick start: each of its examples must be
// one of the README's, so running the README's runs the site's.
const sitePage = readFileSync(join(root, "website", "docs", "getting-started.md"), "utf8");
for (const lang of ["js", "ts"]) {
  const blocks = [...sitePage.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))];
  if (lang === "js" && blocks.length === 0)
    fail("the site's getting-started page has no ```js example");
  for (const [, code] of blocks) {
    if (!readmeBlocks(lang).includes(code)) {
      fail(
        `a \`\`\`${lang} block of website/docs/getting-started.md is not in the README:\n${code.slice(0, 200)}`,
      );
    }
  }
}

const rootManifest = readJson(join(root, "package.json"));
const pnpmVersion = rootManifest.packageManager.split("@")[1];

function writeProject(dir, manager, names, withTypescript = false) {
  mkdirSync(dir, { recursive: true });
  const deps = Object.fromEntries(names.map((n) => [n, `file:${tarballs.get(n)}`]));
  // A tarball's own dependency on another of ours ("0.1.0") must resolve to the
  // tarball, as it would to the registry once published.
  const overrides = Object.fromEntries(
    [...new Set(names.flatMap((n) => [...closure(n)]))].map((n) => [n, `file:${tarballs.get(n)}`]),
  );
  for (const n of Object.keys(overrides)) if (!deps[n]) deps[n] = overrides[n];
  const manifest = {
    name: "ts-ebpf-consumer",
    private: true,
    type: "module",
    dependencies: deps,
  };
  if (withTypescript) {
    manifest.devDependencies = {
      typescript: rootManifest.devDependencies.typescript,
      "@types/node": rootManifest.devDependencies["@types/node"],
    };
  }
  if (manager === "pnpm") {
    manifest.packageManager = `pnpm@${pnpmVersion}`;
    manifest.pnpm = { overrides };
  } else if (manager === "yarn") {
    manifest.packageManager = `yarn@${yarnVersion}`;
    manifest.resolutions = overrides;
  } else {
    manifest.overrides = Object.fromEntries(Object.keys(overrides).map((n) => [n, `$${n}`]));
  }
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const f of [
    "smoke.mjs",
    "smoke.cjs",
    "pure.mjs",
    "addon-missing.mjs",
    "arm64.mjs",
    "consumer.ts",
  ]) {
    copyFileSync(join(here, f), join(dir, f));
  }
  copyFileSync(
    join(root, "packages", "elf", "test", "fixtures", "task.bpf.o"),
    join(dir, "task.bpf.o"),
  );
}

function install(dir, manager, env, extra = []) {
  const [cmd, args] =
    manager === "npm"
      ? ["npm", ["install", "--no-audit", "--no-fund", ...extra]]
      : manager === "yarn"
        ? ["corepack", ["yarn", "install"]]
        : [manager, ["install", "--no-frozen-lockfile"]];
  const r = sh(cmd, args, dir, env, `${manager} install`);
  return `${r.stdout}${r.stderr}`;
}

function runNode(nodeBin, dir, env, args, what) {
  return sh(nodeBin, args, dir, env, what).stdout.trim();
}

function syscallDir(dir) {
  return join(dir, "node_modules", "@ts-ebpf", "syscall");
}

// ---------------------------------------------------------------------------
// 4. Per Node version and package manager: the whole set, then checks.

const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    outDir: "out",
    types: ["node"],
    lib: ["ES2023", "ESNext.Disposable"],
  },
  include: ["*.ts"],
};

const everything = publishable;
for (const version of nodes) {
  const nodeBin = nodeBinary(version);
  const env = envFor(nodeBin);
  const nodeVersion = execFileSync(nodeBin, ["--version"], { encoding: "utf8" }).trim();
  for (const manager of managers) {
    const tag = `${manager}, Node ${nodeVersion}`;
    const dir = join(work, `${manager}-${version}`);
    writeProject(dir, manager, everything, !existsSync(join(work, "compiled")));
    // npm on the last Node version with --ignore-scripts: what a cautious user (or CI) runs.
    const ignoreScripts = manager === "npm" && nodes.length > 1 && version === nodes.at(-1);
    const out = install(dir, manager, env, ignoreScripts ? ["--ignore-scripts"] : []);
    if (existsSync(join(syscallDir(dir), "build"))) fail(`${tag}: a source build ran at install`);
    if (manager === "pnpm" && !/Ignored build scripts|approve-builds/i.test(out)) {
      log(`${tag}: note: pnpm did not report ignoring @ts-ebpf/syscall's install script`);
    }
    log(
      `${tag}: installed ${everything.length} tarballs with no compiler and no Node headers${ignoreScripts ? " (--ignore-scripts)" : ""}`,
    );

    log(`${tag}: ${runNode(nodeBin, dir, env, ["smoke.mjs"], "smoke.mjs").replaceAll("\n", "; ")}`);
    log(`${tag}: ${runNode(nodeBin, dir, env, ["smoke.cjs"], "smoke.cjs (require)")}`);

    // Every command a package installs (bpf-iter, ts-ebpf-exporter) starts.
    const bins = [...tarballs.keys()].flatMap((n) =>
      Object.keys(workspace.get(n).manifest.bin ?? {}),
    );
    for (const bin of bins)
      sh(join(dir, "node_modules", ".bin", bin), ["--help"], dir, env, `${bin} --help`);
    log(`${tag}: ${bins.join(", ")} --help ran`);
    if (bins.includes("bpf-iter")) {
      if (process.getuid?.() === 0) {
        // The CLI's own start-up path (its launcher, the start bundle finding the addon
        // in this manager's node_modules, a program loaded): twice, the second run from
        // the caches the first wrote (compiled program, V8 code cache).
        const cliEnv = { ...env, TS_EBPF_CACHE_DIR: join(dir, ".ts-ebpf-cache") };
        const codeCache = join(dir, ".ts-ebpf-cache", "code-cache");
        const codeCacheFile = () => {
          const files = existsSync(codeCache) ? readdirSync(codeCache) : [];
          if (files.length !== 1)
            fail(`${tag}: bpf-iter tasks wrote no code cache in ${codeCache}`);
          return statSync(join(codeCache, files[0]));
        };
        let written;
        for (const run of ["first", "second"]) {
          const r = sh(
            join(dir, "node_modules", ".bin", "bpf-iter"),
            ["tasks"],
            dir,
            cliEnv,
            `bpf-iter tasks (${run} run)`,
          );
          const rows = r.stdout.trim().split("\n");
          // Itself (PID), or under a package manager's shim that forks (PPID).
          const self = rows.some((row) =>
            row.trim().split(/\s+/).slice(1, 3).includes(String(r.pid)),
          );
          if (!/^\s*TGID\s+PID\s+PPID\s+UID\s+THR\s+COMM$/.test(rows[0] ?? "") || !self) {
            fail(
              `${tag}: bpf-iter tasks (${run} run) does not list itself:\n${r.stdout.slice(0, 2000)}`,
            );
          }
          // The second run compiles from the first's code cache: accepted, so not rewritten.
          const now = codeCacheFile();
          if (written && (now.ino !== written.ino || now.mtimeMs !== written.mtimeMs))
            fail(`${tag}: the second bpf-iter tasks rewrote the code cache (V8 rejected it?)`);
          written = now;
        }
        log(
          `${tag}: bpf-iter tasks ran twice (addon loaded, program loaded; caches written, then used)`,
        );
      } else {
        log(`${tag}: bpf-iter tasks skipped: not root (it loads a BPF program)`);
      }
    }

    jsBlocks.forEach((code, i) => {
      writeFileSync(join(dir, `readme-${i}.mjs`), code);
      const r = sh(nodeBin, [`readme-${i}.mjs`], dir, env, `README js block ${i + 1}`);
      const rows = r.stdout.trim().split("\n");
      if (!rows.some((row) => row.trim().split(/\s+/)[0] === String(r.pid))) {
        fail(
          `${tag}: README js block ${i + 1} does not list its own process:\n${r.stdout.slice(0, 2000)}`,
        );
      }
    });
    // Compiled once, in the first project (pnpm's strict node_modules: a dependency the
    // published types use but do not declare fails here), with skipLibCheck off so the
    // published .d.ts files are checked too; tsc's output runs in every project.
    const compiled = join(work, "compiled");
    if (!existsSync(compiled)) {
      for (const [i, code] of tsBlocks.entries())
        writeFileSync(join(dir, `readme-ts-${i}.ts`), code);
      writeFileSync(join(dir, "tsconfig.json"), `${JSON.stringify(tsconfig, null, 2)}\n`);
      const tsc = join(dir, "node_modules", "typescript", "bin", "tsc");
      sh(nodeBin, [tsc, "-p", "."], dir, env, "tsc (strict)");
      renameSync(join(dir, "out"), compiled);
      copyFileSync(join(dir, "task.bpf.o"), join(compiled, "task.bpf.o"));
      writeFileSync(join(compiled, "package.json"), '{ "type": "module" }\n');
    }
    cpSync(compiled, join(dir, "out"), { recursive: true });
    log(`${tag}: ${runNode(nodeBin, dir, env, ["out/consumer.js"], "consumer.ts compiled")}`);
    tsBlocks.forEach((_, i) => {
      const r = sh(nodeBin, [`out/readme-ts-${i}.js`], dir, env, `README ts block ${i + 1}`);
      if (!r.stdout.split("\n").some((row) => row.trim().split(/\s+/)[0] === String(r.pid))) {
        fail(`${tag}: README ts block ${i + 1} does not list its own process`);
      }
    });
    log(
      `${tag}: README: ${jsBlocks.length} js and ${tsBlocks.length} ts examples ran; strict typecheck passed`,
    );

    if (version === nodes[0]) {
      // This machine's prebuild taken away: the error must say so and name this package
      // manager's command.
      const prebuilds = join(syscallDir(dir), "prebuilds", `linux-${process.arch}`);
      const away = join(work, `prebuild-away-${manager}`);
      renameSync(prebuilds, away);
      try {
        const expect = manager === "pnpm" ? "pnpm approve-builds" : "npm rebuild @ts-ebpf/syscall";
        log(
          `${tag}: ${runNode(nodeBin, dir, env, ["addon-missing.mjs", expect], "addon-missing.mjs").slice(0, 160)}...`,
        );
      } finally {
        renameSync(away, prebuilds);
      }

      // The pure packages alone.
      const pureDir = join(work, `pure-${manager}-${version}`);
      writeProject(pureDir, manager, pure);
      install(pureDir, manager, env);
      const installed = execFileSync(
        "find",
        [
          "node_modules",
          "-name",
          "*.node",
          "-o",
          "-name",
          "node-gyp-build",
          "-o",
          "-name",
          "syscall",
        ],
        {
          cwd: pureDir,
          encoding: "utf8",
        },
      ).trim();
      if (installed) fail(`${tag}: installing ${pure.join(", ")} pulled in:\n${installed}`);
      log(`${tag}: ${runNode(nodeBin, pureDir, env, ["pure.mjs"], "pure.mjs")}`);

      if (arm64 && manager === "npm") {
        const arm64Node = execFileSync(
          process.execPath,
          [join(root, "scripts", "fetch-node.mjs"), "22", "--arch", "arm64"],
          {
            encoding: "utf8",
          },
        ).trim();
        const qemu = ["qemu-aarch64-static", "qemu-aarch64"].find(
          (q) => spawnSync("sh", ["-c", `command -v ${q}`]).status === 0,
        );
        if (!qemu || !existsSync("/usr/aarch64-linux-gnu/lib")) {
          fail(
            "the arm64 check needs qemu-user-static and the arm64 C library (apt-get install qemu-user-static g++-aarch64-linux-gnu)",
          );
        }
        const r = sh(
          qemu,
          ["-L", "/usr/aarch64-linux-gnu", arm64Node, "arm64.mjs"],
          dir,
          env,
          "arm64.mjs under qemu",
        );
        log(`${tag}: ${r.stdout.trim()}`);
      }
    }
  }
}

// Yarn (Berry, Plug'n'Play, its defaults) on the first Node version: the ES modules load
// through PnP and syscall's install script finds the prebuild (nothing compiled). require()
// is left out: under PnP, require(esm) does not go through PnP's ESM resolution on Node 20.
if (yarn) {
  const nodeBin = nodeBinary(nodes[0]);
  const env = {
    ...envFor(nodeBin),
    COREPACK_NPM_REGISTRY: "https://registry.npmjs.org",
    COREPACK_ENABLE_DOWNLOAD_PROMPT: "0",
    // Yarn turns immutable installs on when it sees CI=true; this throwaway project has no lockfile.
    YARN_ENABLE_IMMUTABLE_INSTALLS: "false",
  };
  const dir = join(work, "yarn");
  writeProject(dir, "yarn", everything);
  install(dir, "yarn", env);
  const unplugged = execFileSync("find", [".yarn", "-path", "*@ts-ebpf/syscall/build"], {
    cwd: dir,
    encoding: "utf8",
  });
  if (unplugged.trim()) fail(`yarn: a source build ran at install: ${unplugged}`);
  const out = sh(
    "corepack",
    ["yarn", "node", "smoke.mjs"],
    dir,
    env,
    "yarn node smoke.mjs",
  ).stdout.trim();
  log(`yarn ${yarnVersion} (PnP): ${out.replaceAll("\n", "; ")}`);
}

if (!keep) rmSync(work, { recursive: true, force: true });
else log(`kept ${work}`);
log(`passed: ${nodes.length} Node versions x ${managers.join(", ")}`);
