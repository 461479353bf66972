// Number formatting shared by the terminal, Markdown and SVG reports.

/** Seconds with a unit that keeps three significant digits: "231 ms", "1.17 µs". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "—";
  const abs = Math.abs(s);
  if (abs >= 1) return `${s.toPrecision(3)} s`;
  if (abs >= 1e-3) return `${(s * 1e3).toPrecision(3)} ms`;
  if (abs >= 1e-6) return `${(s * 1e6).toPrecision(3)} µs`;
  return `${(s * 1e9).toPrecision(3)} ns`;
}

export function formatRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return "—";
  return r >= 100 ? `${r.toFixed(0)}x` : r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
}

export function formatPercent(p: number): string {
  return `${(p * 100).toFixed(p < 0.1 ? 1 : 0)}%`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Bytes per second as MiB/s or GiB/s. */
export function formatThroughput(bytesPerSecond: number): string {
  const mib = bytesPerSecond / 2 ** 20;
  return mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB/s` : `${mib.toPrecision(3)} MiB/s`;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 20 && n % 2 ** 20 === 0) return `${n / 2 ** 20} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}
