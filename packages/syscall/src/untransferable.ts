// worker_threads' markAsUntransferable, loaded on first use: importing
// node:worker_threads loads Node's whole worker machinery (~4 ms), which a
// CLI run that never makes a Map handle or reads on the thread pool skips.

type Mark = (object: object) => void;
let mark: Mark | undefined;

/**
 * Marks `buffer` untransferable: postMessage cannot detach (and so free)
 * memory whose address a syscall's attr holds or a pending read writes.
 */
export function markUntransferable(buffer: ArrayBufferLike): void {
  mark ??= (process.getBuiltinModule("node:worker_threads") as typeof import("node:worker_threads"))
    .markAsUntransferable as Mark;
  mark(buffer);
}
