// program(): a listing in, a ProgramSpec out — the assembled instructions
// (labels resolved, map references kept) and string constants gathered into
// `.rodata`.
import type { MapSpec, ProgramSpec, ReadonlyData } from "@ts-ebpf/spec";
import { BPF_OBJ_NAME_LEN } from "@ts-ebpf/spec/constants";
import { type Assembled, assemble } from "./assemble.js";
import { RODATA } from "./builders.js";
import { DslError } from "./errors.js";
import { type Instruction, type Item, isLabel } from "./insn.js";

export interface ProgramOptions {
  /** `enum bpf_prog_type` value (BpfProgType from @ts-ebpf/spec/constants). */
  readonly type: number;
  /** `enum bpf_attach_type` value, e.g. BpfAttachType.TRACE_ITER. */
  readonly expectedAttachType?: number;
  readonly license: string;
  /** Up to 15 characters: letters, digits, `_` and `.`. */
  readonly name?: string;
  /** BTF id of the attach target (for iterators, FUNC `bpf_iter_<target>`). */
  readonly attachBtfId?: number;
  readonly attachBtfObjFd?: number;
  /** Maps the loader creates for the program, referenced by name. */
  readonly maps?: readonly MapSpec[];
  readonly flags?: number;
}

/** A program body: items, or nested arrays of them (what the convenience builders return). */
export type Body = readonly (Item | Body)[];

/** Flattens nested arrays of items into one listing. */
export function flatten(body: Body): Item[] {
  const out: Item[] = [];
  const walk = (b: Body) => {
    for (const x of b) {
      if (Array.isArray(x)) walk(x as Body);
      else out.push(x as Item);
    }
  };
  walk(body);
  return out;
}

export interface BuiltProgram {
  readonly spec: ProgramSpec;
  /** The listing as written (labels included), with string constants placed. */
  readonly items: readonly Item[];
  readonly assembled: Assembled;
}

const encoder = new TextEncoder();

/** Lays string constants out in `.rodata` (NUL-terminated, each once) and points the loads at them. */
function placeStrings(items: readonly Item[]): { items: Item[]; rodata?: ReadonlyData } {
  const offsets = new Map<string, number>();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const placed = items.map((item): Item => {
    if (isLabel(item) || item.str === undefined) return item;
    let at = offsets.get(item.str);
    if (at === undefined) {
      const bytes = encoder.encode(`${item.str}\0`);
      at = size;
      offsets.set(item.str, at);
      chunks.push(bytes);
      size += bytes.length;
    }
    const insn: Instruction = { ...item, imm2: at + (item.imm2 ?? 0), map: { name: RODATA } };
    return insn;
  });
  if (chunks.length === 0) return { items: placed };
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { items: placed, rodata: { name: RODATA, bytes } };
}

function checkOptions(o: ProgramOptions): void {
  if (typeof o !== "object" || o === null)
    throw new TypeError("program: options must be an object");
  if (!Number.isInteger(o.type) || o.type < 0)
    throw new TypeError(`program: invalid type ${o.type}`);
  if (typeof o.license !== "string" || o.license === "" || o.license.includes("\0")) {
    throw new TypeError('program: license must be a non-empty string (e.g. "GPL")');
  }
  if (o.name !== undefined) {
    if (typeof o.name !== "string" || !/^[\w.]*$/.test(o.name)) {
      throw new TypeError(
        `program: invalid name ${JSON.stringify(o.name)} (letters, digits, _ and .)`,
      );
    }
    if (o.name.length >= BPF_OBJ_NAME_LEN) {
      throw new RangeError(
        `program: name ${JSON.stringify(o.name)} longer than ${BPF_OBJ_NAME_LEN - 1} characters`,
      );
    }
  }
  for (const [k, v] of [
    ["expectedAttachType", o.expectedAttachType],
    ["attachBtfId", o.attachBtfId],
    ["attachBtfObjFd", o.attachBtfObjFd],
    ["flags", o.flags],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v >= 2 ** 32)) {
      throw new TypeError(`program: invalid ${k} ${v}`);
    }
  }
}

/** program() with the listing and assembly kept, for tools (verifier error listings). */
export function buildProgram(options: ProgramOptions, body: Body): BuiltProgram {
  checkOptions(options);
  const flat = flatten(body);
  if (!flat.some((i) => !isLabel(i))) throw new DslError("program has no instructions");
  const { items, rodata } = placeStrings(flat);
  const assembled = assemble(items);
  const spec: ProgramSpec = {
    ...(options.name !== undefined && { name: options.name }),
    type: options.type,
    ...(options.expectedAttachType !== undefined && {
      expectedAttachType: options.expectedAttachType,
    }),
    ...(options.attachBtfId !== undefined && { attachBtfId: options.attachBtfId }),
    ...(options.attachBtfObjFd !== undefined && { attachBtfObjFd: options.attachBtfObjFd }),
    license: options.license,
    instructions: assembled.instructions,
    ...(rodata !== undefined && { readonlyData: [rodata] }),
    ...(options.maps !== undefined && { maps: options.maps }),
    ...(options.flags !== undefined && { flags: options.flags }),
  };
  return { spec, items, assembled };
}

/**
 * Assembles a program body into a ProgramSpec: instructions with labels
 * resolved and map references (by name or by handle) kept for the loader,
 * and string constants (ldStr) in a `.rodata` ReadonlyData that ld_imm64
 * map value instructions refer to.
 */
export function program(options: ProgramOptions, body: Body): ProgramSpec {
  return buildProgram(options, body).spec;
}
