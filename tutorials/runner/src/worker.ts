// The notebook kernel: one child process per chapter, running the chapter's compiled cells in
// order in this process's own global scope (one realm, so a Uint8Array made by a cell is the
// same Uint8Array the packages check for). The parent sends cells over IPC and gets back each
// cell's stdout, stderr, value or error.
import { isBuiltin } from "node:module";
import { pathToFileURL } from "node:url";
import { runInThisContext } from "node:vm";
import { describeError, formatValue } from "./format.js";
import {
  type CellResult,
  IMPORT_FUNCTION,
  type WorkerRequest,
  type WorkerResponse,
} from "./protocol.js";

const partDir = process.env.TS_EBPF_NOTEBOOK_DIR ?? process.cwd();
const partUrl = pathToFileURL(`${partDir}/`);

// Bare specifiers resolve from this package (tutorials/), which depends on every
// @ts-ebpf package; relative ones from the part's folder.
(globalThis as Record<string, unknown>)[IMPORT_FUNCTION] = (specifier: string) => {
  if (specifier.startsWith(".") || specifier.startsWith("/")) {
    return import(new URL(specifier, partUrl).href);
  }
  if (isBuiltin(specifier)) return import(specifier);
  return import(specifier);
};

let stdout = "";
let stderr = "";

function capture(stream: NodeJS.WriteStream, append: (s: string) => void): void {
  stream.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const text =
      typeof chunk === "string"
        ? chunk
        : Buffer.from(chunk as Uint8Array).toString(
            typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8",
          );
    append(text);
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof stream.write;
}
capture(process.stdout, (s) => {
  stdout += s;
});
capture(process.stderr, (s) => {
  stderr += s;
});

// Failures that escape a cell (a rejected promise nobody awaited) show in that cell's stderr.
process.on("unhandledRejection", (reason) => {
  stderr += `Unhandled rejection: ${describeError(reason)}\n`;
});
process.on("uncaughtException", (error) => {
  stderr += `Uncaught exception: ${describeError(error)}\n`;
});

function send(message: WorkerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    process.send!(message, (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

async function runCell(code: string, filename: string): Promise<CellResult> {
  stdout = "";
  stderr = "";
  let value: string | undefined;
  let error: CellResult["error"];
  try {
    const result: unknown = await runInThisContext(code, { filename });
    value = formatValue(result);
  } catch (e) {
    error = {
      text: describeError(e),
      stack: e instanceof Error ? (e.stack ?? "") : "",
    };
  }
  // Let output written by callbacks the cell scheduled just before ending land in this cell.
  await new Promise((resolve) => setImmediate(resolve));
  const result: CellResult = { stdout, stderr };
  if (value !== undefined) result.value = value;
  if (error) result.error = error;
  return result;
}

process.on("message", (request: WorkerRequest) => {
  if (request.type === "exit") {
    process.exit(0);
  }
  void runCell(request.code, request.filename).then((result) =>
    send({ type: "result", index: request.index, result }),
  );
});

void send({ type: "ready" });
