// The cpu v4 instructions (6.6+: sdiv/smod, movsx, sign-extending loads,
// bswap, gotol) through the real verifier and JIT: the program computes them
// for each task's pid and the test checks the results against JavaScript.
import { loadKernelBtf } from "@ts-ebpf/btf";
import { kernelVersion } from "@ts-ebpf/syscall";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import {
  bswap,
  buildIterProgram,
  gotol,
  iterContext,
  iterReturn,
  jeq,
  label,
  ldxsx,
  loadField,
  mov,
  movsx,
  neg,
  sdiv,
  seqPrintf,
  smod,
  stx,
} from "../src/index.js";
import { runIterator } from "./run-iterator.js";

const [major, minor] = kernelVersion();
const hasCpuV4 = major > 6 || (major === 6 && minor >= 6);

describeKernel("cpu v4 instructions in the kernel", () => {
  it.skipIf(!hasCpuV4)(
    `sdiv, smod, movsx, ldxsx, bswap and gotol compute what JavaScript does (needs 6.6+, running ${major}.${minor})`,
    () => {
      const btf = loadKernelBtf();
      const ctx = iterContext(btf, "task", "r6");
      const built = buildIterProgram(ctx, [
        ctx.save(),
        ctx.meta.seq("r7"),
        ctx.loadNonNull("r8", "task"),
        loadField(btf, "r8", "r8", "task_struct", "pid"),
        mov("r1", "r8"),
        neg("r1"),
        mov("r2", "r1"),
        sdiv("r1", 7), // -pid s/ 7
        smod("r2", 7), // -pid s% 7
        movsx("r3", "r8", 8), // (s8)pid
        stx("u64", "r10", -64, "r8"),
        ldxsx("s16", "r4", "r10", -64), // *(s16 *)&pid
        mov("r5", "r8"),
        bswap("r5", 16),
        // The verifier rejects unreachable code: "dead" is reachable, never taken.
        jeq("r8", -1, "dead"),
        gotol("skip"),
        label("dead"),
        mov("r5", -1),
        label("skip"),
        // Arguments go below the 64 bytes used above.
        seqPrintf("r7", "%d %lld %lld %lld %lld %lld\n", ["r8", "r1", "r2", "r3", "r4", "r5"], {
          stackUsed: 64,
        }),
        iterReturn(0),
      ]);
      const text = runIterator(built.spec);
      const p = process.pid;
      const s8 = (p << 24) >> 24;
      const s16 = (p << 16) >> 16;
      const swapped = ((p & 0xff) << 8) | ((p >> 8) & 0xff);
      const expected = `${p} ${Math.trunc(-p / 7)} ${-(p % 7)} ${s8} ${s16} ${swapped}`;
      expect(text.split("\n")).toContain(expected);
    },
  );
});
