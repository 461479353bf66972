// The TypeScript side timed as the C references time themselves: the C
// programs (bench/c) run a warm-up repetition and time the next one right
// after it, in the same process; tsSampler times the first call after a full
// GC and a 50 ms pause. Scenarios of issue 17 compare TypeScript with those
// C readers, so they time a call that follows an untimed one.
import { medianSample, type Outcome, type Sample, type Sampler, timedCall } from "../measure.js";

/**
 * A sampler like tsSampler whose every timed call comes right after one
 * untimed call of the same function, as the C references time a repetition
 * right after their warm-up in the same process (caches, TLB and the thread
 * pool warm). tsSampler alone times the first call after a full GC and a
 * 50 ms pause: tasks() at ~5,000 tasks took 3.36 ms of CPU that way against
 * 2.73 ms right after a call (medians of 30, one process); and a full GC
 * clears the feedback of a for...of loop's iterator load, so the loop's
 * optimized code is dropped on entry (V8's "insufficient type feedback"
 * deopt) and a 1M-element visit runs unoptimized until on-stack replacement.
 * `repsPerSample` timed calls make one sample (their median), as cSampler's.
 */
export function warmedTsSampler(
  fn: () => Promise<Outcome> | Outcome,
  close?: () => void,
  repsPerSample = 1,
): () => Promise<Sampler> {
  const gc = (globalThis as { gc?: () => void }).gc;
  return async () => {
    await fn();
    return {
      async sample() {
        // A call before the GC too: one that reloads what another variant closed
        // (tasks() cold closes the program) leaves its garbage to that GC.
        await fn();
        gc?.();
        await new Promise((resolve) => setTimeout(resolve, 50));
        // Back to steady state before timing: V8's forced full GC shrinks the
        // young generation, and the first calls after it pay for growing it
        // again (tasks() at ~3,000 processes: 4.54 ms of CPU after one call,
        // 1.92 ms after five, 2.39 ms with no GC at all; medians of 12).
        const start = performance.now();
        for (
          let calls = 0;
          calls < 5 && (calls === 0 || performance.now() - start < 100);
          calls++
        ) {
          await fn();
        }
        // With repsPerSample > 1 (as the C reader it is compared with): that many
        // timed calls back to back, and the sample is their median.
        const timed: Sample[] = [];
        for (let i = 0; i < repsPerSample; i++) timed.push(await timedCall(fn));
        return medianSample(timed);
      },
      ...(close ? { close } : {}),
    };
  };
}
