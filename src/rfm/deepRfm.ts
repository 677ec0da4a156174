/**
 * Deep Recursive Feature Machine (SPEC section 2; seed 000, Algorithm 1, reference conventions).
 *
 * Preprocess once: per-feature standardization with training statistics. Then for each layer l:
 *   X_l <- rows of X_l scaled to unit norm
 *   RFM with T = 1: fit kernel regression (M = I), M_l = normalized AGOP over the training points
 *   X~_l = X_l M_l^{1/2}            (eigh; negative eigenvalues clipped to 0)
 *   X_{l+1} = phi_l(X~_l)           (ReLU or cos random features)
 * and finally a kernel regression on the normalized X_{L+1}. Test data go through the same maps.
 * Every layer records NC1 and NC2 of X_l, X~_l and phi(X~_l), the accuracy of the layer's
 * predictor, the solve's condition estimate and seconds per phase.
 */
import { classStats } from '../metrics/classStats.js';
import { UndefinedMetricError } from '../metrics/inputs.js';
import { nc1Quotient } from '../metrics/nc1.js';
import { nc2GramMse } from '../metrics/nc2.js';
import type { AgopMethod } from '../backend/types.js';
import { AGOP_METHODS, AGOP_NORMALIZATIONS, type AgopNormalization } from '../ops/agop.js';
import { KERNELS, type Kernel } from '../ops/kernels.js';
import { sqrtPsd } from '../ops/linalg.js';
import { matmul } from '../ops/matmul.js';
import { rowNormalize } from '../ops/reduce.js';
import { assertFinite, checkLabels, ShapeError } from '../ops/validate.js';
import { Rng } from '../random.js';
import { applyFeatureStandardizer, fitFeatureStandardizer, type Standardizer } from '../data/standardize.js';
import { Matrix } from '../tensor.js';
import { FEATURE_MAPS, laplaceFourierFeatures, reluFeatures, type FeatureMap, type FeatureMapKind } from './features.js';
import { KernelRegression } from './kernelRegression.js';
import { Rfm } from './rfm.js';
import { KERNEL_SOLVERS, type KernelSolver } from './solvers/choose.js';
import type { KernelSolveOptions, SolveReport } from './solvers/solveKernel.js';

