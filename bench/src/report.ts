// Turns a RunResult into the terminal summary, the Markdown page the site
// shows, and one SVG chart per group.
import { formatPercent, formatRatio, formatSeconds, formatThroughput } from "./format.js";
import {
  type GoalResult,
  type GroupResult,
  groupBusy,
  type RunResult,
  type VariantResult,
} from "./model.js";
import { type BarRow, renderBarChart } from "./svg.js";

function perItem(v: VariantResult): string {
  if (!v.summary || !v.items) return "—";
  return formatSeconds(v.summary.median / v.items);
}

function throughput(v: VariantResult): string {
  if (!v.summary || !v.bytes) return "—";
  return formatThroughput(v.bytes / v.summary.median);
}

/** "unavailable: <why>" (the kernel) or "not available yet: <why>" (the API). */
export function unavailableText(v: Pick<VariantResult, "note" | "missing">): string {
  return `${v.missing === "kernel" ? "unavailable" : "not available yet"}: ${v.note ?? ""}`.trim();
}

function statusText(v: VariantResult): string {
  if (v.status === "unavailable") return unavailableText(v);
  if (v.status === "failed") return `FAILED: ${v.note ?? ""}`;
  const parts: string[] = [];
  if (v.reference) parts.push("reference");
  if (v.summary?.noisy) parts.push("noisy");
  if (v.note) parts.push(v.note);
  return parts.join("; ");
}

function ratioText(v: VariantResult): string {
  if (v.reference) return "1.00x";
  return formatRatio(v.ratio);
}

function cpuRatioText(v: VariantResult): string {
  if (!v.cpuSummary) return "—";
  if (v.reference) return "1.00x";
  return formatRatio(v.cpuRatio);
}

const formatDifference = (s: number | undefined): string =>
  s === undefined ? "—" : `${s >= 0 ? "+" : "−"}${Math.abs(s * 1000).toFixed(1)} ms`;

export function goalText(g: GoalResult): string {
  const cmp = g.comparison === "at-most" ? "≤" : "≥";
  if (g.difference)
    return `${formatDifference(g.ratio)} (goal ${cmp} ${formatDifference(g.target)})`;
  return `${formatRatio(g.ratio)} (goal ${cmp} ${g.target}x)`;
}

/** The CPU-time column of a goal: a ratio, or a difference for difference goals. */
export function goalCpuText(g: GoalResult): string {
  return g.difference ? formatDifference(g.cpuRatio) : formatRatio(g.cpuRatio);
}

export function goalVerdict(g: GoalResult): string {
  if (g.met === null) return g.note ? `not measured: ${g.note}` : "not measured";
  const notes: string[] = [];
  if (g.basis === "cpu") {
    notes.push(g.cpuGoal ? "on CPU time, what the goal measures" : "on CPU time: machine busy");
    if (g.wallMet !== undefined && g.wallMet !== g.met) {
      notes.push(`wall time says ${g.wallMet ? "met" : "missed"}`);
    }
  } else if (g.cpuMet !== undefined && g.cpuMet !== g.met) {
    notes.push(`${g.cpuMet ? "met" : "missed"} on CPU time`);
  }
  if (g.noisy) notes.push("noisy");
  if (g.met === false && g.floorMet === false && g.floorRatio !== undefined) {
    notes.push(
      `out of JavaScript's reach on this Node: its hand-written floor takes ${formatRatio(g.floorRatio)}`,
    );
  }
  return `${g.met ? "met" : "MISSED"}${notes.length ? ` (${notes.join("; ")})` : ""}`;
}

/**
 * What a run in a virtual machine must say plainly: where it ran, and that
 * emulation changes absolute times and can shift ratios.
 */
export function vmCaveat(run: RunResult, strong: (s: string) => string): string {
  const m = run.machine;
  const vm = m.vm!;
  const where =
    `The guest (\`pnpm bench --vm ${vm.kernelName}\`) ran kernel ${m.kernel} with ` +
    `${vm.vcpus} vCPUs and ${vm.memoryMiB} MiB on ${vm.hostCpu} (${vm.hostCores} cores, host kernel ${vm.hostKernel}).` +
    (vm.hostLoadAverage
      ? ` The host's load average while the guest ran: ${vm.hostLoadAverage.mean} on average, ${vm.hostLoadAverage.max} at most, on ${vm.hostCores} cores` +
        (vm.hostLoadAverage.mean > vm.hostCores
          ? " (busy: other work took host CPU from the guest's vCPUs, which stretches wall and CPU times measured inside the guest alike; the load averages in the tables below are the guest's own)."
          : ".")
      : "");
  if (vm.accel === "tcg") {
    return (
      `${strong("Measured in a QEMU TCG guest (software emulation, no KVM), not on hardware.")} ${where} ` +
      "TCG translates every guest instruction, kernel and user space alike, so absolute times are many times what the " +
      "same code takes on the host CPU; and since emulation does not slow every kind of work alike (system calls, page " +
      "faults, memory copies, JIT-compiled JavaScript, BPF programs each pay differently), it can shift the ratios " +
      "too. Read these ratios as indications of the relations, not as what the code achieves on hardware."
    );
  }
  return (
    `${strong("Measured in a QEMU KVM guest, not on bare metal.")} ${where} ` +
    "Virtualization adds cost to system calls, page faults and interrupts, so absolute times and some ratios differ from the host's."
  );
}

