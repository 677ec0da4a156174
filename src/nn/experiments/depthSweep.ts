/**
 * Seed 003, Figures 1 and 2: neural collapse at the end of training against depth for L-RN1
 * (ResNet), L-RN2 (two linear layers per block), L-T11 (transformer on tokens) and the vision
 * transformer (L-T11 on image patches, classifying from the last patch), trained with CE and weight
 * decay. For each depth and seed: train, then measure NC1, NC2A, NC2B and NC3 of (W = head weight,
 * X = the features the head sees, LN(X_L); for the transformers those of the last position) on
 * the training samples; report mean and standard deviation of log10 over seeds. Expected: all
 * fall with depth (for L-RN2 only when the body's weight decay falls as lambda / L).
 *
 * Conventions: run i of a depth uses seed baseSeed + i (model init and batch order); runs that
 * diverge are recorded with their error and left out of the means; the optimizer's weight decay
 * adds lambda theta to every parameter's gradient (loss + lambda/2 ||theta||^2). With
 * weightDecayScaling 'inverse-depth' every parameter but the head's gets lambda / L instead, L the
 * run's depth (its number of blocks); the head keeps lambda (seed 003, Theorem 10: lambda(L) on
 * the body, a depth-free lambda_L on the last layer).
 */
import type { Context } from '../../context.js';
import type { Dataset } from '../../data/dataset.js';
import type { TokenDataset } from '../../data/tokens.js';
import type { Model } from '../models/model.js';
import { resnet } from '../models/resnet.js';
import { resnet2 } from '../models/resnet2.js';
import { transformer } from '../models/transformer.js';
import { visionTransformer } from '../models/vit.js';
import type { ImageShape } from '../patches.js';
import { crossEntropyObjective } from '../objective.js';
import { adam, sgd } from '../optim.js';
import type { ScheduleKind } from '../schedule.js';
import { evaluateNetwork, trainNetwork } from '../train.js';
import { COLLAPSE_KEYS, headCollapse, type HeadCollapse } from './collapse.js';
import { accuracy, inputsOf, log10Stats } from './common.js';

/**
 * The architectures of the depth sweep: L-RN1 ('resnet', on vectors), L-T11 ('transformer', on
 * tokens), the vision transformer ('vit', L-T11 on image patches) and L-RN2 ('resnet2', on vectors).
 */
export type DepthArch = 'resnet' | 'transformer' | 'vit' | 'resnet2';
/** Every DepthArch, e.g. for validating a command-line option. */
export const DEPTH_ARCHS: readonly DepthArch[] = ['resnet', 'transformer', 'vit', 'resnet2'];

/** How the weight decay depends on depth: lambda on everything, or lambda / L on all but the head. */
export type WeightDecayScaling = 'constant' | 'inverse-depth';
/** Every WeightDecayScaling, e.g. for validating a command-line option. */
export const WEIGHT_DECAY_SCALINGS: readonly WeightDecayScaling[] = ['constant', 'inverse-depth'];

/** Settings of depthSweep and depthRun: the architecture, the depths and seeds, and how each run trains. */
export interface DepthSweepSettings {
  arch: DepthArch;
  depths: readonly number[];
  width: number;
  learningRate: number;
  /** lambda */
  weightDecay: number;
  /** 'constant' (default): lambda on every parameter; 'inverse-depth': lambda / L on all but the head */
  weightDecayScaling?: WeightDecayScaling;
  seeds: number;
  baseSeed?: number;
  steps: number;
  /** default: full batch */
  batchSize?: number;
  /** default 'adam' */
  optimizer?: 'adam' | 'sgd';
  /** SGD momentum (default 0) */
  momentum?: number;
  schedule?: ScheduleKind;
  /** init scale of the Linear weights (default 1) */
  initScale?: number;
  /** vit: the shape of one image of the data (channels x height x width, channel-major rows) */
  image?: ImageShape;
  /** vit: side of a square patch (must divide the image's height and width) */
  patchSize?: number;
  /** the transformer needs token data (vocab, seqLen); vit images (see `image`) */
  train: Dataset | TokenDataset;
  test?: Dataset | TokenDataset;
  /** NC measurements per run besides the final one (default 4) */
  logsPerRun?: number;
  /** After each run, with the runs finished so far and in total. */
  onRun?: (done: number, total: number, run: DepthRun) => void;
  /** As training advances, with the optimizer steps taken in the current run. */
  onSteps?: (steps: number) => void;
}

