/**
 * Mean and sample standard deviation (n - 1; 0 for a single value) over seeds of an experiment,
 * ignoring non-finite values (a run whose metric was undefined); NaN for both when none is finite.
 */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return { mean: NaN, std: NaN };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std };
}
