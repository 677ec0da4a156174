/**
 * The Nystrom eigenfunction view of seed 002 (SPEC section 4): eigenvalue ratios rho_k / rho_1,
 * cumulative quality Pi*(k) against the targets and cumulative utilization Pi^(k) against the
 * model's outputs, from training features (for the eigenfunctions) and test points (to evaluate
 * them).
 *
 * With Phi_train = U S V^T (n x p, rows are samples): rho_k = s_k^2 / n and the eigenfunction
 * e_k(x) = sqrt(n) Phi(x)^T v_k / s_k. Evaluated on the test points they form E (N x m); a QR of
 * E keeps their order and makes them exactly orthonormal there (q_1..q_m), and
 *   Pi(k) = (1/dim H) sum_{j<=k} ||P_H q_j||^2,
 * H the span of the targets (Pi*) or of the outputs (Pi^), dim H its dimension (C when the C
 * columns are independent).
 *
 * The constant function and the three variants (`variant`):
 * - 'plain' (default): uncentered features. Their top eigenfunction approximates the constant
 *   (seed 002, appendix D), so the first one is dropped (SPEC section 4): q_1 is removed from the
 *   list, the targets and outputs are projected onto the complement of q_1 before their span is
 *   taken, and k counts from the second eigenfunction, so rho_k / rho_1 divides by the second
 *   eigenvalue overall. `droppedConstantOverlap` = |<q_1, 1/sqrt(N)>| says how constant it
 *   really was.
 * - 'undropped': the same uncentered eigenfunctions with nothing dropped: k counts from the top
 *   eigenfunction, rho_k / rho_1 divides by the largest eigenvalue, and the targets and outputs
 *   are taken as they are (their span then usually holds the constant).
 * - 'centered': the training features centered by their column means before the SVD. The test
 *   features are centered by the same training means (the out-of-sample extension of the
 *   centered kernel: an eigenfunction is a fixed function, and a test set's own mean would move
 *   it with the test set); the targets and outputs, which have no training counterpart here, by
 *   their own column means, so the constant is left out of their span (as CKA removes it).
 *   Nothing is dropped.
 * When the top eigenfunction of the plain variant is exactly constant and the test set has the
 * training mean, 'plain' and 'centered' agree.
 */
import { qr, svd } from '../ops/linalg.js';
import { matmul } from '../ops/matmul.js';
import { ShapeError } from '../ops/validate.js';
import type { Matrix } from '../tensor.js';
import { axpy } from '../ops/elementwise.js';
import { shiftColumns } from './center.js';
import { isAllFinite, isMatrix, toHostF64, UndefinedMetricError, type HostF64, type MatrixLike } from './inputs.js';

/** Options of nystromView. */
export interface NystromOptions {
  /** 'plain' (default: the first eigenfunction dropped), 'undropped' or 'centered' (file comment) */
  variant?: NystromVariant;
  /** true: the 'centered' variant (the older spelling of `variant: 'centered'`) */
  centered?: boolean;
  /**
   * eigenfunctions to compute, counting the dropped one in the plain variant (default: all
   * singular values of the training features above `rankTolerance`, at most the test count)
   */
  components?: number;
  /** singular values below this fraction of the largest are treated as zero (default 1e-6) */
  rankTolerance?: number;
  /**
   * an eigenfunction that is (numerically) a combination of the earlier ones on the test points
   * (small eigenvalues on few test points): 'throw' (default) an UndefinedMetricError, or
   * 'truncate' the view before it (`truncated` says where). 'truncate' also stops the view where
   * the features' rank or the test points end when `components` asks for more
   */
  onDependent?: 'throw' | 'truncate';
}

/** Which eigenfunctions the view shows and how the constant is handled (see nystromView). */
export type NystromVariant = 'plain' | 'undropped' | 'centered';

/**
 * The eigenfunction view of a representation: eigenvalues of the Nystrom kernel and the cumulative
 * quality (fit of the targets) and utilization (fit of the model's outputs) by eigenfunction.
 */
