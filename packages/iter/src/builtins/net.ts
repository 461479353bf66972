// Socket fields and their conversion, shared by the tcp and udp built-ins
// (and the address formatting by ipv6_route).

import type { RawRecord } from "./builtin.js";

/** One 32-bit word of an IPv6 address member (in6_addr.in6_u.u6_addr32[i]). */
const v6Word = <const N extends string, const C extends string, const P extends string>(
  name: N,
  ctx: C,
  path: P,
) => ({ name, ctx, path, kind: "u32", optional: true }) as const;

/**
 * The sock_common fields of an inet socket, at `prefix` inside context member
 * `ctx`. Addresses are read as 32-bit words (network byte order in memory),
 * not as byte arrays: a Uint8Array per address copied out of the records cost
 * an ArrayBuffer each, four per socket (most of tcp()'s time and garbage at
 * 100,000 sockets).
 */
export const inetFields = <const C extends string, const P extends string>(ctx: C, prefix: P) =>
  [
    { name: "family", ctx, path: `${prefix}skc_family`, kind: "u16" },
    { name: "state", ctx, path: `${prefix}skc_state`, kind: "u8" },
    { name: "sport", ctx, path: `${prefix}skc_num`, kind: "u16" },
    { name: "dport", ctx, path: `${prefix}skc_dport`, kind: "be16" },
    { name: "saddr4", ctx, path: `${prefix}skc_rcv_saddr`, kind: "u32" },
    { name: "daddr4", ctx, path: `${prefix}skc_daddr`, kind: "u32" },
    v6Word("saddr6a", ctx, `${prefix}skc_v6_rcv_saddr.in6_u.u6_addr32[0]`),
    v6Word("saddr6b", ctx, `${prefix}skc_v6_rcv_saddr.in6_u.u6_addr32[1]`),
    v6Word("saddr6c", ctx, `${prefix}skc_v6_rcv_saddr.in6_u.u6_addr32[2]`),
    v6Word("saddr6d", ctx, `${prefix}skc_v6_rcv_saddr.in6_u.u6_addr32[3]`),
    v6Word("daddr6a", ctx, `${prefix}skc_v6_daddr.in6_u.u6_addr32[0]`),
    v6Word("daddr6b", ctx, `${prefix}skc_v6_daddr.in6_u.u6_addr32[1]`),
    v6Word("daddr6c", ctx, `${prefix}skc_v6_daddr.in6_u.u6_addr32[2]`),
    v6Word("daddr6d", ctx, `${prefix}skc_v6_daddr.in6_u.u6_addr32[3]`),
  ] as const;

/** The decoded inet fields plus the socket owner's uid (every socket target has it). */
export type InetRaw = RawRecord<ReturnType<typeof inetFields>> & { readonly uid: number };

const AF_INET = 2;
const AF_INET6 = 10;
const TCP_STATES = [
  "",
  "ESTABLISHED",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "TIME_WAIT",
  "CLOSE",
  "CLOSE_WAIT",
  "LAST_ACK",
  "LISTEN",
  "CLOSING",
  "NEW_SYN_RECV",
  "BOUND_INACTIVE",
];

export function ipv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** Dotted text of an IPv4 address read as a little-endian u32 from its network-order bytes. */
export function ipv4Word(w: number): string {
  return `${w & 0xff}.${(w >>> 8) & 0xff}.${(w >>> 16) & 0xff}.${w >>> 24}`;
}

const v6Bytes = new Uint8Array(16);
const v6View = new DataView(v6Bytes.buffer);

/** RFC 5952 text of an IPv6 address given as four little-endian u32 reads of its bytes. */
export function ipv6Words(
  a: number | undefined,
  b: number | undefined,
  c: number | undefined,
  d: number | undefined,
): string {
  if (a === undefined || b === undefined || c === undefined || d === undefined) return "";
  v6View.setUint32(0, a, true);
  v6View.setUint32(4, b, true);
  v6View.setUint32(8, c, true);
  v6View.setUint32(12, d, true);
  return ipv6(v6Bytes);
}

/** RFC 5952 text of 16 address bytes ("" for none). */
export function ipv6(b: Uint8Array | undefined): string {
  if (!b) return "";
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const words = Array.from({ length: 8 }, (_, i) => v.getUint16(i * 2, false));
  // ::ffff:a.b.c.d for IPv4-mapped addresses
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${ipv4(b.subarray(12))}`;
  }
  // Longest run of zero words becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

export function inetSocket(r: InetRaw) {
  const family = r.family;
  const v6 = family === AF_INET6;
  const state = r.state;
  return {
    family: family === AF_INET ? ("inet" as const) : v6 ? ("inet6" as const) : family,
    state,
    stateName: TCP_STATES[state] ?? String(state),
    localAddress: v6 ? ipv6Words(r.saddr6a, r.saddr6b, r.saddr6c, r.saddr6d) : ipv4Word(r.saddr4),
    localPort: r.sport,
    remoteAddress: v6 ? ipv6Words(r.daddr6a, r.daddr6b, r.daddr6c, r.daddr6d) : ipv4Word(r.daddr4),
    remotePort: r.dport,
    uid: r.uid,
  };
}

export function udpSocket(r: InetRaw & { readonly bucket: number }) {
  const s = inetSocket(r);
  // UDP has no TCP state machine; 7 (TCP_CLOSE) means unconnected.
  return { ...s, stateName: s.state === 1 ? "ESTABLISHED" : "UNCONN", bucket: r.bucket };
}