// ---- terminal -----------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) =>
          c === 0 || c === r.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function terminalReport(run: RunResult): string {
  const out: string[] = [];
  const m = run.machine;
  out.push(
    `ts-ebpf bench${run.quick ? " (quick)" : ""}: ${m.cpuModel}, ${m.cores} ${m.vm ? "vCPUs" : "cores"}, kernel ${m.kernel}, Node ${m.node}`,
  );
  if (m.vm) out.push(vmCaveat(run, (s) => s));
  for (const g of run.groups) {
    out.push(
      "",
      `${g.title}${g.loadAverage !== undefined ? ` [${loadText(g, m.cores)}${groupBusy(g, m.cores) ? ": busy" : ""}]` : ""}`,
    );
    const rows = [
      [
        "variant",
        "median",
        "min",
        "max",
        "IQR",
        "vs ref",
        "CPU",
        "CPU vs ref",
        g.unit === "throughput" ? "throughput" : "per item",
        "",
      ],
    ];
    for (const v of g.variants) {
      const s = v.summary;
      rows.push([
        v.label,
        s ? formatSeconds(s.median) : "—",
        s ? formatSeconds(s.min) : "—",
        s ? formatSeconds(s.max) : "—",
        s ? formatPercent(s.iqrRatio) : "—",
        s ? ratioText(v) : "—",
        v.cpuSummary ? formatSeconds(v.cpuSummary.median) : "—",
        cpuRatioText(v),
        g.unit === "throughput" ? throughput(v) : perItem(v),
        statusText(v),
      ]);
    }
    out.push(table(rows));
  }
  out.push("", "Goals");
  const goalRows = [["goal", "measured", "CPU-time ratio", "formula", "verdict"]];
  for (const g of run.goals) {
    goalRows.push([g.text, goalText(g), goalCpuText(g), g.formula, goalVerdict(g)]);
  }
  out.push(table(goalRows));
  return `${out.join("\n")}\n`;
}

// ---- Markdown -------------------------------------------------------------

function mdEscape(s: string): string {
  return s.replace(/\|/g, "\\|");
}

export function markdownReport(run: RunResult): string {
  const m = run.machine;
  const out: string[] = [];
  out.push(
    "# Benchmarks",
    "",
    "<!-- Generated by `pnpm bench` (bench/src/report.ts). Do not edit by hand. -->",
    "",
    `Measured ${run.startedAt.slice(0, 16).replace("T", " ")} UTC on ${m.vm ? "a " : ""}${m.cpuModel} (${m.cores} ${m.vm ? "vCPUs" : "cores"}, ${m.memoryGiB} GiB), ${m.os}, kernel ${m.kernel}, Node ${m.node}, as root${run.commit ? `, commit ${run.commit}` : ""}.` +
      (run.quick ? " **Quick mode: small sizes and few repetitions; not representative.**" : ""),
    "",
    ...(m.vm ? [vmCaveat(run, (s) => `**${s}**`), ""] : []),
    `Each figure is the median of ${run.repetitions} timed repetitions after a warm-up (fewer for the slowest variants; see *n*). ` +
      "Ratios compare medians measured in the same run, so they hold across machines better than the absolute times. " +
      "A figure whose interquartile range exceeds 20% of its median is marked *noisy*. " +
      "*CPU* is the process's CPU time (user + system, all threads) over the same span. Other work on the machine stretches " +
      "wall time, unevenly (the scheduler favours threads that sleep often, such as a reader waiting on the thread pool, over " +
      "busy loops), but barely moves CPU time. So goals are judged on wall time when the machine was quiet (on average, " +
      "before each sample, no more other runnable tasks than cores beside the suite's own) and on CPU time when it was busy; " +
      "both ratios are always shown. The load average is shown too, but it also counts tasks asleep in the kernel and keeps " +
      "an earlier group's spike (50,000 threads starting) for minutes.",
    "",
    "## Goals",
    "",
    "| Goal | Measured (wall time) | CPU-time ratio | Ratio | Verdict |",
    "|---|---|---|---|---|",
  );
  for (const g of run.goals) {
    out.push(
      `| ${mdEscape(g.text)} | ${goalText(g)} | ${goalCpuText(g)} | ${mdEscape(g.formula)} | ${mdEscape(goalVerdict(g))}${g.note && g.met !== null ? ` — ${mdEscape(g.note)}` : ""} |`,
    );
  }
  for (const g of run.groups) {
    const extra = g.unit === "throughput" ? "Throughput" : "Per item";
    out.push(
      "",
      `## ${g.title}`,
      "",
      g.description,
      "",
      ...(g.loadAverage !== undefined
        ? [
            `${capitalised(loadText(g, m.cores))} while measuring${
              groupBusy(g, m.cores) ? " (busy: compare the CPU columns)" : " (quiet)"
            }.`,
            "",
          ]
        : []),
      `![${g.title}](./${g.id}.svg)`,
      "",
      `| Variant | Median | Min – max | IQR | n | vs reference | CPU | CPU vs reference | ${extra} | Notes |`,
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    );
    for (const v of g.variants) {
      const s = v.summary;
      out.push(
        `| ${v.reference ? `**${mdEscape(v.label)}**` : mdEscape(v.label)} | ${s ? formatSeconds(s.median) : "—"} | ${
          s ? `${formatSeconds(s.min)} – ${formatSeconds(s.max)}` : "—"
        } | ${s ? formatPercent(s.iqrRatio) : "—"} | ${s ? s.n : "—"} | ${s ? ratioText(v) : "—"} | ${
          v.cpuSummary ? formatSeconds(v.cpuSummary.median) : "—"
        } | ${cpuRatioText(v)} | ${g.unit === "throughput" ? throughput(v) : perItem(v)} | ${mdEscape(statusText(v))} |`,
      );
    }
  }
  out.push("");
  return out.join("\n");
}

