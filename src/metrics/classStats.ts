/**
 * Class statistics (counts, means, Sigma_W, Sigma_B, per-class variances) accumulated over
 * batches of any size, in f64 on the host, with the heavy passes (class sums, second moments) on
 * the features' backend.
 *
 * Why the shifts: near collapse tr(Sigma_W) can be 1e-10 of ||mu||^2, and the textbook
 * sum(x x^T) - N mu mu^T then cancels to noise in an f32 GEMM. Each row is first moved by its
 * class's shift s_c (the class mean of the first batch that contained the class, refined
 * by one more pass where the f32 class sums missed that mean by more than a tenth of the spread),
 * so the GEMM only sees the small deviations x - s_c; the exact identity
 *   sum_i (x_i - mu_c)(x_i - mu_c)^T = sum_i (x_i - s_c)(x_i - s_c)^T - N_c (mu_c - s_c)(mu_c - s_c)^T
 * then corrects for the shift in f64. For the one-shot `classStats` the shifts are the class
 * means themselves. Without the second moment (`covariance: false`), a backend with the one-pass
 * `classDeviations` (cpu) sums x_i - s_c and ||x_i - s_c||^2 in f64 directly, without the N x p
 * matrix of shifted rows that the GEMM path writes.
 */
import { matmul } from '../ops/matmul.js';
import { axpy } from '../ops/elementwise.js';
import { classSums, rowNorms } from '../ops/reduce.js';
import { ShapeError } from '../ops/validate.js';
import type { Matrix } from '../tensor.js';
import {
  checkClassLabels, checkNoEmptyClass, checkNumClasses, explainNonFinite, isAllFinite, isMatrix,
} from './inputs.js';

/**
 * 'class-means' (default, SPEC section 0): mu_G = mean of the class means and
 * Sigma_B = (1/K) sum_c (mu_c - mu_G)(mu_c - mu_G)^T.
 * 'sample-weighted': mu_G = mean of all samples and Sigma_B = sum_c (n_c/N) (mu_c - mu_G)(mu_c - mu_G)^T,
 * so that the total covariance splits exactly: Sigma_T = Sigma_W + Sigma_B. On balanced classes
 * both conventions give the same numbers.
 */
export type GlobalMeanMode = 'class-means' | 'sample-weighted';

export interface ClassStatsOptions {
  /** how mu_G is formed (default 'class-means', SPEC section 0) */
  globalMean?: GlobalMeanMode;
  /**
   * accumulate the p x p second moment (default true). Only Papyan's NC1 needs Sigma_W itself;
   * with `false` only traces and per-class variances are kept, which skips the O(N p^2) GEMM.
   */
  covariance?: boolean;
}

export interface ClassStats {
  /** number of classes */
  k: number;
  /** feature dimension */
  p: number;
  /** number of samples */
  n: number;
  /** samples per class (k) */
  counts: Float64Array;
  /** class means, k x p row-major */
  means: Float64Array;
  /** mu_G (p) */
  globalMean: Float64Array;
  globalMeanMode: GlobalMeanMode;
  /** (1/N) sum_c sum_{i in c} (x_i - mu_c)(x_i - mu_c)^T, p x p; null without `covariance` */
  sigmaW: Float64Array | null;
  /**
   * sum_c w_c (mu_c - mu_G)(mu_c - mu_G)^T, p x p, with w_c = 1/K ('class-means') or n_c/N
   * ('sample-weighted'); null without `covariance`
   */
  sigmaB: Float64Array | null;
  /** tr(Sigma_W) */
  traceW: number;
  /** the weight w_c of each class in Sigma_B (k): 1/K, or n_c/N with `globalMean: 'sample-weighted'` */
  betweenWeights: Float64Array;
  /** tr(Sigma_B) */
  traceB: number;
  /** per class: mean over its samples of ||x_i - mu_c||^2 (k) */
  classVariances: Float64Array;
}

const OP = 'ClassStatsAccumulator.add';

/** What one batch adds: per class sum_i (x_i - s_c) (k x p) and sum_i ||x_i - s_c||^2 (k), and the p x p second moment */
interface BatchMoments {
  shiftedSums: Float64Array;
  sqSums: Float64Array;
  second: Float32Array | null;
}

/**
 * Streaming class statistics. Feed batches with `add(features, labels)`; `result()` gives the
 * statistics of everything added so far and can be called at any time.
 *
 *   const acc = new ClassStatsAccumulator(10, 512);
 *   for (const { x, y } of batches) await acc.add(x, y);
 *   const stats = acc.result();
 */
