// createIterator and IteratorLink: load (or take) a program, create the
// BPF_TRACE_ITER link with its parameters, and open readers on it.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { type Btf, loadKernelBtf } from "@ts-ebpf/btf";
import {
  BpfAttachType,
  BpfCgroupIterOrder,
  BpfLinkTypeName,
  BpfProgLoadFlag,
  BpfProgType,
  BpfProgTypeName,
  iterFuncName,
  iterTargetOfFunc,
} from "@ts-ebpf/spec/constants";
import {
  BpfError,
  bpffsMountPoints,
  fdKind,
  Link,
  loadProgram,
  ObjectKindError,
  openIteratorFd,
  Program,
  type ProgramSpec,
  progInfo,
  refusedByPolicy,
} from "@ts-ebpf/syscall";
import { attachIterator, fdAbove2, programInfoOf } from "@ts-ebpf/syscall/internal";
import { IteratorError, IteratorTargetRefusedError, UnsupportedTargetError } from "./errors.js";
import { consumeOwnReader, readerOptionsSnapshot, readerOwning } from "./owned-fd.js";
import {
  CGROUP_ORDERS,
  checkKernelParams,
  checkParams,
  type IteratorParams,
  type LinkParams,
  toIterLinkParams,
} from "./params.js";
import { kindPhrase, openPinnedFd } from "./pinned.js";
import { IteratorReader, type ReaderOptions } from "./reader.js";
import { checkTargetName, targetInfo } from "./targets.js";

/** A loaded program: anything owning a program fd (a `Program` from @ts-ebpf/syscall). */
export interface ProgramFdOwner {
  readonly fd: number;
}

/** What the kernel reports about an iterator link. */
export interface IteratorLinkInfo {
  id: number;
  progId: number;
  target: string;
  mapId?: number;
  tid?: number;
  pid?: number;
  cgroupId?: bigint;
  order?: string;
}

let runningRelease: string | undefined;
function kernelRelease(): string | undefined {
  try {
    runningRelease ??= readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    // not Linux, or /proc is missing: messages just leave it out
  }
  return runningRelease;
}

/** Attach BTF id of `target` on this kernel, or UnsupportedTargetError. */
export function targetBtfId(target: string, btf: Btf = loadKernelBtf()): number {
  const t = btf.findType(iterFuncName(target), "func");
  if (!t) throw new UnsupportedTargetError(target, targetInfo(target)?.since, kernelRelease());
  return t.id;
}

function isSpec(p: unknown): p is ProgramSpec {
  return typeof p === "object" && p !== null && "instructions" in p && "type" in p;
}

/**
 * The program argument of createIterator and update: a spec, a Program
 * handle, or `{ fd }` whose fd is read here, once (a getter giving another
 * program's fd after the target check would attach a program loaded for
 * another target), and checked to be 3 or more.
 */
function programArg(p: unknown): ProgramSpec | Program | Readonly<ProgramFdOwner> {
  if (isSpec(p)) return p;
  // A Program handle makes a shared fd on first read of `fd`: tell it by class.
  if (p instanceof Program) return p;
  if (typeof p === "object" && p !== null && "fd" in p) {
    const fd = (p as ProgramFdOwner).fd;
    if (typeof fd === "number") return Object.freeze({ fd: fdAbove2("program fd", fd) });
  }
  throw new TypeError("program must be a ProgramSpec (e.g. from @ts-ebpf/dsl) or a loaded Program");
}

/** Fills in what an iterator program needs (type, attach type, attach BTF id) and checks the rest. */
export function iteratorProgramSpec(spec: ProgramSpec, target: string, btf?: Btf): ProgramSpec {
  const id = targetBtfId(target, btf);
  if (spec.type !== BpfProgType.TRACING) {
    throw new IteratorError(
      `an iterator program must be BPF_PROG_TYPE_TRACING (${BpfProgType.TRACING}), got type ${spec.type}`,
    );
  }
  if (
    spec.expectedAttachType !== undefined &&
    spec.expectedAttachType !== BpfAttachType.TRACE_ITER
  ) {
    throw new IteratorError(
      `an iterator program must expect BPF_TRACE_ITER (${BpfAttachType.TRACE_ITER}), got ${spec.expectedAttachType}`,
    );
  }
  if (spec.attachBtfId !== undefined && spec.attachBtfId !== 0 && spec.attachBtfId !== id) {
    throw new IteratorError(
      `program was built for attach BTF id ${spec.attachBtfId}, but bpf_iter_${target} is id ${id}`,
    );
  }
  return { ...spec, expectedAttachType: BpfAttachType.TRACE_ITER, attachBtfId: id };
}