/** Options of DeepRfm and deepRfm: depth, kernel, random features, AGOP, solver and callbacks. */
export interface DeepRfmOptions {
  /** L, the number of RFM layers (default 10) */
  layers?: number;
  /** kernel of every layer's predictor (default 'laplace') */
  kernel?: Kernel;
  /** bandwidth L (default 2) */
  bandwidth?: number;
  /** ridge lambda >= 0 (default 0) */
  ridge?: number;
  /** 'relu' (default) or 'cos' random features between layers */
  features?: FeatureMapKind;
  /** random features per layer (default 1024 for relu, 4096 for cos) */
  width?: number;
  /** gamma of the l1-Laplacian kernel for 'cos' (default 0.05) */
  gamma?: number;
  /** AGOP scaling (default 'max') */
  normalize?: AgopNormalization;
  /** diagonal AGOP (diagonal RFM) */
  diagonal?: boolean;
  /** one seed in, identical results out on the same backend (default 0) */
  seed?: number;
  /** standardize the input features with training statistics (default true) */
  standardize?: boolean;
  /**
   * which predictor a layer's accuracy is of: 'initial' (default), the layer's predictor f_l of
   * Algorithm 1, fitted with M = I, whose AGOP gives M_l (no extra cost); or 'rfm', the RFM's
   * predictor refit with M_l (one more kernel matrix and solve per layer)
   */
  layerPredictor?: 'rfm' | 'initial';
  /** NC1/NC2 per layer (default true) */
  metrics?: boolean;
  /** return the training matrices of these layers (1-based), or of all (true) */
  keep?: boolean | readonly number[];
  /**
   * return every layer's feature matrix M_l and its square root (d x d each, host copies) in
   * `featureMatrices`, without the N x d matrices `keep` copies (default false)
   */
  keepFeatureMatrices?: boolean;
  /** memory of one AGOP call, in bytes (see agopPlan) */
  agopMemoryBytes?: number;
  /**
   * sum each layer's AGOP over this many training points drawn at random (seeded by `seed` and
   * the layer) instead of all of them, as xRFM and the authors' rfm package do at scale; with the
   * default 'max' normalization the scale of the subset sum does not matter (default: all points)
   */
  agopSamples?: number | null;
  /**
   * how each layer's AGOP sum is formed: 'auto' (default: the n x n Gram form on the cpu backend
   * when it takes fewer flops and fits in memory), 'batched' or 'gram' (see AgopOptions.method)
   */
  agopMethod?: 'auto' | AgopMethod;
  /**
   * kernel-system solver of every fit: 'auto' (default), 'direct', 'mixed' or 'iterative' (see
   * KernelRegression). Under 'auto', once a layer's mixed solve has had to fall back to direct
   * (collapse only worsens conditioning), later layers go straight to direct.
   */
  solver?: KernelSolver;
  /** rows per panel of the stored kernel matrices (default: 1 GiB of f32 per panel) */
  panelRows?: number;
  /** options of the 'iterative' solver */
  iterative?: KernelSolveOptions['iterative'];
  /** solves below this reciprocal condition warn (default 1e-10) */
  rcondWarning?: number;
  /** Receives warnings (ill-conditioned solves, ...) as they happen; default: print them to stderr. */
  onWarning?: (message: string) => void;
  /** called after each phase of each layer (layer is L + 1 for the final fit) */
  onPhase?: (layer: number, phase: DeepRfmPhase) => void;
  /** called with each finished layer's record */
  onLayer?: (record: DeepRfmLayer) => void;
}

/**
 * The phases a Deep RFM layer's time is split into (a layer record's `seconds`); onPhase reports
 * each as it finishes. A layer's RFM fit is reported once, as 'agop', its kernel and solve included.
 */
export type DeepRfmPhase = 'normalize' | 'kernel' | 'solve' | 'agop' | 'predict' | 'sqrt' | 'featureMap' | 'metrics';
/** Every DeepRfmPhase. */
export const DEEP_RFM_PHASES: readonly DeepRfmPhase[] = ['normalize', 'kernel', 'solve', 'agop', 'predict', 'sqrt', 'featureMap', 'metrics'];

/** Seconds spent in each phase of a layer, and in total. */
export type PhaseSeconds = Record<DeepRfmPhase | 'total', number>;

/** A metric of the three stages of a layer: X_l, X~_l = X_l M_l^{1/2}, phi(X~_l). */
export interface StageValues {
  X: number | null;
  MX: number | null;
  PhiMX: number | null;
}

/**
 * The record of one Deep RFM layer: collapse metrics of its three stages, accuracy, how its
 * kernel system was solved, and timings.
 */
export interface DeepRfmLayer {
  /** 1-based */
  layer: number;
  /** NC1 = tr(Sigma_W) / tr(Sigma_B) (null where undefined, e.g. all class means equal) */
  nc1: StageValues;
  /** NC1 in the reference script's convention (Sigma_W / (K N)), i.e. nc1 / K */
  nc1ReferenceScript: StageValues;
  /** NC2: mean squared difference of the centered, normalized class-mean Gram from the simplex ETF */
  nc2: StageValues;
  /** accuracy of the layer's predictor (see `layerPredictor`) */
  trainAcc: number;
  testAcc: number | null;
  /** reciprocal condition estimate of the M = I fit (NaN for an iterative solve) */
  rcond: number;
  /** how the M = I fit's kernel system was solved: solver, reason, relative residual, iterations */
  solve: SolveReport;
  /** of the refit with M_l ('rfm' predictor only) */
  rcondRefit: number | null;
  solveMethod: 'cholesky' | 'lu' | undefined;
  /** largest AGOP entry before normalization */
  agopMax: number;
  /** how the AGOP was summed ('batched' or 'gram') */
  agopMethod: AgopMethod;
  /** the Jacobians' sampled cancellation when the Gram form was considered, else null (see AgopResult) */
  agopCancellation: number | null;
  /** negative eigenvalues of M_l clipped to 0 by the square root */
  clipped: number;
  /** input and output feature dimensions of the layer */
  inputDim: number;
  outputDim: number;
  seconds: PhaseSeconds;
}

