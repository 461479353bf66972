// Errors of the iterator layer. Kernel errors from bpf(2) itself stay the
// syscall package's BpfError; these cover reading an iterator fd and the
// checks done before any syscall.

/** Base class of every error this package throws on its own. */
export class IteratorError extends Error {
  override name = "IteratorError";
}

/**
 * `read()` of an iterator fd failed with E2BIG: one object's output did not fit
 * in the kernel's seq buffer (one page before 5.10, eight pages since), so the
 * kernel could neither emit it nor skip it.
 */
export class IteratorOverflowError extends IteratorError {
  override name = "IteratorOverflowError";
  readonly errno = "E2BIG";
  constructor(readonly target?: string) {
    super(
      `reading the ${target ? `${target} ` : ""}iterator failed with E2BIG: the output of one object ` +
        "exceeded the kernel's seq buffer (8 pages since Linux 5.10, 1 page before); " +
        "write less per object (e.g. split it over several objects or drop fields)",
    );
  }
}

/**
 * A read failed with an errno other than the ones the reader handles itself,
 * or open(2) of a pinned iterator (openPinned) failed: `errno` is its code.
 */
export class IteratorReadError extends IteratorError {
  override name = "IteratorReadError";
  constructor(
    readonly errno: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The running kernel lacks an iterator target (no `bpf_iter_<target>` in its BTF). */
export class UnsupportedTargetError extends IteratorError {
  override name = "UnsupportedTargetError";
  constructor(
    readonly target: string,
    readonly since: string | undefined,
    running: string | undefined,
  ) {
    super(
      since
        ? `iterator target "${target}" needs Linux ${since} or newer` +
            `${running ? ` (running ${running})` : ""}: no bpf_iter_${target} in kernel BTF`
        : `unknown iterator target "${target}": no bpf_iter_${target} in kernel BTF`,
    );
  }
}

/**
 * BPF_PROG_LOAD of a program for this target failed with EPERM although the
 * process holds the BPF capabilities: a security policy of the kernel (a
 * lockdown mode, a BPF LSM program) refuses the target. Seen with targets
 * that read other maps' contents (bpf_map_elem, bpf_sk_storage_map, sockmap)
 * while task, bpf_map, tcp, ... still load. `probeIteratorTarget()` asks ahead.
 */
export class IteratorTargetRefusedError extends IteratorError {
  override name = "IteratorTargetRefusedError";
  readonly errno = "EPERM";
  constructor(
    readonly target: string,
    running: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `the kernel${running ? ` (Linux ${running})` : ""} refuses ${target} iterator programs: ` +
        "BPF_PROG_LOAD failed with EPERM although this process has the BPF capabilities, " +
        "so a kernel security policy (lockdown, a BPF LSM program) blocks this target; " +
        "other targets may still load (probeIteratorTarget() checks one)",
      options,
    );
  }
}

/** A `{ ... }` parameter does not fit the target (checked before any syscall). */
export class IteratorParamError extends TypeError {
  override name = "IteratorParamError";
}

/** The operation was aborted through an AbortSignal. */
export class IteratorAbortError extends IteratorError {
  override name = "AbortError";
  readonly code = "ABORT_ERR";
  constructor(reason?: unknown) {
    super("iterator read aborted", reason === undefined ? undefined : { cause: reason });
  }
}

/**
 * read() of an iterator got EAGAIN, with no output, MAX_EAGAIN_WITHOUT_OUTPUT
 * times in a row: the program keeps returning 1 (asking the kernel to run it
 * again on the same object) and the iteration cannot move on.
 */
export class IteratorReplayError extends IteratorError {
  override name = "IteratorReplayError";
  readonly errno = "EAGAIN";
  constructor(
    readonly target: string | undefined,
    readonly attempts: number,
  ) {
    super(
      `the ${target ? `${target} ` : ""}iterator program keeps asking for a replay: ` +
        `${attempts} reads in a row returned EAGAIN without output, so it returns 1 ` +
        "(run me again on this object) every time and the iteration never moves on; " +
        "return 0 once an object is done (the kernel's own EAGAIN, after 1,000,000 " +
        `objects without output, would mean ${attempts} million silent objects)`,
    );
  }
}
