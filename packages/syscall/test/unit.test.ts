// Unit tests: no kernel, no privileges, and no addon — every bad input here
// must be refused before the native module is even loaded.

import * as constants from "@ts-ebpf/spec/constants";
import { afterAll, describe, expect, it } from "vitest";
import { Attr } from "../src/attr.js";
import {
  BpfError,
  BpfMap,
  BpfMapType,
  BpfProgType,
  codecs,
  encodeIterLinkInfo,
  errnoName,
  failingInstruction,
  getFdById,
  getNextId,
  kernelVersion,
  linkCreate,
  loadProgram,
  mapCreate,
  mapLookupElem,
  missingBpfCapabilities,
  objGet,
  objPin,
  progLoad,
  refusedByPolicy,
  VerifierError,
} from "../src/index.js";
import { nativeLoaded } from "../src/native.js";

afterAll(() => {
  // Nothing in this file may have reached the addon.
  expect(nativeLoaded()).toBe(false);
});

describe("constants", () => {
  it("are generated enums with reverse names, plus the uapi #defines", () => {
    expect(constants.BpfProgType.TRACING).toBe(26);
    expect(constants.BpfProgTypeName[26]).toBe("TRACING");
    expect(constants.BpfAttachType.TRACE_ITER).toBe(28);
    expect(constants.BpfCmd.MAP_CREATE).toBe(0);
    expect(constants.BpfMapFlag.RDONLY_PROG).toBe(1 << 7);
    expect(constants.BPF_PSEUDO_MAP_VALUE).toBe(2);
    expect(constants.BPF_OBJ_NAME_LEN).toBe(16);
  });
});

describe("attr sizing", () => {
  it("ends at the last non-zero or output field", () => {
    const a = new Attr("map_create").u32("map_type", 1).u32("key_size", 4).u64("map_extra", 0);
    expect(a.size).toBe(8);
    a.u32("btf_fd", 3);
    expect(a.size).toBe(52); // btf_fd at 48
    const p = new Attr("prog_load").u32("prog_type", 1).out("log_true_size");
    expect(p.size).toBe(144);
    const g = new Attr("get_id").u32("start_id", 0).out("next_id");
    expect(g.size).toBe(8);
  });

  it("writes pointer slots only through the addon and names bad members", () => {
    const a = new Attr("map_elem").ptr("key", new Uint8Array(4), 4);
    expect(a.size).toBe(16);
    expect(() => a.ptr("value", new Uint8Array(4), 8)).toThrow(/uses 8 bytes, the buffer has 4/);
    expect(() => a.u32("key" as never, 1)).toThrow(/not 4 bytes/);
  });
});