/** Loads an iterator program (PROG_LOAD retries EAGAIN itself). */
export function loadIteratorProgram(spec: ProgramSpec, target: string, btf?: Btf): Program {
  const full = iteratorProgramSpec(spec, target, btf);
  try {
    return loadProgram(full);
  } catch (err) {
    // EPERM with every capability present is a policy about this target, not
    // about the program: say so, instead of a generic permission error.
    if (refusedByPolicy(err)) {
      throw new IteratorTargetRefusedError(target, kernelRelease(), { cause: err });
    }
    throw err;
  }
}

/**
 * The iterator target a loaded program was verified for: the kernel reports
 * the BTF id of the function it attaches to (attach_btf_id), and an iterator
 * program attaches to the FUNC bpf_iter_<target> of vmlinux BTF.
 */
export function loadedProgramTarget(program: ProgramFdOwner, btf: Btf = loadKernelBtf()): string {
  return loadedTarget(program, btf, undefined);
}

/**
 * loadedProgramTarget(), except that where the kernel cannot say what a program
 * was verified for (bpf_prog_info has no attach_btf_id before 5.11) it answers
 * `unknown` once the fd is known to be a TRACING program.
 */
function loadedTarget(program: ProgramFdOwner, btf: Btf, unknown: string | undefined): string {
  let info: ReturnType<typeof progInfo>;
  if (program instanceof Program) {
    // From the handle's private fd: never through a method of the object,
    // which the caller can override (an own `info` answering for another target).
    info = programInfoOf(program);
  } else {
    // OBJ_GET_INFO_BY_FD answers for any BPF fd (a link's info read as a
    // program's would be nonsense): ask what the fd is first.
    const fd = fdAbove2("program fd", program.fd);
    let kind: ReturnType<typeof fdKind>["kind"];
    try {
      kind = fdKind(fd).kind;
    } catch (err) {
      throw new IteratorError(`program fd ${fd} is not open`, { cause: err });
    }
    if (kind !== "prog") {
      throw new IteratorError(
        `program fd ${fd} is not a loaded BPF program: it is ${kindPhrase(kind)}`,
      );
    }
    info = progInfo(fd);
  }
  const what = `program ${info.name ? `"${info.name}" ` : ""}(id ${info.id})`;
  if (info.type !== BpfProgType.TRACING) {
    const type = BpfProgTypeName[info.type] ?? `type ${info.type}`;
    throw new IteratorError(
      `${what} is a ${type} program, not an iterator program (TRACING, loaded for BPF_TRACE_ITER)`,
    );
  }
  if (unknown !== undefined && info.attachBtfId === 0 && !reportsAttachBtfId(btf)) return unknown;
  let attachedTo: string | undefined;
  try {
    const t = btf.type(info.attachBtfId);
    if (t.kind === "func") attachedTo = t.name;
  } catch {
    // not a vmlinux type id: not an iterator program either
  }
  const target = attachedTo === undefined ? undefined : iterTargetOfFunc(attachedTo);
  if (target === undefined) {
    throw new IteratorError(
      `${what} is not an iterator program: it attaches to ${attachedTo ?? `BTF id ${info.attachBtfId}`}, not to a bpf_iter_<target> function`,
    );
  }
  return target;
}

/**
 * Whether the kernel's bpf_prog_info reports attach_btf_id (Linux 5.11+). Before
 * it, the field does not exist and a loaded program cannot tell what it was
 * verified for.
 */
function reportsAttachBtfId(btf: Btf): boolean {
  const info = btf.findType("bpf_prog_info", "struct");
  return info === undefined || info.members.some((m) => m.name === "attach_btf_id");
}

/** Refuses a loaded program verified for another target (the kernel would take it as its own target). */
function checkLoadedFor(program: ProgramFdOwner, target: string, btf?: Btf): void {
  // Before 5.11 the fd is still checked to be an iterator program, but not its
  // target, which the kernel does not report: the caller's target stands.
  const loadedFor = loadedTarget(program, btf ?? loadKernelBtf(), target);
  if (loadedFor !== target) {
    throw new IteratorError(
      `the program was loaded for the ${loadedFor} iterator, not for ${target}: ` +
        `a ${target} iterator needs a program loaded for ${target} (or pass "${loadedFor}" as the target)`,
    );
  }
}

