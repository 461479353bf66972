// What the suite shows while it runs. On a terminal one live line is redrawn
// with the group's sample counter ("[12/63] round 2/7 mapElems, raw bytes …");
// in a log, one line per finished round. Each variant's result is then
// printed as a line of its own.
export class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = out.isTTY === true;
  }

  heading(text: string): void {
    this.#line(`\n== ${text}`);
  }

  /** Live status: redrawn on a terminal, dropped in a log. */
  status(text: string): void {
    if (this.#tty) this.#out.write(`\r\x1b[K  ${text}`.slice(0, (this.#out.columns || 120) + 4));
  }

  /** A round of a group finished (a log's heartbeat). */
  round(done: number, total: number, samples: number, allSamples: number): void {
    if (!this.#tty) this.#line(`  round ${done}/${total}: ${samples}/${allSamples} samples`);
  }

  /** One variant's result line. */
  result(label: string, text: string): void {
    this.#line(`  ${label.padEnd(40, " ")} ${text}`);
  }

  note(text: string): void {
    this.#line(`  ${text}`);
  }

  #line(text: string): void {
    this.#out.write(this.#tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }
}
