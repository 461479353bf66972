// What the suite shows while it runs. On a terminal one live line is redrawn
// with the group's sample counter ("[12/63] round 2/7 mapElems, raw bytes …");
// in a log, one line per finished round. Each variant's result is then
// printed as a line of its own.
export class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #statusLines: boolean;

  /**
   * `statusLines`: lines only, never redrawn, and each finished sample and
   * warm-up as a line too (a test-vm guest, where a round can take minutes).
   */
  constructor(out: NodeJS.WriteStream = process.stderr, opts: { statusLines?: boolean } = {}) {
    this.#out = out;
    // A guest's console is a (serial) terminal, but its lines end up in a log on the host.
    this.#tty = out.isTTY === true && opts.statusLines !== true;
    this.#statusLines = opts.statusLines === true;
  }

  heading(text: string): void {
    this.#line(`\n== ${text}`);
  }

  /** Live status: redrawn on a terminal, dropped in a log (with `statusLines`, printed unless it ends in "…"). */
  status(text: string): void {
    if (this.#tty) this.#out.write(`\r\x1b[K  ${text}`.slice(0, (this.#out.columns || 120) + 4));
    else if (this.#statusLines && !text.endsWith("…")) this.#line(`  ${text}`);
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
