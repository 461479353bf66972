// bpf-iter --watch: what appeared and disappeared between two reads.
import { describe, expect, it } from "vitest";
import { diffRows, formatChanges, watchRows } from "../src/cli/watch.js";

describe("--watch", () => {
  it("reports rows that appeared and disappeared, identical rows counted apart", () => {
    const first = diffRows(new Map(), [
      { pid: 1, comm: "a" },
      { pid: 2, comm: "b" },
      { pid: 2, comm: "b" },
    ]);
    expect(first.appeared).toHaveLength(3);
    expect(first.disappeared).toHaveLength(0);
    const second = diffRows(first.current, [
      { pid: 2, comm: "b" },
      { pid: 3, comm: "c" },
    ]);
    expect(second.appeared).toEqual([{ pid: 3, comm: "c" }]);
    expect(second.disappeared).toEqual([
      { pid: 1, comm: "a" },
      { pid: 2, comm: "b" },
    ]);
    // A row whose shown values change: the old one goes, the new one comes.
    const third = diffRows(second.current, [
      { pid: 2, comm: "b2" },
      { pid: 3, comm: "c" },
    ]);
    expect(third.appeared).toEqual([{ pid: 2, comm: "b2" }]);
    expect(third.disappeared).toEqual([{ pid: 2, comm: "b" }]);
  });

  it("formats changes as table lines without a header, or JSON lines", () => {
    const at = new Date("2026-01-02T03:04:05.000Z");
    const changes = {
      appeared: [{ pid: 7n, comm: "new" }],
      disappeared: [{ pid: 6n, comm: "old" }],
    };
    const table = formatChanges(changes, [{ key: "pid", right: true }, { key: "comm" }], false, at);
    expect(table).toBe(
      "-  2026-01-02T03:04:05.000Z    6  old\n+  2026-01-02T03:04:05.000Z    7  new\n",
    );
    const json = formatChanges(changes, [], true, at)
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(json).toEqual([
      { change: "-", time: at.toISOString(), pid: 6, comm: "old" },
      { change: "+", time: at.toISOString(), pid: 7, comm: "new" },
    ]);
    expect(formatChanges({ appeared: [], disappeared: [] }, [], false, at)).toBe("");
  });

  it("reads every interval until aborted, writing only the changes", async () => {
    const reads = [[{ id: 1 }], [{ id: 1 }, { id: 2 }], [{ id: 2 }]];
    let n = 0;
    const out: string[] = [];
    const stop = new AbortController();
    await watchRows({
      read: async () => {
        const rows = reads[Math.min(n, reads.length - 1)]!;
        n++;
        if (n === reads.length) stop.abort();
        return rows;
      },
      columns: [{ key: "id" }],
      json: true,
      intervalMs: 1,
      write: (t) => out.push(t),
      signal: stop.signal,
      now: () => new Date(0),
    });
    const lines = out
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { change: string; id: number });
    expect(lines.map((l) => `${l.change}${l.id}`)).toEqual(["+2", "-1"]);
  });
});
