// Output of the bpf-iter CLI: an aligned table, or one JSON object per line.

export type Cell = string | number | bigint | boolean | null | undefined;
export type Row = Record<string, Cell>;

export interface Column {
  /** Key in the row objects. */
  readonly key: string;
  /** Header text (default: key in upper case). */
  readonly header?: string;
  /** Right-align (numbers). */
  readonly right?: boolean;
}

function cellText(value: Cell): string {
  if (value === null || value === undefined) return "-";
  return String(value);
}

/** Rows as a table whose columns are padded to the widest cell; the last column is not padded. */
export function formatTable(rows: readonly Row[], columns: readonly Column[]): string {
  const headers = columns.map((c) => c.header ?? c.key.toUpperCase());
  const cells = rows.map((row) => columns.map((c) => cellText(row[c.key]).replace(/[\n\t]/g, " ")));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => {
        const last = i === values.length - 1;
        if (columns[i]!.right) return v.padStart(widths[i]!);
        return last ? v : v.padEnd(widths[i]!);
      })
      .join("  ");
  return [line(headers), ...cells.map(line)].map((l) => `${l.trimEnd()}\n`).join("");
}

/** JSON of one row; bigints become numbers when exact, strings otherwise. */
export function jsonLine(row: object): string {
  return `${JSON.stringify(row, (_key, value: unknown) =>
    typeof value === "bigint"
      ? value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value.toString()
      : value instanceof Uint8Array
        ? Buffer.from(value).toString("hex")
        : value,
  )}\n`;
}
