// Summary statistics of repeated timings. Medians and quartiles resist the
// odd slow run (a GC pause, a page-cache miss) better than means.

/** A figure whose interquartile range exceeds this share of its median is flagged as noisy. */
export const NOISE_THRESHOLD = 0.2;

export interface Summary {
  /** Number of timed repetitions. */
  n: number;
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  /** (q3 - q1) / median: the spread the noise flag is based on. */
  iqrRatio: number;
  /** True when the spread is too wide to trust the median. */
  noisy: boolean;
}

/** Quantile of sorted values with linear interpolation between ranks (type 7, as R and numpy). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError("quantile of an empty sample");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("cannot summarize zero samples");
  for (const s of samples) {
    if (!Number.isFinite(s) || s < 0) throw new RangeError(`bad sample ${s}`);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  const iqrRatio = median > 0 ? (q3 - q1) / median : 0;
  return {
    n: sorted.length,
    median,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    q1,
    q3,
    iqrRatio,
    noisy: iqrRatio > NOISE_THRESHOLD,
  };
}

/**
 * How many times slower `subject` is than `reference` (ratio of medians):
 * 1.0 = same speed, 2.0 = twice as slow, 0.5 = twice as fast.
 */
export function slowdown(subject: Summary, reference: Summary): number {
  if (reference.median <= 0) throw new RangeError("reference median must be positive");
  return subject.median / reference.median;
}