/** One trained network of the sweep: its final collapse metrics, loss and accuracies. */
export interface DepthRun extends HeadCollapse {
  depth: number;
  seed: number;
  finalLoss: number;
  trainAccuracy: number;
  testAccuracy: number | null;
  steps: number;
  seconds: number;
  /** the weight decay this run's body got (lambda, or lambda / depth with 'inverse-depth'); the head's is lambda */
  bodyWeightDecay: number;
  /** NC metrics during training */
  trajectory: ({ step: number; loss: number } & HeadCollapse)[];
  /** set when the run failed (diverged); its numbers are NaN */
  error?: string;
}

/** One depth of the sweep, summarized over its seeds (diverged runs left out). */
export interface DepthRow {
  depth: number;
  /** mean and sample std over the seeds of log10 of each metric */
  log10: Record<(typeof COLLAPSE_KEYS)[number], { mean: number; std: number }>;
  finalLoss: number;
  trainAccuracy: number;
  testAccuracy: number | null;
  perSeed: DepthRun[];
}

function buildModel(ctx: Context, s: DepthSweepSettings, depth: number, seed: number): Model {
  const k = s.train.k;
  const sizes = { width: s.width, depth, outputs: k, initScale: s.initScale, seed };
  switch (s.arch) {
    case 'resnet':
      return resnet(ctx, { inputs: s.train.shape[1], ...sizes });
    case 'resnet2':
      return resnet2(ctx, { inputs: s.train.shape[1], ...sizes });
    case 'vit':
      checkImages(s);
      return visionTransformer(ctx, { image: s.image!, patchSize: s.patchSize!, ...sizes });
    case 'transformer': {
      const t = s.train as TokenDataset;
      if (!(t.vocab > 0 && t.seqLen > 0)) throw new RangeError("depthSweep: the transformer needs token data (a TokenDataset with 'vocab' and 'seqLen')");
      return transformer(ctx, { vocab: t.vocab, seqLen: t.seqLen, ...sizes });
    }
  }
}

/** lambda / depth on every parameter but the head's with 'inverse-depth'; returns the body's lambda. */
function scaleWeightDecay(model: Model, s: DepthSweepSettings, depth: number): number {
  if ((s.weightDecayScaling ?? 'constant') === 'constant') return s.weightDecay;
  const head = new Set(model.head.parameters());
  for (const p of model.parameters()) if (!head.has(p)) p.decayScale = 1 / depth;
  return s.weightDecay / depth;
}