export class ClassStatsAccumulator {
  readonly k: number;
  readonly p: number;
  readonly covariance: boolean;
  readonly globalMeanMode: GlobalMeanMode;
  #n = 0;
  readonly #counts: Float64Array;
  /** s_c, k x p: exactly the values subtracted on the backend */
  readonly #shifts: Float64Array;
  readonly #seen: Uint8Array;
  /** sum_i (x_i - s_c), k x p */
  readonly #shiftedSums: Float64Array;
  /** sum_i ||x_i - s_c||^2 per class */
  readonly #shiftedSq: Float64Array;
  /** sum_i (x_i - s_c)(x_i - s_c)^T, p x p */
  readonly #second: Float64Array | null;

  constructor(k: number, p: number, options: ClassStatsOptions = {}) {
    checkNumClasses('ClassStatsAccumulator', k);
    if (!Number.isInteger(p) || p < 1) throw new RangeError(`ClassStatsAccumulator: the feature dimension p must be a positive integer, got ${p}`);
    const mode = options.globalMean ?? 'class-means';
    if (mode !== 'class-means' && mode !== 'sample-weighted') {
      throw new RangeError(`ClassStatsAccumulator: globalMean must be 'class-means' or 'sample-weighted', got '${mode}'`);
    }
    this.k = k;
    this.p = p;
    this.covariance = options.covariance ?? true;
    this.globalMeanMode = mode;
    this.#counts = new Float64Array(k);
    this.#shifts = new Float64Array(k * p);
    this.#seen = new Uint8Array(k);
    this.#shiftedSums = new Float64Array(k * p);
    this.#shiftedSq = new Float64Array(k);
    this.#second = this.covariance ? new Float64Array(p * p) : null;
  }

  /** samples added so far */
  get n(): number {
    return this.#n;
  }

