/**
 * Seed 000, Figures 2 and 10: within-class variability collapse through the right singular
 * structure of the weights, and the neural feature ansatz, in a bias-free ReLU MLP (5 hidden
 * layers of width 512 by default) trained with MSE on +-1 class codes by SGD (batch 128, lr 0.05)
 * from a small initialization: hidden weights N(0, s^2 / fanIn) with s = 0.2 (the reference code's
 * xavier_uniform gain 0.2 for MNIST; same variance on square layers), PyTorch's default init in the
 * readout. The caller standardizes the inputs per feature (data/standardize.ts), as the reference
 * code does; without it, small-init training stays on its initial plateau far longer.
 *
 * For each hidden layer i with weight W_i = U S V^T (svd op, f64) and input h (rows of the
 * training samples), logged during training:
 *   - NC1 of the input h, of S V^T h (rows: h V S) and of the full layer output relu(W_i h),
 *     NC1 = tr(Sigma_W) / tr(Sigma_B) (metrics/nc1.ts);
 *   - tr(Sigma_W) / tr(Sigma_T) and tr(Sigma_B) / tr(Sigma_T) of the layer output (Figure 10;
 *     Sigma_T = Sigma_W + Sigma_B for balanced classes);
 *   - the NFA correlation: Pearson correlation of the entries of W_i^T W_i and AGOP_i^{1/2}, AGOP_i
 *     of the network outputs w.r.t. the layer's input over the training set (layerAgop.ts,
 *     metrics/similarity.ts).
 * Expected: NC1 falls mostly between the input and S V^T h (the ReLU and U change it little),
 * and the NFA correlation is high.
 */
import type { Context } from '../../context.js';
import type { Dataset } from '../../data/dataset.js';
import { classStats } from '../../metrics/classStats.js';
import { nc1Quotient } from '../../metrics/nc1.js';
import { nfaCorrelation } from '../../metrics/similarity.js';
import { svd } from '../../ops/linalg.js';
import { matmul } from '../../ops/matmul.js';
import type { Matrix } from '../../tensor.js';
import { loadTrainingCheckpoint } from '../checkpoint.js';
import { mlpLayerAgops } from '../layerAgop.js';
import { mlp, type Mlp } from '../models/mlp.js';
import { classTargets, mseObjective, type TargetCoding } from '../objective.js';
import { sgd } from '../optim.js';
import { evaluateNetwork, trainNetwork, type EvalPoint } from '../train.js';
import { accuracy, inputsOf, orNaN } from './common.js';

/** Settings of svdNc1: the MLP, its small-init MSE training, and how often to measure. */
export interface SvdNc1Settings {
  /** default 512 */
  width?: number;
  /** hidden layers (default 5) */
  depth?: number;
  /** hidden-layer init scale x PyTorch's default (default 0.2, the seed's MNIST setting) */
  initScale?: number;
  /** default 0.05 */
  learningRate?: number;
  /** default 0 */
  momentum?: number;
  /** default 128 */
  batchSize?: number;
  steps: number;
  /** measure every this many steps (default steps / 10) */
  measureEvery?: number;
  /** default 'plus-minus-one' (seed 000) */
  coding?: TargetCoding;
  /** measure the NFA correlation (default true; costs K backward passes over the training set) */
  nfa?: boolean;
  seed?: number;
  /** write a checkpoint here every checkpointEvery steps and at the end */
  checkpointPath?: string;
  checkpointEvery?: number;
  checkpointInfo?: Record<string, unknown>;
  /** continue from this checkpoint (its parameters, optimizer state, step, batch order, logs) */
  resumeFrom?: string;
  /** As training advances, with the optimizer steps taken. */
  onSteps?: (steps: number) => void;
  /** With each measurement as soon as it is taken. */
  onMeasure?: (m: SvdNc1Measurement) => void;
}

/**
 * One hidden layer at one measurement: NC1 of its input, of S V^T h and of its output, the
 * within/between variance fractions of the output and the NFA correlation.
 */
export interface SvdNc1Layer {
  layer: number;
  nc1Input: number;
  nc1RightSingular: number;
  nc1Output: number;
  /** of the layer output */
  withinOverTotal: number;
  betweenOverTotal: number;
  /** null when not measured */
  nfa: number | null;
}

/** Every hidden layer's SvdNc1Layer at one training step, with the loss and training accuracy. */
export interface SvdNc1Measurement {
  step: number;
  loss: number;
  trainAccuracy: number;
  layers: SvdNc1Layer[];
}

/** The measurements taken during training and the final loss and accuracies. */
export interface SvdNc1Result {
  measurements: SvdNc1Measurement[];
  finalLoss: number;
  trainAccuracy: number;
  testAccuracy: number | null;
  steps: number;
  seconds: number;
}

async function nc1Of(x: Matrix, labels: Int32Array, k: number): Promise<{ nc1: number; w: number; b: number }> {
  const stats = await classStats(x, labels, k, { covariance: false });
  const total = stats.traceW + stats.traceB;
  return { nc1: await orNaN(() => nc1Quotient(stats)), w: stats.traceW / total, b: stats.traceB / total };
}