/** The record of the final kernel regression on the last layer's features. */
export interface DeepRfmFinal {
  trainAcc: number;
  testAcc: number | null;
  rcond: number;
  solve: SolveReport;
  solveMethod: 'cholesky' | 'lu' | undefined;
  seconds: PhaseSeconds;
}

/** A row-major host matrix. */
export interface HostMatrixF32 {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** The training matrices of one layer, kept when asked for with `keep`. */
export interface LayerMatrices {
  layer: number;
  /** X_l (normalized rows) */
  X: HostMatrixF32;
  /** X~_l = X_l M_l^{1/2} */
  MX: HostMatrixF32;
  /** phi(X~_l) */
  PhiMX: HostMatrixF32;
  M: HostMatrixF32;
  sqrtM: HostMatrixF32;
}

/** A layer's learned feature matrix M_l (the normalized AGOP) and M_l^{1/2}, on the host. */
export interface LayerFeatureMatrices {
  layer: number;
  M: HostMatrixF32;
  sqrtM: HostMatrixF32;
}

/**
 * What a Deep RFM fit returns: the settings used, every layer's record, the final fit, kept
 * matrices and warnings.
 */
export interface DeepRfmResult {
  /** the options with defaults filled in */
  config: Required<Omit<DeepRfmOptions, 'keep' | 'keepFeatureMatrices' | 'onWarning' | 'onPhase' | 'onLayer' | 'agopMemoryBytes' | 'rcondWarning' | 'panelRows' | 'iterative'>>;
  classes: number;
  trainSize: number;
  testSize: number;
  inputDim: number;
  layers: DeepRfmLayer[];
  final: DeepRfmFinal;
  /** training matrices of the layers asked for with `keep` */
  matrices: LayerMatrices[];
  /** M_l and M_l^{1/2} of every layer, when asked for with `keepFeatureMatrices` */
  featureMatrices: LayerFeatureMatrices[];
  /** warnings raised during the run (ill-conditioned solves, ...) */
  warnings: string[];
}

/** Samples on a context with their class labels: the training or test input of a Deep RFM. */
export interface LabeledMatrix {
  /** N x d, rows are samples */
  X: Matrix;
  labels: ArrayLike<number>;
}

const zeroSeconds = (): PhaseSeconds => ({
  normalize: 0, kernel: 0, solve: 0, agop: 0, predict: 0, sqrt: 0, featureMap: 0, metrics: 0, total: 0,
});

function resolveOptions(options: DeepRfmOptions): DeepRfmResult['config'] {
  const features = options.features ?? 'relu';
  const c = {
    layers: options.layers ?? 10,
    kernel: options.kernel ?? 'laplace',
    bandwidth: options.bandwidth ?? 2,
    ridge: options.ridge ?? 0,
    features,
    width: options.width ?? (features === 'cos' ? 4096 : 1024),
    gamma: options.gamma ?? 0.05,
    normalize: options.normalize ?? 'max',
    diagonal: options.diagonal ?? false,
    seed: options.seed ?? 0,
    standardize: options.standardize ?? true,
    layerPredictor: options.layerPredictor ?? 'initial',
    metrics: options.metrics ?? true,
    solver: options.solver ?? 'auto',
    agopSamples: options.agopSamples ?? null,
    agopMethod: options.agopMethod ?? 'auto',
  };
  const op = 'DeepRfm';
  if (!Number.isInteger(c.layers) || c.layers < 1) throw new RangeError(`${op}: layers must be a positive integer, got ${c.layers}`);
  if (!KERNELS.includes(c.kernel)) throw new RangeError(`${op}: kernel must be one of ${KERNELS.join(', ')}, got '${c.kernel}'`);
  if (!(c.bandwidth > 0) || !Number.isFinite(c.bandwidth)) throw new RangeError(`${op}: bandwidth must be a finite number > 0, got ${c.bandwidth}`);
  if (!(c.ridge >= 0) || !Number.isFinite(c.ridge)) throw new RangeError(`${op}: ridge must be a finite number >= 0, got ${c.ridge}`);
  if (!FEATURE_MAPS.includes(c.features)) throw new RangeError(`${op}: features must be one of ${FEATURE_MAPS.join(', ')}, got '${c.features}'`);
  if (!Number.isInteger(c.width) || c.width < 1) throw new RangeError(`${op}: width must be a positive integer, got ${c.width}`);
  if (!(c.gamma > 0) || !Number.isFinite(c.gamma)) throw new RangeError(`${op}: gamma must be a finite number > 0, got ${c.gamma}`);
  if (!AGOP_NORMALIZATIONS.includes(c.normalize)) throw new RangeError(`${op}: normalize must be one of ${AGOP_NORMALIZATIONS.join(', ')}, got '${c.normalize}'`);
  if (!Number.isInteger(c.seed)) throw new RangeError(`${op}: seed must be an integer, got ${c.seed}`);
  if (c.agopSamples !== null && (!Number.isInteger(c.agopSamples) || c.agopSamples < 1)) {
    throw new RangeError(`${op}: agopSamples must be a positive integer (training points each AGOP sums over), got ${c.agopSamples}`);
  }
  if (!AGOP_METHODS.includes(c.agopMethod)) throw new RangeError(`${op}: agopMethod must be one of ${AGOP_METHODS.join(', ')}, got '${c.agopMethod}'`);
  if (!KERNEL_SOLVERS.includes(c.solver)) throw new RangeError(`${op}: solver must be one of ${KERNEL_SOLVERS.join(', ')}, got '${c.solver}'`);
  if (c.layerPredictor !== 'rfm' && c.layerPredictor !== 'initial') {
    throw new RangeError(`${op}: layerPredictor must be 'rfm' or 'initial', got '${c.layerPredictor}'`);
  }
  return c;
}

async function hostCopy(m: Matrix): Promise<HostMatrixF32> {
  return { data: await m.read(), rows: m.rows, cols: m.cols };
}

interface StageMetrics {
  nc1: number | null;
  nc1Ref: number | null;
  nc2: number | null;
}

async function stageMetrics(features: Matrix, labels: Int32Array, k: number): Promise<StageMetrics> {
  const undefinedAsNull = async <T>(f: () => T | Promise<T>): Promise<T | null> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof UndefinedMetricError) return null;
      throw e;
    }
  };
  const stats = await classStats(features, labels, k, { covariance: false });
  return {
    nc1: await undefinedAsNull(() => nc1Quotient(stats)),
    nc1Ref: await undefinedAsNull(() => nc1Quotient(stats, { convention: 'reference-script' })),
    nc2: await undefinedAsNull(() => nc2GramMse(stats)),
  };
}