describe("bad input is a TypeError or RangeError before any syscall", () => {
  it("map creation", () => {
    const base = { type: BpfMapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 };
    expect(() => mapCreate({ ...base, keySize: -1 })).toThrow(RangeError);
    expect(() => mapCreate({ ...base, valueSize: 1.5 })).toThrow(TypeError);
    expect(() => mapCreate({ ...base, maxEntries: "1" as unknown as number })).toThrow(TypeError);
    expect(() => mapCreate({ ...base, name: "a-name-that-is-too-long" })).toThrow(RangeError);
    expect(() => mapCreate({ ...base, name: "bad name!" })).toThrow(RangeError);
    expect(() => mapCreate(null as never)).toThrow(TypeError);
    expect(() => BpfMap.create({ ...base, key: codecs.u64 })).toThrow(RangeError);
    expect(() => BpfMap.create({ ...base, key: { size: 4 } as never })).toThrow(TypeError);
  });

  it("element and object commands", () => {
    expect(() => mapLookupElem(-1, new Uint8Array(4), new Uint8Array(8))).toThrow(RangeError);
    expect(() => mapLookupElem(3, [1, 2, 3, 4] as never, new Uint8Array(8))).toThrow(TypeError);
    expect(() => objPin(3, "")).toThrow(RangeError);
    expect(() => objGet(42 as never)).toThrow(TypeError);
    expect(() => getFdById("thing" as never, 1)).toThrow(TypeError);
    expect(() => getFdById("map", 0)).toThrow(RangeError);
    expect(() => getNextId("map", -5)).toThrow(RangeError);
    expect(() => linkCreate({ progFd: 1.5, attachType: 28 })).toThrow(TypeError);
    expect(() => encodeIterLinkInfo({ mapFd: 3, tid: 1 })).toThrow(TypeError);
  });

  it("program loads", () => {
    const ok = {
      type: BpfProgType.SOCKET_FILTER,
      license: "GPL",
      instructions: new Uint8Array(16),
    };
    expect(() => progLoad({ ...ok, instructions: new Uint8Array(7) })).toThrow(RangeError);
    expect(() => progLoad({ ...ok, instructions: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => progLoad({ ...ok, license: 1 as never })).toThrow(TypeError);
    expect(() => progLoad({ ...ok, logSize: 0, logLevel: 1 })).toThrow(RangeError);
    expect(() => loadProgram(undefined as never)).toThrow(TypeError);
    expect(() => loadProgram({ ...ok, instructions: "x" as never })).toThrow(TypeError);
    expect(() => loadProgram({ ...ok, instructions: [] })).toThrow(RangeError);
    // An instruction that is not one, and a reference the loader cannot resolve
    // here (a CO-RE access not applied): refused before any map is created.
    const bad = { opcode: 0x100, dst: 0, src: 0, off: 0, imm: 0 };
    expect(() => loadProgram({ ...ok, instructions: [bad] })).toThrow(RangeError);
    const core = {
      opcode: 0x95,
      dst: 0,
      src: 0,
      off: 0,
      imm: 0,
      core: { typeId: 1, access: "0", kind: 0 },
    };
    expect(() => loadProgram({ ...ok, instructions: [core] })).toThrow(
      /CO-RE relocation .* not applied/,
    );
    // With maps to create: still refused first (creating one would load the addon).
    const maps = [{ name: "m", type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }];
    expect(() => loadProgram({ ...ok, maps, instructions: [core] })).toThrow(RangeError);
  });
});

describe("errors", () => {
  it("name the command, errno and hint", () => {
    const e = new BpfError(constants.BpfCmd.MAP_CREATE, 22);
    expect(e.message).toMatch(/^BPF_MAP_CREATE: EINVAL \(invalid argument\)/);
    expect(e).toMatchObject({ command: "MAP_CREATE", errno: 22, code: "EINVAL" });
    expect(errnoName(95)).toBe("EOPNOTSUPP");
    expect(errnoName(524)).toBe("ENOTSUPP");
  });

  it("VerifierError finds the failing instruction in the log", () => {
    const log =
      "func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\n1: (79) r0 = *(u64 *)(r2 +0)\nR2 !read_ok\nprocessed 2 insns\n";
    expect(failingInstruction(log)).toBe(1);
    const e = new VerifierError(constants.BpfCmd.PROG_LOAD, 13, log);
    expect(e.instruction).toBe(1);
    expect(e.message).toContain("at instruction 1");
    expect(e.message).toContain("R2 !read_ok");
    expect(failingInstruction("nothing")).toBeUndefined();
  });

  it("refusedByPolicy: only PROG_LOAD EPERM with every BPF capability present", () => {
    const EPERM = 1;
    const capable = missingBpfCapabilities().length === 0;
    expect(refusedByPolicy(new BpfError(constants.BpfCmd.PROG_LOAD, EPERM))).toBe(capable);
    expect(refusedByPolicy(new BpfError(constants.BpfCmd.MAP_CREATE, EPERM))).toBe(false);
    expect(refusedByPolicy(new BpfError(constants.BpfCmd.PROG_LOAD, 22))).toBe(false);
    expect(refusedByPolicy(new Error("EPERM"))).toBe(false);
  });
});

describe("codecs and helpers", () => {
  it("round-trip", () => {
    const b = new Uint8Array(8);
    codecs.u64.encode(0x0102030405060708n, b);
    expect(codecs.u64.decode(b)).toBe(0x0102030405060708n);
    codecs.u32.encode(0xdeadbeef, b);
    expect(codecs.u32.decode(b)).toBe(0xdeadbeef);
    expect(() => codecs.u32.encode(2 ** 32, b)).toThrow(RangeError);
    expect(() => codecs.bytes(4).encode(new Uint8Array(3), b)).toThrow(RangeError);
    expect(kernelVersion("6.1.0-18-amd64")).toEqual([6, 1, 0]);
    expect(kernelVersion("6.18.44-fc")).toEqual([6, 18, 44]);
  });

  it("decodeAt/encodeAt read and write in place, as decode/encode do", () => {
    const chunk = new Uint8Array(32);
    const view = new DataView(chunk.buffer, 4, 24);
    codecs.u32.encodeAt?.(0xdeadbeef, view, 2);
    expect(codecs.u32.decodeAt?.(view, 2)).toBe(0xdeadbeef);
    expect(codecs.u32.decode(chunk.subarray(6, 10))).toBe(0xdeadbeef);
    codecs.u64.encodeAt?.(0x0102030405060708n, view, 8);
    expect(codecs.u64.decodeAt?.(view, 8)).toBe(0x0102030405060708n);
    expect(codecs.u64.decode(chunk.subarray(12, 20))).toBe(0x0102030405060708n);
    expect(() => codecs.u32.encodeAt?.(-1, view, 0)).toThrow(RangeError);
    expect(() => codecs.u64.encodeAt?.(1n << 64n, view, 0)).toThrow(RangeError);
    const b4 = codecs.bytes(4);
    const copy = b4.decodeAt?.(view, 2);
    expect(copy).toEqual(chunk.slice(6, 10));
    chunk[6] = 0;
    expect(copy?.[0]).toBe(0xef); // a copy, not a view of the chunk
    expect(() => b4.decodeAt?.(view, 22)).toThrow(RangeError);
    expect(() => b4.decodeAt?.(view, -1)).toThrow(RangeError);
  });
});