// ---- charts ---------------------------------------------------------------

export function chartFor(group: GroupResult, run: RunResult): string {
  const m = run.machine;
  const subtitle = `${m.cpuModel}, ${m.cores} ${m.vm ? "vCPUs" : "cores"} · kernel ${m.kernel} · Node ${m.node}${run.quick ? " · QUICK MODE" : ""}${m.vm?.accel === "tcg" ? " · emulated: ratios indicative" : ""}`;
  const rows: BarRow[] = group.variants.map((v) => {
    const s = v.summary;
    if (!s) {
      return {
        label: v.label,
        text:
          v.status === "failed"
            ? "failed"
            : v.missing === "kernel"
              ? "unavailable on this kernel"
              : "not available yet",
      };
    }
    const suffix = v.reference
      ? " · reference"
      : v.ratio !== undefined
        ? ` · ${formatRatio(v.ratio)}${v.cpuRatio !== undefined ? ` (CPU ${formatRatio(v.cpuRatio)})` : ""}`
        : "";
    const noisy = s.noisy ? " · noisy" : "";
    const base = { label: v.label, noisy: s.noisy, ...(v.reference ? { reference: true } : {}) };
    const cpu = v.cpuSummary?.median;
    if (group.unit === "throughput" && v.bytes) {
      // Charted in MiB/s so that axis ticks are round in the unit shown.
      const mib = v.bytes / 2 ** 20;
      return {
        ...base,
        value: mib / s.median,
        low: mib / s.max,
        high: mib / s.min,
        ...(cpu ? { cpu: mib / cpu } : {}),
        text: `${formatThroughput(v.bytes / s.median)}${cpu ? ` (on CPU time ${formatThroughput(v.bytes / cpu)})` : ""}${noisy}`,
      };
    }
    if (group.unit === "per-item" && v.items) {
      return {
        ...base,
        value: s.median / v.items,
        low: s.min / v.items,
        high: s.max / v.items,
        ...(cpu !== undefined ? { cpu: cpu / v.items } : {}),
        text: `${formatSeconds(s.median / v.items)}${suffix}${noisy}`,
      };
    }
    return {
      ...base,
      value: s.median,
      low: s.min,
      high: s.max,
      ...(cpu !== undefined ? { cpu } : {}),
      text: `${formatSeconds(s.median)}${suffix}${noisy}`,
    };
  });
  const axisLabel =
    group.unit === "throughput"
      ? "bars: median throughput (higher is better) · whiskers: min–max · ◆ the same on CPU time"
      : group.unit === "per-item"
        ? "bars: median wall time per item (lower is better) · whiskers: min–max · ◆ median CPU time"
        : "bars: median wall time (lower is better) · whiskers: min–max · ◆ median CPU time";
  return renderBarChart({
    title: group.title,
    subtitle,
    axisLabel,
    rows,
    formatTick:
      group.unit === "throughput"
        ? (v) => `${Number(v.toPrecision(3))} MiB/s`
        : (v) => (v === 0 ? "0" : formatSeconds(v)),
  });
}

/** The group's load figures: the load average, and other runnable tasks when recorded. */
function loadText(g: GroupResult, cores: number): string {
  const others =
    g.othersRunnable !== undefined ? `, ${g.othersRunnable} other runnable tasks on average` : "";
  return `load average ${g.loadAverage}${others} on ${cores} cores`;
}

const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
