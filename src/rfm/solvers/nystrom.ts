/**
 * Landmark Nystrom preconditioner for (K + lambda I) (Frangella, Tropp & Udell, "Randomized
 * Nystrom preconditioning", 2021, with column sampling as in Falkon and EigenPro in place of a
 * Gaussian sketch).
 *
 * m landmark columns C = K(:, idx) and their rows W = C[idx, :] give K ~ C W^+ C^T. With
 * W = V D V^T (kept D above a cutoff) and B = C V D^{-1/2}, the small eigendecomposition
 * B^T B = Q S^2 Q^T gives the approximation's eigenpairs U = B Q S^{-1}, lam = S^2 (q of them).
 * The preconditioner is
 *
 *   P = U (Lam + lambda I) U^T / (lam_q + lambda) + (I - U U^T),
 *   P^{-1} = (lam_q + lambda) U (Lam + lambda I)^{-1} U^T + (I - U U^T).
 *
 * Only U lives on the device (N x q); everything m x m or q x q goes through LAPACK in f64.
 *
 * Why P^{-1} is applied as the square of P^{-1/2} = I - V V^T, V = U diag(sqrt(1 - s)),
 * s_i = sqrt((lam_q + lambda) / (lam_i + lambda)): U comes out of f32 GEMMs and is orthonormal
 * only to ~1e-6. Written as I - U diag(1 - s^2) U^T, P^{-1} has eigenvalues as small as
 * (lam_q + lambda) / (lam_1 + lambda), which for a kernel matrix with a small ridge is 1e-6 or
 * less: the same size as the orthonormality error, so the applied operator can turn indefinite
 * and CG breaks down. A square of a symmetric matrix is positive semidefinite whatever the
 * rounding, and P^{-1/2}'s own smallest eigenvalue is only the square root of that ratio, far
 * above the error. It costs two more thin GEMMs per application (4 N q r flops in all).
 */
import { eigh } from '../../ops/linalg.js';
import { matmul } from '../../ops/matmul.js';
import { copyInto, embedding } from '../../ops/nn.js';
import { ShapeError } from '../../ops/validate.js';
import { Rng } from '../../random.js';
import type { Matrix } from '../../tensor.js';
import type { KernelOperator } from './operator.js';

export interface NystromOptions {
  /** m, landmark points (1..N) */
  landmarks: number;
  /** keep at most this many eigenpairs (default: all that are numerically nonzero) */
  rank?: number;
  /** lambda >= 0 of the system the preconditioner is for */
  ridge: number;
  /** landmark choice */
  seed: number;
}

/** What came back from the device, for callers that count transfers. */
export interface ReadbackCounter {
  transfers: number;
  values: number;
}

export interface NystromPreconditioner {
  /** landmark points used */
  readonly landmarks: number;
  /** q, eigenpairs of the Nystrom approximation kept (0: the preconditioner is the identity) */
  readonly rank: number;
  /** the kept eigenvalues lam_1 >= ... >= lam_q of the approximation of K */
  readonly eigenvalues: Float64Array;
  /** seconds spent building it (columns of K included) */
  readonly seconds: number;
  /** P^{-1} v as a new matrix (v: N x r on the operator's context) */
  apply(v: Matrix): Promise<Matrix>;
  dispose(): void;
}

/**
 * Eigenvalues of W (and of B^T B) below this fraction of the largest are dropped: W holds f32
 * values, and its eigenvalues carry an absolute error of a few f32 epsilons times ||W||; directions
 * below that are rounding noise, and C V D^{-1/2} would blow that noise up.
 */
const EIG_CUTOFF = 2e-6;

/** m distinct indices out of 0..n-1, ascending (a partial Fisher-Yates shuffle). */
export function chooseLandmarks(n: number, m: number, seed: number): Int32Array {
  return new Rng(seed).choose(n, m);
}

async function readCounted(m: Matrix, counter: ReadbackCounter): Promise<Float32Array> {
  counter.transfers++;
  counter.values += m.size;
  return m.read();
}

