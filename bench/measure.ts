// Timing helpers for bench cases: warm up, then the median of several timed runs.

/** One benchmark case: `run` returns the measured fields printed after `"case"` on one JSON line. */
export interface BenchCase {
  readonly name: string;
  run(): Promise<Record<string, unknown>>;
}

export interface MeasureOptions {
  /** Warm-up time before measuring (JIT tiers settle), ms. */
  readonly warmupMs?: number;
  /** Number of timed runs; the median is reported. */
  readonly runs?: number;
  /** Approximate duration of one timed run, ms. */
  readonly runMs?: number;
}

/**
 * Median microseconds per call of `op(i)` (i counts calls, so cases can rotate through inputs).
 * Calibrates the batch size during warm-up so each timed run lasts about `runMs`.
 */
export function medianMicros(op: (i: number) => unknown, options: MeasureOptions = {}): number {
  const { warmupMs = 500, runs = 7, runMs = 300 } = options;
  let i = 0;
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < warmupMs) { op(i++); calls++; }
  const perCallMs = (performance.now() - t0) / Math.max(calls, 1);
  const batch = Math.max(1, Math.round(runMs / perCallMs));
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    for (let j = 0; j < batch; j++) op(i++);
    samples.push(((performance.now() - t) * 1000) / batch);
  }
  return median(samples);
}

/**
 * Like medianMicros for several operations at once, their timed runs interleaved (A, B, A, B, …),
 * so that load from other processes affects each about equally and their ratio stays meaningful.
 */
export function interleavedMedianMicros(ops: readonly ((i: number) => unknown)[], options: MeasureOptions = {}): number[] {
  const { warmupMs = 500, runs = 9, runMs = 200 } = options;
  let i = 0;
  const batches = ops.map((op) => {
    let calls = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < warmupMs) { op(i++); calls++; }
    return Math.max(1, Math.round(runMs / ((performance.now() - t0) / Math.max(calls, 1))));
  });
  const samples: number[][] = ops.map(() => []);
  for (let r = 0; r < runs; r++) {
    ops.forEach((op, k) => {
      const t = performance.now();
      for (let j = 0; j < batches[k]; j++) op(i++);
      samples[k].push(((performance.now() - t) * 1000) / batches[k]);
    });
  }
  return samples.map(median);
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Rounds to 0.1 µs for printing. */
export function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** a/b rounded to 0.01, or null when either side is missing. */
export function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100;
}
