// A vitest reporter, loaded inside the guest, that sends each finished test
// file's results to the host over the event channel.
import { appendFileSync, existsSync, openSync, writeSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { Reporter, TestCase, TestModule } from "vitest/node";
import type { GuestEvent, TestRecord } from "../events.js";

const channelPath = process.env.TS_EBPF_VM_CHANNEL ?? "/dev/ttyS1";
const repo = process.env.TS_EBPF_VM_REPO ?? process.cwd();
const reportedPath = process.env.TS_EBPF_VM_REPORTED;
/**
 * The package a test file belongs to: the nearest directory above it with a
 * package.json (one vitest project holds several packages' files).
 */
const packages = new Map<string, string>();
function packageOf(mod: TestModule): string {
  const start = dirname(mod.moduleId);
  let known = packages.get(start);
  if (known === undefined) {
    let dir = start;
    while (dir.startsWith(repo) && dir !== repo && !existsSync(join(dir, "package.json")))
      dir = dirname(dir);
    known = relative(repo, dir) || ".";
    packages.set(start, known);
  }
  return known;
}

let channel: number | undefined;
function emit(ev: GuestEvent): void {
  channel ??= openSync(channelPath, "w");
  writeSync(channel, `${JSON.stringify(ev)}\n`);
}

const firstLines = (s: string, n = 6) => s.split("\n").slice(0, n).join("\n");

export default class ChannelReporter implements Reporter {
  onTestModuleStart(mod: TestModule): void {
    emit({ ev: "file-start", pkg: packageOf(mod), file: relative(repo, mod.moduleId) });
  }

  onTestCaseReady(tc: TestCase): void {
    emit({ ev: "test-start", file: relative(repo, tc.module.moduleId), name: tc.fullName });
  }

  onTestCaseResult(tc: TestCase): void {
    const state = tc.result().state;
    emit({
      ev: "test-end",
      file: relative(repo, tc.module.moduleId),
      name: tc.fullName,
      state: state === "pending" ? "pending" : state,
    });
  }

  onTestModuleEnd(mod: TestModule): void {
    const tests: TestRecord[] = [];
    for (const tc of mod.children.allTests()) {
      const result = tc.result();
      const record: TestRecord = {
        name: tc.fullName,
        state: result.state,
        durationMs: Math.round(tc.diagnostic()?.duration ?? 0),
      };
      if (result.state === "skipped") {
        const suiteReason = /\[skipped: ([^\]]+)\]/.exec(tc.fullName)?.[1];
        const note = result.note ?? suiteReason;
        if (note) record.note = note;
      }
      if (result.state === "failed" && result.errors?.[0]) {
        const e = result.errors[0];
        record.error = firstLines(e.message ?? String(e));
      }
      tests.push(record);
    }
    const moduleErrors = mod.errors().map((e) => firstLines(e.message ?? String(e)));
    const ev: GuestEvent = {
      ev: "file",
      pkg: packageOf(mod),
      file: relative(repo, mod.moduleId),
      tests,
    };
    if (moduleErrors.length > 0) ev.error = moduleErrors.join("\n");
    emit(ev);
    if (reportedPath) appendFileSync(reportedPath, `${mod.moduleId}\n`);
  }

  onTestRunEnd(
    _modules: ReadonlyArray<TestModule>,
    errors: ReadonlyArray<{ message?: string }>,
    reason: string,
  ): void {
    if (reportedPath) appendFileSync(reportedPath, "run-end\n");
    emit({
      ev: "run-end",
      reason,
      errors: errors.map((e) => firstLines(e.message ?? String(e))),
    });
  }
}
