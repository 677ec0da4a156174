/** Timing helpers for benchmarks: warm up, repeat, report the median. */
export interface Timing {
  /** median seconds */
  seconds: number;
  /** all samples in seconds */
  samples: number[];
}

export async function time(fn: () => Promise<unknown> | unknown, options: { repeats?: number; warmup?: number; minSeconds?: number } = {}): Promise<Timing> {
  const { repeats = 5, warmup = 1, minSeconds = 0.2 } = options;
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < repeats || (performance.now() - start) / 1000 < minSeconds) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / 1000);
    if (samples.length >= 50) break;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { seconds: sorted[Math.floor(sorted.length / 2)]!, samples };
}

export const gflops = (flops: number, seconds: number) => flops / seconds / 1e9;
