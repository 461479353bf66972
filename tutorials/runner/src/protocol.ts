// Messages between the runner and its per-chapter kernel process. No imports: the
// kernel process loads this, and a chapter's process start is seconds under TCG.

/** The global function through which cells import modules (resolved from the tutorials package). */
export const IMPORT_FUNCTION = "__notebookImport";

export interface CellResult {
  stdout: string;
  stderr: string;
  /** The last expression's value as shown under the cell; absent when undefined. */
  value?: string;
  /** Present when the cell threw: "Name: message", and the stack for diagnosis only. */
  error?: { text: string; stack: string };
}

export type WorkerRequest =
  | { type: "run"; index: number; code: string; filename: string }
  | { type: "exit" };

export type WorkerResponse =
  | { type: "ready" }
  | { type: "result"; index: number; result: CellResult };
