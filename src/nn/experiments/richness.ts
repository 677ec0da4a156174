/**
 * Seed 002, Figure 1 and the target-downscaling table: richness D_LR = 1 - CKA(features, outputs)
 * of an MLP trained with full backpropagation (rich) and with its last layer only (lazy), and of
 * full backpropagation under target downscaling y -> y / alpha (lazier as alpha grows).
 *
 * Training follows the seed's setup: MSE on one-hot targets times 1/alpha (alpha = 1/3 for Figure
 * 1), Adam (lr 1e-3), mini-batches of 128; the MLP has biases and PyTorch's default uniform init.
 * On label-encoded MNIST (data/labelEncoded.ts) the rich model fits the training set through the
 * 10-pixel code, which is random at test time, so its test accuracy drops while its features
 * become low-rank (D_LR small); the lazy model can only reweight its random features of the whole
 * image (D_LR large, better test accuracy). The test-code accuracy (predictions equal to the
 * random encoded label) shows which input a model reads.
 *
 * Measurements at the end of training: train/test accuracy; D_LR on the training samples and on
 * the test samples; the Nystrom eigenfunction view (metrics/nystrom.ts, 'plain' variant: the
 * first, constant-like eigenfunction is dropped) with eigenfunctions from the training features,
 * evaluated on the test samples, against the test samples' true one-hot labels (quality) and the
 * model's test outputs (utilization).
 */
import type { Context } from '../../context.js';
import type { Dataset } from '../../data/dataset.js';
import { nystromView, type NystromView } from '../../metrics/nystrom.js';
import { richnessDlr } from '../../metrics/similarity.js';
import { mlp, type Mlp } from '../models/mlp.js';
import { classTargets, mseObjective } from '../objective.js';
import { adam } from '../optim.js';
import { evaluateNetwork, trainNetwork } from '../train.js';
import { accuracy, inputsOf } from './common.js';

/** Settings of the richness experiments: the MLP, its training, and the eigenfunction view. */
export interface RichnessSettings {
  /** hidden layers (default 3: a 4-layer MLP) */
  depth?: number;
  /** default 256 */
  width?: number;
  /** default 1e-3 (Adam) */
  learningRate?: number;
  /** default 128 */
  batchSize?: number;
  steps: number;
  /** default 0 */
  seed?: number;
  /**
   * eigenfunctions of the view, counting the dropped constant-like one (default min(100, test
   * samples / 3)); halved until they are independent on the test points
   */
  viewComponents?: number;
  /** As training advances, with the optimizer steps taken in the current run. */
  onSteps?: (steps: number) => void;
}

/**
 * One trained MLP: how it was trained, its accuracies, D_LR on train and test samples and its
 * eigenfunction view.
 */
export interface RichnessRun {
  name: string;
  training: 'full' | 'last-layer';
  /** alpha of y -> y / alpha */
  alpha: number;
  trainAccuracy: number;
  testAccuracy: number;
  /** fraction of test predictions equal to the encoded (random) label, when the test data carry codes */
  testCodeAccuracy: number | null;
  dlrTrain: number;
  dlrTest: number;
  finalLoss: number;
  steps: number;
  seconds: number;
  /** loss at each logged step */
  lossCurve: { step: number; loss: number }[];
  view: NystromView;
}

