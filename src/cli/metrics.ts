/**
 * `ncgpu metrics --features X.npy --labels y.npy [--weights W.npy] [--bias b.npy] [--outputs F.npy]`:
 * every metric the inputs allow, as a table, and optionally as JSON with provenance.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { createContext, type Context } from '../context.js';
import { readArrayFile, type NumericArray } from '../data/arrayFile.js';
import { computeAllMetrics, inferNumClasses, type AllMetrics } from '../metrics/all.js';
import type { GlobalMeanMode } from '../metrics/classStats.js';
import type { Matrix } from '../tensor.js';
import { VERSION } from '../version.js';
import { BACKEND_HELP, backendOption, int, oneOf } from './common/options.js';

export interface MetricsCommandOptions {
  features?: string;
  labels?: string;
  classes?: string;
  weights?: string;
  bias?: string;
  outputs?: string;
  globalMean?: string;
  backend?: string;
  json?: string;
  predictions?: boolean;
}

interface InputRecord {
  path: string;
  shape: number[];
  dtype: string;
}

/** Loads one .npy, checks its rank, and names it in every error. */
async function load(what: string, path: string, rank: 1 | 2): Promise<NumericArray & { record: InputRecord }> {
  const a = await readArrayFile(path);
  let shape = a.shape;
  // accept (N, 1) and (1, N) where a vector is wanted
  if (rank === 1 && shape.length === 2 && (shape[0] === 1 || shape[1] === 1)) shape = [shape[0]! * shape[1]!];
  if (shape.length !== rank) {
    throw new Error(`${what} (${path}) must be ${rank === 1 ? 'a vector' : 'a 2-D array (rows are samples)'}, got shape (${a.shape.join(', ')})`);
  }
  return { ...a, shape, record: { path, shape: a.shape, dtype: a.dtype } };
}

function labelsFrom(a: NumericArray, path: string): Int32Array {
  if (a.data instanceof Int32Array) return a.data;
  const out = new Int32Array(a.data.length);
  for (let i = 0; i < a.data.length; i++) {
    const v = a.data[i]!;
    if (!Number.isInteger(v)) throw new Error(`labels (${path}) must be integers; entry ${i} is ${v}`);
    out[i] = v;
  }
  return out;
}

type ClassesFrom = '--classes' | 'labels';

/**
 * K: --classes, else inferred from the labels as max label + 1, which the output then says (a
 * stray label K would otherwise become an extra class unnoticed). With --weights, K must also be
 * the number of rows of W, which is checked where the weights are read.
 */
function numClasses(opts: MetricsCommandOptions, labels: Int32Array): { k: number; from: ClassesFrom } {
  if (opts.classes !== undefined) return { k: int('classes', opts.classes, 1), from: '--classes' };
  return { k: inferNumClasses(labels), from: 'labels' };
}

/** A label outside 0..K-1 is an error naming the sample and where K came from. */
function checkLabelRange(labels: Int32Array, k: number, path: string): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y < 0 || y >= k) throw new Error(`labels (${path}), K = ${k} from --classes: label ${y} of sample ${i} is outside 0..${k - 1}`);
  }
}

export function formatValue(v: number | null): string {
  if (v === null) return 'undefined';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return String(Number(v.toPrecision(6)));
  return v.toExponential(4);
}

export function formatTable(result: AllMetrics): string {
  const width = Math.max(...result.rows.map((r) => r.label.length)) + 2;
  const lines = [`${'metric'.padEnd(width)}value`];
  for (const r of result.rows) {
    lines.push(`${r.label.padEnd(width)}${formatValue(r.value)}${r.reason ? `  (${r.reason})` : ''}`);
  }
  return lines.join('\n');
}

