// Builds one command's `union bpf_attr` from the generated layout. The size
// passed to the kernel ends at the last field given a non-zero value (or
// marked as output), so an older kernel, which rejects non-zero bytes past the
// attr it knows with E2BIG, accepts every call that does not use newer fields.

import { Errno } from "./errno.js";
import {
  type BpfAttrCommand,
  BpfAttrLayout,
  type FieldLayout,
  type StructLayout,
} from "./layout/layouts.gen.js";
import { MEMLOCK_CHARGED, raiseMemlockForRetry } from "./memlock.js";
import { native } from "./native.js";
import { byteLength } from "./validate.js";

/** Larger than any bpf_attr: the kernel writes output fields in place. */
const ATTR_BUFFER_SIZE = 256;

export type AttrField<C extends BpfAttrCommand> = keyof (typeof BpfAttrLayout)[C]["fields"] &
  string;

export class Attr<C extends BpfAttrCommand> {
  readonly bytes = new Uint8Array(ATTR_BUFFER_SIZE);
  private readonly view = new DataView(this.bytes.buffer);
  private readonly layout: StructLayout;
  /** (offset, buffer, length) triples for the addon. */
  private readonly pointers: (number | Uint8Array | null)[] = [];
  /** Bytes the kernel will see. */
  size = 0;

  constructor(readonly command: C) {
    this.layout = BpfAttrLayout[command];
  }

  offsetOf(name: AttrField<C>): number {
    return this.field(name).offset;
  }

  private field(name: AttrField<C>): FieldLayout {
    const f = this.layout.fields[name];
    if (!f) throw new Error(`bpf_attr.${this.command} has no member ${name}`);
    return f;
  }

  private use(f: FieldLayout): void {
    this.size = Math.max(this.size, f.offset + f.size);
  }

  u32(name: AttrField<C>, value: number): this {
    const f = this.field(name);
    if (f.size !== 4) throw new Error(`bpf_attr.${this.command}.${name} is not 4 bytes`);
    this.view.setUint32(f.offset, value >>> 0, true);
    if (value !== 0) this.use(f);
    return this;
  }

  u64(name: AttrField<C>, value: number | bigint): this {
    const f = this.field(name);
    if (f.size !== 8) throw new Error(`bpf_attr.${this.command}.${name} is not 8 bytes`);
    this.view.setBigUint64(f.offset, BigInt(value), true);
    if (value !== 0 && value !== 0n) this.use(f);
    return this;
  }

  /**
   * A pointer field: the addon writes the buffer's address at call time.
   * `length` is how many bytes the kernel reads or writes through it, computed
   * from the same numbers written into the attr; the addon refuses a shorter
   * buffer right before the syscall (the commands' own RangeErrors come first).
   */
  ptr(name: AttrField<C>, buffer: Uint8Array | null | undefined, length: number): this {
    const f = this.field(name);
    if (f.size !== 8) throw new Error(`bpf_attr.${this.command}.${name} is not a pointer`);
    if (!Number.isSafeInteger(length) || length < 0)
      throw new RangeError(`bpf_attr.${this.command}.${name}: bad length ${length}`);
    if (buffer) {
      const given = byteLength(buffer);
      if (given < length) {
        throw new RangeError(
          `bpf_attr.${this.command}.${name}: the kernel uses ${length} bytes, the buffer has ${given}`,
        );
      }
      this.pointers.push(f.offset, buffer, length);
      this.use(f);
    }
    return this;
  }

  /** A char array such as map_name (NUL padded; the caller checks the length). */
  chars(name: AttrField<C>, data: Uint8Array): this {
    const f = this.field(name);
    this.bytes.set(data.subarray(0, f.size), f.offset);
    if (data.some((b) => b !== 0)) this.use(f);
    return this;
  }

  /** A field the kernel writes back: it must lie within the size passed. */
  out(name: AttrField<C>): this {
    this.use(this.field(name));
    return this;
  }

  readU32(name: AttrField<C>): number {
    return this.view.getUint32(this.field(name).offset, true);
  }

  readU64(name: AttrField<C>): bigint {
    return this.view.getBigUint64(this.field(name).offset, true);
  }

  /**
   * Runs the syscall: a result ≥ 0, or a negated errno. A map or program
   * refused with EPERM on a kernel that charges RLIMIT_MEMLOCK (before 5.11)
   * is tried once more after the limit is raised (see memlock.ts).
   */
  call(cmd: number): number {
    const result = native().bpf(cmd, this.bytes, this.size, ...this.pointers);
    if (result !== -Errno.EPERM || !MEMLOCK_CHARGED.has(cmd) || !raiseMemlockForRetry())
      return result;
    return native().bpf(cmd, this.bytes, this.size, ...this.pointers);
  }
}

/** Reads a struct the kernel filled (bpf_*_info) through its generated layout. */
export class StructReader<L extends StructLayout> {
  private readonly view: DataView;

  constructor(
    readonly layout: L,
    readonly bytes: Uint8Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private field(name: keyof L["fields"] & string): FieldLayout {
    const f = this.layout.fields[name];
    if (!f) throw new Error(`no member ${name}`);
    return f;
  }

  has(name: string): boolean {
    return name in this.layout.fields;
  }

  u32(name: keyof L["fields"] & string): number {
    const f = this.field(name);
    const word = this.view.getUint32(f.offset, true);
    if (f.bitSize) return (word >>> (f.bitOffset ?? 0)) & ((1 << f.bitSize) - 1);
    return f.size === 4 ? word : this.view.getUint8(f.offset);
  }

  u64(name: keyof L["fields"] & string): bigint {
    return this.view.getBigUint64(this.field(name).offset, true);
  }

  /** A NUL-terminated char array. */
  string(name: keyof L["fields"] & string): string {
    const f = this.field(name);
    const raw = this.bytes.subarray(f.offset, f.offset + f.size);
    const end = raw.indexOf(0);
    return Buffer.from(raw.subarray(0, end < 0 ? raw.length : end)).toString("utf8");
  }

  raw(name: keyof L["fields"] & string): Uint8Array {
    const f = this.field(name);
    return this.bytes.slice(f.offset, f.offset + f.size);
  }

  setU32(name: keyof L["fields"] & string, value: number): void {
    this.view.setUint32(this.field(name).offset, value >>> 0, true);
  }

  setU64(name: keyof L["fields"] & string, value: number | bigint): void {
    this.view.setBigUint64(this.field(name).offset, BigInt(value), true);
  }

  offsetOf(name: keyof L["fields"] & string): number {
    return this.field(name).offset;
  }
}