function loadFor(
  program: ProgramSpec | Program | Readonly<ProgramFdOwner>,
  target: string,
  btf?: Btf,
): { prog: ProgramFdOwner; owned?: Program } {
  if (isSpec(program)) {
    const owned = loadIteratorProgram(program, target, btf);
    return { prog: owned, owned };
  }
  checkLoadedFor(program, target, btf);
  return { prog: program };
}

function linkError(
  err: unknown,
  target: string,
  params: LinkParams,
  sleepable: boolean | undefined,
): unknown {
  if (!(err instanceof BpfError)) return err;
  if (params.kind === "map" && err.code === "EINVAL") {
    // A sleepable spec never gets here (refuseSleepableOnMapElements); an fd's flags are unknown.
    return new IteratorError(
      `the kernel refused the map for the ${target} iterator (BPF_LINK_CREATE: EINVAL): ` +
        "this map type cannot be iterated by this target" +
        (sleepable === undefined
          ? " (or the program is sleepable: the kernel refuses sleepable programs on map-element iterators)"
          : ""),
      { cause: err },
    );
  }
  if (params.kind === "map" && err.code === "EACCES") {
    return new IteratorError(
      `the ${target} program reads past the map's key or value size (BPF_LINK_CREATE: EACCES)`,
      { cause: err },
    );
  }
  return err;
}

/**
 * Map-element iterators walk the map under RCU, where a program may not sleep: the
 * kernel refuses a sleepable program there (only targets that can reschedule, such
 * as task and task_file, take one), but 5.10 links it and would run it under
 * rcu_read_lock. Refused here on every kernel, before anything is loaded.
 */
function refuseSleepableOnMapElements(
  source: ProgramSpec | Program | Readonly<ProgramFdOwner>,
  target: string,
  params: LinkParams,
): void {
  if (params.kind !== "map" || !isSpec(source)) return;
  if (((source.flags ?? 0) & BpfProgLoadFlag.SLEEPABLE) === 0) return;
  throw new IteratorError(
    `a sleepable program cannot iterate map elements (${target}): ` +
      "the kernel refuses sleepable programs on hash-map (and other map-element) iterators, " +
      "whose elements are walked where a program may not sleep; " +
      "load the program without BPF_F_SLEEPABLE (an iter/ section, not iter.s/)",
  );
}

/**
 * Loads `program` (or takes a loaded one), creates the iterator link for
 * `target` with `params`. Parameters are checked before any syscall.
 */
export function createIterator(
  program: ProgramSpec | ProgramFdOwner,
  target?: string,
  params?: IteratorParams,
): IteratorLink {
  // A program from an ELF `iter/<target>` section names its own target.
  target ??= (program as { iterTarget?: unknown }).iterTarget as string | undefined;
  if (target === undefined) {
    throw new TypeError(
      'createIterator needs a target (e.g. "task"), unless the program carries iterTarget',
    );
  }
  checkTargetName(target);
  const linkParams = checkParams(target, params);
  const source = programArg(program);
  const btf = loadKernelBtf();
  targetBtfId(target, btf);
  checkKernelParams(btf, target, linkParams);
  const iterParams = toIterLinkParams(linkParams);
  refuseSleepableOnMapElements(source, target, linkParams);
  const { prog, owned } = loadFor(source, target, btf);
  let link: Link;
  try {
    // A Program handle is passed as such: it uses its own fd (no shared fd made for this).
    link = attachIterator(prog instanceof Program ? prog : prog.fd, iterParams);
  } catch (err) {
    owned?.close();
    // Whether the program is sleepable is known from a spec only (bpf_prog_info does not say).
    const sleepable = isSpec(source)
      ? ((source.flags ?? 0) & BpfProgLoadFlag.SLEEPABLE) !== 0
      : undefined;
    throw linkError(err, target, linkParams, sleepable);
  }
  return newIteratorLink(link, target, prog, owned);
}

/**
 * The iterator link (no parameters) of `program`, a Program loaded for
 * `target` without kernel BTF at hand (a built-in's cached program): the
 * kernel makes the link for the target the program was verified for, and
 * the link's info must name `target` (else the link is closed and an
 * IteratorError thrown). Nothing reads /sys/kernel/btf. The caller keeps
 * owning `program`.
 */