async function runMetrics(opts: MetricsCommandOptions): Promise<void> {
  if (!opts.features) throw new Error('--features <X.npy> is required');
  if (!opts.labels) throw new Error('--labels <y.npy> is required');
  const backend = backendOption(opts.backend);
  const globalMean = oneOf<GlobalMeanMode>('global-mean', opts.globalMean ?? 'class-means', ['class-means', 'sample-weighted']);
  if (opts.predictions && !opts.json) throw new Error('--predictions needs --json (the predictions are written there)');
  if (opts.predictions && !opts.weights) throw new Error('--predictions needs --weights (NC4 compares the classifier with the nearest class mean)');
  // the folder of --json is made before any work, so a typo in it cannot cost the computation
  if (opts.json) await mkdir(dirname(opts.json), { recursive: true });

  const inputs: Record<string, InputRecord> = {};
  const x = await load('features', opts.features, 2);
  inputs.features = x.record;
  const [n, p] = x.shape as [number, number];
  const yArr = await load('labels', opts.labels, 1);
  inputs.labels = yArr.record;
  const labels = labelsFrom(yArr, opts.labels);
  if (labels.length !== n) throw new Error(`the labels have ${labels.length} entries but the features have ${n} rows`);
  const w = opts.weights ? await load('weights', opts.weights, 2) : undefined;
  const { k, from: classesFrom } = numClasses(opts, labels);
  checkLabelRange(labels, k, opts.labels);
  if (w) {
    inputs.weights = w.record;
    if (w.shape[0] !== k || w.shape[1] !== p) {
      throw new Error(`the weights (${opts.weights}) are ${w.shape.join('x')} but must be K x p = ${k}x${p} (one row per class)`);
    }
  }
  const b = opts.bias ? await load('bias', opts.bias, 1) : undefined;
  if (b) {
    inputs.bias = b.record;
    if (!w) throw new Error('--bias needs --weights');
    if (b.shape[0] !== k) throw new Error(`the bias (${opts.bias}) has ${b.shape[0]} entries but K = ${k}`);
  }
  const f = opts.outputs ? await load('outputs', opts.outputs, 2) : undefined;
  if (f) {
    inputs.outputs = f.record;
    if (f.shape[0] !== n) throw new Error(`the outputs (${opts.outputs}) have ${f.shape[0]} rows but the features have ${n}`);
  }

  let ctx: Context | undefined;
  const owned: Matrix[] = [];
  try {
    ctx = await createContext({ backend });
    const c = ctx;
    const upload = (a: NumericArray, name: string) => {
      const m = c.matrix(a.data instanceof Float32Array ? a.data : Float32Array.from(a.data), [a.shape[0]!, a.shape[1]!], { name });
      owned.push(m);
      return m;
    };
    const features = upload(x, 'features');
    const result = await computeAllMetrics(
      {
        features,
        labels,
        numClasses: k,
        weights: w ? upload(w, 'weights') : undefined,
        bias: b ? Float64Array.from(b.data) : undefined,
        outputs: f ? upload(f, 'outputs') : undefined,
      },
      { globalMean },
    );
    const info = ctx.info();
    const adapter = info.adapter ? `${info.adapter.device} (${info.adapter.dawnBackend}${info.adapter.software ? ', software' : ''})` : null;
    console.log(`ncgpu ${VERSION} metrics: N = ${n}, p = ${p}, K = ${k}, backend ${info.name}${adapter ? ` [${adapter}]` : ''}`);
    if (classesFrom === 'labels') console.log(`  K = ${k} inferred from the labels as max label + 1; pass --classes to set it`);
    console.log(`  global mean: ${globalMean === 'class-means'
      ? 'class-means (mu_G = mean of the class means, Sigma_B weighs each class by 1/K)'
      : 'sample-weighted (mu_G = sample mean, Sigma_B weighs class c by n_c/N: Sigma_T = Sigma_W + Sigma_B)'}`);
    for (const [name, r] of Object.entries(inputs)) console.log(`  ${name}: ${r.path} (${r.shape.join('x')} ${r.dtype})`);
    console.log('');
    console.log(formatTable(result));
    if (opts.json) {
      const report = {
        version: VERSION,
        backend: info.name,
        adapter: info.adapter ?? null,
        blas: info.blas,
        createdAt: new Date().toISOString(),
        inputs,
        numClasses: k,
        numClassesFrom: classesFrom,
        samples: n,
        featureDim: p,
        globalMean,
        metrics: result.values,
        undefined: result.undefinedReasons,
        labels: Object.fromEntries(result.rows.map((r) => [r.key, r.label])),
        aliases: result.aliases,
        ...(opts.predictions
          ? {
              nc4Predictions: result.nc4
                ? { ncc: Array.from(result.nc4.nccPredictions), classifier: Array.from(result.nc4.classifierPredictions) }
                : null,
            }
          : {}),
      };
      await writeFile(opts.json, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`\nwrote ${opts.json}`);
    }
  } finally {
    for (const m of owned) m.dispose();
    await ctx?.dispose();
  }
}

export function registerMetricsCommand(program: Command): void {
  program
    .command('metrics')
    .description('neural-collapse, rank and richness metrics of features saved by numpy (.npy)')
    .option('--features <path>', 'features, N x p, rows are samples: X.npy, F.npz[:NAME] or F.safetensors[:NAME] (f32, f64, f16, bf16)')
    .option('--labels <path>', 'labels, N integers in 0..K-1 (an array file as for --features; int32/int64)')
    .option('--classes <K>', 'number of classes (default: the rows of --weights, else max label + 1, which the output then says)')
    .option('--weights <path>', 'classifier W, K x p (an array file); adds NC2A/NC2B, NC3, self-duality, NC4, margin')
    .option('--bias <path>', 'classifier bias b, length K (an array file)')
    .option('--outputs <path>', 'model outputs for the same samples, N x C (an array file); adds CKA and D_LR')
    .option('--global-mean <mode>', "global mean: 'class-means' (default; Sigma_B weighs classes by 1/K) or 'sample-weighted' (sample mean; n_c/N)")
    .option('--backend <name>', BACKEND_HELP)
    .option('--json <path>', 'also write the values and their provenance as JSON (its folder is created first)')
    .option('--predictions', "with --json and --weights: also write NC4's per-sample predictions (nearest class mean, classifier) as nc4Predictions")
    .action(async (opts: MetricsCommandOptions) => {
      try {
        await runMetrics(opts);
      } catch (e) {
        console.error(`ncgpu metrics: ${(e as Error).message}`);
        process.exitCode = 1;
      }
    });
}
