// Output of the bpf-iter CLI: an aligned table, or one JSON object per line.

import { writeSync } from "node:fs";

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
  const widths = headers.map((h) => h.length);
  // One pass, plain loops: this runs once per CLI start, before any of it is optimised.
  const cells: string[][] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const line = new Array<string>(columns.length);
    for (let i = 0; i < columns.length; i++) {
      let text = cellText(row[columns[i]!.key]);
      if (text.includes("\n") || text.includes("\t")) text = text.replace(/[\n\t]/g, " ");
      line[i] = text;
      if (text.length > widths[i]!) widths[i] = text.length;
    }
    cells[r] = line;
  }
  const last = columns.length - 1;
  const line = (values: readonly string[]) => {
    let out = "";
    for (let i = 0; i <= last; i++) {
      const v = values[i]!;
      if (i > 0) out += "  ";
      if (columns[i]!.right) out += v.padStart(widths[i]!);
      else out += i === last ? v : v.padEnd(widths[i]!);
    }
    return `${out.trimEnd()}\n`;
  };
  let out = line(headers);
  for (const c of cells) out += line(c);
  return out;
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

/**
 * Text on stdout, written right away with write(2) on fd 1. process.stdout
 * would do the same for a file, pipe or terminal, but loading it loads
 * node:stream (~2.5 ms of a built-in's whole run). A reader that closed the
 * pipe ends the run quietly (exit 0, as `bpf-iter tasks | head`).
 */
export function write(text: string | Uint8Array): void {
  try {
    writeAll(1, typeof text === "string" ? Buffer.from(text, "utf8") : text);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EPIPE") process.exit(0);
    throw new Error(`writing output: ${(err as Error).message}`, { cause: err });
  }
}

/** Every byte of `bytes` to `fd`; a full non-blocking pipe or terminal is waited on. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/**
 * Text on stdout through process.stdout, for commands that run on (--watch,
 * serve): its writes never block the event loop, so SIGINT and SIGTERM are
 * handled while a reader is slow, which write()'s waiting on a full pipe
 * would hold off. handleStdoutErrors() first.
 */
export function streamWrite(text: string): void {
  process.stdout.write(text);
}

/**
 * What process.stdout's writes failing does: a closed pipe ends the run
 * quietly (exit 0), another error is `bpf-iter: writing output: …` and 1.
 * For the whole CLI (main.js); the built-ins' fast path never loads
 * process.stdout (node:stream).
 */
export function handleStdoutErrors(): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    process.stderr.write(`bpf-iter: writing output: ${err.message}\n`);
    process.exit(1);
  });
}

/** What writeAll() sleeps on (1 ms) while a non-blocking fd is full. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Rows on stdout: a table, or one JSON object per line. */
export function print(rows: readonly object[], columns: readonly Column[], json: boolean): void {
  if (json) {
    // Chunks keep memory flat for large dumps (ksyms, maps).
    let out = "";
    for (const r of rows) {
      out += jsonLine(r);
      if (out.length > 1 << 20) {
        write(out);
        out = "";
      }
    }
    write(out);
  } else {
    write(formatTable(rows as Row[], columns));
  }
}

/**
 * Runs a CLI command: its exit code, or `bpf-iter: <message>` and 1 when it
 * throws; `done` (closing what the command loaded) runs when it succeeds.
 * `bpf-iter ksyms | head`: a closed pipe ends the output quietly, as with other tools.
 */
export function runCommand(command: () => Promise<number>, done: () => void): void {
  command().then(
    (code) => {
      done();
      process.exitCode = code;
    },
    (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`bpf-iter: ${message}\n`);
      process.exitCode = 1;
    },
  );
}
