#!/usr/bin/env node
// Usage: node scripts/fetch-node.mjs <major> [--arch x64|arm64]
// Prints the path of a Node <major> binary (with headers beside it, for node-gyp's
// --nodedir), installed from the npm registry's `node-linux-<arch>` package into
// .cache/node/<arch>-<major>: the only registry CI can reach ships Node this way.
// Installed once; later calls print the cached path.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
// A major ("22") or an exact version ("20.19.0", e.g. the lowest one `engines` allows).
const major = args.find((a) => /^\d+(\.\d+\.\d+)?$/.test(a));
const archIndex = args.indexOf("--arch");
const arch = archIndex >= 0 ? args[archIndex + 1] : process.arch;
if (!major || !["x64", "arm64"].includes(arch ?? "")) {
  console.error("usage: node scripts/fetch-node.mjs <major or x.y.z> [--arch x64|arm64]");
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const prefix = join(root, ".cache", "node", `${arch}-${major}`);
const pkg = join(prefix, "node_modules", `node-linux-${arch}`);
const binary = join(pkg, "bin", "node");
if (!existsSync(binary)) {
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, "package.json"), '{ "private": true }\n');
  // --force: npm refuses a package whose "cpu" is not this machine's (arm64 on x64).
  execFileSync(
    "npm",
    [
      "install",
      "--no-save",
      "--no-package-lock",
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
      ...(arch === process.arch ? [] : ["--force"]),
      `node-linux-${arch}@${major}`,
    ],
    { cwd: prefix, stdio: ["ignore", "ignore", "inherit"] },
  );
}
console.log(binary);
