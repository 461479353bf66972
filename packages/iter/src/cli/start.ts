// bpf-iter's fast path, which the launcher (launch.ts) tries first. The
// common run, a built-in's records (`bpf-iter tasks`, `bpf-iter tcp --json`),
// is mostly start-up: it loads only the built-ins and what they read with,
// and takes their programs from the on-disk cache (no kernel BTF read, see
// builtins/program-cache.ts). Every other command line runs the whole CLI
// (main.js), which parses and checks it: the launcher loads it when this
// answers false. No top-level code and no import() left after bundling:
// the launcher compiles the bundle as a script (scripts/bundle-cli.mjs).

import { print, runCommand } from "./format.js";

/** Commands of main.js that are not a built-in's name. */
const OWN_COMMANDS = new Set(["list", "map", "pin", "cat", "query", "ps", "serve"]);

/** Runs `bpf-iter <built-in> [--json]`; false when the command line is another one. */
export async function runBuiltinCommand(argv: readonly string[]): Promise<boolean> {
  const [command, ...options] = argv;
  const json = options.length === 1 && options[0] === "--json";
  if (command === undefined || OWN_COMMANDS.has(command) || !/^[a-z][a-z0-9_-]*$/.test(command))
    return false;
  if (options.length > 0 && !json) return false;
  const [registry, cache] = await Promise.all([
    import("../builtins/builtin.js"),
    import("../builtins/program-cache.js"),
    import("../builtins/defs.js"), // defines (registers) the built-ins
  ]);
  const builtin = registry
    .builtins()
    .find((b) => b.cli.command === command || (b.cli.aliases ?? []).includes(command));
  // A built-in over a map's elements takes the map as argument: main.js says so.
  if (!builtin || builtin.map) return false;
  cache.enableProgramCache();
  runCommand(async () => {
    // On the next turn of the event loop: the launcher has registered its
    // code-cache writer by then (after this function's promise resolved), so
    // a run that a closed pipe ends (process.exit in write) leaves the cache too.
    await new Promise((resolve) => setImmediate(resolve));
    print(builtin.readRowsSync(undefined, !json), builtin.cli.columns, json);
    return 0;
  }, registry.closeBuiltinPrograms);
  return true;
}
