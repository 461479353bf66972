// Base of the handles: owns one fd; close() / [Symbol.dispose]; a
// FinalizationRegistry closes fds of handles dropped without close() (a
// safety net, not a way to manage them).
import { closeSync } from "node:fs";
import { objPin } from "../commands/obj.js";

const registry = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed by someone else
  }
});

export abstract class FdHandle {
  #fd: number;
  readonly #kind: string;

  protected constructor(fd: number, kind: string) {
    this.#fd = fd;
    this.#kind = kind;
    registry.register(this, fd, this);
  }

  /** The owned fd; a TypeError once closed. */
  get fd(): number {
    if (this.#fd < 0) throw new TypeError(`${this.#kind} is closed`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Pins the object at a bpffs path (the pin outlives the fd). */
  pin(path: string): void {
    objPin(this.fd, path);
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    registry.unregister(this);
    closeSync(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
