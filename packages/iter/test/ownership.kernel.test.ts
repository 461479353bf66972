// fd ownership of readers (issue 13, finding 2 for iter): a reader whose
// constructor throws leaves the fd to its caller, which closes it once; the
// finalizer never closes it again (by then an unrelated file of the
// application). The script runs the GC, so it runs in a child node against
// the built dist.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";

const DIST = new URL("../dist/index.js", import.meta.url).href;

describeKernel("reader fd ownership", () => {
  it("open({ signal: {} }) and openPinned(path, { signal: 'x' }) throw, and no unrelated file is closed later", () => {
    const pin = `/sys/fs/bpf/ts_ebpf_iter_own_${process.pid}`;
    const script = `
      import { builtinLink, closeBuiltins, openPinned } from ${JSON.stringify(DIST)};
      import { fstatSync, openSync, rmSync } from "node:fs";
      const link = builtinLink("task");
      link.pin(${JSON.stringify(pin)});
      const errors = new Set();
      for (let i = 0; i < 20; i++) {
        try { link.open({ signal: {} }); } catch (e) { errors.add(e.name + ": " + e.message); }
        try { openPinned(${JSON.stringify(pin)}, { signal: "x" }); } catch (e) { errors.add(e.name + ": " + e.message); }
      }
      rmSync(${JSON.stringify(pin)});
      // Unrelated files take the numbers the failed readers' callers closed.
      const files = Array.from({ length: 40 }, () => openSync("/dev/null", "r"));
      for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      const closedBehindOurBack = files.filter((fd) => { try { fstatSync(fd); return false; } catch { return true; } }).length;
      closeBuiltins();
      console.log(JSON.stringify({ errors: [...errors], closedBehindOurBack }));
    `;
    const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(JSON.parse(lines[lines.length - 1]!)).toEqual({
      errors: ["TypeError: signal must be an AbortSignal"],
      closedBehindOurBack: 0,
    });
  });
});
