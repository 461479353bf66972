// Test helpers: process samples, a strict reader of the exposition formats.
import { expect } from "vitest";
import type { ProcessSample } from "../src/index.js";

export function sample(p: Partial<ProcessSample>): ProcessSample {
  const runtime = p.runtime ?? 0;
  const stime = p.stime ?? 0;
  return {
    tgid: 1,
    comm: "x",
    exe: "",
    uid: 0,
    cgroupId: 0,
    startTime: 1,
    state: "S",
    threads: 1,
    fds: 3,
    fdsTruncated: false,
    rssPages: 10,
    runtime,
    kernelThread: false,
    ...p,
    stime,
    utime: p.utime ?? runtime - stime,
  };
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(
  `^(${NAME})(\\{(?:${LABEL})(?:,${LABEL})*\\})? (-?[0-9.e+-]+|NaN|[+-]Inf)( -?[0-9.]+)?$`,
);

/**
 * Checks a whole exposition: every line a comment or a sample, every sample
 * of a family whose TYPE came first, OpenMetrics ending with "# EOF".
 */
export function checkExposition(body: string, format: "prometheus" | "openmetrics"): void {
  expect(body.endsWith("\n")).toBe(true);
  const lines = body.slice(0, -1).split("\n");
  const types = new Map<string, string>();
  const seen = new Set<string>();
  for (const [i, line] of lines.entries()) {
    // The text format ignores empty lines; OpenMetrics has none.
    if (line === "" && format === "prometheus") continue;
    if (line.startsWith("#")) {
      if (line === "# EOF") {
        expect(format).toBe("openmetrics");
        expect(i).toBe(lines.length - 1);
        continue;
      }
      const m = /^# (HELP|TYPE|UNIT) (\S+)(?: (.*))?$/.exec(line);
      expect(m, `line ${i + 1}: ${line}`).not.toBeNull();
      if (m![1] === "TYPE") types.set(m![2]!, m![3]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    expect(m, `line ${i + 1} is no sample: ${line}`).not.toBeNull();
    const name = m![1]!;
    const family = [...types.keys()].find(
      (f) => name === f || name === `${f}_total` || name === `${f}_created`,
    );
    expect(family, `line ${i + 1}: ${name} has no TYPE before it`).toBeDefined();
    const key = `${name}${m![2] ?? ""}`;
    expect(seen.has(key), `line ${i + 1}: ${key} twice`).toBe(false);
    seen.add(key);
  }
  if (format === "openmetrics") expect(lines.at(-1)).toBe("# EOF");
}

/** The value of one series (exact name and labels as rendered), or undefined. */
export function seriesValue(body: string, series: string): number | undefined {
  for (const line of body.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1).split(" ")[0]);
  }
  return undefined;
}
