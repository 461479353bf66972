#!/usr/bin/env node
// ts-ebpf-notebook [--record [--merge DIR]] [--out-dir DIR] [--part SLUG]... [--chapter N]... [--no-stale-check] [DIR]
// Runs the book's chapters (every part-*/README.md under DIR, default: this package) and
// exits non-zero when a cell throws unexpectedly, misses its expectation, or the recorded
// outputs are stale. Outputs that differ from the recording (pids, timings) never fail a run;
// each such cell is named with its first differing line. --merge DIR: cells that `needs=` an
// iterator target this kernel refuses take their recording from DIR (a VM guest's --out-dir).
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { kernelUnavailableReason } from "./kernel.js";
import { readPart } from "./markdown.js";
import { runParts } from "./run.js";

const usage =
  "usage: ts-ebpf-notebook [--record [--merge DIR]] [--out-dir DIR] [--part SLUG]... [--chapter N]... [--no-stale-check] [DIR]";

function main(): Promise<number> | number {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    return 2;
  }
  if (args.values.help) {
    console.log(usage);
    return 0;
  }
  const root = resolve(args.positionals[0] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
  const wantedParts = new Set(args.values.part ?? []);
  const slugs = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^part-\d+/.test(d.name))
    .map((d) => d.name)
    .filter((name) => wantedParts.size === 0 || wantedParts.has(name))
    .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
  if (slugs.length === 0) {
    console.error(`no part-*/ folders under ${root}`);
    return 2;
  }
  const chapters = args.values.chapter?.map(Number);
  if (chapters?.some((n) => !Number.isInteger(n))) {
    console.error(`--chapter takes a chapter number\n${usage}`);
    return 2;
  }
  if (args.values.merge && !args.values.record) {
    console.error(`--merge goes with --record\n${usage}`);
    return 2;
  }
  const parts = slugs.map((slug) => readPart(join(root, slug, "README.md")));
  return runParts(parts, {
    record: args.values.record ?? false,
    outDir: args.values["out-dir"] ? resolve(args.values["out-dir"]) : undefined,
    merge: args.values.merge ? resolve(args.values.merge) : undefined,
    checkRecorded: !(args.values["no-stale-check"] ?? false),
    chapters: chapters ? new Set(chapters) : undefined,
    kernelUnavailable: kernelUnavailableReason(),
    requireKernel: process.env.TS_EBPF_REQUIRE_KERNEL === "1",
  }).then((summary) => {
    for (const c of summary.chapters) {
      const mark = c.status === "passed" ? "ok  " : c.status === "skipped" ? "skip" : "FAIL";
      console.log(
        `${mark} chapter ${c.chapter.number} — ${c.chapter.title}${c.reason ? ` (${c.reason})` : ""}`,
      );
    }
    console.log(
      `notebooks: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`,
    );
    return summary.ok ? 0 : 1;
  });
}

function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      record: { type: "boolean" },
      "out-dir": { type: "string" },
      merge: { type: "string" },
      part: { type: "string", multiple: true },
      chapter: { type: "string", multiple: true },
      "no-stale-check": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

void Promise.resolve(main()).then((code) => {
  process.exitCode = code;
});