interface FittedLayer {
  sqrtM: Matrix;
  map: FeatureMap;
}

/**
 * The Deep RFM as an estimator: `fit` runs the layers and returns the per-layer records, keeping
 * the learned maps so that `predict` can send new data through them.
 */
export class DeepRfm {
  readonly config: DeepRfmResult['config'];
  private readonly options: DeepRfmOptions;
  private standardizer: Standardizer | undefined;
  private fittedLayers: FittedLayer[] = [];
  private finalModel: KernelRegression | undefined;
  private finalCenters: Matrix | undefined;
  private inputDim = 0;

  constructor(options: DeepRfmOptions = {}) {
    this.config = resolveOptions(options);
    this.options = options;
  }

  /** Runs all layers on the training data (and sends `test` through the same maps). */
  async fit(train: LabeledMatrix, test?: LabeledMatrix, options: { classes?: number } = {}): Promise<DeepRfmResult> {
    const op = 'DeepRfm.fit';
    const c = this.config;
    const { X: X0 } = train;
    checkData(op, 'train', train);
    if (test) {
      checkData(op, 'test', test);
      if (test.X.context !== X0.context) throw new Error(`${op}: the test matrix belongs to a different context than the training matrix`);
      if (test.X.cols !== X0.cols) throw new ShapeError(`${op}: test has ${test.X.cols} features but train has ${X0.cols}`);
    }
    let k = options.classes;
    if (k === undefined) {
      k = 0;
      for (let i = 0; i < train.labels.length; i++) k = Math.max(k, Number(train.labels[i]) + 1);
      if (test) for (let i = 0; i < test.labels.length; i++) k = Math.max(k, Number(test.labels[i]) + 1);
    }
    const labels = checkLabels(op, train.labels, X0.rows, k);
    const testLabels = test ? checkLabels(op, test.labels, test.X.rows, k) : undefined;
    const counts = new Int32Array(k);
    for (const y of labels) counts[y]!++;
    const empty = counts.findIndex((v) => v === 0);
    if (empty >= 0) throw new RangeError(`${op}: class ${empty} has no training samples`);
    if (k < 2) throw new RangeError(`${op}: needs at least 2 classes, got ${k}`);

    this.dispose();
    const ctx = X0.context;
    const warnings: string[] = [];
    const onWarning = (m: string) => {
      warnings.push(m);
      (this.options.onWarning ?? ((w: string) => console.warn(`ncgpu: ${w}`)))(m);
    };
    const keep = this.options.keep ?? false;
    const keepLayer = (l: number) => keep === true || (Array.isArray(keep) && keep.includes(l));
    const rng = new Rng(c.seed);
    const n = X0.rows;
    const d0 = X0.cols;
    this.inputDim = d0;

    // layer input on the device; owned by this function from here on
    let { X, T } = await this.prepareInputs(op, X0, test?.X);

    const layers: DeepRfmLayer[] = [];
    // collapse only worsens conditioning: once a Cholesky attempt has failed, later fits go to LU,
    // and once auto's mixed solve has fallen back to direct, later fits go straight to direct
    let factorization: 'auto' | 'lu' = 'auto';
    let solver: KernelSolver = c.solver;
    let solverReason: string | undefined;
    const noteSolve = (report: SolveReport, where: string) => {
      if (report.method === 'lu') factorization = 'lu';
      if (c.solver === 'auto' && solver === 'auto' && report.reason.startsWith('fallback')) {
        solver = 'direct';
        solverReason = `auto: the mixed solve of ${where} fell back to direct, and collapse only worsens conditioning`;
      }
    };
    const solveOptions = () => ({ solver, solverReason, factorization, panelRows: this.options.panelRows, iterative: this.options.iterative });
    // what the current layer has made and not yet handed on; freed if the layer fails
    const pending: { dispose(): void }[] = [];
    const matrices: LayerMatrices[] = [];
    const featureMatrices: LayerFeatureMatrices[] = [];
    const trainTargets = { labels, k };
    const testTargets = testLabels ? { labels: testLabels, k } : undefined;
    try {
      for (let l = 1; l <= c.layers; l++) {
        const seconds = zeroSeconds();
        const started = performance.now();
        let t0 = performance.now();
        const phase = async (name: DeepRfmPhase) => {
          await ctx.sync();
          const now = performance.now();
          seconds[name] += (now - t0) / 1000;
          t0 = now;
          this.options.onPhase?.(l, name);
        };

        await rowNormalize(X, { inPlace: true });
        if (T) await rowNormalize(T, { inPlace: true });
        await phase('normalize');
        const mX = c.metrics ? await stageMetrics(X, labels, k) : undefined;
        await phase('metrics');

        // RFM with T = 1. Its refit with M_l is a kernel regression on X~ = X_l M_l^{1/2} with
        // M = I (||x - z||_M = ||(x - z) M^{1/2}||), so it is fitted below on X~, which the next
        // layer needs anyway, instead of forming X M for every kernel matrix.
        const rfm = new Rfm({
          kernel: c.kernel, bandwidth: c.bandwidth, ridge: c.ridge, iterations: 1, normalize: c.normalize,
          diagonal: c.diagonal, refit: false, agopMemoryBytes: this.options.agopMemoryBytes, ...solveOptions(),
          // a draw of its own for every layer of a run, apart from the feature maps' stream
          agopSamples: c.agopSamples ?? undefined, agopSeed: c.seed * 1009 + l, agopMethod: c.agopMethod,
          rcondWarning: this.options.rcondWarning, onWarning: (m) => onWarning(`layer ${l}: ${m}`),
        });
        let S: Matrix;
        let clipped: number;
        let trainAcc: number;
        let testAcc: number | null = null;
        let agopMax: number;
        let agopMethod: AgopMethod;
        let agopCancellation: number | null;
        let rcond: number;
        let rcondRefit: number | null = null;
        let solveMethod: 'cholesky' | 'lu' | undefined;
        let solve: SolveReport;
        try {
          await rfm.fit(X, trainTargets);
          seconds.kernel += rfm.seconds.kernel;
          seconds.solve += rfm.seconds.solve;
          seconds.agop += rfm.seconds.agop;
          t0 = performance.now();
          this.options.onPhase?.(l, 'agop');
          rcond = rfm.history[0]!.rcond;
          solveMethod = rfm.history[0]!.method;
          solve = rfm.history[0]!.solve;
          noteSolve(solve, `layer ${l}`);
          agopMax = rfm.history[0]!.agopMax!;
          agopMethod = rfm.history[0]!.agopMethod!;
          agopCancellation = rfm.history[0]!.agopCancellation ?? null;
          if (c.layerPredictor === 'initial') {
            trainAcc = await rfm.score(X, trainTargets, 'accuracy');
            if (T && testTargets) testAcc = await rfm.score(T, testTargets, 'accuracy');
            await phase('predict');
          }
          const root = await sqrtPsd(rfm.M!);
          S = root.root;
          pending.push(S);
          clipped = root.clipped;
          await phase('sqrt');
          if (keepLayer(l)) {
            matrices.push({ layer: l, X: await hostCopy(X), M: await hostCopy(rfm.M!), sqrtM: await hostCopy(S) } as LayerMatrices);
          }
          if (this.options.keepFeatureMatrices) featureMatrices.push({ layer: l, M: await hostCopy(rfm.M!), sqrtM: await hostCopy(S) });
        } finally {
          rfm.dispose();
        }

        const MX = await matmul(X, S);
        pending.push(MX);
        const MT = T ? await matmul(T, S) : undefined;
        if (MT) pending.push(MT);
        await phase('featureMap');
        if (c.layerPredictor === 'rfm') {
          const refit = new KernelRegression({
            kernel: c.kernel, bandwidth: c.bandwidth, ridge: c.ridge, rcondWarning: this.options.rcondWarning, ...solveOptions(),
            onWarning: (m) => onWarning(`layer ${l} (refit with M_l): ${m}`),
          });
          try {
            await refit.fit(MX, trainTargets);
            seconds.kernel += refit.seconds.kernel;
            seconds.solve += refit.seconds.solve;
            t0 = performance.now();
            rcondRefit = refit.rcond;
            solveMethod = refit.method;
            noteSolve(refit.solveReport!, `layer ${l}'s refit`);
            trainAcc = await refit.score(MX, trainTargets, 'accuracy');
            if (MT && testTargets) testAcc = await refit.score(MT, testTargets, 'accuracy');
          } finally {
            refit.dispose();
          }
          await phase('predict');
        }
        const mMX = c.metrics ? await stageMetrics(MX, labels, k) : undefined;
        await phase('metrics');

        const d = X.cols;
        const map =
          c.features === 'relu'
            ? reluFeatures(ctx, { inputDim: d, width: c.width, seed: rng.split() })
            : laplaceFourierFeatures(ctx, { inputDim: d, dim: c.width, gamma: c.gamma, seed: rng.split() });
        pending.push(map);
        const PX = await map.apply(MX);
        pending.push(PX);
        const PT = MT ? await map.apply(MT) : undefined;
        if (PT) pending.push(PT);
        await phase('featureMap');
        const mPX = c.metrics ? await stageMetrics(PX, labels, k) : undefined;
        await phase('metrics');
        if (keepLayer(l)) {
          const kept = matrices[matrices.length - 1]!;
          kept.MX = await hostCopy(MX);
          kept.PhiMX = await hostCopy(PX);
        }
        this.fittedLayers.push({ sqrtM: S, map });
        pending.length = 0;
        X.dispose();
        T?.dispose();
        MX.dispose();
        MT?.dispose();
        X = PX;
        T = PT;

        seconds.total = (performance.now() - started) / 1000;
        const stage = (pick: (m: StageMetrics) => number | null): StageValues => ({
          X: mX ? pick(mX) : null,
          MX: mMX ? pick(mMX) : null,
          PhiMX: mPX ? pick(mPX) : null,
        });
        const record: DeepRfmLayer = {
          layer: l,
          nc1: stage((m) => m.nc1),
          nc1ReferenceScript: stage((m) => m.nc1Ref),
          nc2: stage((m) => m.nc2),
          trainAcc: trainAcc!,
          testAcc,
          rcond,
          rcondRefit,
          solveMethod,
          solve: solve!,
          agopMax,
          agopMethod: agopMethod!,
          agopCancellation: agopCancellation!,
          clipped,
          inputDim: d,
          outputDim: map.outputDim,
          seconds,
        };
        layers.push(record);
        this.options.onLayer?.(record);
      }

      // the last kernel regression on the normalized X_{L+1}
      const seconds = zeroSeconds();
      const started = performance.now();
      const L1 = c.layers + 1;
      let t0 = performance.now();
      await rowNormalize(X, { inPlace: true });
      if (T) await rowNormalize(T, { inPlace: true });
      await ctx.sync();
      seconds.normalize = (performance.now() - t0) / 1000;
      this.options.onPhase?.(L1, 'normalize');
      const model = new KernelRegression({
        kernel: c.kernel, bandwidth: c.bandwidth, ridge: c.ridge, rcondWarning: this.options.rcondWarning, ...solveOptions(),
        onWarning: (m) => onWarning(`final fit: ${m}`),
      });
      await model.fit(X, trainTargets);
      seconds.kernel = model.seconds.kernel;
      seconds.solve = model.seconds.solve;
      this.options.onPhase?.(L1, 'solve');
      t0 = performance.now();
      const finalTrain = await model.score(X, trainTargets, 'accuracy');
      const finalTest = T && testTargets ? await model.score(T, testTargets, 'accuracy') : null;
      seconds.predict = (performance.now() - t0) / 1000;
      seconds.total = (performance.now() - started) / 1000;
      this.options.onPhase?.(L1, 'predict');
      this.finalModel = model;
      this.finalCenters = X;
      T?.dispose();
      T = undefined;
      return {
        config: c,
        classes: k,
        trainSize: n,
        testSize: test?.X.rows ?? 0,
        inputDim: d0,
        layers,
        final: { trainAcc: finalTrain, testAcc: finalTest, rcond: model.rcond, solveMethod: model.method, solve: model.solveReport!, seconds },
        matrices,
        featureMatrices,
        warnings,
      };
    } catch (e) {
      for (const m of pending) m.dispose();
      if (X !== this.finalCenters) X.dispose();
      T?.dispose();
      this.dispose();
      throw e;
    }
  }

