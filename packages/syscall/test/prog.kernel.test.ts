import { closeSync } from "node:fs";
import type { Instruction } from "@ts-ebpf/spec";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, expect, it } from "vitest";
import {
  BpfError,
  BpfLogLevel,
  BpfMap,
  BpfMapFlag,
  BpfMapType,
  BpfProgType,
  btfLoad,
  codecs,
  loadProgram,
  Program,
  type ProgramSpec,
  progLoad,
  progTestRun,
  VerifierError,
} from "../src/index.js";
import {
  call,
  concat,
  exit,
  hasMember,
  ldImm64,
  ldxdw,
  mov64Imm,
  openFdCount,
  returnZero,
  specInstructions,
} from "./helpers.js";

const BPF_FUNC_map_lookup_elem = 1;

/** Socket filter returning `n`. */
const returning = (n: number) => concat(mov64Imm(0, n), exit());

describeKernel("program commands", () => {
  const open: { close(): void }[] = [];
  afterAll(() => {
    for (const h of open) h.close();
  });

  it("PROG_LOAD + PROG_TEST_RUN: a socket filter returns its constant", () => {
    const p = Program.load({
      type: BpfProgType.SOCKET_FILTER,
      instructions: returning(42),
      license: "GPL",
      name: "ts_ret42",
    });
    open.push(p);
    const r = p.testRun({ dataIn: new Uint8Array(64), repeat: 3 });
    expect(r.retval).toBe(42);
    expect(r.duration).toBeGreaterThanOrEqual(0);
    const info = p.info();
    expect(info).toMatchObject({
      type: BpfProgType.SOCKET_FILTER,
      name: "ts_ret42",
      gplCompatible: true,
      // Fields past what the kernel writes read as zero: verified_insns came in 5.16.
      verifiedInsns: hasMember("struct bpf_prog_info", "verified_insns") ? 2 : 0,
    });
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
    const direct = progTestRun({
      progFd: p.fd,
      dataIn: new Uint8Array(64),
      dataOut: new Uint8Array(128),
    });
    expect(direct).toMatchObject({ retval: 42, dataSizeOut: 64 });
  });

  it("PROG_TEST_RUN errors: EINVAL for too little data, EBADF for a bad fd", () => {
    const p = Program.load({
      type: BpfProgType.SOCKET_FILTER,
      instructions: returning(1),
      license: "GPL",
    });
    open.push(p);
    expect(() => p.testRun({ dataIn: new Uint8Array(2) })).toThrow(/PROG_TEST_RUN: EINVAL/);
    expect(() => progTestRun({ progFd: 1_000_000 })).toThrow(/PROG_TEST_RUN: EBADF/);
  });

  it("a rejected program throws VerifierError with the log and the failing instruction", () => {
    // r0 = *(u64 *)(r2 + 0): r2 is uninitialised at instruction 1.
    const insns = concat(mov64Imm(0, 0), ldxdw(0, 2, 0), exit());
    try {
      progLoad({ type: BpfProgType.SOCKET_FILTER, instructions: insns, license: "GPL" });
      throw new Error("expected a verifier error");
    } catch (e) {
      expect(e).toBeInstanceOf(VerifierError);
      const err = e as VerifierError;
      expect(err.command).toBe("PROG_LOAD");
      expect(err.code).toBe("EACCES");
      expect(err.instruction).toBe(1);
      expect(err.log).toMatch(/R2 !read_ok/);
      expect(err.message).toContain("at instruction 1");
    }
  });

  it("PROG_LOAD errors: EINVAL for an unknown program type, E2BIG for too many instructions", () => {
    expect(() => progLoad({ type: 9999, instructions: returnZero(), license: "GPL" })).toThrow(
      /PROG_LOAD: EINVAL/,
    );
    const huge = new Uint8Array(8 * 1_000_001);
    try {
      progLoad({ type: BpfProgType.SOCKET_FILTER, instructions: huge, license: "GPL" });
      throw new Error("expected E2BIG");
    } catch (e) {
      expect(e).toBeInstanceOf(BpfError);
      expect((e as BpfError).code).toBe("E2BIG");
    }
  });

  it("ENOSPC: a log buffer too small for the verifier log grows until it fits", () => {
    // 20 instructions at log level 2 print far more than the 128-byte minimum.
    const insns = concat(...Array.from({ length: 19 }, (_, i) => mov64Imm(0, i)), exit());
    const r = progLoad({
      type: BpfProgType.SOCKET_FILTER,
      instructions: insns,
      license: "GPL",
      logLevel: BpfLogLevel.INSNS,
      logSize: 128,
    });
    open.push({ close: () => closeSync(r.fd) });
    expect(r.logSize).toBeGreaterThan(128);
    expect(r.log).toContain("processed 20 insns");
    expect(r.log.length).toBeGreaterThan(128);
  });

  it("loadProgram: spec maps, map_fd relocation, caller maps, and owned maps closing with the program", () => {
    // r1 = map; r2 = fp - 4 with key 0; call map_lookup_elem; return 0
    const insns = concat(
      ldImm64(1),
      mov64Imm(2, 0),
      // *(u32 *)(r10 - 4) = 0
      new Uint8Array([0x62, 0x0a, 0xfc, 0xff, 0, 0, 0, 0]),
      new Uint8Array([0xbf, 0xa2, 0, 0, 0, 0, 0, 0]),
      new Uint8Array([0x07, 0x02, 0, 0, 0xfc, 0xff, 0xff, 0xff]),
      call(BPF_FUNC_map_lookup_elem),
      mov64Imm(0, 0),
      exit(),
    );
    const spec: ProgramSpec = {
      name: "ts_lookup",
      type: BpfProgType.SOCKET_FILTER,
      license: "GPL",
      instructions: specInstructions(insns, [{ kind: "map_fd", insn: 0, map: { name: "counts" } }]),
      maps: [{ name: "counts", type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }],
    };
    const p = loadProgram(spec);
    expect(p.maps).toHaveLength(1);
    const mapId = p.maps[0]!.info().id;
    expect(p.info().mapIds).toEqual([mapId]);
    // The spec's instructions are untouched: the fd went into the encoded copy only.
    expect(spec.instructions[0]).toMatchObject({ dst: 1, imm: 0, map: { name: "counts" } });
    p.close();
    expect(p.maps[0]!.closed).toBe(true);

    // A map the caller owns, by name.
    const mine = BpfMap.create({
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 1,
      name: "ts_mine",
    });
    open.push(mine);
    const q = loadProgram({ ...spec, maps: [] }, { maps: { counts: mine } });
    open.push(q);
    expect(q.maps).toHaveLength(0);
    expect(q.info().mapIds).toEqual([mine.info().id]);
    // By handle.
    const byHandle = loadProgram({
      ...spec,
      maps: [],
      instructions: specInstructions(insns, [{ kind: "map_fd", insn: 0, map: { handle: mine } }]),
    });
    open.push(byHandle);
    expect(byHandle.info().mapIds).toEqual([mine.info().id]);
  });

  it("loadProgram: read-only data is a frozen BPF_F_RDONLY_PROG map referenced by map_value", () => {
    // r0 = *(u8 *)(rodata + 3): returns 'd' from "abcd".
    const insns = concat(ldImm64(1), new Uint8Array([0x71, 0x10, 0, 0, 0, 0, 0, 0]), exit());
    const p = loadProgram({
      type: BpfProgType.SOCKET_FILTER,
      license: "GPL",
      instructions: specInstructions(insns, [
        { kind: "map_value", insn: 0, map: { name: ".rodata" }, offset: 3 },
      ]),
      readonlyData: [{ name: ".rodata", bytes: new TextEncoder().encode("abcd") }],
    });
    open.push(p);
    expect(p.testRun({ dataIn: new Uint8Array(64) }).retval).toBe("d".charCodeAt(0));
    const ro = p.maps[0]!;
    const info = ro.info();
    expect(info).toMatchObject({ name: ".rodata", maxEntries: 1, valueSize: 4 });
    expect(info.flags & BpfMapFlag.RDONLY_PROG).toBe(BpfMapFlag.RDONLY_PROG);
    expect(() => ro.set(new Uint8Array(4), new Uint8Array(4))).toThrow(/EPERM/); // frozen
    const view = BpfMap.fromId(info.id, { key: codecs.u32 });
    open.push(view);
    expect(new TextDecoder().decode(view.get(0))).toBe("abcd");
  });

  it("loadProgram: a failed load closes the maps it created; bad map references are RangeErrors", () => {
    const before = openFdCount();
    const bad = concat(ldImm64(1), ldxdw(0, 3, 0), exit());
    expect(() =>
      loadProgram({
        type: BpfProgType.SOCKET_FILTER,
        license: "GPL",
        instructions: specInstructions(bad, [
          { kind: "map_value", insn: 0, map: { name: ".rodata" }, offset: 0 },
        ]),
        readonlyData: [{ name: ".rodata", bytes: new Uint8Array(8) }],
      }),
    ).toThrow(VerifierError);
    // A map reference on an instruction that is not an ld_imm64.
    const onMov = specInstructions(returnZero(), [{ kind: "map_fd", insn: 0, map: { name: "x" } }]);
    const load = (instructions: Instruction[]) => () =>
      loadProgram({ type: BpfProgType.SOCKET_FILTER, license: "GPL", instructions });
    expect(load(onMov)).toThrow(RangeError);
    expect(load(onMov)).toThrow(/only ld_imm64 map fd \/ map value take a map reference/);
    // A map neither the spec nor the caller has. (A reference cannot point
    // outside the program any more: it sits on its instruction.)
    const unknown = specInstructions(concat(ldImm64(1), returnZero()), [
      { kind: "map_fd", insn: 0, map: { name: "x" } },
    ]);
    expect(load(unknown)).toThrow(RangeError);
    expect(load(unknown)).toThrow(/refers to map "x", which neither the spec nor options.maps has/);
    // The .rodata map created for the failed load was closed again.
    expect(openFdCount()).toBe(before);
  });
});

