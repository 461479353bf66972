// Issue 13 against the kernel: overlapping reads on one reader (finding 3), a
// program asking for a replay forever (finding 6), a loaded program used for
// another target (finding 5).
import { loadProgram } from "@ts-ebpf/syscall";
import { describeKernel } from "@ts-ebpf/testing";
import { expect, it } from "vitest";
import { createIterator, IteratorError } from "../src/index.js";
import {
  lacksLoadedTargetCheck,
  lacksTarget,
  openFds,
  openFdsSettled,
  tinyHash,
} from "./helpers.js";
import {
  alwaysReplayProgram,
  ksymAddressProgram,
  ksymSeqNumProgram,
  taskLineProgram,
} from "./programs.js";

/** The u64 values of a ksymSeqNumProgram output. */
function seqNums(buf: Buffer): bigint[] {
  expect(buf.length % 8).toBe(0);
  return Array.from(
    new BigUint64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)),
  );
}

/**
 * A complete, unmixed pass: starts at 0 and each seq_num is the one before or
 * the next (the ksym iterator repeats one where kernel symbols end and module
 * symbols begin), so a chunk missing, repeated or out of order shows as a
 * jump; about as long as the reference pass (BPF programs loaded meanwhile
 * add or remove a few symbols).
 */
function expectWholePass(buf: Buffer, reference: number, what: string): void {
  const nums = seqNums(buf);
  expect(nums[0], what).toBe(0n);
  const jump = nums.findIndex((n, i) => i > 0 && n !== nums[i - 1]! && n !== nums[i - 1]! + 1n);
  expect(jump, `${what}: record ${jump} is ${nums[jump]} after ${nums[jump - 1]}`).toBe(-1);
  expect(nums.length, what).toBeGreaterThan(reference * 0.95);
  expect(nums.length, what).toBeLessThan(reference * 1.05);
}

describeKernel("overlapping reads on one reader (ksym iterator)", () => {
  it("two readAll() at once: one whole pass, the other an IteratorError", async (ctx) => {
    const why = lacksTarget("ksym"); // (6.0+: the 5.10 guest has none)
    if (why) return ctx.skip(why);
    await using link = createIterator(ksymSeqNumProgram(), "ksym");
    for (let round = 0; round < 5; round++) {
      // Per round: other processes loading BPF programs change the symbol count.
      const reference = seqNums(await link.open().readAll()).length;
      expect(reference).toBeGreaterThan(10_000);
      const reader = link.open({ chunkSize: 4096 });
      const results = await Promise.allSettled([reader.readAll(), reader.readAll()]);
      let whole = 0;
      for (const r of results) {
        if (r.status === "fulfilled") {
          expectWholePass(r.value, reference, `round ${round}`);
          whole++;
        } else {
          expect(r.reason).toBeInstanceOf(IteratorError);
        }
      }
      expect(whole).toBeGreaterThanOrEqual(1);
    }
  });

  it("read() calls four at a time, and read() with readAll(): the chunks make one whole pass", async (ctx) => {
    const why = lacksTarget("ksym"); // (6.0+: the 5.10 guest has none)
    if (why) return ctx.skip(why);
    await using link = createIterator(ksymSeqNumProgram(), "ksym");
    for (let round = 0; round < 3; round++) {
      const reference = seqNums(await link.open().readAll()).length;
      const reader = link.open({ chunkSize: 4096 });
      const chunks: Buffer[] = [];
      for (;;) {
        const batch = await Promise.all([
          reader.read(),
          reader.read(),
          reader.read(),
          reader.read(),
        ]);
        for (const c of batch) if (c) chunks.push(c);
        if (batch.includes(null)) break;
      }
      expectWholePass(Buffer.concat(chunks), reference, `read() ×4, round ${round}`);

      const mixed = link.open({ chunkSize: 4096 });
      const [first, rest] = await Promise.allSettled([mixed.read(), mixed.readAll()]);
      expect(first.status).toBe("fulfilled");
      const head = (first as PromiseFulfilledResult<Buffer>).value;
      let tail: Buffer;
      if (rest.status === "fulfilled") {
        tail = rest.value;
      } else {
        // Refused while read() was pending: the rest is still there for a later readAll().
        expect(rest.reason).toBeInstanceOf(IteratorError);
        tail = await mixed.readAll();
      }
      expectWholePass(Buffer.concat([head, tail]), reference, `read() + readAll(), round ${round}`);
    }
  });

  it("close() during a pending read: the read returns, reads queued behind it are refused, then the fd closes", async (ctx) => {
    const why = lacksTarget("ksym"); // (6.0+: the 5.10 guest has none)
    if (why) return ctx.skip(why);
    await using link = createIterator(ksymSeqNumProgram(), "ksym");
    for (let round = 0; round < 5; round++) {
      const before = openFds();
      const reader = link.open({ chunkSize: 4096 });
      const first = reader.read();
      const queued = [reader.read(), reader.readAll()].map((p) =>
        p.then(
          () => "read after close",
          (e: unknown) => e,
        ),
      );
      reader.close();
      expect(reader.closed).toBe(true);
      const chunk = await first;
      expect(seqNums(chunk!)[0]).toBe(0n);
      for (const q of await Promise.all(queued)) expect(q).toBeInstanceOf(IteratorError);
      expect(await openFdsSettled(before)).toBe(before);
      await expect(reader.read()).rejects.toThrow(/closed/);
    }
  });
});

