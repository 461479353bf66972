// The JSON a batch child writes, read by the vitest parent.

export interface Finding {
  /** The callable ("syscall:mapLookupElem"). */
  key: string;
  /** "unexpected-error" | "fd-leak" | "foreign-close" | "hang" | "finalizer-close" | "uncaught" | "harness". */
  kind: string;
  /** Its arguments, described (see describe()). */
  args?: string;
  run?: number;
  /** Error type (constructor name) for unexpected errors. */
  type?: string;
  message: string;
  stack?: string;
}

export interface ExportReport {
  key: string;
  aliases: string[];
  calls: number;
  ms: number;
  /** Outcome → count: "ok", "TypeError", "BpfError", "TypeError(v8)" (an engine message, not the library's), ... */
  outcomes: Record<string, number>;
}

export interface BatchReport {
  package: string;
  seed: number;
  runs: number;
  kernel: boolean;
  fds: { beforeSetup: number; beforeBatch: number; afterBatch: number; afterTeardown: number };
  /** fds open after the batch that were not before it, and the reverse ("12 anon_inode:bpf-map map_id:7"). */
  fdDiff: { added: string[]; removed: string[] };
  exports: ExportReport[];
  /** Exported callables without a signature: the suite fails until they have one. */
  uncovered: string[];
  skipped: { key: string; reason: string }[];
  findings: Finding[];
  /** Why the batch stopped early (a pool fd closed behind the harness...). */
  aborted?: string;
  calls: number;
  durationMs: number;
}
