#!/usr/bin/env node
// The bpf-iter CLI as bundles (part of `pnpm build`, after tsc): most of a
// `bpf-iter tasks` run was Node resolving, reading and linking the ~80 ES
// modules of iter, syscall, btf, dsl and spec one by one.
//
// - dist/cli/launch.cjs: the launcher (launch.ts), which bin/bpf-iter.js (a
//   CommonJS script) requires. It runs start.js, then main.js when start.js
//   declines the command line.
// - dist/cli/start.js: the built-ins' fast path (start.ts), CommonJS-shaped;
//   the launcher compiles it as a script with V8's code cache (node:vm), the
//   only compile cache Node 20 has. It replaces tsc's output in place.
// - dist/cli/main.js: the rest of the CLI, an ES module, in place of tsc's.
//   Files in place keep their source maps the names of their sources.
//
// - Each bundle holds every module it needs (no shared chunks: a chunk's name
//   would have no source file). A command line that start.js hands to main.js
//   after loading the built-ins has both copies loaded; nothing passes between
//   them but the command line.
// - The library (dist/index.js and the rest of tsc's output) is not bundled.
// - syscall's native.js finds the addon beside its own package, from
//   import.meta.url: in the bundle it finds @ts-ebpf/syscall as Node would
//   instead, so the addon still loads from syscall's own directory (its build
//   or its prebuilds), wherever the package manager put it.
// - The source maps chain through tsc's maps to the .ts sources (of iter and of
//   the packages it depends on, which ship their src/ as iter does).
// - The program cache keys compiled programs by the compiler's code; in a
//   bundle that is the bundle itself, named by a hash written in at the end
//   (and in its first line, for the launcher's code cache).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const cliDir = join(pkgDir, "dist", "cli");
/** A bundle's first line (with its id: the launcher keys its code cache by it). */
const BANNER_START = "// bpf-iter CLI bundle";
const banner = (id) =>
  `${BANNER_START} ${id}, made by scripts/bundle-cli.mjs from tsc's output; maps to src.`;
/** Replaced by the bundle's hash (same length, so the source map stays right). */
const ID_PLACEHOLDER = "cli-bundle-id-00";
const SYSCALL_NATIVE = /\/syscall\/dist\/native\.js$/;
/** Bundled modules that may use import.meta, and why that is right in a bundle. */
const IMPORT_META_OK = [
  // "../../" from dist/cli/ is the package, as from dist/builtins/; "./record.js" is not read in a bundle.
  /\/iter\/dist\/builtins\/program-cache\.js$/,
  // createRequire for node:child_process: any module URL will do.
  /\/iter\/dist\/link\.js$/,
  // The launcher finds start.js and main.js beside itself.
  /\/iter\/dist\/cli\/launch\.js$/,
  SYSCALL_NATIVE,
];

const fail = (message) => {
  console.error(`bundle-cli: ${message}`);
  process.exit(1);
};

/**
 * Where native.js's package is, in a bundle (the body of native.js's
 * syscallPkgUrl(), asked twice). An ES bundle asks import.meta.resolve. A
 * CommonJS one (the launcher runs it as a function of a CommonJS module's
 * arguments) looks in node_modules up from the bundle's directory itself, as
 * Node does first, with the real path as Node's resolver gives: the resolver's
 * first use costs ~3 ms of start-up (reading package.json "exports" compiles
 * its ES half). Its own require's resolver where that finds nothing (NODE_PATH...).
 */
const SYSCALL_PKG_URL = {
  esm: 'return import.meta.resolve("@ts-ebpf/syscall");',
  cjs: `if (syscallPkgUrl.url) return syscallPkgUrl.url;
  const { existsSync, realpathSync } = process.getBuiltinModule("node:fs");
  const { dirname, join } = process.getBuiltinModule("node:path");
  const { pathToFileURL } = process.getBuiltinModule("node:url");
  let file;
  for (let dir = __dirname; file === undefined; dir = dirname(dir)) {
    const pkg = join(dir, "node_modules", "@ts-ebpf", "syscall");
    if (existsSync(join(pkg, "package.json"))) file = join(realpathSync(pkg), "dist", "native.js");
    else if (dir === "/") file = require.resolve("@ts-ebpf/syscall");
  }
  return (syscallPkgUrl.url = pathToFileURL(file).href);`,
};

/** tsc's output with its source map as the input map, and native.js pointed at its package. */
const chainMaps = (format) => ({
  name: "bpf-iter-cli",
  load(id) {
    if (!id.endsWith(".js")) return null;
    let code = readFileSync(id, "utf8");
    if (code.startsWith(BANNER_START))
      fail(`${relative(pkgDir, id)} is a bundle already: run tsc first (pnpm build)`);
    if (code.includes("import.meta") && !IMPORT_META_OK.some((re) => re.test(id))) {
      fail(
        `${id} uses import.meta: check that it is right in a bundle, then list it in IMPORT_META_OK`,
      );
    }
    if (SYSCALL_NATIVE.test(id)) {
      // Same length as import.meta.url, and the function goes after the last line: no mapping moves.
      const uses = code.split("import.meta.url").length - 1;
      if (uses !== 2)
        fail(`${id}: expected import.meta.url twice, found ${uses}: update this script`);
      code = code.replaceAll("import.meta.url", "syscallPkgUrl()");
      code += `\nfunction syscallPkgUrl() {\n  ${SYSCALL_PKG_URL[format]}\n}\n`;
    }
    const mapFile = `${id}.map`;
    if (!existsSync(mapFile)) return code;
    code = code.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
    const map = JSON.parse(readFileSync(mapFile, "utf8"));
    // The map's sources are relative to its own directory: make them absolute for the chain.
    map.sources = map.sources.map((s) => join(dirname(mapFile), map.sourceRoot ?? "", s));
    delete map.sourceRoot;
    return { code, map };
  },
});

