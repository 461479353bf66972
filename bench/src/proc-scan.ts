// The baseline tasks() replaces: list processes the way ps(1) does, by
// reading /proc/<pid>/stat for every numeric entry of /proc.
import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
}

export function parseStat(text: string): ProcStat {
  // comm may contain spaces and parentheses: it ends at the last ')'.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`malformed stat line: ${text.slice(0, 60)}`);
  const rest = text.slice(close + 2).split(" ");
  return {
    pid: Number(text.slice(0, open - 1)),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? "?",
    ppid: Number(rest[1]),
  };
}

export function scanProc(root = "/proc"): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync(root)) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let text: string;
    try {
      text = readFileSync(`${root}/${name}/stat`, "latin1");
    } catch {
      continue; // the process exited between readdir and open
    }
    out.push(parseStat(text));
  }
  return out;
}
