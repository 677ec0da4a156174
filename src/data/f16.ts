/**
 * Rounding to IEEE half precision (f16) on the host, for inputs that must match what an f16 GPU
 * path sees (the f16 GEMM's benchmark reference, its tests).
 */

/** x rounded to the nearest f16 value (ties to even), magnitudes beyond 65504 clamped to it as the f16 GEMM does. */
export function roundToF16(x: number): number {
  const ax = Math.min(Math.abs(x), 65504);
  if (ax === 0 || Number.isNaN(x)) return x;
  // spacing of f16 values around ax: 2^(e - 10), with subnormals below 2^-14
  const ulp = 2 ** (Math.max(Math.floor(Math.log2(ax)), -14) - 10);
  const q = ax / ulp;
  const low = Math.floor(q);
  const r = q - low > 0.5 || (q - low === 0.5 && low % 2 === 1) ? low + 1 : low;
  return Math.sign(x) * r * ulp;
}
