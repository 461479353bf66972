// How a cell's value and error read under the cell.
import { inspect } from "node:util";

/** How a value shows under a cell: strings as they are, everything else as util.inspect. */
export function formatValue(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
  return inspect(value, {
    depth: 6,
    breakLength: 100,
    maxArrayLength: 64,
    maxStringLength: 20_000,
  });
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `Uncaught ${inspect(error)}`;
}
