// The guest → host protocol: one JSON object per line on the guest's second
// serial port (ttyS1), which carries nothing else.

export type TestState = "passed" | "failed" | "skipped" | "pending";

export interface TestRecord {
  name: string;
  state: TestState;
  durationMs: number;
  /** Why it skipped (ctx.skip(note) or a `[skipped: ...]` suite name). */
  note?: string;
  /** First lines of the first error, for failures. */
  error?: string;
}

/** Runtime configuration the host passes on the kernel command line. */
export interface GuestConfig {
  kernel: string;
  /** `uname -r` the guest must report. */
  release: string;
  /** The accelerator the guest runs under (tests may scale stress loops down under TCG). */
  accel?: "kvm" | "tcg";
  /** Substring of test file paths (relative to the repository) to run. */
  filter?: string;
  /**
   * Run test files without per-file isolation (one worker per package keeps the
   * modules it imported; the default): under TCG every isolated file pays a
   * worker start and a fresh import of its module graph, 5-50 s per file.
   */
  noIsolate?: boolean;
  /**
   * Why this guest leaves out the kernel-independent files of node-only.ts (their
   * Node major runs them on the host or in another guest); absent: it runs them.
   */
  nodeOnlyElsewhere?: string;
  /** This run's vitest module cache, filled by the host (absent: none). */
  moduleCache?: string;
  /** Run the harness's own fixture instead of the repository's tests. */
  selfTest?: "pass" | "fail" | "hang";
  /** Run the tutorials' test script when it exists. */
  tutorials: boolean;
}

export type GuestEvent =
  | { ev: "boot"; uptime: number; release: string }
  | { ev: "init-done"; uptime: number }
  | { ev: "fatal"; message: string }
  | {
      ev: "plan";
      packages: { dir: string; files: string[] }[];
      tutorials: boolean;
      /** Kernel-independent files left out here, and why (node-only.ts). */
      leftOut?: { files: string[]; why: string };
    }
  | { ev: "phase"; name: string }
  | { ev: "file-start"; pkg: string; file: string }
  /** A test began (the host names it when the guest hangs) and ended: the guest's heartbeat. */
  | { ev: "test-start"; file: string; name: string }
  | { ev: "test-end"; file: string; name: string; state: TestState }
  | { ev: "file"; pkg: string; file: string; tests: TestRecord[]; error?: string }
  | { ev: "run-end"; reason: string; errors: string[] }
  /** The guest still moves: a process started, or a phase without per-test events (the tutorials) printed. */
  | { ev: "heartbeat"; phase: string }
  | { ev: "phase-end"; name: string; code: number; durationMs: number }
  | { ev: "done"; durationMs: number }
  | { ev: "runner-exit"; code: number };

export const encodeConfig = (c: GuestConfig): string =>
  Buffer.from(JSON.stringify(c)).toString("base64url");

export const decodeConfig = (s: string): GuestConfig =>
  JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as GuestConfig;
