// bpf-iter <command> --watch: read again every interval and show what
// appeared (+) and disappeared (-) since the previous read. A row is the
// values shown, so a row whose shown values change (a socket's state, a
// process's thread count) shows as "-" with the old values and "+" with the new.

import { type Column, formatTable, jsonLine, type Row } from "./format.js";

export interface RowChanges {
  readonly appeared: readonly object[];
  readonly disappeared: readonly object[];
  /** The rows of this read by identity, for the next comparison. */
  readonly current: ReadonlyMap<string, object>;
}

/** Identity of a row: its values (bigints as text), in key order. */
export function rowKey(row: object): string {
  return jsonLine(row);
}

/** What changed between the rows of two reads (identical rows counted with their multiplicity). */
export function diffRows(
  previous: ReadonlyMap<string, object>,
  rows: readonly object[],
): RowChanges {
  const current = new Map<string, object>();
  const appeared: object[] = [];
  const counts = new Map<string, number>();
  for (const row of rows) {
    let key = rowKey(row);
    // Two identical rows (two threads alike) are two entries.
    const n = counts.get(key) ?? 0;
    counts.set(key, n + 1);
    if (n > 0) key = `${key}#${n}`;
    current.set(key, row);
    if (!previous.has(key)) appeared.push(row);
  }
  const disappeared: object[] = [];
  for (const [key, row] of previous) if (!current.has(key)) disappeared.push(row);
  return { appeared, disappeared, current };
}

export interface WatchOptions {
  /** Reads the rows shown (table rows, or records for JSON). */
  readonly read: () => Promise<readonly object[]>;
  readonly columns: readonly Column[];
  readonly json: boolean;
  readonly intervalMs: number;
  readonly write: (text: string) => void;
  /** Ends the watch (after the read in progress). */
  readonly signal: AbortSignal;
  /** The clock (tests). */
  readonly now?: () => Date;
}

/** The lines of one read's changes: a table without header, or JSON lines with "change". */
export function formatChanges(
  changes: Pick<RowChanges, "appeared" | "disappeared">,
  columns: readonly Column[],
  json: boolean,
  at: Date,
): string {
  const time = at.toISOString();
  const tagged = [
    ...changes.disappeared.map((r) => ({ change: "-", time, ...r })),
    ...changes.appeared.map((r) => ({ change: "+", time, ...r })),
  ];
  if (tagged.length === 0) return "";
  if (json) return tagged.map((r) => jsonLine(r)).join("");
  const table = formatTable(tagged as Row[], [
    { key: "change", header: "" },
    { key: "time", header: "TIME" },
    ...columns,
  ]);
  return table.slice(table.indexOf("\n") + 1);
}

/** Reads every interval until `signal` aborts, writing the changes of each read. */
export async function watchRows(options: WatchOptions): Promise<void> {
  const { read, columns, json, intervalMs, write, signal } = options;
  const now = options.now ?? (() => new Date());
  let previous: ReadonlyMap<string, object> = diffRows(new Map(), await read()).current;
  process.stderr.write(
    `bpf-iter: ${previous.size} rows; showing what appears (+) and disappears (-) every ${intervalMs / 1000} s\n`,
  );
  while (!signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
    if (signal.aborted) break;
    const changes = diffRows(previous, await read());
    write(formatChanges(changes, columns, json, now()));
    previous = changes.current;
  }
}
