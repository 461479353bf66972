// Kernel test files whose outcome depends on Node and the addon, not on the
// kernel: the kernel only hands them fds (any map or iterator does), and what
// they check is JavaScript and native code (fd ownership, finalizers, buffer
// checks made before anything reaches the kernel, buffers a read fills). The
// host's `pnpm test` runs them on the host's Node; a run of the guests runs
// them once per other Node major, on the host with that major's binary (where
// the host can run kernel tests; else in the first guest with that major), and
// leaves them out of the guests. Every other kernel test, the support matrix
// test included, runs in every guest.

export interface NodeOnlyFile {
  /** Path relative to the repository. */
  file: string;
  /** Why the kernel cannot change its outcome. */
  why: string;
}

export const NODE_ONLY_FILES: readonly NodeOnlyFile[] = [
  {
    file: "packages/syscall/test/leak.kernel.test.ts",
    why: "fds of dropped handles closed by the FinalizationRegistry: GC and native finalizers",
  },
  {
    file: "packages/syscall/test/ownership.kernel.test.ts",
    why: "each fd has one owner (constructors that throw, closed or reused fd numbers): JS and native handle code",
  },
  {
    file: "packages/syscall/test/ownership-internals.kernel.test.ts",
    why: "the open-file comparison and pin-mode checks inside the handles",
  },
  {
    file: "packages/syscall/test/buffers.kernel.test.ts",
    why: "buffers refused with a RangeError before anything reaches the kernel",
  },
  {
    file: "packages/syscall/test/codec-isolation.kernel.test.ts",
    why: "caller code cannot reach the preset attrs or detach their buffers: V8 buffer semantics",
  },
  {
    file: "packages/iter/test/ownership.kernel.test.ts",
    why: "a reader's fd has one owner; the finalizer never closes it twice",
  },
  {
    file: "packages/iter/test/detach.kernel.test.ts",
    why: "buffers a read(2) in flight fills cannot be detached: V8 and the thread pool",
  },
];

/** A guest of a run: its kernel name and the Node major its tests run with. */
export interface GuestNode {
  kernel: string;
  nodeMajor: number;
}

/**
 * For each guest, in order, why it leaves the Node-only files out, or
 * undefined when it runs them: the host's Node major runs them on the host
 * (`pnpm test`); any other major runs them on the host too when `otherMajorsOnHost`
 * (this command, beside the guests: runNodeOnlyOnHost), else in the
 * first guest that has it.
 */
export function nodeOnlyElsewhere(
  guests: readonly GuestNode[],
  hostMajor: number,
  otherMajorsOnHost = false,
): (string | undefined)[] {
  const runBy = new Map<number, string>([[hostMajor, "on the host"]]);
  return guests.map((g) => {
    const other =
      runBy.get(g.nodeMajor) ?? (otherMajorsOnHost ? "on the host, beside the guests" : undefined);
    if (other !== undefined) return `Node ${g.nodeMajor} runs them ${other}`;
    runBy.set(g.nodeMajor, `in the ${g.kernel} guest`);
    return undefined;
  });
}

/** The Node majors of `guests` other than the host's, each once, in order. */
export function otherNodeMajors(guests: readonly GuestNode[], hostMajor: number): number[] {
  return [...new Set(guests.map((g) => g.nodeMajor))].filter((m) => m !== hostMajor);
}
