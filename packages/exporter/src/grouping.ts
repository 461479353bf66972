// Which group a process counts in: by comm, executable, cgroup or user, or by
// rules in process-exporter's config format (`process_names`: comm and exe
// matchers, a name template). The group name is the `groupname` label; how
// many distinct ones there can be is bounded by the exporter (maxGroups).

import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { ProcessSample } from "./processes.js";

export type GroupBy = "comm" | "exe" | "cgroup" | "user";
export const GROUP_BY: readonly GroupBy[] = ["comm", "exe", "cgroup", "user"];

/** What the kernel threads count as: one group "[kernel]", their own comm, or nothing. */
export type KernelThreads = "group" | "comm" | "skip";
export const KERNEL_THREADS: readonly KernelThreads[] = ["group", "comm", "skip"];
export const KERNEL_GROUP = "[kernel]";

/** Facts a group name may use besides the process itself. */
export interface GroupContext {
  /** Path of a cgroup v2 id ("/system.slice/ssh.service"), when known. */
  cgroupPath(id: number): string;
  /** User name of a uid, or the number. */
  userName(uid: number): string;
}

/** One rule of a process-exporter config: a name template and what a process must match. */
export interface MatchRule {
  /** Name template (default "{{.ExeBase}}", as process-exporter's). */
  readonly name?: string;
  /** Exact comm values. */
  readonly comm?: readonly string[];
  /** Executables: a path matches by its basename (the kernel gives the exe's name, not its path). */
  readonly exe?: readonly string[];
}

export interface Grouping {
  /** The group of `p`, or undefined when it is not reported. */
  groupOf(p: ProcessSample, ctx: GroupContext): string | undefined;
  /** Whether the executable's name must be read (costs a string copy per process). */
  readonly needsExe: boolean;
  readonly needsCgroups: boolean;
  readonly needsUsers: boolean;
}

const TEMPLATE_FIELDS = [
  "Comm",
  "ExeBase",
  "ExeFull",
  "Username",
  "PID",
  "StartTime",
  "Cgroups",
] as const;
type TemplateField = (typeof TEMPLATE_FIELDS)[number];
const TEMPLATE_RE = /\{\{\s*\.(\w+)\s*\}\}/g;

function templateFields(template: string): Set<TemplateField> {
  const used = new Set<TemplateField>();
  for (const m of template.matchAll(/\{\{(.*?)\}\}/g)) {
    const field = /^\s*\.(\w+)\s*$/.exec(m[1]!)?.[1] as TemplateField | undefined;
    if (field === undefined || !TEMPLATE_FIELDS.includes(field)) {
      throw new TypeError(
        `name template "${template}": ${m[0]} is not supported; use ${TEMPLATE_FIELDS.map((f) => `{{.${f}}}`).join(", ")}`,
      );
    }
    used.add(field);
  }
  return used;
}

function expand(template: string, p: ProcessSample, ctx: GroupContext): string {
  return template.replace(TEMPLATE_RE, (_m, field: string) => {
    switch (field as TemplateField) {
      case "Comm":
        return p.comm;
      case "ExeBase":
      case "ExeFull":
        return p.exe || p.comm;
      case "Username":
        return ctx.userName(p.uid);
      case "PID":
        return String(p.tgid);
      case "StartTime":
        return String(p.startTime);
      case "Cgroups":
        return ctx.cgroupPath(p.cgroupId);
    }
    return "";
  });
}

/** Grouping by one fact of every process; kernel threads as `kernelThreads` says. */
export function groupBy(by: GroupBy, kernelThreads: KernelThreads = "group"): Grouping {
  if (!GROUP_BY.includes(by)) {
    throw new RangeError(`groupBy must be one of ${GROUP_BY.join(", ")}, got ${String(by)}`);
  }
  if (!KERNEL_THREADS.includes(kernelThreads)) {
    throw new RangeError(
      `kernelThreads must be one of ${KERNEL_THREADS.join(", ")}, got ${String(kernelThreads)}`,
    );
  }
  return {
    needsExe: by === "exe",
    needsCgroups: by === "cgroup",
    needsUsers: by === "user",
    groupOf(p, ctx) {
      if (p.kernelThread) {
        if (kernelThreads === "skip") return undefined;
        if (kernelThreads === "group") return KERNEL_GROUP;
        return p.comm;
      }
      switch (by) {
        case "comm":
          return p.comm;
        case "exe":
          return p.exe || p.comm;
        case "cgroup":
          return ctx.cgroupPath(p.cgroupId);
        case "user":
          return ctx.userName(p.uid);
      }
    },
  };
}

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** Grouping by process-exporter rules: the first rule a process matches names its group. */
export function groupByRules(rules: readonly MatchRule[]): Grouping {
  if (!Array.isArray(rules) || rules.length === 0) {
    throw new TypeError("process_names must be a non-empty list of rules");
  }
  const used = new Set<TemplateField>();
  const compiled = rules.map((rule, i) => {
    if (typeof rule !== "object" || rule === null) {
      throw new TypeError(`process_names[${i}] must be a mapping`);
    }
    const unknown = Object.keys(rule).filter((k) => !["name", "comm", "exe"].includes(k));
    if (unknown.length > 0) {
      throw new TypeError(
        `process_names[${i}]: ${unknown.join(", ")} not supported (comm and exe are; ` +
          "cmdline would need each process's memory, which the task iterator does not read)",
      );
    }
    const list = (key: "comm" | "exe") => {
      const v = rule[key];
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
        throw new TypeError(`process_names[${i}].${key} must be a list of strings`);
      }
      return new Set(key === "exe" ? v.map(basename) : v);
    };
    const name = rule.name ?? "{{.ExeBase}}";
    if (typeof name !== "string") throw new TypeError(`process_names[${i}].name must be a string`);
    for (const f of templateFields(name)) used.add(f);
    const comm = list("comm");
    const exe = list("exe");
    if (!comm && !exe) throw new TypeError(`process_names[${i}] has neither comm nor exe`);
    return { name, comm, exe };
  });
  const needsExe = used.has("ExeBase") || used.has("ExeFull") || compiled.some((r) => r.exe);
  return {
    needsExe,
    needsCgroups: used.has("Cgroups"),
    needsUsers: used.has("Username"),
    groupOf(p, ctx) {
      for (const r of compiled) {
        if (r.comm?.has(p.comm) || (r.exe && p.exe !== "" && r.exe.has(p.exe))) {
          return expand(r.name, p, ctx);
        }
      }
      return undefined;
    },
  };
}

/** A process-exporter config file that cannot be read. */
export class GroupingConfigError extends Error {
  override readonly name = "GroupingConfigError";
}

/** Rules from a process-exporter config file (YAML or JSON): its `process_names` list. */
export function loadGroupingConfig(path: string): Grouping {
  if (typeof path !== "string" || path === "") throw new TypeError("path must be a file name");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new GroupingConfigError(`cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new TypeError(`${path}: not YAML: ${(err as Error).message}`);
  }
  const names = (doc as { process_names?: unknown } | null)?.process_names;
  if (!Array.isArray(names)) throw new TypeError(`${path}: no process_names list`);
  return groupByRules(names as MatchRule[]);
}
