/**
 * Small dense f64 linear algebra on the host, for K x p and K x K matrices (class means,
 * classifiers, their Grams). Kept in f64 end to end: routing these through an f32 Matrix would
 * lose exactly the precision the collapse metrics are about.
 */
import type { HostF64 } from './inputs.js';

export interface RowSvd {
  /** singular values, descending */
  s: Float64Array;
  /** r x n, row j = s_j v_j^T (the rows of U^T A), in the order of s */
  scaledRows: Float64Array;
  rows: number;
  cols: number;
}

const dot = (a: Float64Array, ia: number, b: Float64Array, ib: number, n: number) => {
  let s = 0;
  for (let t = 0; t < n; t++) s += a[ia + t]! * b[ib + t]!;
  return s;
};

/**
 * One-sided Jacobi SVD on the rows of A (m x n): plane rotations make the rows mutually
 * orthogonal, and the row norms are then the singular values. Small singular values come out
 * with absolute error ~ eps * s_max (no squaring of the condition number as through A A^T), so a
 * rank-deficient matrix shows its zero singular values as ~1e-16 s_max.
 */
export function jacobiRowSvd(a: HostF64): RowSvd {
  const { rows: m, cols: n } = a;
  const r = Float64Array.from(a.data);
  const tol = 1e-15;
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    for (let i = 0; i < m - 1; i++) {
      for (let j = i + 1; j < m; j++) {
        const oi = i * n;
        const oj = j * n;
        const aa = dot(r, oi, r, oi, n);
        const bb = dot(r, oj, r, oj, n);
        const g = dot(r, oi, r, oj, n);
        if (g === 0 || Math.abs(g) <= tol * Math.sqrt(aa * bb)) continue;
        rotated = true;
        const zeta = (bb - aa) / (2 * g);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let q = 0; q < n; q++) {
          const x = r[oi + q]!;
          const y = r[oj + q]!;
          r[oi + q] = c * x - s * y;
          r[oj + q] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = Array.from({ length: m }, (_, i) => Math.sqrt(dot(r, i * n, r, i * n, n)));
  const order = norms.map((_, i) => i).sort((x, y) => norms[y]! - norms[x]!);
  const s = Float64Array.from(order, (i) => norms[i]!);
  const scaledRows = new Float64Array(m * n);
  order.forEach((i, to) => scaledRows.set(r.subarray(i * n, (i + 1) * n), to * n));
  return { s, scaledRows, rows: m, cols: n };
}

export function transpose(a: HostF64): HostF64 {
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out[j * a.rows + i] = a.data[i * a.cols + j]!;
  return { data: out, rows: a.cols, cols: a.rows };
}

/** Singular values (descending) of a small host matrix, via Jacobi on its shorter side. */
export function hostSingularValues(a: HostF64): Float64Array {
  const wide = a.rows <= a.cols ? a : transpose(a);
  return jacobiRowSvd(wide).s;
}

/** A A^T (rows x rows). */
export function gramRows(a: HostF64): Float64Array {
  const { rows: m, cols: n } = a;
  const g = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      const v = dot(a.data, i * n, a.data, j * n, n);
      g[i * m + j] = v;
      g[j * m + i] = v;
    }
  }
  return g;
}

export function frobeniusSq(data: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i]! * data[i]!;
  return s;
}

/** Pearson correlation of two equally long vectors; NaN when either is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i]! - mx;
    const b = y[i]! - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** x^T S x for a symmetric p x p S. */
export function quadForm(S: Float64Array, x: Float64Array, p: number): number {
  let total = 0;
  for (let i = 0; i < p; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    total += xi * dot(S, i * p, x, 0, p);
  }
  return total;
}
