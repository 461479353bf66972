import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import {
  BpfMap,
  BpfMapType,
  BpfProgType,
  loadProgram,
  progLoad,
  VerifierError,
} from "../src/index.js";
import {
  concat,
  exit,
  ldImm64,
  ldxdw,
  mov64Imm,
  openFdCount,
  specInstructions,
} from "./helpers.js";

const CYCLES = 10_000;
// Generous: the VM harness runs these under TCG, many times slower than the host.
const SLOW = 600_000;

describeKernel("no fd leaks", () => {
  it(
    `${CYCLES} map create/close cycles leave /proc/self/fd unchanged`,
    () => {
      const before = openFdCount();
      for (let i = 0; i < CYCLES; i++) {
        const m = BpfMap.create({
          type: BpfMapType.ARRAY,
          keySize: 4,
          valueSize: 8,
          maxEntries: 1,
        });
        m.set(new Uint8Array(4), new Uint8Array(8));
        m.close();
      }
      expect(openFdCount()).toBe(before);
    },
    SLOW,
  );

  it(
    `${CYCLES} failed loads (verifier rejections, with and without .rodata maps) leave /proc/self/fd unchanged`,
    () => {
      const bad = concat(mov64Imm(0, 0), ldxdw(0, 2, 0), exit());
      const badWithRodata = concat(ldImm64(1), ldxdw(0, 2, 0), exit());
      const before = openFdCount();
      let rejected = 0;
      for (let i = 0; i < CYCLES; i++) {
        try {
          if (i % 2 === 0) {
            // logLevel 1: one PROG_LOAD per failure (level 0 loads again to get a log).
            progLoad({
              type: BpfProgType.SOCKET_FILTER,
              instructions: bad,
              license: "GPL",
              logLevel: 1,
              logSize: 4096,
            });
          } else {
            loadProgram(
              {
                type: BpfProgType.SOCKET_FILTER,
                instructions: specInstructions(badWithRodata, [
                  { kind: "map_value", insn: 0, map: { name: ".rodata" }, offset: 0 },
                ]),
                license: "GPL",
                readonlyData: [{ name: ".rodata", bytes: new Uint8Array(8) }],
              },
              { logLevel: 1, logSize: 4096 },
            );
          }
        } catch (e) {
          if (e instanceof VerifierError) rejected++;
          else throw e;
        }
      }
      expect(rejected).toBe(CYCLES);
      expect(openFdCount()).toBe(before);
    },
    SLOW,
  );

  it("handles dropped without close() are closed by the FinalizationRegistry safety net", () => {
    const script = `
      import { BpfMap, BpfMapType } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      import { readdirSync } from "node:fs";
      const count = () => readdirSync("/proc/self/fd").length;
      const before = count();
      for (let i = 0; i < 200; i++) BpfMap.create({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const leaked = count() - before;
      for (let i = 0; i < 10 && count() > before; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log(JSON.stringify({ leaked, after: count() - before }));
    `;
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", "--input-type=module", "-e", script],
      {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        encoding: "utf8",
      },
    );
    expect(JSON.parse(out)).toEqual({ leaked: 200, after: 0 });
  });
});
