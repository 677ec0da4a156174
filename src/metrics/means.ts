/**
 * Class means as the NC2/NC3/NC4 metrics take them: from ClassStats (with its global mean), or
 * as a K x p matrix whose rows are the class means (global mean = mean of the rows).
 */
import type { Matrix } from '../tensor.js';
import type { ClassStats } from './classStats.js';
import { checkNumClasses, F32_EPS, toHostF64, UndefinedMetricError, type HostMatrix } from './inputs.js';

/** ClassStats, or a K x p matrix of class means (rows). */
export type MeansInput = ClassStats | Matrix | HostMatrix;

export interface CenteredMeans {
  k: number;
  p: number;
  /** mu_c, k x p */
  means: Float64Array;
  /** mu_G, p */
  globalMean: Float64Array;
  /** mu_c - mu_G, k x p */
  centered: Float64Array;
}

export function isClassStats(x: unknown): x is ClassStats {
  return typeof x === 'object' && x !== null && 'means' in x && 'counts' in x && 'globalMean' in x && 'k' in x && 'p' in x;
}

/** Means and their centering; a bare matrix of means is centered at the mean of its rows. */
export async function centeredMeans(op: string, input: MeansInput): Promise<CenteredMeans> {
  let k: number;
  let p: number;
  let means: Float64Array;
  let globalMean: Float64Array;
  if (isClassStats(input)) {
    ({ k, p } = input);
    means = input.means;
    globalMean = input.globalMean;
  } else {
    const h = await toHostF64(op, 'means', input);
    k = h.rows;
    p = h.cols;
    means = h.data;
    globalMean = new Float64Array(p);
    for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) globalMean[j] += means[c * p + j]! / k;
  }
  checkNumClasses(op, k);
  const centered = new Float64Array(k * p);
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) centered[c * p + j] = means[c * p + j]! - globalMean[j]!;
  return { k, p, means, globalMean, centered };
}

/**
 * Throws when the class means coincide to f32 precision: the spread of the means around mu_G is
 * then rounding noise, and any metric divided by it would be a number without meaning.
 */
export function assertMeansDistinct(op: string, m: CenteredMeans, metric: string): void {
  let spread = 0;
  let scale = 0;
  for (let t = 0; t < m.centered.length; t++) {
    spread += m.centered[t]! ** 2;
    scale += m.means[t]! ** 2;
  }
  if (spread === 0 || spread <= F32_EPS * F32_EPS * scale) {
    throw new UndefinedMetricError(`${op}: all class means are equal (tr(Sigma_B) = 0); ${metric} is undefined`);
  }
}

/** The centered class means as a host matrix (e.g. for their effective rank). */
export async function centeredClassMeans(input: MeansInput): Promise<HostMatrix & { data: Float64Array }> {
  const m = await centeredMeans('centeredClassMeans', input);
  return { data: m.centered, rows: m.k, cols: m.p };
}
