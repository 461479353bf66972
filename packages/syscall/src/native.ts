// Lazy access to the addon: nothing native is loaded until the first syscall,
// so importing the package (or its constants) never touches a .node file.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export interface NativeBinding {
  /**
   * bpf(cmd, attr, size, [offset, buffer | null, length]...) → result ≥ 0 or
   * -errno. `length` is what the kernel reads or writes through the pointer;
   * a shorter buffer is refused with a RangeError right before the syscall.
   */
  bpf(
    cmd: number,
    attr: Uint8Array,
    size: number,
    ...pointers: (number | Uint8Array | null)[]
  ): number;
  /** Address of a buffer's first byte (for attrs prepared once and reused). */
  address(buffer: Uint8Array): bigint;
  /** fcntl(fd, F_DUPFD_CLOEXEC, 3): a new fd ≥ 3 for the same file, or -errno. */
  dupAbove2(fd: number): number;
  /** kcmp(KCMP_FILE): 0 when both fds are the same open file, 1 when not, or -errno. */
  sameFile(a: number, b: number): number;
}

let binding: NativeBinding | undefined;

export function native(): NativeBinding {
  if (binding === undefined) {
    const require = createRequire(import.meta.url);
    const load = require("node-gyp-build") as (dir: string) => NativeBinding;
    // src/native.ts and dist/native.js both sit one level below the package root.
    binding = load(fileURLToPath(new URL("..", import.meta.url)));
  }
  return binding;
}

/** Whether the addon has been loaded (for tests of lazy loading). */
export const nativeLoaded = (): boolean => binding !== undefined;