  /**
   * The layer-1 inputs on the device: checked for NaN/Inf and standardized with training
   * statistics. In a function of its own so that the host copies die with it: at N = 50,000 and
   * d = 3072 each is 614 MB.
   */
  private async prepareInputs(op: string, X0: Matrix, test: Matrix | undefined): Promise<{ X: Matrix; T: Matrix | undefined }> {
    const ctx = X0.context;
    const [n, d0] = [X0.rows, X0.cols];
    const trainData = await X0.read();
    assertFinite(trainData, X0.shape, `${op}: 'train.X'`);
    if (this.config.standardize) this.standardizer = fitFeatureStandardizer(trainData, n, d0);
    const prepared = (data: Float32Array, rows: number) => (this.standardizer ? applyFeatureStandardizer(this.standardizer, data, rows, d0) : data);
    const X = ctx.matrix(prepared(trainData, n), [n, d0], { name: 'X' });
    const T = test ? ctx.matrix(prepared(await finiteData(op, test), test.rows), [test.rows, d0], { name: 'test X' }) : undefined;
    return { X, T };
  }

  /** Final-layer outputs (rows x K) for new data, sent through the fitted maps. */
  async predict(X: Matrix): Promise<Matrix> {
    const op = 'DeepRfm.predict';
    if (!this.finalModel || !this.finalCenters) throw new Error(`${op}: the model is not fitted; call fit first`);
    if (!(X instanceof Matrix) || X.batch !== 1) throw new TypeError(`${op}: 'X' must be a single Matrix`);
    if (X.cols !== this.inputDim) throw new ShapeError(`${op}: 'X' has ${X.cols} features but the model was fitted on ${this.inputDim}`);
    const ctx = X.context;
    const data = await X.read();
    let Z = ctx.matrix(this.standardizer ? applyFeatureStandardizer(this.standardizer, data, X.rows, X.cols) : data, [X.rows, X.cols]);
    try {
      for (const { sqrtM, map } of this.fittedLayers) {
        await rowNormalize(Z, { inPlace: true });
        const MZ = await matmul(Z, sqrtM);
        Z.dispose();
        Z = MZ;
        const P = await map.apply(Z);
        Z.dispose();
        Z = P;
      }
      await rowNormalize(Z, { inPlace: true });
      return await this.finalModel.predict(Z);
    } finally {
      Z.dispose();
    }
  }

