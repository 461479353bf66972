// Socket addresses as tcp() and udp() print them, IPv4 and IPv6 (read from
// the records as 32-bit words): against the addresses Node reports for the
// same sockets.
import { createSocket } from "node:dgram";
import { connect, createServer, type Server, type Socket } from "node:net";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { tcp, udp } from "../src/index.js";

const listen = (server: Server, host: string) =>
  new Promise<number>((res, rej) => {
    server.once("error", rej);
    server.listen(0, host, () => res((server.address() as { port: number }).port));
  });

describeKernel("inet socket addresses", () => {
  it("tcp() prints IPv6, IPv4-mapped and IPv4 addresses and ports as Node sees them", async (ctx) => {
    const v6 = createServer();
    try {
      await listen(v6, "::1");
    } catch {
      return ctx.skip("no IPv6 loopback here");
    }
    const dual = createServer();
    const v4 = createServer();
    const sockets: Socket[] = [];
    try {
      const v6Port = (v6.address() as { port: number }).port;
      const dualPort = await listen(dual, "::");
      const v4Port = await listen(v4, "127.0.0.1");
      // A connection to the dual-stack listener over IPv4: its accepted end is ::ffff:127.0.0.1.
      const client = connect(dualPort, "127.0.0.1");
      sockets.push(client);
      await new Promise<void>((res) => client.once("connect", () => res()));
      const all = await tcp();
      expect(all).toContainEqual(
        expect.objectContaining({
          family: "inet6",
          localAddress: "::1",
          localPort: v6Port,
          stateName: "LISTEN",
        }),
      );
      expect(all).toContainEqual(
        expect.objectContaining({
          family: "inet6",
          localAddress: "::",
          localPort: dualPort,
          stateName: "LISTEN",
        }),
      );
      expect(all).toContainEqual(
        expect.objectContaining({
          family: "inet6",
          localAddress: "::ffff:127.0.0.1",
          localPort: dualPort,
          remoteAddress: "::ffff:127.0.0.1",
          remotePort: client.localPort,
          stateName: "ESTABLISHED",
        }),
      );
      expect(all).toContainEqual(
        expect.objectContaining({
          family: "inet",
          localAddress: "127.0.0.1",
          localPort: client.localPort,
          remoteAddress: "127.0.0.1",
          remotePort: dualPort,
        }),
      );
      expect(all).toContainEqual(
        expect.objectContaining({ family: "inet", localAddress: "127.0.0.1", localPort: v4Port }),
      );
    } finally {
      for (const s of sockets) s.destroy();
      for (const s of [v6, dual, v4]) s.close();
    }
  });

  it("udp() prints a bound IPv6 address", async (ctx) => {
    const sock = createSocket("udp6");
    try {
      await new Promise<void>((res, rej) => {
        sock.once("error", rej);
        sock.bind(0, "::1", res);
      });
    } catch {
      sock.close();
      return ctx.skip("no IPv6 loopback here");
    }
    try {
      expect(await udp()).toContainEqual(
        expect.objectContaining({
          family: "inet6",
          localAddress: "::1",
          localPort: sock.address().port,
        }),
      );
    } finally {
      sock.close();
    }
  });
});
