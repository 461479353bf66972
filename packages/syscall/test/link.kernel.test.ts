import { closeSync, openSync, readSync, statSync } from "node:fs";
import { describeKernel, kernelFeature, missingFromKernel } from "@ts-ebpf/testing";
import { afterAll, describe, expect, it } from "vitest";
import {
  BpfAttachType,
  BpfCgroupIterOrder,
  BpfError,
  BpfLinkType,
  BpfMap,
  BpfMapType,
  BpfProgType,
  codecs,
  encodeIterLinkInfo,
  iterCreate,
  Link,
  linkCreate,
  linkDetach,
  linkUpdate,
  loadProgram,
  openIteratorFd,
  type Program,
  rawTracepointOpen,
  refusedByPolicy,
} from "../src/index.js";
import { attachIterator } from "../src/internal.js";
import {
  BPF_FUNC_seq_write,
  call,
  concat,
  exit,
  funcId,
  hasMember,
  jeqImm,
  ldImm64,
  ldxdw,
  memberOffset,
  mov64Imm,
  mov64Reg,
  openFdCount,
  returnZero,
  specInstructions,
} from "./helpers.js";

function readAll(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  closeSync(fd);
  return Buffer.concat(chunks);
}

/** An iterator program that does nothing for target `target`. */
function emptyIterator(target: string): Program {
  return loadProgram({
    type: BpfProgType.TRACING,
    expectedAttachType: BpfAttachType.TRACE_ITER,
    attachBtfId: funcId(`bpf_iter_${target}`)!,
    attachTarget: `bpf_iter_${target}`,
    license: "GPL",
    instructions: specInstructions(returnZero()),
  });
}

/**
 * bpf_map_elem iterator writing "k:" (from .rodata) then the 4-byte key of
 * each element; context offsets come from kernel BTF.
 */
function keyDumper(): Program {
  const ctx = "bpf_iter__bpf_map_elem";
  const metaOff = memberOffset(ctx, "meta");
  const keyOff = memberOffset(ctx, "key");
  const seqOff = memberOffset("bpf_iter_meta", "seq");
  const insns = concat(
    ldxdw(6, 1, metaOff), // 0
    ldxdw(7, 1, keyOff), // 1
    jeqImm(7, 0, 10), // 2: NULL key (the final call) → 13
    ldxdw(8, 6, seqOff), // 3
    mov64Reg(1, 8), // 4
    ldImm64(2), // 5-6: r2 = &.rodata[0]
    mov64Imm(3, 2), // 7
    call(BPF_FUNC_seq_write), // 8
    mov64Reg(1, 8), // 9
    mov64Reg(2, 7), // 10
    mov64Imm(3, 4), // 11
    call(BPF_FUNC_seq_write), // 12
    mov64Imm(0, 0), // 13
    exit(), // 14
  );
  return loadProgram({
    name: "ts_keydump",
    type: BpfProgType.TRACING,
    expectedAttachType: BpfAttachType.TRACE_ITER,
    attachBtfId: funcId("bpf_iter_bpf_map_elem")!,
    license: "GPL",
    instructions: specInstructions(insns, [
      { kind: "map_value", insn: 5, map: { name: ".rodata" }, offset: 0 },
    ]),
    readonlyData: [{ name: ".rodata", bytes: new TextEncoder().encode("k:\0") }],
  });
}

/**
 * Some kernels refuse bpf_map_elem programs even to root (EPERM from a
 * security policy while every capability is present). Probed once, only
 * where kernel tests run; other load errors fail the file.
 */
const mapElem = kernelFeature("bpf_map_elem programs", () => {
  try {
    emptyIterator("bpf_map_elem").close();
    return { loadable: true };
  } catch (e) {
    if (refusedByPolicy(e)) return { loadable: false, error: e };
    throw e;
  }
});

/** An fentry program on do_sys_openat2 that returns 0. */
function emptyFentry(): Program {
  return loadProgram({
    type: BpfProgType.TRACING,
    expectedAttachType: BpfAttachType.TRACE_FENTRY,
    attachBtfId: funcId("do_sys_openat2")!,
    license: "GPL",
    instructions: specInstructions(returnZero()),
  });
}

/** fentry needs BPF trampolines, which some kernel builds lack (this host's). */
const fentry = kernelFeature("fentry programs (BPF trampolines)", () => {
  try {
    emptyFentry().close();
    return { loadable: true };
  } catch (e) {
    return { loadable: false, error: e as Error };
  }
});

