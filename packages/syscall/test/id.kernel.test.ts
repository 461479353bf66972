import { closeSync, openSync } from "node:fs";
import { btfBlob, describeKernel, missingFromKernel } from "@ts-ebpf/testing";
import { afterAll, expect, it } from "vitest";
import {
  BpfAttachType,
  BpfError,
  BpfMap,
  BpfMapType,
  BpfProgType,
  btfInfo,
  btfLoad,
  getFdById,
  getNextId,
  ids,
  Link,
  loadProgram,
  Program,
  VerifierError,
} from "../src/index.js";
import { attachIterator } from "../src/internal.js";
import { funcId, hasMember, returnZero, specInstructions } from "./helpers.js";

/** A minimal BTF blob: one 32-bit signed INT "int" (or a broken one). */
function tinyBtf(bits = 32): Uint8Array {
  const strings = Buffer.from("\0int\0");
  const types = Buffer.alloc(16);
  types.writeUInt32LE(1, 0); // name_off
  types.writeUInt32LE(1 << 24, 4); // kind INT
  types.writeUInt32LE(4, 8); // size
  types.writeUInt32LE((1 << 24) | bits, 12); // SIGNED, offset 0, bits
  return btfBlob(types, strings);
}

describeKernel("ids, fds by id, object info, BTF_LOAD", () => {
  const open: { close(): void }[] = [];
  afterAll(() => {
    for (const h of open) h.close();
  });

  it("MAP_GET_NEXT_ID / MAP_GET_FD_BY_ID find a new map", () => {
    const m = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
      name: "ts_byid",
    });
    open.push(m);
    const id = m.info().id;
    expect([...ids("map")]).toContain(id);
    expect(getNextId("map", id - 1)).toBe(id);
    const again = BpfMap.fromId(id);
    open.push(again);
    expect(again.name).toBe("ts_byid");
  });

  it("PROG_GET_NEXT_ID / PROG_GET_FD_BY_ID", () => {
    const p = Program.load({
      type: BpfProgType.SOCKET_FILTER,
      instructions: returnZero(),
      license: "GPL",
      name: "ts_progid",
    });
    open.push(p);
    const id = p.info().id;
    expect([...ids("prog")]).toContain(id);
    const q = Program.fromId(id);
    open.push(q);
    expect(q.info().tag).toBe(p.info().tag);
  });

  it("LINK_GET_NEXT_ID / LINK_GET_FD_BY_ID", () => {
    const prog = loadProgram({
      type: BpfProgType.TRACING,
      expectedAttachType: BpfAttachType.TRACE_ITER,
      attachBtfId: funcId("bpf_iter_bpf_map")!,
      license: "GPL",
      instructions: specInstructions(returnZero()),
    });
    open.push(prog);
    const link = attachIterator(prog);
    open.push(link);
    const id = link.info().id;
    expect([...ids("link")]).toContain(id);
    const again = Link.fromId(id);
    open.push(again);
    expect(again.info().progId).toBe(prog.info().id);
  });

  it("BTF_GET_NEXT_ID / BTF_GET_FD_BY_ID: vmlinux BTF is listed with kernel_btf set (5.11+)", (ctx) => {
    // The kernel's own BTF got an id, a name and kernel_btf together.
    const why = missingFromKernel(
      "an id for vmlinux BTF (bpf_btf_info.kernel_btf)",
      hasMember("struct bpf_btf_info", "kernel_btf"),
      "5.11",
    );
    if (why) return ctx.skip(why);
    const btfIds = [...ids("btf")];
    expect(btfIds.length).toBeGreaterThan(0);
    const found = btfIds
      .map((id) => {
        try {
          const fd = getFdById("btf", id);
          try {
            return btfInfo(fd);
          } finally {
            closeSync(fd);
          }
        } catch {
          return undefined; // freed in between
        }
      })
      .find((i) => i?.name === "vmlinux");
    expect(found).toMatchObject({ name: "vmlinux", kernelBtf: true });
    expect(found!.btfSize).toBeGreaterThan(1_000_000);
  });

  it("GET_NEXT_ID at the end is undefined; GET_FD_BY_ID of a freed id is ENOENT", () => {
    expect(getNextId("map", 0x7ffffffe)).toBeUndefined();
    // Ids stop below INT_MAX; asking past it is EINVAL.
    expect(() => getNextId("map", 0x7fffffff)).toThrow(/MAP_GET_NEXT_ID: EINVAL/);
    try {
      getFdById("map", 0x7ffffff0);
      throw new Error("expected ENOENT");
    } catch (e) {
      expect(e).toBeInstanceOf(BpfError);
      expect((e as BpfError).code).toBe("ENOENT");
      expect((e as BpfError).command).toBe("MAP_GET_FD_BY_ID");
    }
    expect(() => getFdById("prog", 0x7ffffff0)).toThrow(/PROG_GET_FD_BY_ID: ENOENT/);
    expect(() => getFdById("link", 0x7ffffff0)).toThrow(/LINK_GET_FD_BY_ID: ENOENT/);
    expect(() => getFdById("btf", 0x7ffffff0)).toThrow(/BTF_GET_FD_BY_ID: ENOENT/);
  });

  it("OBJ_GET_INFO_BY_FD on a bad fd is EBADFD or EBADF (kernels differ), on a non-BPF fd EINVAL", () => {
    expect(() => btfInfo(1_000_000)).toThrow(/OBJ_GET_INFO_BY_FD: EBADFD?\b/);
    const file = openSync("/proc/self/status", "r");
    try {
      expect(() => btfInfo(file)).toThrow(/OBJ_GET_INFO_BY_FD: EINVAL/);
    } finally {
      closeSync(file);
    }
  });

  it("BTF_LOAD: a tiny BTF loads and reads back through info", () => {
    const blob = tinyBtf();
    const { fd } = btfLoad(blob);
    try {
      const info = btfInfo(fd, { withData: true });
      // Before 5.11 (no name in bpf_btf_info) the name pointer is left out, not refused with E2BIG.
      expect(info.name).toBe("");
      expect(info.kernelBtf).toBe(false);
      expect(info.btfSize).toBe(blob.byteLength);
      expect(info.btf).toEqual(blob);
    } finally {
      closeSync(fd);
    }
  });

  it("BTF_LOAD: a broken BTF carries the kernel's log; the log grows on ENOSPC", () => {
    try {
      btfLoad(tinyBtf(64), { logLevel: 1, logSize: 128 });
      throw new Error("expected a rejection");
    } catch (e) {
      expect(e).toBeInstanceOf(VerifierError);
      const err = e as VerifierError;
      expect(err.command).toBe("BTF_LOAD");
      expect(err.code).toBe("EINVAL");
      expect(err.log.length).toBeGreaterThan(0);
      expect(err.log).toMatch(/Invalid|nr_bits/);
    }
  });
});