export function attachLoadedIterator(program: Program, target: string): IteratorLink {
  if (!(program instanceof Program)) {
    throw new TypeError("program must be a loaded Program (from @ts-ebpf/syscall's loadProgram)");
  }
  checkTargetName(target);
  const link = attachIterator(program);
  try {
    const iterated = link.info().iter?.targetName;
    if (iterated !== target) {
      throw new IteratorError(
        `the program iterates ${iterated === undefined ? "no iterator target" : `the ${iterated} target`}, not ${target}`,
      );
    }
    return newIteratorLink(link, target, program);
  } catch (err) {
    link.close();
    throw err;
  }
}

/** Mounts bpffs at /sys/fs/bpf when a pin path needs it and nothing is mounted there. */
export function ensureBpffs(path: string): void {
  if (!path.startsWith("/sys/fs/bpf/")) return;
  if (bpffsMountPoints().includes("/sys/fs/bpf")) return;
  try {
    mkdirSync("/sys/fs/bpf", { recursive: true });
    // Required here, not imported: node:child_process costs every start 4 ms, pins rarely mount.
    const { execFileSync } = createRequire(import.meta.url)(
      "node:child_process",
    ) as typeof import("node:child_process");
    execFileSync("mount", ["-t", "bpf", "bpf", "/sys/fs/bpf"], { stdio: "pipe" });
  } catch (err) {
    throw new IteratorError(
      `bpffs is not mounted at /sys/fs/bpf and mounting it failed (mount -t bpf bpf /sys/fs/bpf): ${String(err)}`,
      { cause: err },
    );
  }
}

/**
 * Opens a pinned iterator for reading: needs only read permission on the pin
 * (no capability, no bpf(2)). The path is looked up once; the opened file is
 * checked to be a file on bpffs (IteratorError otherwise). Each call gives a
 * fresh reader.
 */
export function openPinned(path: string, options: ReaderOptions = {}): IteratorReader {
  if (typeof path !== "string" || path === "")
    throw new TypeError("path must be a non-empty string");
  const snapshot = readerOptionsSnapshot(options);
  // The reader reads from this very fd, which no one else knows.
  return readerOwning(openPinnedFd(path), (fd) => new IteratorReader(fd, snapshot));
}

/** Options of IteratorLink.pin(). */
export interface IteratorPinOptions {
  /** Permission bits of the pin (default 0o600). */
  mode?: number;
}

/**
 * An ObjectKindError of Link.fromPinned (the pin holds a map, a program...)
 * restated for an iterator link; undefined for any other error.
 */
function notALink(err: unknown, path: string): IteratorError | undefined {
  if (!(err instanceof ObjectKindError)) return undefined;
  return new IteratorError(`${path} is ${kindPhrase(err.actual)}, not an iterator link`, {
    cause: err,
  });
}

/**
 * The link newIteratorLink() is building an IteratorLink around, while it
 * does: the constructor refuses any other call (from JavaScript, with a link
 * that is not one, or of another target than it is told).
 */
let building: Link | undefined;

/** Builds the IteratorLink of a link just created or opened, checked to iterate `target`. */
function newIteratorLink(
  link: Link,
  target: string,
  prog?: ProgramFdOwner,
  owned?: Program,
): IteratorLink {
  const outer = building;
  building = link;
  try {
    return new IteratorLink(link, target, prog, owned);
  } finally {
    building = outer;
  }
}

/** An iterator link: owns the link fd, and the program (and its maps) when it loaded it. */
export class IteratorLink implements Disposable, AsyncDisposable {
  readonly target: string;
  #link: Link;
  #prog: ProgramFdOwner | undefined;
  #owned: Program | undefined;

  /**
   * Not for calling: iterator links are made by createIterator() (or
   * builtinLink()) and IteratorLink.fromPinned(), which know the link is an
   * iterator link of `target`. A TypeError otherwise.
   */
  constructor(link: Link, target: string, prog?: ProgramFdOwner, owned?: Program) {
    if (building === undefined || building !== link) {
      throw new TypeError(
        "iterator links are made by createIterator() and IteratorLink.fromPinned(), not with new",
      );
    }
    building = undefined; // one IteratorLink per link built
    this.#link = link;
    this.target = target;
    this.#prog = prog;
    this.#owned = owned;
  }

