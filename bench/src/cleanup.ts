// Things the suite must undo however it ends (normal exit, an exception,
// Ctrl-C, SIGTERM): extra processes, pinned maps. Cleanups are synchronous so
// they also run from the 'exit' event.
const cleanups = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn);
    try {
      fn();
    } catch (e) {
      console.error(`bench: cleanup failed: ${(e as Error).message}`);
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", runAll);
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
      runAll();
      process.exit(code);
    });
  }
}

/** Registers `fn`; the returned function runs it now (once) and unregisters it. */
export function onCleanup(fn: () => void): () => void {
  install();
  cleanups.add(fn);
  return () => {
    if (cleanups.delete(fn)) fn();
  };
}