/** Host copy of a symmetric matrix given in f32 row-major, averaged with its transpose. */
function symmetrized(a: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    out[i * n + i] = a[i * n + i]!;
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (a[i * n + j]! + a[j * n + i]!);
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

/**
 * Rows idx of C (N x m) on the device through the embedding gather (ids in f32 are exact below
 * 2^24), so only W (m x m) crosses to the host. A table larger than one GPU storage binding makes
 * the gather refuse; then C is read back once and the rows are taken on the host.
 */
async function landmarkRows(C: Matrix, idx: Int32Array, counter: ReadbackCounter): Promise<Float32Array> {
  const ctx = C.context;
  const m = idx.length;
  if (C.rows < 2 ** 24) {
    const ids = ctx.matrix(Float32Array.from(idx), [m, 1], { name: 'landmark ids' });
    const zeros = ctx.zeros([1, C.cols]);
    let W: Matrix | undefined;
    try {
      W = await embedding(ids, C, zeros, { seqLen: 1 });
      return await readCounted(W, counter);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
    } finally {
      W?.dispose();
      ids.dispose();
      zeros.dispose();
    }
  }
  const c = await readCounted(C, counter);
  const w = new Float32Array(m * C.cols);
  for (let i = 0; i < m; i++) w.set(c.subarray(idx[i]! * C.cols, (idx[i]! + 1) * C.cols), i * C.cols);
  return w;
}

/** Symmetric eigendecomposition of a host matrix through LAPACK (f64); vectors back on the host. */
async function hostEigh(op: KernelOperator, a: Float32Array, n: number, counter: ReadbackCounter): Promise<{ values: Float64Array; vectors: Float32Array }> {
  const A = op.context.matrix(a, [n, n], { name: 'Nystrom Gram' });
  try {
    const { values, vectors } = await eigh(A);
    try {
      return { values, vectors: await readCounted(vectors, counter) };
    } finally {
      vectors.dispose();
    }
  } finally {
    A.dispose();
  }
}

/** Column indices of `values` (ascending, as eigh returns them) above cutoff * max, largest first. */
function keptDescending(values: Float64Array, limit: number): number[] {
  const n = values.length;
  const top = n > 0 ? values[n - 1]! : 0;
  const kept: number[] = [];
  if (!(top > 0)) return kept;
  for (let j = n - 1; j >= 0 && kept.length < limit; j--) {
    if (values[j]! > EIG_CUTOFF * top) kept.push(j);
    else break;
  }
  return kept;
}

class Preconditioner implements NystromPreconditioner {
  constructor(
    readonly landmarks: number,
    readonly eigenvalues: Float64Array,
    readonly seconds: number,
    /** N x p, p <= q: U diag(sqrt(1 - s)) without the columns whose damping is 0 (null: identity) */
    private v: Matrix | null,
  ) {}

  get rank(): number {
    return this.eigenvalues.length;
  }

  async apply(x: Matrix): Promise<Matrix> {
    const z = await copyInto(x, x.context.empty(x.shape));
    const V = this.v;
    if (!V) return z;
    try {
      // z <- (I - V V^T)^2 x, in place: the products' inputs are V and the small t, never z
      for (let pass = 0; pass < 2; pass++) {
        const t = await matmul(V, z, { transA: true });
        try {
          await matmul(V, t, { alpha: -1, beta: 1, out: z });
        } finally {
          t.dispose();
        }
      }
      return z;
    } catch (err) {
      z.dispose();
      throw err;
    }
  }

  dispose(): void {
    this.v?.dispose();
    this.v = null;
  }
}

/** Builds the preconditioner for (K + ridge I) from m landmark columns of K. */
export async function nystromPreconditioner(op: KernelOperator, options: NystromOptions, counter: ReadbackCounter = { transfers: 0, values: 0 }): Promise<NystromPreconditioner> {
  const t0 = performance.now();
  const n = op.size;
  const m = options.landmarks;
  if (!Number.isInteger(m) || m < 1 || m > n) throw new RangeError(`nystromPreconditioner: 'landmarks' must be an integer in 1..${n}, got ${m}`);
  const rankLimit = options.rank ?? m;
  const ctx = op.context;
  const idx = chooseLandmarks(n, m, options.seed);
  const owned: Matrix[] = [];
  const own = (x: Matrix) => {
    owned.push(x);
    return x;
  };
  try {
    const C = own(await op.columns(idx));
    if (C.rows !== n || C.cols !== m || C.batch !== 1) {
      throw new ShapeError(`nystromPreconditioner: the operator's columns(${m} indices) returned ${C.describe()}, expected ${n}x${m}`);
    }
    // W = V D V^T; keep D > cutoff * max(D)
    const w = symmetrized(await landmarkRows(C, idx, counter), m);
    const ew = await hostEigh(op, w, m, counter);
    const keepW = keptDescending(ew.values, m);
    const k = keepW.length;
    if (k === 0) return new Preconditioner(m, new Float64Array(0), (performance.now() - t0) / 1000, null);
    // B = C (V_k D_k^{-1/2}) (N x k)
    const m1 = new Float32Array(m * k);
    keepW.forEach((j, c) => {
      const f = 1 / Math.sqrt(ew.values[j]!);
      for (let i = 0; i < m; i++) m1[i * k + c] = ew.vectors[i * m + j]! * f;
    });
    const M1 = own(ctx.matrix(m1, [m, k], { name: 'Nystrom basis' }));
    const B = own(await matmul(C, M1));
    C.dispose();
    M1.dispose();
    // B^T B = Q S^2 Q^T: U = B Q S^{-1}, lam = S^2
    const H = own(await matmul(B, B, { transA: true }));
    const h = symmetrized(await readCounted(H, counter), k);
    H.dispose();
    const eh = await hostEigh(op, h, k, counter);
    const keep = keptDescending(eh.values, rankLimit);
    const q = keep.length;
    const lam = Float64Array.from(keep, (j) => eh.values[j]!);
    if (q === 0) return new Preconditioner(m, lam, (performance.now() - t0) / 1000, null);
    const floor = lam[q - 1]! + options.ridge;
    // damping columns: sqrt(1 - s_i) / S_i with s_i = sqrt(floor / (lam_i + ridge)); s_q = 1 drops out
    const damped = keep.map((j, c) => ({ j, d: Math.sqrt(Math.max(0, 1 - Math.sqrt(floor / (lam[c]! + options.ridge)))) / Math.sqrt(lam[c]!) }))
      .filter(({ d }) => d > 0);
    let V: Matrix | null = null;
    if (damped.length > 0) {
      const p = damped.length;
      const t = new Float32Array(k * p);
      damped.forEach(({ j, d }, c) => {
        for (let i = 0; i < k; i++) t[i * p + c] = eh.vectors[i * k + j]! * d;
      });
      const T = own(ctx.matrix(t, [k, p], { name: 'Nystrom damping' }));
      V = await matmul(B, T);
    }
    return new Preconditioner(m, lam, (performance.now() - t0) / 1000, V);
  } finally {
    for (const x of owned) x.dispose();
  }
}