  /**
   * Opens a pinned iterator link: one BPF_OBJ_GET (the path is looked up
   * once), then checks on that fd that it is a link, and an iterator link;
   * the target comes from link info. open() then runs this very link.
   */
  static fromPinned(path: string): IteratorLink {
    if (typeof path !== "string" || path === "")
      throw new TypeError("path must be a non-empty string");
    let link: Link;
    try {
      link = Link.fromPinned(path); // checks the kind: ObjectKindError for a map, a program...
    } catch (err) {
      throw notALink(err, path) ?? err;
    }
    try {
      const info = link.info();
      if (!info.iter) {
        const type = BpfLinkTypeName[info.type]?.toLowerCase() ?? `type ${info.type}`;
        throw new IteratorError(`${path} is a BPF ${type} link, not an iterator link`);
      }
      return newIteratorLink(link, info.iter.targetName);
    } catch (err) {
      link.close();
      throw err;
    }
  }

  /** The link fd (TypeError once closed). */
  get fd(): number {
    return this.#link.fd;
  }

  get closed(): boolean {
    return this.#link.closed;
  }

  /** The program this link runs, when known (owned by the link when it loaded it). */
  get program(): ProgramFdOwner | undefined {
    return this.#prog;
  }

  /** A fresh reader (BPF_ITER_CREATE): each one runs the iteration from the start. */
  open(options: ReaderOptions = {}): IteratorReader {
    const snapshot = readerOptionsSnapshot(options);
    snapshot.target ??= this.target;
    // BPF_ITER_CREATE gives an fd ≥ 3 that no one else knows: the reader reads from it.
    return readerOwning(openIteratorFd(this.#link), (fd) => new IteratorReader(fd, snapshot));
  }

  /** Shortcut: open() and read everything. */
  readAll(options: ReaderOptions = {}): Promise<Buffer> {
    return consumeOwnReader(this.open(options), (r) => r.readAll());
  }

  readAllSync(options: ReaderOptions = {}): Buffer {
    return this.open(options).readAllSync();
  }

  text(options: ReaderOptions = {}): Promise<string> {
    return consumeOwnReader(this.open(options), (r) => r.text());
  }

  /**
   * Pins the link on bpffs (mounting /sys/fs/bpf when needed); `cat path`
   * then runs it. `mode`: the pin's permission bits, default 0o600 (the owner
   * only); 0o644 lets every user read the iterator's output, with no
   * capability.
   */
  pin(path: string, options: IteratorPinOptions = {}): void {
    if (typeof path !== "string" || path === "")
      throw new TypeError("path must be a non-empty string");
    if (typeof options !== "object" || options === null)
      throw new TypeError("pin options must be an object such as { mode: 0o644 }");
    const mode = options.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
      throw new RangeError(
        `mode must be permission bits between 0 and 0o777, got ${typeof mode === "number" ? `0o${mode.toString(8)}` : String(mode)}`,
      );
    }
    ensureBpffs(path);
    if (!existsSync(dirname(path))) {
      throw new IteratorError(`cannot pin at ${path}: ${dirname(path)} does not exist`);
    }
    this.#link.pin(path, { mode });
  }

  /** Link info from the kernel: target name and the parameters it was created with. */
  info(): IteratorLinkInfo {
    const info = this.#link.info();
    const iter = info.iter;
    if (!iter) throw new IteratorError(`link ${info.id} is not an iterator link`);
    const out: IteratorLinkInfo = { id: info.id, progId: info.progId, target: iter.targetName };
    if (iter.mapId !== undefined) out.mapId = iter.mapId;
    if (iter.tid) out.tid = iter.tid;
    if (iter.pid) out.pid = iter.pid;
    if (iter.cgroupId !== undefined) out.cgroupId = iter.cgroupId;
    if (iter.order !== undefined) out.order = orderName(iter.order);
    return out;
  }

  /** Swaps the program (BPF_LINK_UPDATE); a program this link loaded is closed. */
  update(program: ProgramSpec | ProgramFdOwner): void {
    const { prog, owned } = loadFor(programArg(program), this.target);
    try {
      this.#link.update(prog instanceof Program ? prog : prog.fd);
    } catch (err) {
      owned?.close();
      throw err;
    }
    this.#owned?.close();
    this.#owned = owned;
    this.#prog = prog;
  }

  /** Closes the link fd and the program it owns. A pin keeps the iterator alive. */
  close(): void {
    this.#link.close();
    this.#owned?.close();
    this.#owned = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** The name CGROUP_ORDERS gives a walk order the kernel reports (its one table of them). */
function orderName(order: number): string {
  for (const [name, value] of Object.entries(CGROUP_ORDERS)) if (value === order) return name;
  return order === BpfCgroupIterOrder.ORDER_UNSPEC ? "unspec" : String(order);
}