  /** Adds a batch: features (b x p, rows are samples) with one label in 0..k-1 per row. */
  async add(features: Matrix, labels: ArrayLike<number>): Promise<void> {
    const { k, p } = this;
    if (!isMatrix(features)) throw new TypeError(`${OP}: 'features' must be a Matrix`);
    if (features.batch !== 1) throw new ShapeError(`${OP}: 'features' must be a single matrix, got a batch (${features.describe()})`);
    if (features.cols !== p) {
      throw new ShapeError(`${OP}: 'features' has ${features.cols} columns but the accumulator was created for p = ${p}`);
    }
    const y = checkClassLabels(OP, labels, features.rows, k);
    const b = features.rows;
    if (b === 0) return;
    const batchCounts = new Float64Array(k);
    for (let i = 0; i < b; i++) batchCounts[y[i]!]!++;
    const fresh: number[] = [];
    for (let c = 0; c < k; c++) if (batchCounts[c]! > 0 && !this.#seen[c]) fresh.push(c);

    try {
      const moments = this.#second || !features.context.backend.classDeviations
        ? await this.#momentsByGemm(features, y, batchCounts, fresh)
        : await this.#momentsInOnePass(features, y, batchCounts, fresh);
      for (const c of fresh) this.#seen[c] = 1;
      // commit only after every pass succeeded, so a failed batch leaves the state untouched
      for (let t = 0; t < k * p; t++) this.#shiftedSums[t] += moments.shiftedSums[t]!;
      if (moments.second && this.#second) for (let t = 0; t < p * p; t++) this.#second[t] += moments.second[t]!;
      for (let c = 0; c < k; c++) {
        this.#counts[c] += batchCounts[c]!;
        this.#shiftedSq[c] += moments.sqSums[c]!;
      }
      this.#n += b;
    } catch (e) {
      // a failed batch must not leave half-set shifts behind
      for (const c of fresh) {
        if (this.#counts[c] === 0) {
          this.#seen[c] = 0;
          this.#shifts.fill(0, c * p, (c + 1) * p);
        }
      }
      throw e;
    }
  }

  /** Sets the shifts of classes seen for the first time to their batch means (f32-rounded). */
  async #setFreshShifts(features: Matrix, rawSums: ArrayLike<number>, batchCounts: Float64Array, fresh: number[]): Promise<void> {
    const { p } = this;
    for (const c of fresh) {
      for (let j = 0; j < p; j++) this.#shifts[c * p + j] = Math.fround(rawSums[c * p + j]! / batchCounts[c]!);
      if (!isAllFinite(this.#shifts.subarray(c * p, (c + 1) * p))) await explainNonFinite(OP, 'features', features);
    }
  }

  /**
   * The f32 class sums of raw features round at ~eps * |x| per sample, which near collapse can
   * exceed the within-class spread. Where a new shift misses its class mean by more than a tenth
   * of the rms deviation, it is moved onto the mean; elsewhere the miss costs nothing measurable.
   * Returns the moves (k x p, zero for classes left alone), or null when no class moved.
   */
  #refineFreshShifts(shiftedSums: Float64Array, sqSums: Float64Array, batchCounts: Float64Array, fresh: number[]): Float32Array | null {
    const { k, p } = this;
    const delta = new Float32Array(k * p);
    let refine = false;
    for (const c of fresh) {
      let off = 0;
      for (let j = 0; j < p; j++) off += (shiftedSums[c * p + j]! / batchCounts[c]!) ** 2;
      if (!(off > 0.01 * (sqSums[c]! / batchCounts[c]!))) continue;
      refine = true;
      for (let j = 0; j < p; j++) {
        const d = Math.fround(shiftedSums[c * p + j]! / batchCounts[c]!);
        delta[c * p + j] = d;
        this.#shifts[c * p + j] = this.#shifts[c * p + j]! + d;
      }
    }
    return refine ? delta : null;
  }

  /**
   * The moments through the backend's one-pass classDeviations (f64, nothing of size b x p
   * allocated); only without the second moment.
   */
  async #momentsInOnePass(features: Matrix, y: Int32Array, batchCounts: Float64Array, fresh: number[]): Promise<BatchMoments> {
    const { k, p } = this;
    const backend = features.context.backend;
    const deviations = async () => {
      const m = await backend.classDeviations!(features.storage(), features.rows, p, y, k, Float32Array.from(this.#shifts));
      if (!isAllFinite(m.sums) || !isAllFinite(m.sq)) await explainNonFinite(OP, 'features', features);
      return m;
    };
    // the unset shifts are zero, so the first pass gives the raw sums of fresh classes in f64
    let m = await deviations();
    if (fresh.length > 0) {
      await this.#setFreshShifts(features, m.sums, batchCounts, fresh);
      m = await deviations();
      if (this.#refineFreshShifts(m.sums, m.sq, batchCounts, fresh)) m = await deviations();
    }
    return { shiftedSums: m.sums, sqSums: m.sq, second: null };
  }

  /** The moments through backend GEMMs on the shifted rows (which the second moment needs). */
  async #momentsByGemm(features: Matrix, y: Int32Array, batchCounts: Float64Array, fresh: number[]): Promise<BatchMoments> {
    const { k, p } = this;
    const b = features.rows;
    const ctx = features.context;
    const oneHotData = new Float32Array(b * k);
    for (let i = 0; i < b; i++) oneHotData[i * k + y[i]!] = 1;
    const oneHot = ctx.matrix(oneHotData, [b, k], { name: 'one-hot labels' });
    const owned: Matrix[] = [oneHot];
    try {
      if (fresh.length > 0) {
        // first sight of these classes: their batch means become the shifts
        const raw = await classSums(features, y, k);
        owned.push(raw);
        await this.#setFreshShifts(features, await raw.read(), batchCounts, fresh);
      }
      const shifts = ctx.matrix(Float32Array.from(this.#shifts), [k, p], { name: 'class shifts' });
      owned.push(shifts);
      // x_i - s_{y_i}: the gathered shifts, negated, then the features added in place (one b x p buffer)
      const shifted = await matmul(oneHot, shifts, { alpha: -1 });
      owned.push(shifted);
      await axpy(1, features, shifted, { inPlace: true });
      const sums = await classSums(shifted, y, k);
      owned.push(sums);
      const shiftedSums = Float64Array.from(await sums.read());
      if (!isAllFinite(shiftedSums)) await explainNonFinite(OP, 'features', features);

      const classSq = async () => {
        const sq = await rowNorms(shifted, { squared: true });
        try {
          const rowSq = await sq.read();
          if (!isAllFinite(rowSq)) await explainNonFinite(OP, 'features', features);
          const perClass = new Float64Array(k);
          for (let i = 0; i < b; i++) perClass[y[i]!] += rowSq[i]!;
          return perClass;
        } finally {
          sq.dispose();
        }
      };
      let sqSums = await classSq();
      const delta = this.#refineFreshShifts(shiftedSums, sqSums, batchCounts, fresh);
      if (delta) {
        // s_c + d is what is subtracted, up to one rounding of the small x - s_c
        for (const c of fresh) for (let j = 0; j < p; j++) shiftedSums[c * p + j] = shiftedSums[c * p + j]! - batchCounts[c]! * delta[c * p + j]!;
        const deltaM = ctx.matrix(delta, [k, p], { name: 'shift refinement' });
        owned.push(deltaM);
        await matmul(oneHot, deltaM, { alpha: -1, beta: 1, out: shifted });
        sqSums = await classSq();
      }

      let second: Float32Array | null = null;
      if (this.#second) {
        const m2 = await matmul(shifted, shifted, { transA: true });
        owned.push(m2);
        second = await m2.read();
        if (!isAllFinite(second)) await explainNonFinite(OP, 'features', features);
      }
      return { shiftedSums, sqSums, second };
    } finally {
      for (const m of owned) m.dispose();
    }
  }

  /** The statistics of all samples added so far. Throws if a declared class has no samples. */
  result(): ClassStats {
    const { k, p } = this;
    const n = this.#n;
    if (n === 0) throw new RangeError('classStats: no samples have been added');
    checkNoEmptyClass('classStats', this.#counts);
    const counts = Float64Array.from(this.#counts);
    const means = new Float64Array(k * p);
    // d_c = mu_c - s_c, the mean of the shifted rows
    const d = new Float64Array(k * p);
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < p; j++) {
        const t = c * p + j;
        d[t] = this.#shiftedSums[t]! / counts[c]!;
        means[t] = this.#shifts[t]! + d[t]!;
      }
    }
    // the class weights of mu_G and of Sigma_B: 1/K, or n_c/N (then Sigma_T = Sigma_W + Sigma_B)
    const betweenWeights = new Float64Array(k);
    for (let c = 0; c < k; c++) betweenWeights[c] = this.globalMeanMode === 'class-means' ? 1 / k : counts[c]! / n;
    const globalMean = new Float64Array(p);
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < p; j++) globalMean[j] += betweenWeights[c]! * means[c * p + j]!;
    }

    const classVariances = new Float64Array(k);
    let traceW = 0;
    for (let c = 0; c < k; c++) {
      let dd = 0;
      for (let j = 0; j < p; j++) dd += d[c * p + j]! ** 2;
      // cancellation can leave a tiny negative value for a collapsed class
      const v = Math.max(0, this.#shiftedSq[c]! / counts[c]! - dd);
      classVariances[c] = v;
      traceW += counts[c]! * v;
    }
    traceW /= n;

    const centered = new Float64Array(k * p);
    let traceB = 0;
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < p; j++) {
        const v = means[c * p + j]! - globalMean[j]!;
        centered[c * p + j] = v;
        traceB += betweenWeights[c]! * v * v;
      }
    }

    let sigmaW: Float64Array | null = null;
    let sigmaB: Float64Array | null = null;
    if (this.#second) {
      sigmaW = new Float64Array(p * p);
      sigmaB = new Float64Array(p * p);
      const m2 = this.#second;
      for (let i = 0; i < p; i++) {
        for (let j = i; j < p; j++) {
          let corr = 0;
          let between = 0;
          for (let c = 0; c < k; c++) {
            corr += counts[c]! * d[c * p + i]! * d[c * p + j]!;
            between += betweenWeights[c]! * centered[c * p + i]! * centered[c * p + j]!;
          }
          // the GEMM result may be asymmetric in the last bit; average the two triangles
          const w = ((m2[i * p + j]! + m2[j * p + i]!) / 2 - corr) / n;
          sigmaW[i * p + j] = w;
          sigmaW[j * p + i] = w;
          sigmaB[i * p + j] = between;
          sigmaB[j * p + i] = between;
        }
      }
    }
    return {
      k, p, n, counts, means, globalMean, globalMeanMode: this.globalMeanMode,
      sigmaW, sigmaB, traceW, traceB, betweenWeights, classVariances,
    };
  }
}

/** Class statistics of one feature matrix (N x p) with labels in 0..k-1. */
export async function classStats(features: Matrix, labels: ArrayLike<number>, k: number, options: ClassStatsOptions = {}): Promise<ClassStats> {
  if (!isMatrix(features)) throw new TypeError("classStats: 'features' must be a Matrix");
  const acc = new ClassStatsAccumulator(k, features.cols, options);
  const y = checkClassLabels('classStats', labels, features.rows, k);
  // name the empty class before doing any work
  const counts = new Float64Array(k);
  for (let i = 0; i < y.length; i++) counts[y[i]!]!++;
  checkNoEmptyClass('classStats', counts);
  await acc.add(features, y);
  return acc.result();
}