  /** Frees the learned maps. */
  dispose(): void {
    for (const { sqrtM, map } of this.fittedLayers) {
      sqrtM.dispose();
      map.dispose();
    }
    this.fittedLayers = [];
    this.finalModel?.dispose();
    this.finalModel = undefined;
    this.finalCenters?.dispose();
    this.finalCenters = undefined;
  }
}

async function finiteData(op: string, X: Matrix): Promise<Float32Array> {
  const data = await X.read();
  assertFinite(data, X.shape, `${op}: 'test.X'`);
  return data;
}

function checkData(op: string, name: string, data: LabeledMatrix): void {
  if (!data || !(data.X instanceof Matrix)) throw new TypeError(`${op}: '${name}.X' must be a Matrix`);
  data.X.storage(`${op}: '${name}.X'`);
  if (data.X.batch !== 1) throw new ShapeError(`${op}: '${name}.X' must be a single matrix, got ${data.X.describe()}`);
  if (data.X.rows === 0 || data.X.cols === 0) throw new ShapeError(`${op}: '${name}.X' is empty (${data.X.describe()})`);
  if (!data.labels || data.labels.length !== data.X.rows) {
    throw new ShapeError(`${op}: ${data.labels?.length ?? 0} labels for the ${data.X.rows} samples of '${name}.X'`);
  }
}

/** Fits a Deep RFM, returns its records and frees the fitted maps. */
export async function deepRfm(train: LabeledMatrix, test?: LabeledMatrix, options: DeepRfmOptions & { classes?: number } = {}): Promise<DeepRfmResult> {
  const model = new DeepRfm(options);
  try {
    return await model.fit(train, test, { classes: options.classes });
  } finally {
    model.dispose();
  }
}

