// Lists TCP sockets like `ss -tan`, from the tcp iterator's typed records.
//
//   node packages/examples/dist/tcp-sockets.js

import { closeBuiltins, type InetSocket, tcp } from "@ts-ebpf/iter";

export function formatSockets(sockets: readonly InetSocket[]): string {
  const endpoint = (a: string, p: number) => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);
  const rows = sockets.map((s) => [
    s.stateName,
    endpoint(s.localAddress, s.localPort),
    endpoint(s.remoteAddress, s.remotePort),
    String(s.uid),
  ]);
  const header = ["STATE", "LOCAL", "REMOTE", "UID"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "))
    .join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  tcp()
    .then((sockets) => console.log(formatSockets(sockets)))
    .catch((err: unknown) => {
      console.error(`tcp-sockets: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    })
    .finally(closeBuiltins);
}
