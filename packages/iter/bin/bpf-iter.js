#!/usr/bin/env node
// Launcher kept outside dist/ so that the bin link exists before the first build.
// CommonJS (bin/package.json): an ES module entry costs Node ~5 ms more to start.
// dist/cli/launch.cjs is the launcher's bundle (scripts/bundle-cli.mjs); tsc's
// output alone (a development build) has only its ES module.
"use strict";

let launcher;
try {
  launcher = require("../dist/cli/launch.cjs");
} catch (err) {
  if (err?.code !== "MODULE_NOT_FOUND") throw err;
}
(launcher ? Promise.resolve(launcher) : import("../dist/cli/launch.js")).then((l) => l.launch());
