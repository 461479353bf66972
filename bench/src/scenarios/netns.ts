// Scenario: the TCP sockets of many network namespaces (issue 20). The suite
// makes 50 namespaces (`ip netns add`, loopback only) holding 100 TCP sockets
// each (bench/c/netns_sockets.c), then lists every socket of every namespace:
// tcp({ netns: "all" }) in one call (it finds the namespaces itself), against
// `ip netns exec <ns> ss -tan` once per namespace (what scripts do today),
// and against entering each namespace from TypeScript in turn (one
// tcp({ netns: path }) per namespace: a native thread enters it, one link and
// one iterator fd per call).

import { execFile, execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { closeBuiltins, tcp } from "@ts-ebpf/iter";
import { onCleanup } from "../cleanup.js";
import { runGroup, tsSampler, type VariantSpec } from "../measure.js";
import type { GroupResult } from "../model.js";
import { cProgramPath } from "../native.js";
import type { Context } from "./context.js";

const run = promisify(execFile);

interface Namespaces extends Disposable {
  readonly names: readonly string[];
  readonly paths: readonly string[];
  readonly sockets: number;
}

/** `count` named namespaces with `perNs` TCP sockets each, removed on dispose (or on exit). */
async function makeNamespaces(count: number, perNs: number): Promise<Namespaces> {
  const names = Array.from({ length: count }, (_, i) => `tsebpf-bench-${process.pid}-${i}`);
  const paths = names.map((n) => `/run/netns/${n}`);
  const remove = () => {
    try {
      execFileSync("ip", ["-force", "-batch", "-"], {
        input: names.map((n) => `netns del ${n}\n`).join(""),
        stdio: ["pipe", "ignore", "ignore"],
      });
    } catch {
      // some were never made
    }
  };
  const removeOnExit = onCleanup(remove);
  execFileSync("ip", ["-batch", "-"], { input: names.map((n) => `netns add ${n}\n`).join("") });
  const holder = spawn(cProgramPath("netns_sockets"), [String(perNs), ...paths], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const stopHolder = onCleanup(() => {
    holder.stdin.destroy();
    holder.kill("SIGTERM");
  });
  const dispose = () => {
    stopHolder();
    removeOnExit();
  };
  let err = "";
  holder.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const total = await new Promise<number>((resolve, reject) => {
    let ready = false;
    createInterface({ input: holder.stdout }).on("line", (line) => {
      const m = /^ready (\d+)$/.exec(line);
      if (m) {
        ready = true;
        resolve(Number(m[1]));
      }
    });
    holder.on("error", (e) => reject(new Error(`netns_sockets: ${e.message}`)));
    holder.on("close", (code) => {
      if (!ready) reject(new Error(`netns_sockets exited with ${code}: ${err}`));
    });
  }).catch((e: unknown) => {
    dispose();
    throw e;
  });
  return { names, paths, sockets: total, [Symbol.dispose]: dispose };
}

/** Lines of `ss -tan` in each namespace, one `ip netns exec` at a time. */
async function ssEach(names: readonly string[]): Promise<number> {
  let items = 0;
  for (const name of names) {
    const { stdout } = await run("ip", ["netns", "exec", name, "ss", "-Htan"], {
      maxBuffer: 64 << 20,
    });
    items += stdout.split("\n").filter(Boolean).length;
  }
  return items;
}

export async function netnsSockets(ctx: Context): Promise<GroupResult[]> {
  const count = ctx.quick ? 10 : 50;
  const perNs = 100;
  ctx.progress.heading(`making ${count} network namespaces with ${perNs} TCP sockets each`);
  using ns = await makeNamespaces(count, perNs);
  const mine = new Set(ns.paths);
  const ours = ns.sockets;
  const specs: VariantSpec[] = [
    {
      id: "ip-netns-exec-ss",
      label: "`ip netns exec <ns> ss -tan`, once per namespace",
      reference: true,
      expectItems: ours,
      note: `${count} pairs of processes`,
      sampler: tsSampler(async () => ({ items: await ssEach(ns.names) })),
    },
    {
      id: "ts-netns-all",
      label: 'tcp({ netns: "all" }): every namespace, one call',
      itemsMayVary: true,
      note: "finds the namespaces (task iterator, mounts), then one fd per namespace",
      sampler: tsSampler(
        async () => ({ items: (await tcp({ netns: "all" })).length }),
        () => closeBuiltins(),
      ),
      verify: async () => {
        const all = await tcp({ netns: "all" });
        const found = new Set(all.map((s) => s.netns)).size;
        if (found < count) throw new Error(`"all" found ${found} namespaces, expected ${count}+`);
        if (all.length < ours)
          throw new Error(`"all" gave ${all.length} sockets, expected ${ours}+`);
      },
    },
    {
      id: "ts-netns-each",
      label: "tcp({ netns: path }) per namespace, entering each in turn",
      expectItems: ours,
      note: `${count} calls`,
      sampler: tsSampler(async () => {
        let items = 0;
        for (const path of mine) items += (await tcp({ netns: path })).length;
        return { items };
      }),
    },
  ];
  return [
    await runGroup(
      ctx.progress,
      {
        id: "netns-tcp",
        scenario: "netns",
        title: `TCP sockets of ${count} network namespaces × ${perNs}`,
        description:
          `The suite makes ${count} network namespaces (\`ip netns add\`, loopback only) holding ${perNs} TCP ` +
          "sockets each (listeners and loopback connections) and lists every socket of every namespace. " +
          '`tcp({ netns: "all" })` finds the namespaces itself (tasks and nsfs mounts) and also lists the ' +
          "sockets of the machine's other namespaces; the other two walk the suite's namespaces only.",
        unit: "seconds",
      },
      specs,
      ctx.reps,
    ),
  ];
}
