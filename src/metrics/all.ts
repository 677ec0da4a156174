/**
 * Every metric a set of inputs allows, in one call: what `ncgpu metrics` prints. Features and
 * labels give NC1 (three ways), NC2 of the means and the spectra of the centered means; a
 * classifier W (and bias b) adds NC2A/NC2B, NC3, both self-dualities (Papyan's squared one and
 * Kothapalli's), NC4 and the margin; outputs of the same samples add CKA and D_LR (in f64).
 *
 * Invalid inputs (shapes, labels, NaN/Inf, an empty class, K = 1) throw. A metric that is
 * undefined on valid inputs (e.g. all class means equal) is reported as null with the reason,
 * and the others are still computed.
 */
import { matmul } from '../ops/matmul.js';
import { ShapeError } from '../ops/validate.js';
import type { Matrix } from '../tensor.js';
import { classStats, type ClassStats, type GlobalMeanMode } from './classStats.js';
import { isMatrix, onContextOf, toHostF64, UndefinedMetricError, type MatrixLike } from './inputs.js';
import { assertMeansDistinct, centeredMeans as centeredMeansOf } from './means.js';
import { normalizedMargin } from './margins.js';
import { cdnv, nc1PapyanDetails, nc1Quotient, type Nc1PapyanResult } from './nc1.js';
import { equinorm, etfError, nc2A, nc2B, nc2GramMse } from './nc2.js';
import { kothapalliDuality, nc3Cosine, selfDualityErrorSquared } from './nc3.js';
import { nc4Agreement, type Nc4Result } from './nc4.js';
import { similarityF64, type CkaF64 } from './similarity.js';
import { effectiveRank, stableRank } from './spectra.js';

/** What computeAllMetrics measures: features and labels, optionally the classifier and the outputs. */
export interface MetricInputs {
  /** N x p, rows are samples */
  features: Matrix;
  /** N integer labels in 0..K-1 */
  labels: ArrayLike<number>;
  /** K (default: max label + 1) */
  numClasses?: number;
  /** classifier, K x p (logits = W x + b) */
  weights?: MatrixLike;
  /** classifier bias, K */
  bias?: ArrayLike<number>;
  /** model outputs for the same samples, N x C */
  outputs?: Matrix;
}

/** Options of computeAllMetrics. */
export interface AllMetricsOptions {
  /** 'class-means' (default; Sigma_B weighs classes by 1/K) or 'sample-weighted' (n_c/N); see GlobalMeanMode */
  globalMean?: GlobalMeanMode;
}

/**
 * One metric of computeAllMetrics: its key in `values`, a display label, and the value or why it is undefined.
 */
export interface MetricRow {
  key: string;
  label: string;
  /** null when the metric is undefined on these inputs */
  value: number | null;
  /** why the value is null */
  reason?: string;
}

/**
 * Everything computeAllMetrics measured: values by key, rows in display order, and the class
 * statistics they came from.
 */
export interface AllMetrics {
  numClasses: number;
  n: number;
  p: number;
  /** key -> value (null where undefined) */
  values: Record<string, number | null>;
  /** key -> why it is undefined */
  undefinedReasons: Record<string, string>;
  /** in display order */
  rows: MetricRow[];
  stats: ClassStats;
  /**
   * NC4 in full with `weights` (null otherwise, or when NC4 is undefined): the agreement and
   * accuracies of the rows, and both rules' predictions per sample (`nccPredictions`,
   * `classifierPredictions`)
   */
  nc4: Nc4Result | null;
  /**
   * keys of `values` that repeat another key under an older name: `selfDuality` is
   * `selfDualitySquared`
   */
  aliases: Record<string, string>;
}

/** Older keys of `values` kept for scripts that read them, and the key each repeats. */
export const METRIC_KEY_ALIASES: Readonly<Record<string, string>> = Object.freeze({ selfDuality: 'selfDualitySquared' });

/** K from the labels: max + 1 (labels must be non-negative integers). */
export function inferNumClasses(labels: ArrayLike<number>): number {
  if (labels.length === 0) throw new RangeError('the labels are empty');
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0) throw new RangeError(`label ${y} of sample ${i} is not a non-negative integer`);
    max = Math.max(max, y);
  }
  return max + 1;
}