/** Trains one MLP and measures it (see the file comment). */
export async function richnessRun(
  ctx: Context,
  data: { train: Dataset; test: Dataset; testCodes?: Int32Array },
  settings: RichnessSettings,
  run: { name: string; training: 'full' | 'last-layer'; alpha: number },
): Promise<RichnessRun> {
  const started = performance.now();
  const { train, test } = data;
  const k = train.k;
  if (!(run.alpha > 0 && Number.isFinite(run.alpha))) throw new RangeError(`richness: the target scale alpha must be a finite number > 0, got ${run.alpha}`);
  if (test.shape[0] < 2) throw new RangeError('richness: needs at least 2 test samples for the eigenfunction view');
  const lr = settings.learningRate ?? 1e-3;
  const model: Mlp = mlp(ctx, {
    inputs: train.shape[1], width: settings.width ?? 256, depth: settings.depth ?? 3, outputs: k,
    bias: true, init: 'uniform', initScale: 1, seed: settings.seed ?? 0,
  });
  if (run.training === 'last-layer') model.freezeAllButLast();
  const objective = mseObjective(ctx, classTargets(train.labels, k, { scale: 1 / run.alpha }), k);
  const optimizer = adam({ lr });
  const owned: { dispose(): void }[] = [model, objective, optimizer];
  try {
    const lossCurve: { step: number; loss: number }[] = [];
    const r = await trainNetwork(model, inputsOf(train), {
      optimizer, objective, steps: settings.steps, batchSize: settings.batchSize ?? 128, learningRate: lr, seed: settings.seed ?? 0,
      logEvery: Math.max(1, Math.round(settings.steps / 50)),
      onLog: (step, loss) => void lossCurve.push({ step, loss }),
      onProgress: settings.onSteps,
    });
    const evalTrain = await evaluateNetwork(model, ctx, inputsOf(train));
    owned.push(evalTrain.outputs, ...evalTrain.captures.values());
    const evalTest = await evaluateNetwork(model, ctx, inputsOf(test));
    owned.push(evalTest.outputs, ...evalTest.captures.values());
    const trainFeatures = evalTrain.captures.get('penultimate')!;
    const testFeatures = evalTest.captures.get('penultimate')!;
    const testOut = await evalTest.outputs.read();
    const targets = { data: classTargets(test.labels, k), rows: test.shape[0], cols: k };
    const components = settings.viewComponents ?? Math.max(2, Math.min(100, Math.floor(test.shape[0] / 3)));
    // eigenfunctions with tiny eigenvalues can be dependent on few test points: the view stops there
    const view = await nystromView(trainFeatures, testFeatures, targets, evalTest.outputs, { components, onDependent: 'truncate' });
    return {
      ...run,
      trainAccuracy: accuracy(await evalTrain.outputs.read(), k, train.labels),
      testAccuracy: accuracy(testOut, k, test.labels),
      testCodeAccuracy: data.testCodes ? accuracy(testOut, k, data.testCodes) : null,
      dlrTrain: await richnessDlr(trainFeatures, evalTrain.outputs),
      dlrTest: await richnessDlr(testFeatures, evalTest.outputs),
      finalLoss: r.finalLoss,
      steps: r.step,
      seconds: (performance.now() - started) / 1000,
      lossCurve,
      view,
    };
  } finally {
    for (const o of owned) o.dispose();
  }
}

/** Full backprop (rich) vs last layer only (lazy) on the same data, same init and batches. */
export async function richVsLazy(
  ctx: Context,
  data: { train: Dataset; test: Dataset; testCodes?: Int32Array },
  settings: RichnessSettings & { alpha?: number },
): Promise<{ rich: RichnessRun; lazy: RichnessRun }> {
  const alpha = settings.alpha ?? 1 / 3;
  const rich = await richnessRun(ctx, data, settings, { name: 'full backprop (rich)', training: 'full', alpha });
  const lazy = await richnessRun(ctx, data, settings, { name: 'last layer only (lazy)', training: 'last-layer', alpha });
  return { rich, lazy };
}

/** Full backprop with targets y / alpha for each alpha. */
export async function targetScaling(
  ctx: Context,
  data: { train: Dataset; test: Dataset },
  settings: RichnessSettings,
  alphas: readonly number[],
  onRun?: (r: RichnessRun) => void,
): Promise<RichnessRun[]> {
  if (!alphas.length) throw new RangeError('targetScaling: give at least one target scale alpha');
  const out: RichnessRun[] = [];
  for (const alpha of alphas) {
    const r = await richnessRun(ctx, data, settings, { name: `alpha = ${alpha}`, training: 'full', alpha });
    out.push(r);
    onRun?.(r);
  }
  return out;
}
