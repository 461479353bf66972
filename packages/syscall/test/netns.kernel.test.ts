// openIteratorFdsInNetns: iterator fds made by a native thread inside other
// network namespaces. A netlink iterator program writes, for every socket it
// is shown, the inode of the socket's own network namespace
// (sk->__sk_common.skc_net.net->ns.inum): every value read from fd i must be
// the inode of namespace i.

import { execFileSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { describeKernel, kernelRequired } from "@ts-ebpf/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpfAttachType,
  BpfError,
  BpfProgType,
  type Link,
  loadProgram,
  NamespaceError,
  openIteratorFdInNetns,
  openIteratorFdsInNetns,
  type Program,
} from "../src/index.js";
import { attachIterator } from "../src/internal.js";
import {
  BPF_FUNC_seq_write,
  call,
  concat,
  exit,
  funcId,
  insn,
  ldxdw,
  memberOffset,
  mov64Imm,
  mov64Reg,
  specInstructions,
} from "./helpers.js";

const ldxw = (dst: number, src: number, off: number) => insn(0x61, dst, src, off, 0);
const stxw = (dst: number, off: number, src: number) => insn(0x63, dst, src, off, 0);
const add64Imm = (dst: number, imm: number) => insn(0x07, dst, 0, 0, imm);
const jeqImm = (dst: number, imm: number, off: number) => insn(0x15, dst, 0, off, imm);

/** Netlink iterator program writing the u32 netns inode of each socket. */
function netnsInodeWriter(): Program {
  const ctx = "bpf_iter__netlink";
  const insns = concat(
    ldxdw(6, 1, memberOffset(ctx, "meta")), // 0
    ldxdw(7, 1, memberOffset(ctx, "sk")), // 1
    jeqImm(7, 0, 9), // 2: NULL (the final call) → 12
    ldxdw(8, 6, memberOffset("bpf_iter_meta", "seq")), // 3
    ldxdw(2, 7, memberOffset("netlink_sock", "sk.__sk_common.skc_net.net")), // 4
    ldxw(2, 2, memberOffset("net", "ns.inum")), // 5
    stxw(10, -8, 2), // 6
    mov64Reg(1, 8), // 7
    mov64Reg(2, 10), // 8
    add64Imm(2, -8), // 9
    mov64Imm(3, 4), // 10
    call(BPF_FUNC_seq_write), // 11
    mov64Imm(0, 0), // 12
    exit(), // 13
  );
  return loadProgram({
    name: "ts_netns_ino",
    type: BpfProgType.TRACING,
    expectedAttachType: BpfAttachType.TRACE_ITER,
    attachBtfId: funcId("bpf_iter_netlink")!,
    license: "GPL",
    instructions: specInstructions(insns),
  });
}

function readInodes(fd: number): number[] {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
  } finally {
    closeSync(fd);
  }
  const all = Buffer.concat(chunks);
  return Array.from({ length: all.length / 4 }, (_, i) => all.readUInt32LE(i * 4));
}

const haveIp = (() => {
  try {
    execFileSync("ip", ["-V"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
})();
const skip = !haveIp && !kernelRequired();
const NS = `tsebpfsys${process.pid}`;
const inode = (path: string) => statSync(path).ino;

describeKernel("iterator fds made inside other network namespaces", () => {
  let program: Program;
  let link: Link;
  let nsFd = -1;
  let made = false;

  beforeAll(() => {
    program = netnsInodeWriter();
    link = attachIterator(program);
    if (skip) return;
    execFileSync("ip", ["netns", "add", NS]);
    made = true;
    nsFd = openSync(`/run/netns/${NS}`, "r");
  });

  afterAll(() => {
    if (nsFd >= 0) closeSync(nsFd);
    link?.close();
    program?.close();
    if (made) execFileSync("ip", ["netns", "del", NS], { stdio: "pipe" });
  });

  it.skipIf(skip)(
    "each fd walks the namespace it was made in; the caller's threads stay where they were",
    () => {
      const ownFd = openSync("/proc/self/ns/net", "r");
      const before = inode("/proc/thread-self/ns/net");
      try {
        const made = openIteratorFdsInNetns(link, [nsFd, ownFd, nsFd]);
        expect(made.map((m) => m.error)).toEqual([undefined, undefined, undefined]);
        const [theirs, ours, again] = made.map((m) => readInodes(m.fd!));
        // Every namespace has kernel netlink sockets (rtnetlink and others).
        expect(theirs!.length).toBeGreaterThan(0);
        expect(new Set(theirs)).toEqual(new Set([inode(`/run/netns/${NS}`)]));
        expect(new Set(ours)).toEqual(new Set([before]));
        expect(again).toEqual(theirs);
        for (const tid of readdirSync("/proc/self/task")) {
          expect(inode(`/proc/self/task/${tid}/ns/net`), `thread ${tid}`).toBe(before);
        }
      } finally {
        closeSync(ownFd);
      }
    },
  );

  it.skipIf(skip)("the one-namespace form takes a link fd too", () => {
    const fd = openIteratorFdInNetns(link.fd, nsFd);
    expect(fd).toBeGreaterThan(2);
    expect(new Set(readInodes(fd))).toEqual(new Set([inode(`/run/netns/${NS}`)]));
  });

  it("a namespace that cannot be entered is an error in its slot, the others are made", () => {
    const notNs = openSync("/dev/null", "r");
    const ownFd = openSync("/proc/self/ns/net", "r");
    const pidNs = openSync("/proc/self/ns/pid", "r");
    closeSync(openSync("/dev/null", "r"));
    try {
      const made = openIteratorFdsInNetns(link, [notNs, ownFd, pidNs]);
      expect(made[0]!.error).toBeInstanceOf(NamespaceError);
      expect(made[0]!.error).toMatchObject({ code: "EINVAL", namespaceFd: notNs });
      expect(made[0]!.error!.message).toMatch(/not a network namespace/);
      expect(readInodes(made[1]!.fd!).length).toBeGreaterThan(0);
      expect(made[2]!.error).toMatchObject({ code: "EINVAL" });
      expect(() => openIteratorFdInNetns(link, notNs)).toThrow(NamespaceError);
    } finally {
      closeSync(notNs);
      closeSync(ownFd);
      closeSync(pidNs);
    }
  });

  it("a closed namespace fd is EBADF; a link fd that is no link is the ITER_CREATE error", () => {
    const closed = openSync("/dev/null", "r");
    closeSync(closed);
    const [r] = openIteratorFdsInNetns(link, [closed]);
    expect(r!.error).toMatchObject({ code: "EBADF" });
    const ownFd = openSync("/proc/self/ns/net", "r");
    try {
      const [bad] = openIteratorFdsInNetns(ownFd, [ownFd]);
      expect(bad!.error).toBeInstanceOf(BpfError);
      expect(bad!.error).toMatchObject({ command: "ITER_CREATE" });
    } finally {
      closeSync(ownFd);
    }
  });
});

describe("openIteratorFdsInNetns arguments", () => {
  it("refuses bad arguments before any syscall", () => {
    expect(() => openIteratorFdsInNetns(3, "5" as unknown as number[])).toThrow(TypeError);
    expect(() => openIteratorFdsInNetns(3, [-1])).toThrow(RangeError);
    expect(() => openIteratorFdsInNetns(3, [1.5])).toThrow(/netnsFds\[0\]/);
    expect(() => openIteratorFdsInNetns({} as unknown as number, [])).toThrow(TypeError);
    expect(() => openIteratorFdsInNetns(-4, [])).toThrow(RangeError);
    expect(openIteratorFdsInNetns(3, [])).toEqual([]);
  });
});