export interface NystromView {
  variant: NystromVariant;
  /** leading eigenfunctions dropped: 1 in the plain variant, 0 in the others */
  dropped: number;
  /** the eigenvalue of the dropped eigenfunction (plain), else null */
  droppedEigenvalue: number | null;
  /** |<q_1, 1/sqrt(N)>| on the test points for the dropped eigenfunction (plain), else null */
  droppedConstantOverlap: number | null;
  /** rho_k = s_k^2 / n of the kept eigenfunctions, k = 1..m */
  eigenvalues: Float64Array;
  /** rho_k / rho_1 over the kept eigenfunctions (starts at 1) */
  ratios: Float64Array;
  /** Pi*(k): cumulative quality against the targets */
  quality: Float64Array;
  /** Pi^(k): cumulative utilization against the outputs */
  utilization: Float64Array;
  /** dimension of the target span used to normalize Pi* */
  targetDim: number;
  /** dimension of the output span used to normalize Pi^ */
  outputDim: number;
  nTrain: number;
  nTest: number;
  /** with onDependent 'truncate': how many eigenfunctions (counting the dropped one) were kept of those asked for, else null */
  truncated?: { kept: number; asked: number } | null;
}

/**
 * An orthonormal basis (columns, N x r) of the span of Y's columns by modified Gram-Schmidt with
 * one reorthogonalization; directions below `tol` (absolute) are left out.
 */
function orthonormalBasis(y: HostF64, tol: number): Float64Array[] {
  const { rows: n, cols: c } = y;
  const basis: Float64Array[] = [];
  for (let j = 0; j < c; j++) {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = y.data[i * c + j]!;
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        let d = 0;
        for (let i = 0; i < n; i++) d += b[i]! * v[i]!;
        for (let i = 0; i < n; i++) v[i] -= d * b[i]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    if (norm > tol) {
      for (let i = 0; i < n; i++) v[i] /= norm;
      basis.push(v);
    }
  }
  return basis;
}

/** Y minus its column means, or minus its component along the unit vector u, or Y itself ('none'). */
function removeDirection(y: HostF64, u: Float64Array | 'constant' | 'none'): HostF64 {
  const { rows: n, cols: c } = y;
  const out = Float64Array.from(y.data);
  if (u === 'none') return { data: out, rows: n, cols: c };
  for (let j = 0; j < c; j++) {
    if (u === 'constant') {
      let m = 0;
      for (let i = 0; i < n; i++) m += out[i * c + j]!;
      m /= n;
      for (let i = 0; i < n; i++) out[i * c + j] -= m;
    } else {
      let d = 0;
      for (let i = 0; i < n; i++) d += u[i]! * out[i * c + j]!;
      for (let i = 0; i < n; i++) out[i * c + j] -= d * u[i]!;
    }
  }
  return { data: out, rows: n, cols: c };
}

/** Cumulative (1/dim) sum_{j<=k} ||P_H q_j||^2 over the kept columns of Q (N x m). */
/** Pi over columns from..upTo-1 of q (n x m, row stride m). */
function cumulativeProjection(q: Float64Array, n: number, m: number, from: number, upTo: number, basis: Float64Array[]): Float64Array {
  const out = new Float64Array(upTo - from);
  let acc = 0;
  for (let j = from; j < upTo; j++) {
    let power = 0;
    for (const b of basis) {
      let d = 0;
      for (let i = 0; i < n; i++) d += b[i]! * q[i * m + j]!;
      power += d * d;
    }
    acc += power;
    out[j - from] = acc / basis.length;
  }
  return out;
}

/**
 * The Nystrom eigenfunction view (see the file comment): eigenfunctions from `trainFeatures`,
 * evaluated on `testFeatures`, measured against `testTargets` and the model's test outputs.
 */
