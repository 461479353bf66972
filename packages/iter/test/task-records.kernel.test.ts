import { readFileSync } from "node:fs";
import { describeKernel } from "@ts-ebpf/testing";
import { afterAll, expect, it } from "vitest";
import {
  builtinLayout,
  builtinLink,
  closeBuiltins,
  decodeBuiltin,
  ksyms,
  tasks,
} from "../src/index.js";
import { lacksTarget } from "./helpers.js";

afterAll(() => closeBuiltins());

/** The task record as documented: the raw fields, and the pid namespace from the levels. */
function expected(raw: Record<string, unknown>): Record<string, unknown> {
  const n = (k: string) => raw[k] as number;
  const down = n("childLevel") - n("pidLevel");
  const pidns =
    n("netns") === 0
      ? 0
      : down === 0
        ? n("childPidns")
        : down === 1
          ? n("childPidns1")
          : down === 2
            ? n("childPidns2")
            : 0;
  return {
    tgid: raw.tgid,
    pid: raw.pid,
    ppid: raw.ppid,
    uid: raw.uid,
    gid: raw.gid,
    flags: raw.flags,
    state: raw.state,
    threads: raw.threads,
    startTime: raw.startTime,
    comm: raw.comm,
    netns: raw.netns,
    mntns: raw.mntns,
    pidns,
    pidLevel: raw.pidLevel,
    cgroupId: raw.cgroupId,
  };
}

describeKernel("task records read from the bytes in one step", () => {
  it("equal the decoded raw record converted, for every field and pid-namespace depth", () => {
    const layout = builtinLayout("task");
    const count = 600;
    const bytes = new Uint8Array(count * layout.size);
    const view = new DataView(bytes.buffer);
    const names = ["sleep", "bash", "kworker/0:1", "héllo", "", "0123456789abcdef"];
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    for (let i = 0; i < count; i++) {
      const at = i * layout.size;
      for (let b = 0; b < layout.size; b++) bytes[at + b] = rand() & 0xff;
      const raw = layout.decodeAt(view, at);
      // Levels 0..3 below the children's namespace, and exiting tasks (netns 0).
      const level = rand() % 5;
      layout.encodeAt(
        {
          ...raw,
          comm: names[i % names.length],
          pidLevel: level,
          childLevel: level + (rand() % 4),
          netns: i % 7 === 0 ? 0 : raw.netns,
        },
        view,
        at,
      );
    }
    const got = decodeBuiltin("task", bytes) as Record<string, unknown>[];
    expect(got).toHaveLength(count);
    for (let i = 0; i < count; i++) {
      const want = expected(layout.decodeAt(view, i * layout.size));
      expect(got[i]).toEqual(want);
      expect(Object.keys(got[i]!)).toEqual(Object.keys(want));
    }
  });

  it("tasks() gives this process's threads with their names", async () => {
    const mine = (await tasks()).filter((t) => t.tgid === process.pid);
    expect(mine.length).toBeGreaterThan(0);
    const leader = mine.find((t) => t.pid === process.pid)!;
    expect(leader.comm).toBe(readFileSync(`/proc/${process.pid}/comm`, "utf8").trimEnd());
    expect(leader.ppid).toBe(process.ppid);
    expect(typeof leader.startTime).toBe("bigint");
    expect(typeof leader.cgroupId).toBe("bigint");
  });

  it("a built-in read with readv (several seq buffers a call) gives what one read(2) at a time gives", async (ctx) => {
    const why = lacksTarget("ksym");
    if (why) return ctx.skip(why);
    // Kernel symbols: thousands of records, and the same ones from one read to the next.
    const viaReadv = await ksyms();
    const link = builtinLink("ksym");
    let bytes: Uint8Array;
    try {
      bytes = link.open({ chunkSize: 4096 }).readAllSync();
    } finally {
      link.close();
    }
    const viaRead = decodeBuiltin("ksym", bytes);
    expect(viaReadv.length).toBeGreaterThan(1000);
    expect(viaReadv).toEqual(viaRead);
  });
});
