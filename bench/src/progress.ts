// One line per scenario variant while the suite runs. On a terminal the line
// is redrawn with a repetition counter; in a log each finished line is printed once.
import { formatSeconds } from "./format.js";

export class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  #label = "";
  #total = 0;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = out.isTTY === true;
  }

  heading(text: string): void {
    this.#out.write(`\n== ${text}\n`);
  }

  start(label: string, total: number): void {
    this.#label = label;
    this.#total = total;
    this.#draw(`  ${this.#pad()} [0/${total}] …`);
  }

  /** After repetition `done` (1-based) took `seconds`. */
  tick(done: number, seconds: number): void {
    this.#draw(`  ${this.#pad()} [${done}/${this.#total}] last ${formatSeconds(seconds)}`);
  }

  finish(text: string): void {
    this.#line(`  ${this.#pad()} ${text}`);
  }

  note(text: string): void {
    this.#line(`  ${text}`);
  }

  #pad(): string {
    return this.#label.padEnd(44, " ");
  }

  #draw(text: string): void {
    if (this.#tty) this.#out.write(`\r\x1b[K${text}`);
  }

  #line(text: string): void {
    this.#out.write(this.#tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }
}