/** A BTF blob with `int` (id 1), `int (void)` (id 2) and FUNC `name` (id 3), plus extra strings. */
function tinyBtf(
  funcName: string,
  extra: string[],
): { blob: Uint8Array; str: Map<string, number> } {
  const names = ["", "int", funcName, ...extra];
  const str = new Map<string, number>();
  const parts: Uint8Array[] = [];
  let len = 0;
  for (const n of names) {
    str.set(n, len);
    const b = new TextEncoder().encode(`${n}\0`);
    parts.push(b);
    len += b.length;
  }
  const strings = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    strings.set(p, at);
    at += p.length;
  }
  const types = new DataView(new ArrayBuffer(16 + 12 + 12));
  // INT "int": name, info (kind 1), size 4, encoding signed, 32 bits.
  types.setUint32(0, str.get("int")!, true);
  types.setUint32(4, 1 << 24, true);
  types.setUint32(8, 4, true);
  types.setUint32(12, (1 << 24) | 32, true);
  // FUNC_PROTO, no params, returns int.
  types.setUint32(16, 0, true);
  types.setUint32(20, 13 << 24, true);
  types.setUint32(24, 1, true);
  // FUNC funcName (global linkage) → proto 2.
  types.setUint32(28, str.get(funcName)!, true);
  types.setUint32(32, (12 << 24) | 1, true);
  types.setUint32(36, 2, true);
  const header = new DataView(new ArrayBuffer(24));
  header.setUint16(0, 0xeb9f, true);
  header.setUint8(2, 1);
  header.setUint32(4, 24, true);
  header.setUint32(8, 0, true);
  header.setUint32(12, types.byteLength, true);
  header.setUint32(16, types.byteLength, true);
  header.setUint32(20, strings.length, true);
  return {
    blob: concat(new Uint8Array(header.buffer), new Uint8Array(types.buffer), strings),
    str,
  };
}

