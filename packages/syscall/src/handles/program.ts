// Program: owns a program fd and the maps created for it by loadProgram.
import { getFdById } from "../commands/id.js";
import { type ProgInfo, progInfo } from "../commands/info.js";
import {
  type ProgLoadOptions,
  progLoad,
  progTestRun,
  type TestRunOptions,
  type TestRunResult,
} from "../commands/prog.js";
import { expectKind } from "../fds.js";
import { adopt, adoptDupOf, adoptPinned, FdHandle, ownFd } from "./fd.js";
import type { BpfMap } from "./map.js";

let programBrand: (x: object) => boolean;

export class Program extends FdHandle {
  /** `enum bpf_prog_type`. */
  readonly type: number;
  readonly name: string;
  /** The verifier log, when loaded with logLevel > 0. */
  readonly log: string;
  /** Maps this program owns (closed with it). */
  readonly maps: readonly BpfMap<unknown, unknown>[];
  /** Present only on genuine Program handles (see programFdOf). */
  readonly #program = true;

  static {
    programBrand = (x) => #program in x;
  }

  protected constructor(
    fd: number,
    type: number,
    name: string,
    log: string,
    maps: readonly BpfMap<unknown, unknown>[],
  ) {
    super(fd, "prog", `Program ${name || fd}`);
    this.type = type;
    this.name = name;
    this.log = log;
    this.maps = maps;
  }

  /** BPF_PROG_LOAD of raw options (see loadProgram for a ProgramSpec). */
  static load(
    options: ProgLoadOptions,
    ownedMaps: readonly BpfMap<unknown, unknown>[] = [],
  ): Program {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Program.load options must be an object");
    }
    // type and name are read once, before the load: progLoad reads the same
    // values (own data properties over the caller's object), and no getter of
    // the caller's runs inside adopt() (it could build a second handle there).
    const type = options.type;
    const name = options.name;
    const maps = Array.from(ownedMaps);
    const { fd, log } = progLoad(
      Object.create(options, { type: { value: type }, name: { value: name } }),
    );
    return adopt(fd, (owned) => new Program(owned, type, name ?? "", log, maps));
  }

  /**
   * A handle on the program `fd` refers to. The handle works on its own
   * duplicate: `fd` stays the caller's (open, on success and on failure). An
   * ObjectKindError when `fd` is not a program; a RangeError for fds 0-2.
   */
  static fromFd(fd: number): Program {
    return adoptDupOf(fd, "prog", (dup) => Program.#fromOwnedFd(dup));
  }

  /** Opens a pinned program (BPF_OBJ_GET); an ObjectKindError when the pin is not a program. */
  static fromPinned(path: string): Program {
    return adoptPinned(path, "prog", (fd) => Program.#fromOwnedFd(fd));
  }

  static fromId(id: number): Program {
    return adopt(getFdById("prog", id), (fd) => {
      expectKind(fd, "prog", `program id ${id}`);
      return Program.#fromOwnedFd(fd);
    });
  }

  static #fromOwnedFd(fd: number): Program {
    const info = progInfo(fd);
    return new Program(fd, info.type, info.name, "", []);
  }

  info(): ProgInfo {
    return progInfo(ownFd(this));
  }

  /** BPF_PROG_TEST_RUN on this program. */
  testRun(options: Omit<TestRunOptions, "progFd"> = {}): TestRunResult {
    return progTestRun({ ...options, progFd: ownFd(this) });
  }

  override close(): void {
    if (this.closed) return;
    super.close();
    for (const m of this.maps) m.close();
  }
}

/**
 * The private fd of a genuine Program handle (package-internal). A TypeError
 * for anything else, whatever its prototype, `instanceof` answer or own
 * properties say: an object made to look like a Program, or another kind of
 * handle given Program.prototype, has no Program brand.
 */
export function programFdOf(program: Program): number {
  if (typeof program !== "object" || program === null || !programBrand(program)) {
    throw new TypeError("program must be a Program handle from @ts-ebpf/syscall");
  }
  return ownFd(program);
}

/**
 * What the kernel reports about the program a Program handle owns, read from
 * its private fd (exported for @ts-ebpf/iter through ./internal): never
 * through `info()`, which a caller can override on the object (an own
 * property) to pass a security check.
 */
export function programInfoOf(program: Program): ProgInfo {
  return progInfo(programFdOf(program));
}
