// Hand-written SVG bar charts: one horizontal bar per variant with a min–max
// whisker, the reference in a darker colour, noisy figures outlined, missing
// variants listed in grey. No dependencies; the site embeds the files as is.

export interface BarRow {
  label: string;
  /** Bar length (median); absent when the variant did not run. */
  value?: number;
  low?: number;
  high?: number;
  /** Text right of the bar, e.g. "231 ms · 1.05x". */
  text: string;
  reference?: boolean;
  noisy?: boolean;
  /** Median CPU time (or CPU-time throughput), drawn as a diamond on the bar. */
  cpu?: number;
}

export interface BarChart {
  title: string;
  subtitle?: string;
  /** Under the axis, e.g. "median time per dump (lower is better)". */
  axisLabel: string;
  rows: BarRow[];
  formatTick: (v: number) => string;
}

const PLOT_W = 360;
const TEXT_W = 250;
const ROW_H = 26;
const TOP = 58;
/** Rough width of a string in 13px sans-serif (no font metrics here), to size the label column. */
export function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    if (ch >= "A" && ch <= "Z") w += 9;
    else if (ch === " " || ch === "," || ch === "." || ch === "(" || ch === ")") w += 4;
    else w += 7.3;
  }
  return w;
}

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** Round axis ticks (1, 2, 5 × 10^k) covering 0..max. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

/** Powers of ten from below `min` to above `max`, for a log axis. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const ticks: number[] = [];
  for (let e = lo; e <= Math.max(hi, lo + 1); e++) ticks.push(Number((10 ** e).toPrecision(12)));
  return ticks;
}

/** Bars spanning more than this factor get a log axis, so the short ones stay visible. */
export const LOG_SCALE_SPREAD = 50;

export function renderBarChart(chart: BarChart): string {
  const rows = chart.rows;
  const LABEL_W = Math.ceil(Math.max(120, ...rows.map((r) => textWidth(r.label))) + 20);
  const WIDTH =
    LABEL_W + PLOT_W + Math.ceil(Math.max(TEXT_W, ...rows.map((r) => textWidth(r.text) + 30)));
  const values = rows
    .flatMap((r) => [r.low, r.value, r.high])
    .filter((v): v is number => v !== undefined && v > 0);
  const dataMax = Math.max(0, ...values);
  const dataMin = Math.min(...values);
  const log = values.length > 0 && dataMax / dataMin > LOG_SCALE_SPREAD;
  const ticks = log ? logTicks(dataMin, dataMax) : niceTicks(dataMax);
  const scaleMax = ticks[ticks.length - 1]! || 1;
  const scaleMin = ticks[0]!;
  const x = log
    ? (v: number) =>
        LABEL_W +
        (Math.log10(Math.max(v, scaleMin) / scaleMin) / Math.log10(scaleMax / scaleMin)) * PLOT_W
    : (v: number) => LABEL_W + (v / scaleMax) * PLOT_W;
  const plotBottom = TOP + rows.length * ROW_H;
  const height = plotBottom + 48;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="13">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="16" font-weight="600" fill="#1b1f24">${escapeXml(chart.title)}</text>`,
  );
  if (chart.subtitle) {
    out.push(
      `<text x="12" y="41" font-size="12" fill="#57606a">${escapeXml(chart.subtitle)}</text>`,
    );
  }
  for (const t of ticks) {
    const tx = x(t).toFixed(1);
    out.push(
      `<line x1="${tx}" y1="${TOP - 4}" x2="${tx}" y2="${plotBottom}" stroke="#d0d7de" stroke-width="1"/>`,
      `<text x="${tx}" y="${plotBottom + 16}" text-anchor="middle" font-size="11" fill="#57606a">${escapeXml(chart.formatTick(t))}</text>`,
    );
  }
  rows.forEach((r, i) => {
    const y = TOP + i * ROW_H;
    const mid = y + ROW_H / 2;
    out.push(
      `<text x="${LABEL_W - 8}" y="${mid + 4}" text-anchor="end" fill="#1b1f24"${r.reference ? ' font-weight="600"' : ""}>${escapeXml(r.label)}</text>`,
    );
    if (r.value === undefined) {
      out.push(
        `<text x="${LABEL_W + 6}" y="${mid + 4}" fill="#8c959f" font-style="italic">${escapeXml(r.text)}</text>`,
      );
      return;
    }
    const fill = r.reference ? "#0a3069" : "#2f81f7";
    const w = Math.max(1, x(r.value) - LABEL_W);
    const stroke = r.noisy ? ' stroke="#bc4c00" stroke-width="2" stroke-dasharray="4 2"' : "";
    out.push(
      `<rect x="${LABEL_W}" y="${y + 5}" width="${w.toFixed(1)}" height="${ROW_H - 10}" fill="${fill}" rx="2"${stroke}/>`,
    );
    if (r.low !== undefined && r.high !== undefined) {
      const x1 = x(r.low).toFixed(1);
      const x2 = x(r.high).toFixed(1);
      out.push(
        `<line x1="${x1}" y1="${mid}" x2="${x2}" y2="${mid}" stroke="#1b1f24" stroke-width="1.5"/>`,
        `<line x1="${x1}" y1="${mid - 5}" x2="${x1}" y2="${mid + 5}" stroke="#1b1f24" stroke-width="1.5"/>`,
        `<line x1="${x2}" y1="${mid - 5}" x2="${x2}" y2="${mid + 5}" stroke="#1b1f24" stroke-width="1.5"/>`,
      );
    }
    if (r.cpu !== undefined) {
      const cx = x(r.cpu);
      out.push(
        `<path d="M${(cx - 5).toFixed(1)} ${mid} L${cx.toFixed(1)} ${mid - 6} L${(cx + 5).toFixed(1)} ${mid} L${cx.toFixed(1)} ${mid + 6} Z" fill="#fb8f44" stroke="#1b1f24" stroke-width="0.8"/>`,
      );
    }
    const textX =
      Math.max(x(r.high ?? r.value), x(r.value), r.cpu !== undefined ? x(r.cpu) + 6 : 0) + 8;
    out.push(
      `<text x="${textX.toFixed(1)}" y="${mid + 4}" fill="${r.noisy ? "#bc4c00" : "#1b1f24"}">${escapeXml(r.text)}</text>`,
    );
  });
  out.push(
    `<text x="${LABEL_W + PLOT_W / 2}" y="${plotBottom + 36}" text-anchor="middle" font-size="12" fill="#57606a">${escapeXml(chart.axisLabel + (log ? " · log scale" : ""))}</text>`,
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}
