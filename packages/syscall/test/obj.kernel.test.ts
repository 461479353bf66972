import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, expect, it } from "vitest";
import {
  BpfAttachType,
  BpfError,
  BpfFileFlag,
  BpfMap,
  BpfMapType,
  BpfProgType,
  codecs,
  Link,
  loadProgram,
  ObjectKindError,
  objGet,
  objPin,
  Program,
} from "../src/index.js";
import { attachIterator } from "../src/internal.js";
import { funcId, pinPath, removePins, returnZero, specInstructions } from "./helpers.js";

describeKernel("OBJ_PIN / OBJ_GET and bpftool interop", () => {
  const open: { close(): void }[] = [];
  afterAll(() => {
    for (const h of open) h.close();
    removePins();
  });

  it("pins a map, opens it by path, sees the same map", () => {
    const m = BpfMap.create({
      type: BpfMapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 4,
      name: "ts_pinned",
      key: codecs.u32,
      value: codecs.u64,
    });
    open.push(m);
    m.set(1, 11n);
    const path = pinPath("map");
    m.pin(path);
    expect(existsSync(path)).toBe(true);
    const again = BpfMap.fromPinned(path, { key: codecs.u32, value: codecs.u64 });
    open.push(again);
    expect(again.info().id).toBe(m.info().id);
    expect(again.get(1)).toBe(11n);
    expect(again.name).toBe("ts_pinned");
    // Read-only open: reads work, writes are EPERM.
    const ro = BpfMap.fromPinned(
      path,
      { key: codecs.u32, value: codecs.u64 },
      { fileFlags: BpfFileFlag.RDONLY },
    );
    open.push(ro);
    expect(ro.get(1)).toBe(11n);
    expect(() => ro.set(2, 2n)).toThrow(/EPERM.*read-only/);
  });

  it("pins programs and links; fromPinned restores them", () => {
    const p = Program.load({
      type: BpfProgType.SOCKET_FILTER,
      instructions: returnZero(),
      license: "GPL",
      name: "ts_pinprog",
    });
    open.push(p);
    const path = pinPath("prog");
    p.pin(path);
    const q = Program.fromPinned(path);
    open.push(q);
    expect(q.info().id).toBe(p.info().id);
    expect(q.name).toBe("ts_pinprog");

    const iter = loadProgram({
      type: BpfProgType.TRACING,
      expectedAttachType: BpfAttachType.TRACE_ITER,
      attachBtfId: funcId("bpf_iter_bpf_map")!,
      license: "GPL",
      instructions: specInstructions(returnZero()),
    });
    open.push(iter);
    const link = attachIterator(iter);
    open.push(link);
    const linkPath = pinPath("link");
    link.pin(linkPath);
    const l2 = Link.fromPinned(linkPath);
    open.push(l2);
    expect(l2.info().id).toBe(link.info().id);
    // A program pin is not a link.
    expect(() => Link.fromPinned(path)).toThrow(ObjectKindError);
    expect(() => Link.fromPinned(path)).toThrow(`${path} is a BPF program, not a link`);
  });

  it("errors: ENOENT for a missing path, EEXIST for a taken one, EINVAL for a bad fd, EPERM off bpffs", () => {
    const missing = pinPath("missing");
    try {
      objGet(missing);
      throw new Error("expected ENOENT");
    } catch (e) {
      expect(e).toBeInstanceOf(BpfError);
      expect((e as BpfError).code).toBe("ENOENT");
      expect((e as BpfError).message).toContain(missing);
    }
    const m = BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    open.push(m);
    const path = pinPath("taken");
    objPin(m.fd, path);
    expect(() => objPin(m.fd, path)).toThrow(/OBJ_PIN: EEXIST/);
    // Any fd that is not a map, program or link (even a closed one) is EINVAL here.
    expect(() => objPin(1_000_000, pinPath("badfd"))).toThrow(/OBJ_PIN: EINVAL/);
    expect(() => objPin(m.fd, "/tmp/not-bpffs-pin")).toThrow(/OBJ_PIN: EPERM.*bpffs/);
  });

  it("a map bpftool created and pinned opens by path and reads back what bpftool wrote", () => {
    const path = pinPath("bpftool");
    execFileSync("bpftool", [
      "map",
      "create",
      path,
      "type",
      "hash",
      "key",
      "4",
      "value",
      "8",
      "entries",
      "16",
      "name",
      "ts_bpftool",
    ]);
    execFileSync("bpftool", [
      "map",
      "update",
      "pinned",
      path,
      "key",
      "1",
      "0",
      "0",
      "0",
      "value",
      "42",
      "0",
      "0",
      "0",
      "0",
      "0",
      "0",
      "0",
    ]);
    execFileSync("bpftool", [
      "map",
      "update",
      "pinned",
      path,
      "key",
      "2",
      "0",
      "0",
      "0",
      "value",
      "0xff",
      "0xff",
      "0",
      "0",
      "0",
      "0",
      "0",
      "1",
    ]);
    const m = BpfMap.fromPinned(path, { key: codecs.u32, value: codecs.u64 });
    open.push(m);
    expect(m.name).toBe("ts_bpftool");
    expect(m.type).toBe(BpfMapType.HASH);
    expect(new Map(m.entries())).toEqual(
      new Map([
        [1, 42n],
        [2, 0x0100_0000_0000_ffffn],
      ]),
    );
    // And the other way round: bpftool reads what we wrote.
    m.set(3, 7n);
    const dumped = JSON.parse(
      execFileSync("bpftool", ["-j", "map", "lookup", "pinned", path, "key", "3", "0", "0", "0"], {
        encoding: "utf8",
      }),
    );
    expect(dumped.value.map((b: string) => Number(b))).toEqual([7, 0, 0, 0, 0, 0, 0, 0]);
  });
});
