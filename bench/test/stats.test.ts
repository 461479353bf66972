import { describe, expect, it } from "vitest";
import { medianSample } from "../src/measure.js";
import { NOISE_THRESHOLD, quantile, slowdown, summarize } from "../src/stats.js";

describe("quantile", () => {
  it("interpolates between ranks", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.25)).toBe(2);
    expect(quantile([10, 20], 0.75)).toBe(17.5);
    expect(quantile([7], 0.9)).toBe(7);
  });
  it("rejects an empty sample and out-of-range quantiles", () => {
    expect(() => quantile([], 0.5)).toThrow(RangeError);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
    expect(() => quantile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe("summarize", () => {
  it("gives median, extremes and quartiles regardless of order", () => {
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s).toMatchObject({ n: 5, median: 3, min: 1, max: 5, q1: 2, q3: 4 });
    expect(s.iqrRatio).toBeCloseTo(2 / 3);
  });
  it("flags a spread above the threshold as noisy, not one outlier", () => {
    // One slow outlier moves max but not the interquartile range.
    const steady = summarize([1.0, 1.01, 0.99, 1.02, 5.0]);
    expect(steady.noisy).toBe(false);
    expect(steady.max).toBe(5);
    const wide = summarize([1, 1.5, 2, 2.5, 3]);
    expect(wide.iqrRatio).toBeGreaterThan(NOISE_THRESHOLD);
    expect(wide.noisy).toBe(true);
  });
  it("rejects bad samples", () => {
    expect(() => summarize([])).toThrow(RangeError);
    expect(() => summarize([1, -1])).toThrow(RangeError);
    expect(() => summarize([1, Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
  it("treats all-zero samples as not noisy", () => {
    expect(summarize([0, 0, 0]).noisy).toBe(false);
  });
});

describe("slowdown", () => {
  it("is the ratio of medians", () => {
    expect(slowdown(summarize([2, 2, 2]), summarize([1, 1, 1]))).toBe(2);
    expect(() => slowdown(summarize([1]), summarize([0]))).toThrow(RangeError);
  });
});

describe("medianSample", () => {
  const s = (seconds: number, cpuSeconds = seconds, items = 1) => ({ seconds, cpuSeconds, items });
  it("takes the whole sample of median wall time (its CPU time and items with it)", () => {
    expect(medianSample([s(3, 9, 3), s(1, 7, 1), s(2, 8, 2)])).toEqual(s(2, 8, 2));
    expect(medianSample([s(5)])).toEqual(s(5));
    // An even count: the lower middle, a sample that was measured.
    expect(medianSample([s(4), s(1), s(3), s(2)])).toEqual(s(2));
  });
  it("refuses no samples", () => {
    expect(() => medianSample([])).toThrow(/no samples/);
  });
});
