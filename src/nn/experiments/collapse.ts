/**
 * The neural-collapse metrics of seed 003 (SPEC section 5) on a trained network's last layer:
 * W = the head's K x p weight, X = the penultimate features LN(X_L) of the training samples.
 * NC1 = tr(Sigma_W) / tr(Sigma_B); NC2A / NC2B = relative distance of W W^T to the nearest
 * non-negative multiple of E_K / of I_K; NC3 = 1 - mean cos(x_i, W_{y_i,:}). All from src/metrics.
 */
import { classStats } from '../../metrics/classStats.js';
import type { MatrixLike } from '../../metrics/inputs.js';
import { nc1Quotient } from '../../metrics/nc1.js';
import { nc2A, nc2B } from '../../metrics/nc2.js';
import { nc3Cosine } from '../../metrics/nc3.js';
import type { Matrix } from '../../tensor.js';
import { orNaN } from './common.js';

/** NC1, NC2A, NC2B and NC3 of a network's last layer (seed 003's definitions); NaN where undefined. */
export interface HeadCollapse {
  nc1: number;
  nc2A: number;
  nc2B: number;
  nc3: number;
}


/**
 * The collapse metrics of a classifier head: `features` are the head's inputs for the samples (N x p,
 * e.g. the 'penultimate' capture), `W` its K x p weight. Undefined metrics come back as NaN.
 */
export async function headCollapse(features: Matrix, labels: ArrayLike<number>, W: MatrixLike, k: number): Promise<HeadCollapse> {
  // traces only: NC1 needs no p x p covariance
  const stats = await classStats(features, labels, k, { covariance: false });
  return {
    nc1: await orNaN(() => nc1Quotient(stats)),
    nc2A: await orNaN(() => nc2A(W)),
    nc2B: await orNaN(() => nc2B(W)),
    nc3: await orNaN(() => nc3Cosine(features, labels, W)),
  };
}

/** The HeadCollapse metrics, in the order tables and sweeps report them. */
export const COLLAPSE_KEYS = ['nc1', 'nc2A', 'nc2B', 'nc3'] as const;
