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

/**
 * The rows a benchmark reports: `print` shows each as key=value pairs (numbers to 4 digits,
 * objects as JSON with numbers to 3) and keeps it for bench.json.
 */
export function benchRows(): { rows: Record<string, unknown>[]; print: (row: Record<string, unknown>) => void } {
  const rows: Record<string, unknown>[] = [];
  const show = (v: unknown) =>
    typeof v === 'number' ? +v.toPrecision(4)
      : typeof v === 'object' && v !== null ? JSON.stringify(v, (_, x) => (typeof x === 'number' ? +x.toPrecision(3) : x))
      : v;
  return {
    rows,
    print(row) {
      rows.push(row);
      console.log(Object.entries(row).map(([k, v]) => `${k}=${show(v)}`).join('  '));
    },
  };
}

/**
 * BLAS thread counts a CPU benchmark runs at: 1 and the default (all cores); on a busy machine
 * more threads can be slower, so both are reported.
 */
export function blasThreadCounts(defaultThreads: number): number[] {
  return [...new Set([1, defaultThreads])];
}