/** Every metric the inputs allow (see the file comment), as `ncgpu metrics` prints them. */
export async function computeAllMetrics(inputs: MetricInputs, options: AllMetricsOptions = {}): Promise<AllMetrics> {
  const { features, labels, weights, bias, outputs } = inputs;
  if (!isMatrix(features)) throw new TypeError("computeAllMetrics: 'features' must be a Matrix");
  const k = inputs.numClasses ?? inferNumClasses(labels);
  const rows: MetricRow[] = [];
  const add = async (key: string, label: string, fn: () => number | Promise<number>) => {
    try {
      rows.push({ key, label, value: await fn() });
    } catch (e) {
      if (!(e instanceof UndefinedMetricError)) throw e;
      rows.push({ key, label, value: null, reason: e.message });
    }
  };

  const stats = await classStats(features, labels, k, { covariance: true, globalMean: options.globalMean });
  const nc4Full: { result?: Nc4Result } = {};
  if (outputs !== undefined && outputs.rows !== features.rows) {
    throw new ShapeError(`the outputs have ${outputs.rows} rows but the features have ${features.rows}`);
  }
  await add('traceW', 'tr(Sigma_W)', () => stats.traceW);
  await add('traceB', 'tr(Sigma_B)', () => stats.traceB);
  await add('nc1', 'NC1  tr(Sw)/tr(Sb)', () => nc1Quotient(stats));
  await add('nc1ReferenceScript', 'NC1  reference-script convention (/K)', () => nc1Quotient(stats, { convention: 'reference-script' }));
  const papyan: { result?: Nc1PapyanResult } = {};
  await add('nc1Papyan', 'NC1  Papyan tr(Sw Sb^+)/K', () => {
    papyan.result = nc1PapyanDetails(stats);
    return papyan.result.value;
  });
  const papyanWhy = rows.at(-1)!.reason;
  await add('nc1PapyanRank', 'NC1  Papyan: rank of Sb kept by pinv', () => {
    if (!papyan.result) throw new UndefinedMetricError(papyanWhy!);
    return papyan.result.rank;
  });
  await add('cdnv', 'CDNV', () => cdnv(stats));
  await add('nc2GramMse', 'NC2  Gram MSE vs simplex ETF', () => nc2GramMse(stats));
  await add('etfError', 'simplex ETF error', () => etfError(stats));
  await add('equinorm', 'equinorm (CV of centered mean norms)', () => equinorm(stats));
  // the centered means of coinciding classes are rounding noise: their spectrum would be a rank of noise
  const means = await centeredMeansOf('computeAllMetrics', stats);
  const centeredMeans = { data: means.centered, rows: means.k, cols: means.p };
  await add('meansEffectiveRank', 'effective rank of centered means', () => {
    assertMeansDistinct('effectiveRank', means, 'the effective rank of the centered means');
    return effectiveRank(centeredMeans);
  });
  await add('meansStableRank', 'stable rank of centered means', () => {
    assertMeansDistinct('stableRank', means, 'the stable rank of the centered means');
    return stableRank(centeredMeans);
  });

  if (weights !== undefined) {
    const w = await toHostF64('computeAllMetrics', 'weights', weights);
    if (w.rows !== k || w.cols !== features.cols) {
      throw new ShapeError(`the weights are ${w.rows}x${w.cols} but must be K x p = ${k}x${features.cols}`);
    }
    if (bias !== undefined && bias.length !== k) throw new ShapeError(`the bias has ${bias.length} entries but K = ${k}`);
    await add('nc2A', 'NC2A ||WW^T - cE||/||WW^T||', () => nc2A(w));
    await add('nc2B', 'NC2B ||WW^T - cI||/||WW^T||', () => nc2B(w));
    await add('nc3Cosine', 'NC3  1 - mean cos(x_i, w_y)', () => nc3Cosine(features, labels, w));
    await add('selfDualitySquared', 'self-duality ||W/|W| - M/|M| ||_F^2 (Papyan, squared)', () => selfDualityErrorSquared(stats, w));
    await add('dualityKothapalli', 'self-duality ||WM^T/|WM^T| - E_K/sqrt(K-1)||_F (Kothapalli)', () => kothapalliDuality(stats, w));
    await add('nc4Agreement', 'NC4  agreement NCC vs classifier', async () => {
      nc4Full.result = await nc4Agreement(features, labels, stats, w, bias);
      return nc4Full.result.agreement;
    });
    const r4 = nc4Full.result;
    // when NC4 is undefined its accuracies are too (they would count tie-breaking): same reason
    const why = rows.at(-1)!.reason;
    const from = (v: () => number) => () => {
      if (!r4) throw new UndefinedMetricError(why!);
      return v();
    };
    await add('nc4Mismatch', 'NC4  mismatch (1 - agreement)', from(() => r4!.mismatch));
    await add('nccAccuracy', 'nearest-class-mean accuracy', from(() => r4!.nccAccuracy!));
    await add('classifierAccuracy', 'classifier accuracy', from(() => r4!.classifierAccuracy!));
    if (!(outputs && outputs.cols === k)) {
      await add('normalizedMargin', 'normalized margin of W x + b', async () => {
        const { matrix: wm, owned } = onContextOf('computeAllMetrics', 'weights', w, features);
        const z = await matmul(features, wm, { transB: true });
        try {
          const logits = Float64Array.from(await z.read());
          if (bias) for (let i = 0; i < features.rows; i++) for (let c = 0; c < k; c++) logits[i * k + c] += bias[c]!;
          return normalizedMargin({ data: logits, rows: features.rows, cols: k }, labels);
        } finally {
          z.dispose();
          if (owned) wm.dispose();
        }
      });
    }
  }
  if (outputs !== undefined) {
    // both from one f64 factorization: near collapse D_LR ~ 1e-4, and 1 - (an f32-accurate CKA) loses it
    const sim: { result?: CkaF64 } = {};
    await add('cka', 'CKA(features, outputs)', async () => {
      sim.result = await similarityF64('computeAllMetrics', features, outputs);
      return sim.result.cka;
    });
    const ckaWhy = rows.at(-1)!.reason;
    await add('dLR', 'D_LR = 1 - CKA (f64)', () => {
      if (!sim.result) throw new UndefinedMetricError(ckaWhy!);
      return sim.result.dLR;
    });
    if (outputs.cols === k) await add('normalizedMargin', 'normalized margin of the outputs', () => normalizedMargin(outputs, labels));
  }

  const values: Record<string, number | null> = {};
  const undefinedReasons: Record<string, string> = {};
  for (const r of rows) {
    values[r.key] = r.value;
    if (r.reason) undefinedReasons[r.key] = r.reason;
  }
  const aliases: Record<string, string> = {};
  for (const [old, key] of Object.entries(METRIC_KEY_ALIASES)) {
    if (!(key in values)) continue;
    aliases[old] = key;
    values[old] = values[key]!;
    if (undefinedReasons[key]) undefinedReasons[old] = undefinedReasons[key]!;
  }
  return {
    numClasses: k, n: features.rows, p: features.cols, values, undefinedReasons, rows, stats,
    nc4: nc4Full.result ?? null, aliases,
  };
}
