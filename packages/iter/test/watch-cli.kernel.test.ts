// bpf-iter tcp --watch against the kernel: a socket this test opens shows as
// appeared (+), and as disappeared (-) once closed.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";

const cli = fileURLToPath(new URL("../bin/bpf-iter.js", import.meta.url));

describeKernel("bpf-iter --watch", () => {
  it("tcp --watch --json shows a listening socket appear and disappear", async () => {
    const child = spawn(process.execPath, [cli, "tcp", "--watch", "--interval", "0.2", "--json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const until = async (check: () => boolean, what: string) => {
      const deadline = Date.now() + 30_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`no ${what} in 30 s: ${out} ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until(() => err.includes("rows;"), "first read");
      const server = createServer();
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const port = (server.address() as { port: number }).port;
      const lines = () =>
        out
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { change: string; localPort: number; stateName: string });
      const mine = (change: string) =>
        lines().some(
          (l) => l.change === change && l.localPort === port && l.stateName === "LISTEN",
        );
      await until(() => mine("+"), "appeared line");
      await new Promise((r) => server.close(r));
      await until(() => mine("-"), "disappeared line");
    } finally {
      child.kill("SIGINT");
      await new Promise((r) => child.once("close", r));
    }
    expect(child.exitCode === 0 || child.signalCode === "SIGINT").toBe(true);
  });
});