describeKernel("a program asking for a replay forever", () => {
  it("readAll() and readAllSync() end with an IteratorError saying the program keeps asking for a replay", async () => {
    await using link = createIterator(alwaysReplayProgram(), "task");
    const before = openFds();
    const err = await link
      .open()
      .readAll()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IteratorError);
    expect(String(err)).toMatch(/task iterator program keeps asking for a replay/);
    expect(() => link.open().readAllSync()).toThrow(/keeps asking for a replay/);
    expect(await openFdsSettled(before)).toBe(before);
  }, 60_000); // hangs forever where replays are retried without a bound
});

describeKernel("createIterator with a loaded program checks its target", () => {
  it("a program loaded for one target is refused for another, naming both; no fd is left", (ctx) => {
    const why = lacksLoadedTargetCheck();
    if (why) return ctx.skip(why);
    const noKsym = lacksTarget("ksym"); // its other target
    if (noKsym) return ctx.skip(noKsym);
    using taskProg = loadProgram(taskLineProgram("task\n"));
    using map = tinyHash("iter_mismatch");
    void map.fd; // the handle's shared fd, made on first use and closed with the map
    const before = openFds();
    const mismatch = (run: () => unknown) => {
      try {
        run();
      } catch (e) {
        return e;
      }
      return new Error("accepted");
    };
    const asMapElem = mismatch(() => createIterator(taskProg, "bpf_map_elem", { map }).close());
    expect(asMapElem).toBeInstanceOf(IteratorError);
    expect(String(asMapElem)).toMatch(
      /program was loaded for the task iterator, not for bpf_map_elem/,
    );
    expect(String(asMapElem)).not.toMatch(/BTF|\bid\b/);
    const asKsym = mismatch(() => createIterator(taskProg, "ksym").close());
    expect(String(asKsym)).toMatch(/loaded for the task iterator, not for ksym/);
    expect(openFds()).toBe(before);

    // The right target works, and update() checks the same way.
    using link = createIterator(taskProg, "task");
    expect(link.info().target).toBe("task");
    using ksymProg = loadProgram(ksymAddressProgram());
    expect(() => link.update(ksymProg)).toThrow(/loaded for the ksym iterator, not for task/);
  });

  it("a program given as { fd } is read once: a getter cannot swap in a program for another target after the check", (ctx) => {
    const why = lacksLoadedTargetCheck();
    if (why) return ctx.skip(why);
    const noKsym = lacksTarget("ksym"); // its other target
    if (noKsym) return ctx.skip(noKsym);
    using taskProg = loadProgram(taskLineProgram("task\n"));
    using ksymProg = loadProgram(ksymAddressProgram());
    let reads = 0;
    // The task program for the first read (the check), the ksym program after.
    const swapping = {
      get fd() {
        return reads++ === 0 ? taskProg.fd : ksymProg.fd;
      },
    };
    using link = createIterator(swapping, "task");
    expect(reads).toBe(1);
    expect(link.info().progId).toBe(taskProg.info().id);
    reads = 0;
    expect(() => link.update(swapping)).not.toThrow();
    expect(reads).toBe(1);
    expect(link.info().progId).toBe(taskProg.info().id);
  });

  it("a program that is no iterator program is refused as such", () => {
    using taskProg = loadProgram(taskLineProgram("x\n"));
    using link = createIterator(taskProg, "task");
    // A link fd is no program fd.
    expect(() => createIterator({ fd: link.fd }, "task")).toThrow(
      /is not a loaded BPF program: it is a BPF link/,
    );
  });
});