function check(s: DepthSweepSettings): void {
  const op = 'depthSweep';
  if (!DEPTH_ARCHS.includes(s.arch)) throw new RangeError(`${op}: 'arch' must be one of ${DEPTH_ARCHS.join(', ')}, got '${s.arch}'`);
  if (!s.depths.length) throw new RangeError(`${op}: give at least one depth`);
  for (const d of s.depths) if (!Number.isInteger(d) || d < 1) throw new RangeError(`${op}: depths must be positive integers, got ${d}`);
  for (const [name, v, min] of [['width', s.width, 1], ['seeds', s.seeds, 1], ['steps', s.steps, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${op}: '${name}' must be an integer >= ${min}, got ${v}`);
  }
  if (!(s.weightDecay >= 0)) throw new RangeError(`${op}: 'weightDecay' must be >= 0, got ${s.weightDecay}`);
  const scaling = s.weightDecayScaling ?? 'constant';
  if (!WEIGHT_DECAY_SCALINGS.includes(scaling)) throw new RangeError(`${op}: 'weightDecayScaling' must be one of ${WEIGHT_DECAY_SCALINGS.join(', ')}, got '${scaling}'`);
  if (s.arch === 'vit') checkImages(s);
}

/** vit reads images: the settings' image shape must be given and match the data's row width. */
function checkImages(s: DepthSweepSettings): void {
  const op = 'depthSweep';
  if (!s.image || s.patchSize === undefined) throw new RangeError(`${op}: the vision transformer needs 'image' (channels, height, width) and 'patchSize'`);
  const { channels, height, width } = s.image;
  for (const ds of [s.train, s.test]) {
    if (ds && ds.shape[0] > 0 && ds.shape[1] !== channels * height * width) {
      throw new RangeError(`${op}: the data has ${ds.shape[1]} features per sample but 'image' is ${channels} x ${height} x ${width} = ${channels * height * width}`);
    }
  }
}

const NAN_COLLAPSE: HeadCollapse = { nc1: NaN, nc2A: NaN, nc2B: NaN, nc3: NaN };

/** One training run and its final collapse metrics. */
export async function depthRun(ctx: Context, s: DepthSweepSettings, depth: number, seed: number): Promise<DepthRun> {
  const started = performance.now();
  const { train, test } = s;
  const k = train.k;
  const model = buildModel(ctx, s, depth, seed);
  const bodyWeightDecay = scaleWeightDecay(model, s, depth);
  const objective = crossEntropyObjective(ctx, train.labels, k);
  const optimizer = (s.optimizer ?? 'adam') === 'adam'
    ? adam({ lr: s.learningRate, weightDecay: s.weightDecay })
    : sgd({ lr: s.learningRate, momentum: s.momentum ?? 0, weightDecay: s.weightDecay });
  const trajectory: DepthRun['trajectory'] = [];
  let trainAccuracy = NaN;
  const logs = s.logsPerRun ?? 4;
  try {
    const r = await trainNetwork(model, inputsOf(train), {
      optimizer, objective, steps: s.steps, batchSize: s.batchSize, learningRate: s.learningRate, schedule: s.schedule, seed,
      logEvery: Math.max(1, Math.round(s.steps / 20)),
      evalEvery: logs > 0 ? Math.max(1, Math.round(s.steps / logs)) : undefined,
      trainLabels: train.labels,
      onProgress: s.onSteps,
      onEval: async (e) => {
        const m = await headCollapse(e.features!, train.labels, model.head.weight.value, k);
        trainAccuracy = accuracy(await e.outputs.read(), k, train.labels);
        trajectory.push({ step: e.step, loss: e.loss, ...m });
        return { ...m, trainAccuracy };
      },
    });
    let testAccuracy: number | null = null;
    if (test && test.shape[0] > 0) {
      const { outputs, captures } = await evaluateNetwork(model, ctx, inputsOf(test));
      testAccuracy = accuracy(await outputs.read(), k, test.labels);
      outputs.dispose();
      for (const m of captures.values()) m.dispose();
    }
    const last = trajectory.at(-1)!;
    return {
      depth, seed, nc1: last.nc1, nc2A: last.nc2A, nc2B: last.nc2B, nc3: last.nc3,
      finalLoss: r.finalLoss, trainAccuracy, testAccuracy, steps: r.step, seconds: (performance.now() - started) / 1000, bodyWeightDecay, trajectory,
    };
  } catch (e) {
    if ((e as Error).name !== 'NnDivergenceError') throw e;
    return {
      depth, seed, ...NAN_COLLAPSE, finalLoss: NaN, trainAccuracy: NaN, testAccuracy: null, steps: NaN,
      seconds: (performance.now() - started) / 1000, bodyWeightDecay, trajectory, error: (e as Error).message,
    };
  } finally {
    model.dispose();
    objective.dispose();
    optimizer.dispose();
  }
}

/** One row per depth: log10 NC metrics at the end of training (mean, std over seeds). */
export async function depthSweep(ctx: Context, s: DepthSweepSettings): Promise<DepthRow[]> {
  check(s);
  const base = s.baseSeed ?? 0;
  const total = s.depths.length * s.seeds;
  let done = 0;
  const rows: DepthRow[] = [];
  for (const depth of s.depths) {
    const runs: DepthRun[] = [];
    for (let i = 0; i < s.seeds; i++) {
      const r = await depthRun(ctx, s, depth, base + i);
      runs.push(r);
      s.onRun?.(++done, total, r);
    }
    const ok = runs.filter((r) => !r.error);
    const mean = (f: (r: DepthRun) => number) => (ok.length ? ok.reduce((a, r) => a + f(r), 0) / ok.length : NaN);
    const log10 = Object.fromEntries(COLLAPSE_KEYS.map((key) => {
      const { mean: m, std } = log10Stats(ok.map((r) => r[key]));
      return [key, { mean: m, std }];
    })) as DepthRow['log10'];
    rows.push({
      depth,
      log10,
      finalLoss: mean((r) => r.finalLoss),
      trainAccuracy: mean((r) => r.trainAccuracy),
      testAccuracy: s.test && s.test.shape[0] > 0 ? mean((r) => r.testAccuracy ?? NaN) : null,
      perSeed: runs,
    });
  }
  return rows;
}
