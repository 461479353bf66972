// The info string of a code fence: "ts hidden throws=/EPERM/ expect=/pid \d+/m timeout=5000".

/** What a cell's info string asks of the runner and of the site. */
export interface CellAttributes {
  /** Set-up cell: runs, but the site folds it away. */
  hidden: boolean;
  /** A check for the test runs only (e.g. "fail in CI when a feature is missing"): runs, never shown on the site. */
  harness: boolean;
  /** The cell must throw; when a RegExp, the error text must match it. */
  throws: boolean | RegExp;
  /** The cell's output (stdout, stderr and value, joined) must match this. */
  expect?: RegExp;
  /** Milliseconds before the cell counts as hung (default 60 s). */
  timeoutMs?: number;
  /**
   * Iterator targets whose programs the cell's demonstration loads (`needs=bpf_map_elem`).
   * Where the kernel refuses one, the cell still runs (and must say so), but a recording
   * made where it loads is kept rather than overwritten.
   */
  needs: string[];
}

/** Info-string words that mark a fence as a notebook code cell. */
export const CELL_LANGUAGES = new Set(["ts", "typescript"]);

export class AttributeError extends Error {
  override name = "AttributeError";
}

const FLAGS = /^[dgimsuvy]*$/;

/** Splits an info string into words, keeping a `/regex/flags` value whole even with spaces in it. */
export function splitInfoString(info: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < info.length) {
    while (i < info.length && /\s/.test(info[i]!)) i++;
    if (i >= info.length) break;
    const start = i;
    while (i < info.length && !/\s/.test(info[i]!)) {
      if (info[i] === "=" && info[i + 1] === "/") {
        i = endOfRegex(info, i + 1);
        continue;
      }
      i++;
    }
    words.push(info.slice(start, i));
  }
  return words;
}

// Index just past `/body/flags` starting at the opening slash; a closing slash counts only
// when followed by flags and then whitespace or the end.
function endOfRegex(info: string, open: number): number {
  let inClass = false;
  for (let j = open + 1; j < info.length; j++) {
    const c = info[j];
    if (c === "\\") {
      j++;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (c === "/" && !inClass) {
      let k = j + 1;
      while (k < info.length && /[a-z]/.test(info[k]!)) k++;
      if (k >= info.length || /\s/.test(info[k]!)) return k;
    }
  }
  throw new AttributeError(`unterminated regular expression in fence info string: ${info}`);
}

function parseRegex(word: string, value: string): RegExp {
  const close = value.lastIndexOf("/");
  if (!value.startsWith("/") || close <= 0) {
    throw new AttributeError(`${word}: expected /pattern/flags`);
  }
  const flags = value.slice(close + 1);
  if (!FLAGS.test(flags))
    throw new AttributeError(`${word}: bad regular expression flags "${flags}"`);
  try {
    return new RegExp(value.slice(1, close), flags);
  } catch (e) {
    throw new AttributeError(`${word}: ${(e as Error).message}`);
  }
}

/**
 * Parses the words after the language of a fence. Unknown words are an error, so a typo
 * such as `expcet=/x/` cannot silently turn a check off.
 */
export function parseCellAttributes(words: readonly string[]): CellAttributes {
  const attrs: CellAttributes = { hidden: false, harness: false, throws: false, needs: [] };
  for (const word of words) {
    const eq = word.indexOf("=");
    const key = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? undefined : word.slice(eq + 1);
    switch (key) {
      case "hidden":
        if (value !== undefined) throw new AttributeError(`${word}: "hidden" takes no value`);
        attrs.hidden = true;
        break;
      case "harness":
        if (value !== undefined) throw new AttributeError(`${word}: "harness" takes no value`);
        attrs.harness = true;
        break;
      case "throws":
        attrs.throws = value === undefined ? true : parseRegex(word, value);
        break;
      case "expect":
        if (value === undefined) throw new AttributeError(`${word}: expect needs =/pattern/`);
        attrs.expect = parseRegex(word, value);
        break;
      case "timeout": {
        const ms = Number(value);
        if (!Number.isInteger(ms) || ms <= 0) {
          throw new AttributeError(`${word}: timeout needs a positive number of milliseconds`);
        }
        attrs.timeoutMs = ms;
        break;
      }
      case "needs": {
        const targets = value?.split(",") ?? [];
        if (targets.length === 0 || targets.some((t) => !/^[a-z0-9_]{1,64}$/.test(t))) {
          throw new AttributeError(
            `${word}: needs takes iterator target names, e.g. needs=bpf_map_elem`,
          );
        }
        attrs.needs.push(...targets);
        break;
      }
      default:
        throw new AttributeError(`unknown cell attribute "${word}"`);
    }
  }
  return attrs;
}