describeKernel("link and iterator commands", () => {
  const open: { close(): void }[] = [];
  const keep = <T extends { close(): void }>(h: T) => {
    open.push(h);
    return h;
  };
  afterAll(() => {
    for (const h of open.reverse()) h.close();
  });

  it.skipIf(mapElem.skip)(
    `LINK_CREATE (iter_info with map_fd) + ITER_CREATE: reads what the program wrote ${mapElem.note}`,
    () => {
      const map = keep(
        BpfMap.create({
          type: BpfMapType.HASH,
          keySize: 4,
          valueSize: 8,
          maxEntries: 8,
          key: codecs.u32,
          value: codecs.u64,
        }),
      );
      for (const k of [3, 5, 7]) map.set(k, BigInt(k));
      const prog = keep(keyDumper());
      const link = keep(attachIterator(prog, { mapFd: map.fd }));
      const out = readAll(openIteratorFd(link));
      expect(out.length).toBe(3 * 6);
      const keys: number[] = [];
      for (let i = 0; i < out.length; i += 6) {
        expect(out.subarray(i, i + 2).toString()).toBe("k:");
        keys.push(out.readUInt32LE(i + 2));
      }
      expect(keys.sort()).toEqual([3, 5, 7]);
      // An iterator fd is single use; a new one reads again.
      expect(readAll(iterCreate(link.fd)).length).toBe(18);

      const info = link.info();
      expect(info.type).toBe(BpfLinkType.ITER);
      expect(info.progId).toBe(prog.info().id);
      expect(info.iter).toEqual({ targetName: "bpf_map_elem", mapId: map.info().id });
    },
  );

  const linkCreateCode = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(BpfError);
      expect((e as BpfError).command).toBe("LINK_CREATE");
      return (e as BpfError).code;
    }
    return "ok";
  };
  const attachType = BpfAttachType.TRACE_ITER;

  it("iterator ABI errors: target_fd, flags, iter_info without length, bad fds; a length past iter_info is refused first", () => {
    // Checked by the kernel before any target: a bpf_map program serves.
    const map = keep(
      BpfMap.create({ type: BpfMapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 }),
    );
    const prog = keep(emptyIterator("bpf_map"));
    const info = encodeIterLinkInfo({ mapFd: map.fd });
    const code = linkCreateCode;
    expect(
      code(() => linkCreate({ progFd: prog.fd, attachType, targetFd: 1, iterInfo: info })),
    ).toBe("EINVAL");
    expect(code(() => linkCreate({ progFd: prog.fd, attachType, flags: 1, iterInfo: info }))).toBe(
      "EINVAL",
    );
    expect(
      code(() => linkCreate({ progFd: prog.fd, attachType, iterInfo: info, iterInfoLen: 0 })),
    ).toBe("EINVAL");
    // A length the kernel would read past the buffer never reaches it.
    expect(() => linkCreate({ progFd: prog.fd, attachType, iterInfoLen: 8 })).toThrow(
      /iterInfoLen must be at most 0 bytes \(the size of iterInfo\), got 8/,
    );
    expect(code(() => linkCreate({ progFd: 1_000_000, attachType }))).toBe("EBADF");
    expect(() => iterCreate(1_000_000)).toThrow(/ITER_CREATE: EBADF/);
  });

  it.skipIf(mapElem.skip)(
    `bpf_map_elem link errors: no map fd, a map type it cannot walk ${mapElem.note}`,
    () => {
      const prog = keep(keyDumper());
      const code = linkCreateCode;
      expect(code(() => linkCreate({ progFd: prog.fd, attachType }))).toBe("EBADF");
      // An unsupported map type for bpf_map_elem.
      const ringbuf = keep(
        BpfMap.create({ type: BpfMapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }),
      );
      expect(
        code(() =>
          linkCreate({
            progFd: prog.fd,
            attachType,
            iterInfo: encodeIterLinkInfo({ mapFd: ringbuf.fd }),
          }),
        ),
      ).toBe("EINVAL");
    },
  );

  it.skipIf(mapElem.available)(
    "where the kernel refuses bpf_map_elem programs: PROG_LOAD gives EPERM with a hint past capabilities, no fd leaks",
    () => {
      const before = openFdCount();
      let err: unknown;
      try {
        keyDumper().close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BpfError);
      expect(err).toMatchObject({ command: "PROG_LOAD", code: "EPERM" });
      expect((err as BpfError).hint).toMatch(
        /capabilities are present: check kernel lockdown, LSM policy/,
      );
      expect(openFdCount()).toBe(before);
    },
  );

  it("LINK_UPDATE swaps the program; LINK_DETACH leaves an inert link", () => {
    const a = keep(emptyIterator("bpf_map"));
    const b = keep(emptyIterator("bpf_map"));
    const link = keep(attachIterator(a));
    expect(link.info().progId).toBe(a.info().id);
    link.update(b);
    expect(link.info().progId).toBe(b.info().id);
    expect(() => linkUpdate(link.fd, a.fd, { oldProgFd: a.fd })).toThrow(/LINK_UPDATE: EPERM/);
    link.update(a, b);
    expect(link.info().progId).toBe(a.info().id);
    expect(() => linkUpdate(link.fd, b.fd, { flags: 1 << 0 })).toThrow(/LINK_UPDATE: EINVAL/);
    expect(() => linkUpdate(1_000_000, a.fd)).toThrow(/LINK_UPDATE: EBADF/);
    // Iterator links do not implement detach.
    expect(() => link.detach()).toThrow(/LINK_DETACH: EOPNOTSUPP/);
    expect(() => linkDetach(1_000_000)).toThrow(/LINK_DETACH: EBADF/);
  });

  it("task iterator link info reports tid and pid (6.1+)", (ctx) => {
    const why = missingFromKernel(
      "task iterator parameters (union bpf_iter_link_info.task)",
      hasMember("union bpf_iter_link_info", "task"),
      "6.1",
    );
    if (why) return ctx.skip(why);
    const prog = keep(emptyIterator("task"));
    const byTid = keep(attachIterator(prog, { tid: process.pid }));
    expect(byTid.info().iter).toEqual({ targetName: "task", tid: process.pid, pid: 0 });
    const byPid = keep(attachIterator(prog, { pid: process.pid }));
    expect(byPid.info().iter).toEqual({ targetName: "task", tid: 0, pid: process.pid });
    expect(readAll(openIteratorFd(byPid)).length).toBe(0);
  });

  const cgroup2 = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"].find((p) => {
    try {
      return statSync(p).ino === 1 || statSync(`${p}/cgroup.procs`).isFile();
    } catch {
      return false;
    }
  });
  (cgroup2 && funcId("bpf_iter_cgroup") !== undefined ? describe : describe.skip)(
    "cgroup iterator (needs a cgroup2 mount and the cgroup target, 6.1+)",
    () => {
      it("link info reports cgroup id and order", () => {
        const prog = keep(emptyIterator("cgroup"));
        const dir = openSync(cgroup2!, "r");
        try {
          const link = keep(
            attachIterator(prog, { cgroupFd: dir, order: BpfCgroupIterOrder.ANCESTORS_UP }),
          );
          expect(link.info().iter).toEqual({
            targetName: "cgroup",
            cgroupId: BigInt(statSync(cgroup2!).ino),
            order: BpfCgroupIterOrder.ANCESTORS_UP,
          });
        } finally {
          closeSync(dir);
        }
      });
    },
  );

  (cgroup2 ? it : it.skip)("LINK_DETACH on a cgroup link (needs cgroup2)", () => {
    // cgroup_skb program allowing everything, attached to the cgroup2 root.
    const prog = keep(
      loadProgram({
        type: BpfProgType.CGROUP_SKB,
        expectedAttachType: BpfAttachType.CGROUP_INET_INGRESS,
        license: "GPL",
        instructions: specInstructions(concat(mov64Imm(0, 1), exit())),
      }),
    );
    const dir = openSync(cgroup2!, "r");
    try {
      const link = keep(
        Link.fromFd(
          linkCreate({
            progFd: prog.fd,
            targetFd: dir,
            attachType: BpfAttachType.CGROUP_INET_INGRESS,
          }),
        ),
      );
      expect(link.info().type).toBe(BpfLinkType.CGROUP);
      link.detach();
      expect(() => link.update(prog)).toThrow(/LINK_UPDATE: ENOLINK/);
    } finally {
      closeSync(dir);
    }
  });

  it.skipIf(fentry.skip)(
    `RAW_TRACEPOINT_OPEN attaches an fentry program on every kernel (5.10's LINK_CREATE refuses it) ${fentry.note}`,
    () => {
      const prog = keep(emptyFentry());
      const fd = rawTracepointOpen({ progFd: prog.fd });
      keep({ close: () => closeSync(fd) });
      // The handle works on a duplicate: the fd stays ours to close.
      const link = keep(Link.fromFd(fd));
      expect(link.info()).toMatchObject({ type: BpfLinkType.TRACING, progId: prog.info().id });
      // A name is for raw tracepoint programs: a tracing program is refused with one.
      expect(() => rawTracepointOpen({ progFd: prog.fd, name: "sys_enter" })).toThrow(
        /RAW_TRACEPOINT_OPEN: EINVAL/,
      );
    },
  );

  it("rawTracepointOpen checks its arguments before the kernel, and names the command", () => {
    expect(() => rawTracepointOpen(null as never)).toThrow(TypeError);
    expect(() => rawTracepointOpen({ progFd: -1 })).toThrow(RangeError);
    expect(() => rawTracepointOpen({ progFd: 1_000_000, name: "" })).toThrow(
      /name must not be empty/,
    );
    // A socket filter attaches to no tracepoint.
    const filter = keep(
      loadProgram({
        type: BpfProgType.SOCKET_FILTER,
        license: "GPL",
        instructions: specInstructions(returnZero()),
      }),
    );
    expect(() => rawTracepointOpen({ progFd: filter.fd })).toThrow(/RAW_TRACEPOINT_OPEN: EINVAL/);
  });

  it("Link.fromId and info for a tracing-typed link", () => {
    const prog = keep(emptyIterator("bpf_prog"));
    const link = keep(attachIterator(prog));
    const again = keep(Link.fromId(link.info().id));
    expect(again.info()).toEqual(link.info());
    expect(again.info().iter).toEqual({ targetName: "bpf_prog" });
  });
});