export async function nystromView(
  trainFeatures: Matrix,
  testFeatures: Matrix,
  testTargets: MatrixLike,
  testOutputs: MatrixLike,
  options: NystromOptions = {},
): Promise<NystromView> {
  const op = 'nystromView';
  if (!isMatrix(trainFeatures) || !isMatrix(testFeatures)) throw new TypeError(`${op}: the train and test features must be Matrix objects`);
  if (trainFeatures.context !== testFeatures.context) throw new Error(`${op}: the train and test features belong to different contexts`);
  if (options.variant !== undefined && options.variant !== 'plain' && options.variant !== 'undropped' && options.variant !== 'centered') {
    throw new RangeError(`${op}: 'variant' must be 'plain', 'undropped' or 'centered', got '${String(options.variant)}'`);
  }
  if (options.centered !== undefined && options.variant !== undefined && options.centered !== (options.variant === 'centered')) {
    throw new RangeError(`${op}: 'centered' = ${options.centered} contradicts 'variant' = '${options.variant}'`);
  }
  const variant: NystromVariant = options.variant ?? (options.centered ? 'centered' : 'plain');
  const centered = variant === 'centered';
  const rankTolerance = options.rankTolerance ?? 1e-6;
  if (options.onDependent !== undefined && options.onDependent !== 'throw' && options.onDependent !== 'truncate') {
    throw new RangeError(`${op}: 'onDependent' must be 'throw' or 'truncate', got '${options.onDependent}'`);
  }
  if (!(rankTolerance > 0 && rankTolerance < 1)) throw new RangeError(`${op}: 'rankTolerance' must be in (0, 1), got ${rankTolerance}`);
  const { rows: n, cols: p } = trainFeatures;
  const bigN = testFeatures.rows;
  if (testFeatures.cols !== p) throw new ShapeError(`${op}: the train features have ${p} columns but the test features ${testFeatures.cols}`);
  const targets = await toHostF64(op, 'testTargets', testTargets);
  const outputs = await toHostF64(op, 'testOutputs', testOutputs);
  for (const [name, m] of [['testTargets', targets], ['testOutputs', outputs]] as const) {
    if (m.rows !== bigN) throw new ShapeError(`${op}: '${name}' has ${m.rows} rows but there are ${bigN} test points`);
    if (m.cols < 1) throw new ShapeError(`${op}: '${name}' has no columns`);
  }
  const dropped = variant === 'plain' ? 1 : 0;
  if (n < 2 || bigN < 2) throw new RangeError(`${op}: needs at least 2 training and 2 test points`);

  const owned: Matrix[] = [];
  try {
    let train = trainFeatures;
    let test = testFeatures;
    if (centered) {
      const tr = await shiftColumns(op, 'trainFeatures', trainFeatures);
      owned.push(...tr.owned);
      train = tr.x;
      // the test points move by what the training points moved by: the training column means
      const ctx = testFeatures.context;
      const ones = ctx.matrix(new Float32Array(bigN).fill(1), [bigN, 1], { name: 'ones' });
      const meanRow = ctx.matrix(tr.shift, [1, p], { name: 'training column means' });
      owned.push(ones, meanRow);
      test = await matmul(ones, meanRow, { alpha: -1 });
      owned.push(test);
      await axpy(1, testFeatures, test, { inPlace: true });
    }
    const { u, s, vt } = await svd(train);
    u.dispose();
    owned.push(vt);
    if (!(s[0]! > 0)) throw new UndefinedMetricError(`${op}: the training features are zero${centered ? ' after centering' : ''}; there are no eigenfunctions`);
    let rank = 0;
    while (rank < s.length && s[rank]! > rankTolerance * s[0]!) rank++;
    const testRoom = bigN;
    let m = Math.min(rank, testRoom);
    let asked = m;
    if (options.components !== undefined) {
      const c = options.components;
      if (!Number.isInteger(c) || c < dropped + 1) throw new RangeError(`${op}: 'components' must be an integer >= ${dropped + 1}, got ${c}`);
      // 'truncate' also covers more components than the features have: the view stops where they end
      const truncate = options.onDependent === 'truncate';
      if (c > rank && !truncate) throw new RangeError(`${op}: 'components' = ${c} exceeds the ${rank} nonzero singular values of the training features`);
      if (c > testRoom && !truncate) throw new RangeError(`${op}: 'components' = ${c} exceeds what ${bigN} test points can hold (${testRoom})`);
      asked = c;
      m = Math.min(c, rank, testRoom);
    }
    if (m <= dropped) throw new UndefinedMetricError(`${op}: the training features have only ${rank} nonzero singular value(s); nothing is left after dropping the first`);

    // eigenfunction directions sqrt(n) v_k / s_k, k < m, as the rows of an m x p matrix
    const vtHost = await vt.read();
    const dirs = new Float32Array(m * p);
    for (let k = 0; k < m; k++) for (let j = 0; j < p; j++) dirs[k * p + j] = (Math.sqrt(n) * vtHost[k * p + j]!) / s[k]!;
    const dirM = test.context.matrix(dirs, [m, p], { name: 'eigenfunction directions' });
    owned.push(dirM);
    const e = await matmul(test, dirM, { transB: true });
    owned.push(e);
    const { q, r } = await qr(e);
    owned.push(q, r);
    const qHost = Float64Array.from(await q.read());
    const rHost = await r.read();
    if (!isAllFinite(qHost)) throw new RangeError(`${op}: the eigenfunctions are not finite on the test points`);
    // a (near) zero R_jj: eigenfunction j is a combination of the earlier ones on these points
    let rMax = 0;
    for (let j = 0; j < m; j++) rMax = Math.max(rMax, Math.abs(rHost[j * m + j]!));
    // the QR of the first j columns is the first j columns of this one, so a view truncated
    // before a dependent eigenfunction needs no second factorization
    let used = m;
    for (let j = 0; j < m; j++) {
      if (!(Math.abs(rHost[j * m + j]!) > 1e-5 * rMax)) {
        const dependent = `${op}: eigenfunction ${j + 1} is linearly dependent on the earlier ones at the ${bigN} test points`;
        if (options.onDependent !== 'truncate') {
          throw new UndefinedMetricError(`${dependent}; use fewer components or more test points, or onDependent: 'truncate'`);
        }
        if (j <= dropped) throw new UndefinedMetricError(`${dependent}; nothing is left to show`);
        used = j;
        break;
      }
    }

    let constantOverlap: number | null = null;
    let removed: Float64Array | 'constant' | 'none' = centered ? 'constant' : 'none';
    if (variant === 'plain') {
      const q1 = new Float64Array(bigN);
      let sum = 0;
      for (let i = 0; i < bigN; i++) {
        q1[i] = qHost[i * m]!;
        sum += q1[i]!;
      }
      constantOverlap = Math.abs(sum) / Math.sqrt(bigN);
      removed = q1;
    }
    const spanOf = (name: string, y: HostF64) => {
      let scale = 0;
      for (let j = 0; j < y.cols; j++) {
        let c = 0;
        for (let i = 0; i < y.rows; i++) c += y.data[i * y.cols + j]! ** 2;
        scale = Math.max(scale, Math.sqrt(c));
      }
      const basis = orthonormalBasis(removeDirection(y, removed), 1e-6 * scale);
      if (basis.length === 0) {
        throw new UndefinedMetricError(
          `${op}: '${name}' has nothing left${removed === 'none' ? '' : ` after removing the ${centered ? 'column means' : 'first eigenfunction'}`}; its span is empty`,
        );
      }
      return basis;
    };
    const tBasis = spanOf('testTargets', targets);
    const oBasis = spanOf('testOutputs', outputs);

    const kept = used - dropped;
    const eigenvalues = new Float64Array(kept);
    for (let k = 0; k < kept; k++) eigenvalues[k] = s[k + dropped]! ** 2 / n;
    return {
      variant,
      dropped,
      droppedEigenvalue: variant === 'plain' ? s[0]! ** 2 / n : null,
      droppedConstantOverlap: constantOverlap,
      eigenvalues,
      ratios: eigenvalues.map((v) => v / eigenvalues[0]!),
      quality: cumulativeProjection(qHost, bigN, m, dropped, used, tBasis),
      utilization: cumulativeProjection(qHost, bigN, m, dropped, used, oBasis),
      targetDim: tBasis.length,
      outputDim: oBasis.length,
      nTrain: n,
      nTest: bigN,
      truncated: used < asked ? { kept: used, asked } : null,
    };
  } finally {
    for (const x of owned) x.dispose();
  }
}