/**
 * Node's modules through process.getBuiltinModule instead of ES imports: an ES
 * import of a built-in makes its ES facade, which reads every export, getters
 * included (node:fs's promises, ReadStream... load ~20 more of Node's internal
 * modules, compiled at start-up). Each name the bundle uses is read once, when
 * the bundle starts; the names it does not use are left out.
 */
const BUILTIN = "\0node-builtin:";
const nodeBuiltins = {
  name: "node-builtins",
  resolveId(source, importer) {
    // Only our modules' imports: the bundler's own runtime keeps its ES import.
    if (!source.startsWith("node:") || !importer?.startsWith("/")) return null;
    return BUILTIN + source;
  },
  load(id) {
    if (!id.startsWith(BUILTIN)) return null;
    const name = id.slice(BUILTIN.length);
    const exports = process.getBuiltinModule(name);
    if (!exports) fail(`${name} is not a Node built-in`);
    const names = Object.keys(exports).filter(
      (k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== "default",
    );
    return [
      `const m = process.getBuiltinModule(${JSON.stringify(name)});`,
      "export default m;",
      ...names.map((k) => `export const ${k} = /* @__PURE__ */ (() => m.${k})();`),
    ].join("\n");
  },
};

/**
 * Bundles dist/cli/`entry` into `out` (default: in place). `format` "cjs" is
 * for what bin/bpf-iter.js requires (the launcher) or the launcher compiles as
 * a script with V8's code cache (start.js): no import() may be left in it.
 */
async function bundle(entry, { format = "esm", out = entry, external = [], programCache = false }) {
  const input = join(cliDir, entry);
  const output_ = join(cliDir, out);
  if (!existsSync(input)) fail(`${relative(pkgDir, input)} missing: run tsc first (pnpm build)`);
  const build = await rolldown({
    input,
    platform: "node",
    external: (id, importer) => importer === input && external.includes(id),
    plugins: [nodeBuiltins, chainMaps(format)],
    transform: { define: { __TS_EBPF_CLI_BUNDLE_ID__: JSON.stringify(ID_PLACEHOLDER) } },
    onLog(level, log) {
      // A warning (an import left unresolved, a broken map...) would be a broken CLI.
      if (level === "warn") fail(`${entry}: ${log.code}: ${log.message}`);
    },
  });
  const { output } = await build.generate({
    file: output_,
    format,
    codeSplitting: false,
    keepNames: true,
    minify: true,
    sourcemap: "hidden",
    sourcemapExcludeSources: true,
  });
  await build.close();
  const chunks = output.filter((o) => o.type === "chunk");
  if (chunks.length !== 1)
    fail(`${entry}: expected one chunk, got ${chunks.map((o) => o.fileName)}`);
  const chunk = chunks[0];
  // main.js never turns the program cache on, and the bundler leaves the cache's code out.
  if (programCache && !chunk.code.includes(ID_PLACEHOLDER))
    fail(`${entry}: the program cache's bundle id is missing`);
  const id = createHash("sha256").update(chunk.code).digest("hex").slice(0, ID_PLACEHOLDER.length);
  // The banner goes on after minifying (which drops comments): one line more for the map.
  const code = `${banner(id)}\n${chunk.code.replaceAll(ID_PLACEHOLDER, id)}//# sourceMappingURL=${out}.map\n`;
  const map = JSON.parse(chunk.map.toString());
  map.mappings = `;${map.mappings}`;
  writeFileSync(output_, code);
  writeFileSync(`${output_}.map`, JSON.stringify(map));
  console.log(
    `bundle-cli: dist/cli/${out} ${(code.length / 1024).toFixed(0)} KiB, ${chunk.moduleIds.length} modules`,
  );
  return code;
}

// The bin's launcher, required by a CommonJS bin (an ES module entry costs
// Node ~5 ms more to start); its node:fs import alone would otherwise load
// Node's streams and fs/promises. tsc's launch.js stays for unbundled builds.
await bundle("launch.js", { format: "cjs", out: "launch.cjs" });
await bundle("main.js", {});
// A script for node:vm (with V8's code cache, see launch.ts): an import() in it
// would need a dynamic import callback, which a vm.Script has not.
const start = await bundle("start.js", { format: "cjs", programCache: true });
if (/\bimport\s*\(/.test(start)) fail("start.js: an import() is left in the bundle");
