import { existsSync, readFileSync } from "node:fs";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, expect, it } from "vitest";
import * as iter from "../src/index.js";
import { hasTarget } from "./helpers.js";

afterAll(() => iter.closeBuiltins());

/** RFC 5952 text of 32 hex digits, as the WHATWG URL parser writes it. */
function ipv6Text(hex: string): string {
  const groups = hex.match(/.{4}/g)!.join(":");
  return new URL(`http://[${groups}]/`).hostname.slice(1, -1);
}

/** /proc/net/ipv6_route, one "dst/len via gw dev name metric m flags f" per route, sorted. */
function procRoutes(): string[] {
  return readFileSync("/proc/net/ipv6_route", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [dst, dstLen, , , gw, metric, , , flags, dev] = line.trim().split(/\s+/);
      const via = /^0+$/.test(gw!) ? "" : ipv6Text(gw!);
      return `${ipv6Text(dst!)}/${Number.parseInt(dstLen!, 16)} via ${via} dev ${dev ?? ""} metric ${Number.parseInt(metric!, 16)} flags ${Number.parseInt(flags!, 16)}`;
    })
    .sort();
}

const routeLine = (r: iter.Ipv6Route) =>
  `${r.destination}/${r.destinationLength} via ${r.gateway} dev ${r.device} metric ${r.metric} flags ${r.flags}`;

/** /proc/net/netlink, one "protocol:portid" per socket, sorted. */
function procNetlink(): string[] {
  return readFileSync("/proc/net/netlink", "utf8")
    .split("\n")
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const [, eth, pid] = line.trim().split(/\s+/);
      return `${eth}:${pid}`;
    })
    .sort();
}

/** `read` while /proc says the same before and after (a route or socket may come and go meanwhile). */
async function stable<T>(proc: () => string[], read: () => Promise<T>): Promise<[string[], T]> {
  for (let attempt = 0; ; attempt++) {
    const before = proc();
    const got = await read();
    const after = proc();
    if (before.join("\n") === after.join("\n") || attempt === 4) return [before, got];
  }
}

describeKernel("ipv6_route and netlink built-ins", () => {
  it.skipIf(!hasTarget("ipv6_route") || !existsSync("/proc/net/ipv6_route"))(
    "ipv6Routes() lists exactly the routes /proc/net/ipv6_route does, with gateway, device, metric and flags",
    async () => {
      const [proc, routes] = await stable(procRoutes, () => iter.ipv6Routes());
      expect(proc.length).toBeGreaterThan(0);
      expect(routes.map(routeLine).sort()).toEqual(proc);
      // The loopback address is a local route on lo in table 255 (RT_TABLE_LOCAL).
      expect(routes).toContainEqual(
        expect.objectContaining({
          destination: "::1",
          destinationLength: 128,
          device: "lo",
          table: 255,
        }),
      );
    },
  );

  it.skipIf(!hasTarget("netlink"))(
    "netlinkSockets() lists exactly the sockets /proc/net/netlink does, the kernel's NETLINK_ROUTE socket among them",
    async () => {
      const [proc, sockets] = await stable(procNetlink, () => iter.netlinkSockets());
      expect(sockets.map((s) => `${s.protocol}:${s.portid}`).sort()).toEqual(proc);
      // The kernel's own rtnetlink socket: protocol NETLINK_ROUTE (0), portid 0.
      const route = sockets.find((s) => s.protocol === 0 && s.portid === 0);
      expect(route).toMatchObject({ dstPortid: 0, dumping: false });
      expect(typeof route!.wmem).toBe("number");
    },
  );

  it("bpf-iter lists both built-ins with their commands", () => {
    expect(iter.builtinOf("ipv6_route")?.cli).toMatchObject({
      command: "routes6",
      aliases: ["ipv6-routes"],
    });
    expect(iter.builtinOf("netlink")?.cli.command).toBe("netlink");
  });
});