describeKernel("program BTF, func info and line info", () => {
  it("loadProgram passes prog_btf_fd, func_info and line_info: the verifier log shows the source line", () => {
    const { blob, str } = tinyBtf("ts_lines", ["prog.c", "return r3_is_not_set;"]);
    const btf = btfLoad(blob);
    try {
      const funcInfo = new DataView(new ArrayBuffer(8));
      funcInfo.setUint32(0, 0, true); // insn_off
      funcInfo.setUint32(4, 3, true); // FUNC id
      const lineInfo = new DataView(new ArrayBuffer(16));
      lineInfo.setUint32(0, 0, true); // insn_off
      lineInfo.setUint32(4, str.get("prog.c")!, true);
      lineInfo.setUint32(8, str.get("return r3_is_not_set;")!, true);
      lineInfo.setUint32(12, (7 << 10) | 3, true); // line 7, column 3
      const spec: ProgramSpec = {
        type: BpfProgType.SOCKET_FILTER,
        name: "ts_lines",
        license: "GPL",
        instructions: specInstructions(concat(mov64Imm(0, 0), exit())),
        funcInfo: { recordSize: 8, records: new Uint8Array(funcInfo.buffer) },
        lineInfo: { recordSize: 16, records: new Uint8Array(lineInfo.buffer) },
      };
      const ok = loadProgram(spec, { btf: { fd: btf.fd } });
      try {
        const info = ok.info();
        expect(info.btfId).toBeGreaterThan(0);
      } finally {
        ok.close();
      }
      // r0 = r3 (never set): refused, and the log quotes the line.
      const bad = concat(new Uint8Array([0xbf, 0x30, 0, 0, 0, 0, 0, 0]), exit());
      let err: unknown;
      try {
        loadProgram(
          { ...spec, instructions: specInstructions(bad) },
          { btf: { fd: btf.fd } },
        ).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(VerifierError);
      // Kernels before 6.4 print the source line without " @ file:line".
      expect((err as VerifierError).log).toMatch(/; return r3_is_not_set;( @ prog\.c:7)?\n/);
      // Without options.btf the records are not passed (and the load works as before).
      loadProgram(spec).close();
      expect(() =>
        progLoad({
          type: BpfProgType.SOCKET_FILTER,
          instructions: returning(0),
          license: "GPL",
          funcInfo: new Uint8Array(8),
          funcInfoRecSize: 8,
        }),
      ).toThrow(/need progBtfFd/);
    } finally {
      closeSync(btf.fd);
    }
  });
});