/** h V S (rows), i.e. S V^T applied to each sample, for W = U S V^T. */
async function rightSingularProjection(W: Matrix, h: Matrix): Promise<Matrix> {
  const { u, s, vt } = await svd(W);
  try {
    const v = await vt.read();
    const d = vt.cols;
    for (let r = 0; r < s.length; r++) for (let j = 0; j < d; j++) v[r * d + j]! *= s[r]!;
    const svt = W.context.matrix(v, [s.length, d], { name: 'S V^T' });
    try {
      return await matmul(h, svt, { transB: true });
    } finally {
      svt.dispose();
    }
  } finally {
    u.dispose();
    vt.dispose();
  }
}

async function measure(model: Mlp, e: EvalPoint, train: Dataset, nfa: boolean): Promise<SvdNc1Measurement> {
  const k = train.k;
  const depth = model.layers.length - 1;
  const agops = nfa ? await mlpLayerAgops(model, train.X, train.shape[0]) : new Map<number, Matrix>();
  try {
    const layers: SvdNc1Layer[] = [];
    for (let i = 0; i < depth; i++) {
      const input = e.activations.get(`layer.${i}.input`)!;
      const output = e.activations.get(`layer.${i}.output`)!;
      const W = model.layers[i]!.weight.value;
      const projected = await rightSingularProjection(W, input);
      try {
        const out = await nc1Of(output, train.labels, k);
        const agop = agops.get(i);
        layers.push({
          layer: i + 1,
          nc1Input: (await nc1Of(input, train.labels, k)).nc1,
          nc1RightSingular: (await nc1Of(projected, train.labels, k)).nc1,
          nc1Output: out.nc1,
          withinOverTotal: out.w,
          betweenOverTotal: out.b,
          nfa: agop ? await orNaN(() => nfaCorrelation(W, agop)) : null,
        });
      } finally {
        projected.dispose();
      }
    }
    return { step: e.step, loss: e.loss, trainAccuracy: accuracy(await e.outputs.read(), k, train.labels), layers };
  } finally {
    for (const m of agops.values()) m.dispose();
  }
}

/**
 * Trains the MLP and measures, every `measureEvery` steps, where within-class variability collapses
 * in each layer (input, right singular structure S V^T, output) and the NFA correlation. Resumes from
 * a checkpoint when `resumeFrom` is given.
 */
export async function svdNc1(ctx: Context, data: { train: Dataset; test?: Dataset }, s: SvdNc1Settings): Promise<SvdNc1Result> {
  const started = performance.now();
  const { train, test } = data;
  const k = train.k;
  const depth = s.depth ?? 5;
  const lr = s.learningRate ?? 0.05;
  if (!Number.isInteger(s.steps) || s.steps < 1) throw new RangeError(`svdNc1: 'steps' must be a positive integer, got ${s.steps}`);
  // N(0, s^2 / fanIn) hidden weights match the reference's xavier_uniform(gain = s) in variance on
  // square layers; the readout gets PyTorch's default nn.Linear init (std 1 / sqrt(3 fanIn))
  const model = mlp(ctx, {
    inputs: train.shape[1], width: s.width ?? 512, depth, outputs: k, bias: false,
    init: 'normal', initScale: s.initScale ?? 0.2, headInitScale: 1 / Math.sqrt(3), seed: s.seed ?? 0,
  });
  const objective = mseObjective(ctx, classTargets(train.labels, k, { coding: s.coding ?? 'plus-minus-one' }), k);
  const optimizer = sgd({ lr, momentum: s.momentum ?? 0 });
  try {
    const resume = s.resumeFrom ? (await loadTrainingCheckpoint(s.resumeFrom, model, optimizer)).resume : undefined;
    const names = new Set(Array.from({ length: depth }, (_, i) => [`layer.${i}.input`, `layer.${i}.output`]).flat());
    const r = await trainNetwork(model, inputsOf(train), {
      optimizer, objective, steps: s.steps, batchSize: s.batchSize ?? 128, learningRate: lr, seed: s.seed ?? 0,
      logEvery: Math.max(1, Math.round(s.steps / 50)),
      evalEvery: s.measureEvery ?? Math.max(1, Math.round(s.steps / 10)),
      trainLabels: train.labels,
      capture: (name) => names.has(name),
      checkpointPath: s.checkpointPath, checkpointEvery: s.checkpointEvery, checkpointInfo: s.checkpointInfo,
      onProgress: s.onSteps,
      onEval: async (e) => {
        const m = await measure(model, e, train, s.nfa ?? true);
        s.onMeasure?.(m);
        // the trainer keeps it in its logs, so a checkpoint carries the measurements so far
        return { ...m };
      },
    }, resume);
    const measurements = r.logs as unknown as SvdNc1Measurement[];
    let testAccuracy: number | null = null;
    if (test && test.shape[0] > 0) {
      const { outputs, captures } = await evaluateNetwork(model, ctx, inputsOf(test));
      testAccuracy = accuracy(await outputs.read(), k, test.labels);
      outputs.dispose();
      for (const m of captures.values()) m.dispose();
    }
    return {
      measurements, finalLoss: r.finalLoss, trainAccuracy: measurements.at(-1)!.trainAccuracy, testAccuracy,
      steps: r.step, seconds: (performance.now() - started) / 1000,
    };
  } finally {
    model.dispose();
    objective.dispose();
    optimizer.dispose();
  }
}
