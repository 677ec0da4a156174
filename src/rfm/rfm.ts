/**
 * Recursive Feature Machine: kernel regression that learns its Mahalanobis matrix. Starting from
 * M_0 (the identity by default), each of T iterations fits alpha with k_{M_t}, takes the AGOP of
 * that predictor over the training points and sets M_{t+1} to it (normalized); a last fit with
 * M_T gives the predictor. Full M or, with `diagonal`, only its diagonal.
 *
 *   const rfm = new Rfm({ kernel: 'laplace', bandwidth: 2, iterations: 3 });
 *   await rfm.fit(X, { labels, k: 10 });
 *   const M = rfm.M; // d x d
 */
import type { AgopMethod } from '../backend/types.js';
import { AGOP_METHODS, agopDetailed, AGOP_NORMALIZATIONS, type AgopNormalization } from '../ops/agop.js';
import type { Matrix } from '../tensor.js';
import { KernelRegression, type KernelRegressionOptions, type Targets } from './kernelRegression.js';
import type { SolveReport } from './solvers/solveKernel.js';

/** Options of Rfm: the kernel regression's, plus the AGOP iterations and their normalization. */
export interface RfmOptions extends Omit<KernelRegressionOptions, 'M'> {
  /** T: AGOP updates of M (default 1) */
  iterations?: number;
  /** AGOP scaling (default 'max', the reference code's convention) */
  normalize?: AgopNormalization;
  /** learn a diagonal M */
  diagonal?: boolean;
  /** fit the final predictor with the learned M (default true); false keeps the last M_{T-1} fit */
  refit?: boolean;
  /** memory of one AGOP call, in bytes (see agopPlan) */
  agopMemoryBytes?: number;
  /** sum the AGOP over this many of the training points, drawn at random (default: all), as the reference packages do at scale */
  agopSamples?: number;
  /** seed of that draw (default 0; iteration t draws with agopSeed + t) */
  agopSeed?: number;
  /** how the AGOP sum is formed: 'auto' (default), 'batched' or 'gram' (see AgopOptions.method) */
  agopMethod?: 'auto' | AgopMethod;
}

/** The record of one RFM iteration: how its kernel system was solved and the AGOP's largest entry. */
export interface RfmIteration {
  /** 0-based; iteration t fits with M_t */
  iteration: number;
  rcond: number;
  method: 'cholesky' | 'lu' | undefined;
  /** how the kernel system was solved */
  solve: SolveReport;
  /** largest entry of the AGOP before normalization (absent for the final refit) */
  agopMax?: number;
  /** how that AGOP was summed (absent for the final refit) */
  agopMethod?: AgopMethod;
  /** the Jacobians' sampled cancellation when the Gram form was considered (see AgopResult) */
  agopCancellation?: number;
}

/** A Recursive Feature Machine as an estimator (see the file comment): fit, then predict or score. */
export class Rfm {
  readonly options: RfmOptions;
  /** the learned M (d x d) after fit */
  M: Matrix | undefined;
  /** the final kernel predictor */
  model: KernelRegression | undefined;
  history: RfmIteration[] = [];
  private owned: Matrix[] = [];
  /** seconds of the last fit, summed over iterations */
  readonly seconds = { kernel: 0, solve: 0, agop: 0 };

  constructor(options: RfmOptions = {}) {
    const T = options.iterations ?? 1;
    if (!Number.isInteger(T) || T < 0) throw new RangeError(`Rfm: iterations must be a non-negative integer, got ${T}`);
    if (options.agopSamples !== undefined && (!Number.isInteger(options.agopSamples) || options.agopSamples < 1)) {
      throw new RangeError(`Rfm: agopSamples must be a positive integer (training points the AGOP sums over), got ${options.agopSamples}`);
    }
    if (options.agopMethod !== undefined && !AGOP_METHODS.includes(options.agopMethod)) {
      throw new RangeError(`Rfm: agopMethod must be one of ${AGOP_METHODS.join(', ')}, got '${options.agopMethod}'`);
    }
    if (options.normalize !== undefined && !AGOP_NORMALIZATIONS.includes(options.normalize)) {
      throw new RangeError(`Rfm: normalize must be one of ${AGOP_NORMALIZATIONS.join(', ')}, got '${options.normalize}'`);
    }
    // validates kernel, bandwidth and ridge up front
    new KernelRegression(options);
    this.options = options;
  }

  /** Learns M on X (N x d) and targets Y; `M0` starts from a given matrix instead of the identity. */
  async fit(X: Matrix, Y: Targets, options: { M0?: Matrix } = {}): Promise<this> {
    this.dispose();
    const T = this.options.iterations ?? 1;
    const refit = this.options.refit ?? true;
    this.seconds.kernel = this.seconds.solve = this.seconds.agop = 0;
    const fitWith = async (Mt: Matrix | undefined, t: number) => {
      const model = new KernelRegression({ ...this.options, M: Mt });
      await model.fit(X, Y);
      this.seconds.kernel += model.seconds.kernel;
      this.seconds.solve += model.seconds.solve;
      this.history.push({ iteration: t, rcond: model.rcond, method: model.method, solve: model.solveReport! });
      return model;
    };
    let M: Matrix | undefined = options.M0;
    let model: KernelRegression | undefined;
    try {
      for (let t = 0; t < T; t++) {
        model?.dispose();
        model = await fitWith(M, t);
        const t0 = performance.now();
        const g = await agopDetailed(X, model.alpha!, X, model.kernel, model.bandwidth, {
          M,
          normalize: this.options.normalize,
          diagonal: this.options.diagonal,
          memoryBytes: this.options.agopMemoryBytes,
          samples: this.options.agopSamples,
          seed: (this.options.agopSeed ?? 0) + t,
          method: this.options.agopMethod,
        });
        this.seconds.agop += (performance.now() - t0) / 1000;
        Object.assign(this.history[this.history.length - 1]!, { agopMax: g.rawMax, agopMethod: g.method, agopCancellation: g.cancellation });
        this.owned.push(g.agop);
        M = g.agop;
      }
      if (refit || !model) {
        model?.dispose();
        model = await fitWith(M, T);
      }
    } catch (e) {
      model?.dispose();
      this.dispose();
      throw e;
    }
    this.model = model;
    this.M = T > 0 ? M : undefined;
    // keep the learned M and the one the final predictor uses; free the intermediate ones
    this.owned = this.owned.filter((m) => {
      if (m === this.M || m === model.M) return true;
      m.dispose();
      return false;
    });
    return this;
  }

  private fitted(op: string): KernelRegression {
    if (!this.model) throw new Error(`${op}: the RFM is not fitted; call fit(X, Y) first`);
    return this.model;
  }

  /** The fitted predictor's outputs for the rows of X; throws before fit. */
  predict(X: Matrix): Promise<Matrix> {
    return this.fitted('Rfm.predict').predict(X);
  }

  /** Accuracy (labels) or mean squared error of the predictor on X against Y. */
  score(X: Matrix, Y: Targets, metric?: 'accuracy' | 'mse'): Promise<number> {
    return this.fitted('Rfm.score').score(X, Y, metric);
  }

  /** Frees M and the fitted predictor. */
  dispose(): void {
    this.model?.dispose();
    for (const m of this.owned) m.dispose();
    this.owned = [];
    this.model = undefined;
    this.M = undefined;
    this.history = [];
  }
}
