// Program: owns a program fd and the maps created for it by loadProgram.
import { closeSync } from "node:fs";
import { getFdById } from "../commands/id.js";
import { type ProgInfo, progInfo } from "../commands/info.js";
import { objGet } from "../commands/obj.js";
import {
  type ProgLoadOptions,
  progLoad,
  progTestRun,
  type TestRunOptions,
  type TestRunResult,
} from "../commands/prog.js";
import * as v from "../validate.js";
import { FdHandle } from "./fd.js";
import type { BpfMap } from "./map.js";

export class Program extends FdHandle {
  /** `enum bpf_prog_type`. */
  readonly type: number;
  readonly name: string;
  /** The verifier log, when loaded with logLevel > 0. */
  readonly log: string;
  /** Maps this program owns (closed with it). */
  readonly maps: readonly BpfMap<unknown, unknown>[];

  protected constructor(
    fd: number,
    type: number,
    name: string,
    log: string,
    maps: readonly BpfMap<unknown, unknown>[],
  ) {
    super(fd, `Program ${name || fd}`);
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
    const { fd, log } = progLoad(options);
    return new Program(fd, options.type, options.name ?? "", log, ownedMaps);
  }

  /** Takes ownership of a program fd. */
  static fromFd(fd: number): Program {
    v.fd("fd", fd);
    try {
      const info = progInfo(fd);
      return new Program(fd, info.type, info.name, "", []);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  static fromPinned(path: string): Program {
    return Program.fromFd(objGet(path));
  }

  static fromId(id: number): Program {
    return Program.fromFd(getFdById("prog", id));
  }

  info(): ProgInfo {
    return progInfo(this.fd);
  }

  /** BPF_PROG_TEST_RUN on this program. */
  testRun(options: Omit<TestRunOptions, "progFd"> = {}): TestRunResult {
    return progTestRun({ ...options, progFd: this.fd });
  }

  override close(): void {
    if (this.closed) return;
    super.close();
    for (const m of this.maps) m.close();
  }
}
