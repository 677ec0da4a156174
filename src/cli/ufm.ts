/**
 * `ncgpu ufm train | sweep | ode`: the deep UFM experiments. Each writes results.json (with
 * provenance: version, backend, adapter, config, seed, createdAt) and PNG plots into --out.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { createContext, type Context } from '../context.js';
import { checkHostMemory } from '../memory.js';
import { renderLineChart, type Series } from '../report/plot.js';
import { loadUfmCheckpoint, ufmCheckpointPrecision } from '../ufm/checkpoint.js';
import {
  alternatingSigma, logTimes, odeRankVsDepth, odeRankVsScale, odeTrajectory, randomHadamardSigma, seedMeanTrajectory, sweepDepths, sweepWidths,
  type DepthSweepRow, type OdeRankRow,
} from '../ufm/experiments.js';
import { hadamardUfm, hadamardUfmF64, randomUfm, randomUfmF64 } from '../ufm/init.js';
import { UFM_PRECISIONS, UfmModel, type UfmParameters, type UfmPrecision, type UfmShape } from '../ufm/model.js';
import { UfmModelF64, type AnyUfmModel } from '../ufm/modelF64.js';
import { readArrayFile } from '../data/arrayFile.js';
import { classMeanLogits } from '../ufm/measure.js';
import { solveHadamardOde } from '../ufm/ode.js';
import { trainUfm, type UfmMeasurement, type UfmTrainState } from '../ufm/train.js';
import { VERSION } from '../version.js';
import { failWith } from './common/fail.js';
import { BACKEND_HELP, anyNumItem, backendOption as backendChoice, int, intItem, list, num, numItem, oneOf, seedOption } from './common/options.js';
import { adapterLabel, provenance as runProvenance } from './common/provenance.js';
import { checkResumeSteps, overrideList, ResumedSettings } from './common/resume.js';
import { openRun, runInFolder, type RunRecord } from './common/results.js';
import { progressBar } from './progress.js';
import { addGridOptions, inProcessOrGrid } from './sweepGrid.js';

const provenance = async (ctx: Context | undefined, command: string, config: Record<string, unknown>, seed: number | number[] | null) =>
  runProvenance(ctx, `ncgpu ufm ${command}`, config, seed);

// ---------------------------------------------------------------- output

async function plot(run: RunRecord, file: string, options: Parameters<typeof renderLineChart>[0]): Promise<string | undefined> {
  return run.plot(file.replace(/\.png$/, ''), async () => ({ png: (await renderLineChart(options)).png }));
}

/**
 * mean and mean +- one standard deviation as three series; `prefix` names a group (e.g. 'L=3 ').
 * For a log axis (`positive`), a lower band at or below 0 is left out (a gap) rather than drawn.
 */
const band = (prefix: string, rows: { x: number; mean: number; std: number }[], positive = false): Series[] => [
  { name: `${prefix}mean`, points: rows.map((r) => [r.x, r.mean] as const) },
  { name: `${prefix}+1 std`, points: rows.map((r) => [r.x, r.mean + r.std] as const) },
  { name: `${prefix}-1 std`, points: rows.map((r) => [r.x, positive && r.mean - r.std <= 0 ? NaN : r.mean - r.std] as const) },
];

// ---------------------------------------------------------------- ufm train

export interface UfmTrainCommandOptions {
  initFrom?: string;
  classes?: string;
  nPerClass?: string;
  width?: string;
  depth?: string;
  init?: string;
  initScale?: string;
  sigma?: string;
  embeddingSeed?: string;
  seed?: string;
  lr?: string;
  steps?: string;
  weightDecay?: string;
  weightDecaySteps?: string;
  logEvery?: string;
  lossTarget?: string;
  balancedness?: boolean;
  checkpointEvery?: string;
  resume?: string;
  override?: string;
  precision?: string;
  backend?: string;
  out?: string;
  overwrite?: boolean;
}

/** Options that define the model: a checkpoint fixes them. */
const UFM_MODEL_OPTIONS = new Set(['classes', 'n-per-class', 'width', 'depth', 'init', 'init-scale', 'sigma', 'embedding-seed', 'seed', 'precision']);

const PRECISION_HELP = "arithmetic of the gradient steps: 'f32' (any backend) or 'f64' (cpu backend only; H, the W's, the GEMMs and softmax-CE in double) (default f32)";

/** --precision f32|f64. */
export function precisionOption(v: string): UfmPrecision {
  return oneOf<UfmPrecision>('precision', v, UFM_PRECISIONS);
}

/**
 * The backend a run of `precision` uses: f64 steps are host BLAS calls, so f64 takes the cpu
 * backend ('auto' becomes cpu) and refuses any other.
 */
export function backendForPrecision(precision: UfmPrecision, flag: string | undefined) {
  const backend = backendChoice(flag);
  if (precision === 'f32' || backend === 'cpu') return backend;
  if (backend === 'auto') return 'cpu';
  throw new Error(`--precision f64 runs on the cpu backend only (its steps are f64 BLAS calls on the host), got --backend ${backend}${flag === undefined ? ' (from NCGPU_BACKEND)' : ''}: use --backend cpu, or --precision f32 on ${backend}`);
}

/**
 * Refuses a model that cannot fit before it is made: the parameters (H and W_1..W_L), their
 * gradients and the forward activations are held together, about four copies.
 */
export function checkUfmSize(ctx: Context, shape: { classes: number; nPerClass: number; width: number; depth: number }, precision: UfmPrecision = 'f32'): void {
  const n = shape.classes * shape.nPerClass;
  const widest = shape.width * Math.max(shape.width, n);
  if (widest > ctx.backend.maxElements) {
    throw new Error(`--width ${shape.width}: a ${shape.width} x ${Math.max(shape.width, n)} matrix exceeds the ${ctx.name} backend's ${ctx.backend.maxElements} elements per matrix`);
  }
  const elements = shape.width * n + (shape.depth - 1) * shape.width * shape.width + shape.classes * shape.width + (shape.depth + 1) * shape.width * n;
  checkHostMemory(4 * (precision === 'f64' ? 8 : 4) * elements, `a UFM of depth ${shape.depth} and width ${shape.width} (--depth, --width)`, 'lower --depth or --width');
}

/** Every setting of a run, from the flags or (on --resume) from the checkpoint. */
function trainSettings(o: UfmTrainCommandOptions, r: ResumedSettings) {
  const shape = {
    classes: r.pick('classes', 'classes', o.classes, (v) => int('classes', v, 2), () => 4),
    nPerClass: r.pick('n-per-class', 'nPerClass', o.nPerClass, (v) => int('n-per-class', v), () => 5),
    width: r.pick('width', 'width', o.width, (v) => int('width', v), () => 32),
    depth: r.pick('depth', 'depth', o.depth, (v) => int('depth', v), () => 3),
  };
  const init = r.pick('init', 'init', o.init, (v) => v, () => 'random');
  if (init !== 'random' && init !== 'hadamard') throw new Error(`--init must be 'random' or 'hadamard', got '${init}'`);
  const initScale = r.pick('init-scale', 'initScale', o.initScale, (v) => num('init-scale', v), () => (init === 'hadamard' ? 0.1 : 0.3));
  const sigma = r.pick('sigma', 'sigma', o.sigma, (v) => list('sigma', v, anyNumItem), () => undefined as number[] | undefined);
  const initFrom = r.pick('init-from', 'initFrom', o.initFrom, (v) => v, () => undefined as string | undefined);
  if (initFrom !== undefined && (o.init !== undefined || o.sigma !== undefined)) {
    throw new Error('--init-from gives the whole initial state: leave out --init and --sigma');
  }
  const embeddingSeed = r.pick('embedding-seed', 'embeddingSeed', o.embeddingSeed, (v) => seedOption('embedding-seed', v), () => undefined as number | undefined);
  const seed = r.pick('seed', 'seed', o.seed, (v) => seedOption('seed', v), () => 0);
  const precision = r.pick('precision', 'precision', o.precision, precisionOption, (): UfmPrecision => 'f32');
  // --steps is where the run ends, not how it runs: a resumed run may go further (checked against the checkpoint's step)
  const steps = o.steps !== undefined ? int('steps', o.steps, 0) : r.saved<number>('steps') ?? 20000;
  const learningRate = r.pick('lr', 'learningRate', o.lr, (v) => num('lr', v), () => 0.05);
  const logEvery = r.pick('log-every', 'logEvery', o.logEvery, (v) => int('log-every', v), () => Math.max(1, Math.round(steps / 100)));
  const weightDecay = r.pick('weight-decay', 'weightDecay', o.weightDecay, (v) => num('weight-decay', v, false), () => 0);
  const weightDecaySteps = r.pick('weight-decay-steps', 'weightDecaySteps', o.weightDecaySteps, (v) => int('weight-decay-steps', v, 0), () => undefined as number | undefined);
  const lossTarget = r.pick('loss-target', 'lossTarget', o.lossTarget, (v) => num('loss-target', v, false), () => undefined as number | undefined);
  const balancedness = r.pick('balancedness', 'balancedness', o.balancedness ? 'true' : undefined, () => true, () => false);
  // a resumed run keeps checkpointing as its first part did unless told otherwise
  const checkpointEvery = o.checkpointEvery === undefined ? r.saved<number>('checkpointEvery') : int('checkpoint-every', o.checkpointEvery);
  r.finish();
  return {
    shape, init, initScale, sigma, initFrom, embeddingSeed, seed, precision, steps, learningRate, logEvery, weightDecay,
    weightDecaySteps, lossTarget, balancedness, checkpointEvery,
  };
}

/**
 * `--init-from FILE`: the initial H and W_1..W_L from a safetensors or .npz file (tensors 'H', d x
 * N with the samples ordered by class, and 'W1'..'WL', W_l d x d and W_L K x d), e.g. the initial
 * state of a PyTorch or numpy run to compare with. Every array is checked against the shape flags.
 * With --precision f64, f64 arrays (.npy '<f8', safetensors F64) keep every bit; with f32 they are
 * rounded to f32.
 */
async function parametersFromFile(path: string, shape: UfmShape, precision: UfmPrecision): Promise<UfmParameters<Float32Array | Float64Array>> {
  const { classes: k, nPerClass, width: d, depth } = shape;
  const read = async (name: string, rows: number, cols: number): Promise<Float32Array | Float64Array> => {
    const a = await readArrayFile(`${path}:${name}`).catch((e: Error) => {
      throw new Error(`--init-from: ${e.message}`);
    });
    if (a.shape.length !== 2 || a.shape[0] !== rows || a.shape[1] !== cols) {
      throw new Error(`--init-from: ${a.source} must be ${rows} x ${cols} for --classes ${k} --n-per-class ${nPerClass} --width ${d} --depth ${depth}, got (${a.shape.join(', ')})`);
    }
    if (a.data instanceof Int32Array) throw new Error(`--init-from: ${a.source} holds integers (${a.dtype}); the parameters must be floats`);
    const data = precision === 'f64' ? (a.data instanceof Float64Array ? a.data : Float64Array.from(a.data)) : a.data instanceof Float32Array ? a.data : Float32Array.from(a.data);
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`--init-from: ${a.source} entry ${bad} is ${data[bad]}; the parameters must be finite`);
    return data;
  };
  const H = await read('H', d, k * nPerClass);
  const W: (Float32Array | Float64Array)[] = [];
  for (let l = 1; l <= depth; l++) W.push(await read(`W${l}`, l === depth ? k : d, d));
  return { H, W };
}

/** A new model from the settings, in their precision (f64: on the host, same draws as f32 but unrounded). */
async function newUfm(ctx: Context, s: ReturnType<typeof trainSettings>): Promise<{ model: AnyUfmModel; sigma0?: number[] }> {
  checkUfmSize(ctx, s.shape, s.precision);
  const f64 = s.precision === 'f64';
  if (s.initFrom !== undefined) {
    const params = await parametersFromFile(s.initFrom, s.shape, s.precision);
    return { model: f64 ? UfmModelF64.fromParameters(s.shape, params) : UfmModel.fromParameters(ctx, s.shape, params as UfmParameters) };
  }
  if (s.init === 'random') {
    const init = { std: s.initScale / Math.sqrt(s.shape.width), seed: s.seed };
    return { model: f64 ? randomUfmF64(s.shape, init) : randomUfm(ctx, s.shape, init) };
  }
  const sigma0 = s.sigma ?? randomHadamardSigma(s.shape.classes, s.initScale, s.seed);
  const embedding = s.embeddingSeed === undefined ? ('identity' as const) : { seed: s.embeddingSeed };
  const options = { sigma: sigma0, embedding };
  return { model: f64 ? hadamardUfmF64(s.shape, options) : hadamardUfm(ctx, s.shape, options), sigma0 };
}

export async function runUfmTrain(o: UfmTrainCommandOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const out = o.out;
  const flagPrecision = o.precision === undefined ? undefined : precisionOption(o.precision);
  // a resumed run keeps its checkpoint's precision; that decides the backend before anything is made
  const precision = flagPrecision ?? (o.resume ? await ufmCheckpointPrecision(o.resume) : 'f32');
  const ctx = await createContext({ backend: backendForPrecision(precision, o.backend) });
  let model: AnyUfmModel | undefined;
  try {
    const ck = o.resume ? await loadUfmCheckpoint(ctx, o.resume, { precision: flagPrecision }) : undefined;
    // checkpoints written before settings were recorded in full hold what they hold; the rest comes from the flags
    const saved: Record<string, unknown> | undefined = ck ? { ...ck.model.shape, precision: ck.model.precision, ...(ck.training ?? {}) } : undefined;
    const resumed = new ResumedSettings(saved, o.resume, overrideList(o.override), UFM_MODEL_OPTIONS);
    const s = trainSettings(o, resumed);
    if (ck) checkResumeSteps(s.steps, ck.state.step, o.resume!);
    const runId = typeof saved?.runId === 'string' ? saved.runId : undefined;
    // said before the model is made: a deep or wide one takes a while to build
    console.log(`ncgpu ${VERSION} ufm train: K=${s.shape.classes} n=${s.shape.nPerClass} d=${s.shape.width} L=${s.shape.depth} init=${s.init} lr=${s.learningRate} precision=${s.precision} on ${adapterLabel(ctx)}${ck ? `, resumed at step ${ck.state.step}` : ''}`);
    // the model is made before --out is claimed: a setting it refuses leaves the folder untouched
    let sigma0: number[] | undefined;
    if (ck) {
      model = ck.model;
      sigma0 = s.sigma ?? (Array.isArray(saved?.sigma) ? (saved.sigma as number[]) : undefined);
    } else {
      ({ model, sigma0 } = await newUfm(ctx, s));
    }
    const m = model;
    await runInFolder({ out, command: 'ncgpu ufm train', overwrite: o.overwrite, resumeOf: runId }, async (run) => {
      const config = {
        ...s.shape, init: s.initFrom !== undefined ? 'file' : s.init, ...(s.initFrom !== undefined ? { initFrom: s.initFrom } : {}), initScale: s.initScale, initScaleUnits: s.init === 'random' ? '1/sqrt(width)' : 'norm of sigma',
        sigma: sigma0 ?? null, embeddingSeed: s.embeddingSeed ?? null, seed: s.seed, precision: s.precision,
        learningRate: s.learningRate, steps: s.steps, logEvery: s.logEvery, weightDecay: s.weightDecay,
        weightDecaySteps: s.weightDecaySteps ?? null, lossTarget: s.lossTarget ?? null, balancedness: s.balancedness,
        checkpointEvery: s.checkpointEvery ?? null, runId: run.runId,
        ...(ck ? { resumedFrom: o.resume, resumedAtStep: ck.state.step, overrides: resumed.overrides } : {}),
      };
      await run.update({ ...(await provenance(ctx, 'train', config, s.seed)), logs: ck?.state.logs ?? [] });

      const bar = progressBar('ufm train', s.steps);
      let ticked = ck?.state.step ?? 0;
      bar.tick(ticked);
      const checkpointPath = s.checkpointEvery ? join(out, 'checkpoint.ufm') : undefined;
      if (checkpointPath) run.files.add('checkpoint.ufm');
      const logs: UfmMeasurement[] = [...(ck?.state.logs ?? [])];
      let result;
      try {
        result = await trainUfm(
          m,
          {
            learningRate: s.learningRate, maxSteps: s.steps, logEvery: s.logEvery, weightDecay: s.weightDecay, weightDecaySteps: s.weightDecaySteps, lossTarget: s.lossTarget,
            measure: { balancedness: s.balancedness, hadamard: s.init === 'hadamard', kgon: m.classes >= 3, features: true },
            checkpointPath, checkpointEvery: s.checkpointEvery, checkpointInfo: config,
            onLog: (l) => {
              // every logged step reaches results.json, so a later failure keeps the trajectory so far
              logs.push(l);
              run.at({ afterStep: l.step });
              return run.update({ logs });
            },
            onProgress: (step) => {
              run.at({ afterStep: step });
              bar.tick(step - ticked);
              ticked = step;
            },
          },
          ck?.state,
        );
      } finally {
        bar.stop();
      }
      await finishTrain(run, m, result, sigma0, s.init, checkpointPath);
    });
  } finally {
    model?.dispose();
    await ctx.dispose();
  }
}

/**
 * The trained model's class-mean logit matrix Zbar (K x K, row-major, entry (r, c) = mean of
 * logit r over the samples of class c): what the collapse figures are computed from.
 */
async function classMeanLogitsOf(m: AnyUfmModel): Promise<{ rows: number; cols: number; data: number[] }> {
  return { rows: m.classes, cols: m.classes, data: Array.from(classMeanLogits(await m.readLogits(), m.classes, m.nPerClass)) };
}

/** The Hadamard ODE comparison, plots, results.json and the summary lines of a finished run. */
async function finishTrain(
  run: RunRecord, m: AnyUfmModel, result: Awaited<ReturnType<typeof trainUfm>>, sigma0: number[] | undefined, init: string, checkpointPath: string | undefined,
): Promise<void> {
  const logs = result.logs;
  const last = logs.at(-1)!;
  run.at({ stage: 'plots' });
  // Hadamard runs: the ODE's prediction at every log time, and the worst relative deviation
  let ode: { times: number[]; sigma: number[][]; worstRelativeError: number } | undefined;
  if (init === 'hadamard' && sigma0) {
    const sol = solveHadamardOde({ classes: m.classes, nPerClass: m.nPerClass, depth: m.depth, sigma: sigma0, times: logs.map((l) => l.time) });
    let worst = 0;
    sol.states.forEach((st, i) => st.forEach((v, k) => {
      if (k > 0 && v !== 0) worst = Math.max(worst, Math.abs(logs[i]!.hadamardSigma![k]! - v) / Math.abs(v));
    }));
    ode = { times: sol.times, sigma: sol.states.map((st) => Array.from(st)), worstRelativeError: worst };
  }
  const files = await trainPlots(run, logs, ode);
  const finalClassMeanLogits = await classMeanLogitsOf(m);
  await run.complete({ result: { steps: result.step, stopReason: result.stopReason, finalLoss: result.finalLoss, final: last, finalClassMeanLogits }, ode, logs });
  if (last.undefined?.effectiveRank) {
    console.log(`step ${result.step} (${result.stopReason}): loss ${last.loss.toExponential(3)}; effective rank, normalized margin and KL to collapse undefined (${last.undefined.effectiveRank})`);
  } else {
    console.log(`step ${result.step} (${result.stopReason}): loss ${last.loss.toExponential(3)}, effective rank ${last.effectiveRank.toFixed(3)}, normalized margin ${last.normalizedMargin.toFixed(4)}, KL to collapse ${last.klToCollapse.toFixed(4)}`);
  }
  if (ode) console.log(`gradient descent vs the Hadamard ODE: worst relative deviation ${ode.worstRelativeError.toExponential(2)}`);
  if (run.warnings.length) console.log(`${run.warnings.length} warning(s); see results.json`);
  console.log(`wrote ${run.path}${checkpointPath ? `, ${checkpointPath}` : ''} and ${files.length} plots`);
}

async function trainPlots(run: RunRecord, logs: UfmMeasurement[], ode?: { times: number[]; sigma: number[][] }): Promise<string[]> {
  const step = (f: (m: UfmMeasurement) => number) => logs.map((m) => [m.step, f(m)] as const);
  const files: (string | undefined)[] = [];
  files.push(await plot(run, 'loss.png', { title: 'Training loss', xLabel: 'step', yLabel: 'loss', series: [{ name: 'loss', points: step((m) => m.loss) }], logY: 'auto' }));
  const k = logs[0]!.centeredSingularValues.length;
  files.push(await plot(run, 'singular-values.png', {
    title: 'Singular values of the centered class-mean logits', xLabel: 'step', yLabel: 'singular value', logY: 'auto',
    series: Array.from({ length: k }, (_, i) => ({ name: `s${i + 1}`, points: step((m) => m.centeredSingularValues[i]!) })),
  }));
  files.push(await plot(run, 'normalized-singular-values.png', {
    title: 'Normalized singular values', xLabel: 'step', yLabel: 'sigma / sum sigma',
    series: Array.from({ length: k }, (_, i) => ({ name: `s${i + 1}`, points: step((m) => m.normalizedSingularValues[i]!) })),
  }));
  files.push(await plot(run, 'effective-rank.png', { title: 'Effective rank (double-centered class-mean logits)', xLabel: 'step', yLabel: 'effective rank', series: [{ name: 'effective rank', points: step((m) => m.effectiveRank) }] }));
  files.push(await plot(run, 'margin.png', { title: 'Normalized margin', xLabel: 'step', yLabel: 'min margin / ||Z||_F', series: [{ name: 'normalized margin', points: step((m) => m.normalizedMargin) }] }));
  files.push(await plot(run, 'kl-to-collapse.png', { title: 'KL(u || sigma^) to neural collapse', xLabel: 'step', yLabel: 'KL', series: [{ name: 'KL', points: step((m) => m.klToCollapse) }], logY: 'auto' }));
  if (logs[0]!.balancedness) {
    files.push(await plot(run, 'balancedness-drift.png', { title: 'Balancedness drift', xLabel: 'step', yLabel: 'max_l ||D_l(t) - D_l(0)||_F', series: [{ name: 'drift', points: step((m) => m.balancednessDrift ?? NaN) }] }));
  }
  if (ode && logs[0]!.hadamardSigma) {
    const series: Series[] = [];
    for (let i = 1; i < logs[0]!.hadamardSigma.length; i++) {
      // one colour per sigma_k; gradient descent solid, the ODE dashed
      series.push({ name: `GD sigma_${i}`, color: `sigma_${i}`, style: 'gradient descent (solid)', points: logs.map((m) => [m.time, m.hadamardSigma![i]!] as const) });
      series.push({ name: `ODE sigma_${i}`, color: `sigma_${i}`, style: 'ODE (dashed)', points: ode.times.map((t, j) => [t, ode.sigma[j]![i]!] as const) });
    }
    files.push(await plot(run, 'hadamard-vs-ode.png', { title: 'Gradient descent vs the Hadamard ODE', xLabel: 't = learning rate x steps', yLabel: 'sigma_k', series }));
  }
  return files.filter((f): f is string => f !== undefined);
}

// ---------------------------------------------------------------- ufm sweep

export interface UfmSweepCommandOptions {
  classes?: string;
  nPerClass?: string;
  width?: string;
  widths?: string;
  depths?: string;
  seeds?: string;
  seed?: string;
  initScale?: string;
  lr?: string;
  steps?: string;
  weightDecay?: string;
  weightDecaySteps?: string;
  lossTarget?: string;
  logEvery?: string;
  precision?: string;
  backend?: string;
  out?: string;
  overwrite?: boolean;
}

export async function runUfmSweep(o: UfmSweepCommandOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const precision = precisionOption(o.precision ?? 'f32');
  const backend = backendForPrecision(precision, o.backend);
  const classes = int('classes', o.classes ?? '4', 2);
  const nPerClass = int('n-per-class', o.nPerClass ?? '5');
  const depths = list('depths', o.depths ?? '1,2,3,4,5,6', intItem);
  const widths = o.widths === undefined ? undefined : list('widths', o.widths, intItem);
  const width = int('width', o.width ?? '32');
  const seeds = int('seeds', o.seeds ?? '5');
  const baseSeed = seedOption('seed', o.seed ?? '0');
  const initScale = num('init-scale', o.initScale ?? '0.3');
  const learningRate = num('lr', o.lr ?? '0.02');
  const steps = int('steps', o.steps ?? '100000');
  const weightDecay = o.weightDecay === undefined ? undefined : num('weight-decay', o.weightDecay, false);
  const weightDecaySteps = o.weightDecaySteps === undefined ? undefined : int('weight-decay-steps', o.weightDecaySteps, 0);
  const lossTarget = o.lossTarget === undefined ? undefined : num('loss-target', o.lossTarget, false);
  const logEvery = o.logEvery === undefined ? undefined : int('log-every', o.logEvery);
  const run = await openRun({ out: o.out, command: 'ncgpu ufm sweep', overwrite: o.overwrite });
  const ctx = await createContext({ backend }).catch(async (e) => { throw await run.abandon(e); });
  try {
    const mode = widths ? 'width' : 'depth';
    const settings = { classes, nPerClass, initScale, learningRate, steps, seeds, baseSeed, weightDecay, weightDecaySteps, lossTarget, logEvery, precision };
    const config = { mode, ...settings, depths, ...(widths ? { widths } : { width }), initScaleUnits: '1/sqrt(width)' };
    const runs = depths.length * (widths?.length ?? 1) * seeds;
    console.log(`ncgpu ${VERSION} ufm sweep (${mode}): K=${classes} n=${nPerClass} ${widths ? `widths ${widths.join(',')}` : `d=${width}`} depths ${depths.join(',')}, ${seeds} seeds, ${runs} runs of ${steps} steps in ${precision} on ${adapterLabel(ctx)}`);
    const bar = progressBar('ufm sweep', runs * steps);
    let inRun = 0;
    const callbacks = {
      onSteps: (s: number) => {
        bar.tick(s - inRun);
        inRun = s;
      },
      onRun: (done: number, _total: number, info: string) => {
        void run.update({ runsDone: done, lastRun: info });
        bar.tick(steps - inRun);
        inRun = 0;
      },
    };
    let rows: DepthSweepRow[];
    try {
      rows = widths
        ? await sweepWidths(ctx, { ...settings, ...callbacks, widths, depths })
        : await sweepDepths(ctx, { ...settings, ...callbacks, width, depths });
    } finally {
      bar.stop();
    }
    const failures = rows.flatMap((r) => r.perSeed.filter((p) => p.error).map((p) => `depth ${p.depth} width ${p.width} seed ${p.seed}: ${p.error}`));
    for (const f of failures) console.log(`  failed: ${f}`);

    const files: (string | undefined)[] = [];
    if (!widths) {
      console.log('depth  effective rank (mean +- std)  normalized margin');
      for (const r of rows) console.log(`${String(r.depth).padStart(5)}  ${r.effectiveRank.toFixed(3)} +- ${r.effectiveRankStd.toFixed(3)}              ${r.margin.toFixed(4)}`);
      files.push(await plot(run, 'effective-rank-vs-depth.png', {
        title: `Final effective rank vs depth (K=${classes}, d=${width}, ${seeds} seeds)`, xLabel: 'depth L', yLabel: 'effective rank',
        series: band('', rows.map((r) => ({ x: r.depth, mean: r.effectiveRank, std: r.effectiveRankStd }))),
      }));
      files.push(await plot(run, 'margin-vs-depth.png', {
        title: 'Final normalized margin vs depth', xLabel: 'depth L', yLabel: 'normalized margin',
        series: band('', rows.map((r) => ({ x: r.depth, mean: r.margin, std: r.marginStd }))),
      }));
      files.push(await plot(run, 'effective-rank-trajectories.png', {
        title: 'Effective rank during training (seed-mean)', xLabel: 'step', yLabel: 'effective rank',
        series: rows.map((r) => ({ name: `L=${r.depth}`, points: seedMeanTrajectory(r) })),
      }));
    } else {
      console.log('depth  width  initial ETF alignment   final effective rank');
      for (const r of rows) console.log(`${String(r.depth).padStart(5)}  ${String(r.width).padStart(5)}  ${r.initialAlignment.toFixed(4)} +- ${r.initialAlignmentStd.toFixed(4)}   ${r.effectiveRank.toFixed(3)} +- ${r.effectiveRankStd.toFixed(3)}`);
      const byDepth = (f: (r: DepthSweepRow) => { mean: number; std: number }, positive = false) => depths.flatMap((L) =>
        band(`L=${L} `, rows.filter((r) => r.depth === L).map((r) => ({ x: r.width, ...f(r) })), positive));
      files.push(await plot(run, 'alignment-vs-width.png', {
        title: 'ETF alignment of the initial logit velocity vs width', xLabel: 'width d', yLabel: '||A/||A|| - E/||E|| ||^2', logX: true,
        // log-log: the alignment error falls like 1/d, a straight line here even over less than two decades
        logY: true,
        series: byDepth((r) => ({ mean: r.initialAlignment, std: r.initialAlignmentStd }), true),
      }));
      files.push(await plot(run, 'effective-rank-vs-width.png', {
        title: 'Final effective rank vs width', xLabel: 'width d', yLabel: 'effective rank', logX: true,
        series: byDepth((r) => ({ mean: r.effectiveRank, std: r.effectiveRankStd })),
      }));
    }
    const total = rows.reduce((n, r) => n + r.perSeed.length, 0);
    if (failures.length === total) {
      // nothing to show for the sweep: the rows (with each run's error) are kept, the exit status says so
      await run.update({ ...(await provenance(ctx, 'sweep', config, baseSeed)), rows });
      throw new Error(`every one of the ${total} runs failed (first: ${failures[0]})`);
    }
    await run.complete({ ...(await provenance(ctx, 'sweep', config, baseSeed)), rows });
    console.log(`wrote ${run.path} and ${files.filter(Boolean).length} plots`);
  } catch (e) {
    throw await run.failed(e);
  } finally {
    run.close();
    await ctx.dispose();
  }
}


// ---------------------------------------------------------------- ufm ode

export interface UfmOdeCommandOptions {
  classes?: string;
  nPerClass?: string;
  depths?: string;
  trajectoryDepths?: string;
  scale?: string;
  scales?: string;
  scaleDepth?: string;
  klDepth?: string;
  seeds?: string;
  seed?: string;
  horizon?: string;
  points?: string;
  out?: string;
  overwrite?: boolean;
}

export async function runUfmOde(o: UfmOdeCommandOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const classes = int('classes', o.classes ?? '8', 2);
  if ((classes & (classes - 1)) !== 0) throw new Error(`--classes must be a power of 2 for the Hadamard ODE, got ${classes}`);
  const nPerClass = int('n-per-class', o.nPerClass ?? '1');
  const depths = list('depths', o.depths ?? '1,2,3,4,6,8', intItem);
  const trajectoryDepths = list('trajectory-depths', o.trajectoryDepths ?? '1,2,4', intItem);
  const scale = num('scale', o.scale ?? '0.1');
  const scales = list('scales', o.scales ?? '0.001,0.01,0.1,1,10', numItem);
  const scaleDepth = int('scale-depth', o.scaleDepth ?? '4');
  const klDepth = int('kl-depth', o.klDepth ?? '3');
  const seeds = int('seeds', o.seeds ?? '5');
  const seed = seedOption('seed', o.seed ?? '0');
  const horizon = num('horizon', o.horizon ?? '1e5');
  const points = int('points', o.points ?? '120', 2);
  checkOdeSize(points, trajectoryDepths.length, classes);
  const run = await openRun({ out: o.out, command: 'ncgpu ufm ode', overwrite: o.overwrite });
  try {
    const config = { classes, nPerClass, depths, trajectoryDepths, scale, scales, scaleDepth, klDepth, seeds, horizon, points };
    console.log(`ncgpu ${VERSION} ufm ode: K=${classes} n=${nPerClass}, Hadamard ODE integrated in f64 (Dormand-Prince 5(4)) to t = ${horizon}`);

    const times = logTimes(Math.min(1e-2, horizon / 10), horizon, points);
    const total = trajectoryDepths.length + depths.length * seeds + scales.length * seeds + 2;
    const bar = progressBar('ufm ode', total);
    const files: (string | undefined)[] = [];
    let rankDepth: OdeRankRow[];
    let rankScale: OdeRankRow[];
    const trajectories = [];
    let kl;
    try {
      const sigma0 = randomHadamardSigma(classes, scale, seed);
      for (const depth of trajectoryDepths) {
        trajectories.push(odeTrajectory(classes, nPerClass, depth, sigma0, times));
        bar.tick();
      }
      rankDepth = odeRankVsDepth(classes, nPerClass, depths, scale, seeds, times, () => bar.tick());
      rankScale = odeRankVsScale(classes, nPerClass, scaleDepth, scales, seeds, times, () => bar.tick());
      const klSigma = alternatingSigma(classes, scale, scale / 2);
      kl = {
        sigma0: klSigma,
        deep: odeTrajectory(classes, nPerClass, klDepth, klSigma, times),
        shallow: odeTrajectory(classes, nPerClass, 1, klSigma, times),
      };
      bar.tick(2);
    } finally {
      bar.stop();
    }
    for (const tr of trajectories) {
      files.push(await plot(run, `trajectories-L${tr.depth}.png`, {
        title: `Normalized singular values under the Hadamard ODE, L=${tr.depth} (K=${classes})`, xLabel: 't', yLabel: 'sigma_k / sum sigma', logX: true,
        series: Array.from({ length: classes - 1 }, (_, i) => ({ name: `sigma_${i + 1}`, points: tr.times.slice(1).map((t, j) => [t, tr.normalized[j + 1]![i]!] as const) })),
      }));
    }
    files.push(await plot(run, 'rank-vs-depth.png', {
      title: `Hadamard ODE: effective rank at t = ${horizon} vs depth (scale ${scale})`, xLabel: 'depth L', yLabel: 'effective rank',
      series: band('', rankDepth.map((r) => ({ x: r.value, mean: r.effectiveRank, std: r.effectiveRankStd }))),
    }));
    files.push(await plot(run, 'rank-over-time.png', {
      title: `Hadamard ODE: seed-mean effective rank over time per depth (scale ${scale})`, xLabel: 't', yLabel: 'effective rank', logX: true,
      series: rankDepth.map((r) => ({ name: `L=${r.value}`, points: r.times.map((t, j) => [t, r.effectiveRankOverTime[j]!] as const) })),
    }));
    files.push(await plot(run, 'rank-vs-scale.png', {
      title: `Hadamard ODE: effective rank at t = ${horizon} vs init scale (L=${scaleDepth})`, xLabel: 'init scale ||sigma(0)||', yLabel: 'effective rank', logX: true,
      series: band('', rankScale.map((r) => ({ x: r.value, mean: r.effectiveRank, std: r.effectiveRankStd }))),
    }));
    files.push(await plot(run, 'kl-to-collapse.png', {
      title: 'KL to neural collapse from an alternating start', xLabel: 't', yLabel: 'KL(u || sigma^)', logX: true,
      series: [
        { name: `L=${klDepth}`, points: kl.deep.times.slice(1).map((t, j) => [t, kl.deep.klToCollapse[j + 1]!] as const) },
        { name: 'L=1', points: kl.shallow.times.slice(1).map((t, j) => [t, kl.shallow.klToCollapse[j + 1]!] as const) },
      ],
    }));
    const klGrows = kl.deep.klToCollapse.every((v, i, a) => i === 0 || v >= a[i - 1]! - 1e-12);
    console.log('depth  effective rank at the horizon (mean +- std)');
    for (const r of rankDepth) console.log(`${String(r.value).padStart(5)}  ${r.effectiveRank.toFixed(3)} +- ${r.effectiveRankStd.toFixed(3)}`);
    console.log(`KL to collapse at L=${klDepth}: ${kl.deep.klToCollapse[0]!.toFixed(4)} -> ${kl.deep.klToCollapse.at(-1)!.toFixed(4)} (${klGrows ? 'grows monotonically' : 'not monotone'}); at L=1: -> ${kl.shallow.klToCollapse.at(-1)!.toFixed(4)}`);
    await run.complete({
      ...(await provenance(undefined, 'ode', config, seed)),
      trajectories,
      rankVsDepth: rankDepth.map((r) => ({ depth: r.value, effectiveRank: r.effectiveRank, effectiveRankStd: r.effectiveRankStd, perSeed: r.perSeed, times: r.times, effectiveRankOverTime: r.effectiveRankOverTime })),
      rankVsScale: rankScale.map((r) => ({ scale: r.value, effectiveRank: r.effectiveRank, effectiveRankStd: r.effectiveRankStd, perSeed: r.perSeed, times: r.times, effectiveRankOverTime: r.effectiveRankOverTime })),
      klGrowth: { ...kl, monotone: klGrows },
    });
    console.log(`wrote ${run.path} and ${files.filter(Boolean).length} plots`);
  } catch (e) {
    throw await run.failed(e);
  } finally {
    run.close();
  }
}

/** Each trajectory holds (points x K) f64 values several times over: refuse --points that cannot fit before integrating. */
function checkOdeSize(points: number, trajectories: number, classes: number): void {
  // a trajectory keeps times, states, normalized states and KL (about 3 K + 2 numbers per point), plus JSON text for results.json (~20 bytes a number)
  const bytes = (trajectories + 2) * points * (3 * classes + 2) * (8 + 20);
  checkHostMemory(bytes, `--points ${points} (${trajectories + 2} trajectories of ${classes} values per point)`, 'lower --points');
  if (points > ODE_MAX_POINTS) throw new Error(`--points must be at most ${ODE_MAX_POINTS} (output times per trajectory; the plots show no more), got ${points}`);
}

/** More output times than any plot or table can show. */
const ODE_MAX_POINTS = 1_000_000;

// ---------------------------------------------------------------- registration

const fail = failWith('ncgpu ufm');
const OVERWRITE_HELP = "replace the results of another run in --out (its files are removed first)";

export function registerUfmCommand(program: Command): void {
  const ufm = program.command('ufm').description('deep unconstrained features model: gradient descent, Hadamard ODE, low-rank bias of depth');

  ufm
    .command('train')
    .description('train one deep UFM with full-batch gradient descent and record its trajectory')
    .option('--classes <K>', 'number of classes (default 4)')
    .option('--n-per-class <n>', 'samples per class (default 5)')
    .option('--width <d>', 'width d (default 32)')
    .option('--depth <L>', 'number of weight matrices L (1 = shallow UFM) (default 3)')
    .option('--init <kind>', "'random' (entries N(0, s^2/d)) or 'hadamard' (K a power of 2) (default random)")
    .option('--init-from <file>', "start from the H and W1..WL in a safetensors or .npz file (H: width x K n, samples ordered by class; W_l: width x width, W_L: K x width)")
    .option('--init-scale <s>', 'random: s in units of 1/sqrt(width) (default 0.3); hadamard: norm of the initial sigma (default 0.1)')
    .option('--sigma <list>', 'hadamard: sigma_0..sigma_{K-1} (default: uniform random, scaled to --init-scale, sigma_0 = 0)')
    .option('--embedding-seed <seed>', 'hadamard: random orthonormal embedding (default: the first K axes)')
    .option('--seed <seed>', 'random seed (default 0)')
    .option('--lr <rate>', 'learning rate (default 0.05)')
    .option('--steps <T>', 'step cap (default 20000)')
    .option('--weight-decay <lambda>', 'weight decay on all parameters (default 0)')
    .option('--weight-decay-steps <T0>', 'apply the weight decay to the first T0 steps only')
    .option('--log-every <k>', 'measure every k steps (default: steps / 100)')
    .option('--loss-target <loss>', 'stop once the training loss is at most this')
    .option('--balancedness', 'also measure ||W_{l+1}^T W_{l+1} - W_l W_l^T|| and its drift (two d x d products per layer)')
    .option('--checkpoint-every <k>', 'write --out/checkpoint.ufm every k steps')
    .option('--resume <path>', 'continue from a checkpoint: every setting comes from it; a flag that differs is refused unless listed in --override')
    .option('--override <options>', 'with --resume: options (comma-separated, e.g. lr,log-every) allowed to differ from the checkpoint; recorded in results.json')
    .option('--precision <p>', PRECISION_HELP)
    .option('--backend <name>', BACKEND_HELP)
    .option('--overwrite', OVERWRITE_HELP)
    .requiredOption('--out <dir>', 'output folder for results.json and plots')
    .action((opts: UfmTrainCommandOptions) => runUfmTrain(opts).catch(fail));

  const sweep = ufm
    .command('sweep')
    .description('final effective rank vs depth from random init (or, with --widths, initial ETF alignment and final rank vs width)')
    .option('--classes <K>', 'number of classes', '4')
    .option('--n-per-class <n>', 'samples per class', '5')
    .option('--width <d>', 'width d', '32')
    .option('--widths <list>', 'sweep these widths (e.g. 16,64,256,1024) at each depth instead')
    .option('--depths <list>', 'depths L', '1,2,3,4,5,6')
    .option('--seeds <count>', 'runs per setting', '5')
    .option('--seed <seed>', 'first seed', '0')
    .option('--init-scale <s>', 'init scale in units of 1/sqrt(width)', '0.3')
    .option('--lr <rate>', 'learning rate', '0.02')
    .option('--steps <T>', 'steps per run', '100000')
    .option('--weight-decay <lambda>', 'weight decay during the first --weight-decay-steps steps')
    .option('--weight-decay-steps <T0>', 'steps with weight decay')
    .option('--loss-target <loss>', 'stop a run once its training loss is at most this')
    .option('--log-every <k>', 'measure (and check --loss-target) every k steps (default: steps / 20)')
    .option('--precision <p>', PRECISION_HELP)
    .option('--backend <name>', BACKEND_HELP)
    .option('--overwrite', OVERWRITE_HELP)
    .requiredOption('--out <dir>', 'output folder for results.json and plots');
  addGridOptions(sweep).action(inProcessOrGrid('ufm sweep', runUfmSweep, fail));

  ufm
    .command('ode')
    .description('Hadamard ODE: singular-value trajectories, effective rank vs depth and vs init scale, a trajectory whose KL to collapse grows')
    .option('--classes <K>', 'number of classes (a power of 2)', '8')
    .option('--n-per-class <n>', 'samples per class', '1')
    .option('--depths <list>', 'depths for effective rank vs depth', '1,2,3,4,6,8')
    .option('--trajectory-depths <list>', 'depths whose trajectories are plotted', '1,2,4')
    .option('--scale <s>', 'norm of the initial sigma (uniform random entries, rescaled)', '0.1')
    .option('--scales <list>', 'init scales for effective rank vs scale', '0.001,0.01,0.1,1,10')
    .option('--scale-depth <L>', 'depth for effective rank vs scale', '4')
    .option('--kl-depth <L>', 'depth of the KL-growth trajectory', '3')
    .option('--seeds <count>', 'random initial sigmas per setting', '5')
    .option('--seed <seed>', 'seed of the plotted trajectories', '0')
    .option('--horizon <t>', 'integrate to this time', '1e5')
    .option('--points <count>', 'log-spaced output times', '120')
    .option('--overwrite', OVERWRITE_HELP)
    .requiredOption('--out <dir>', 'output folder for results.json and plots')
    .action((opts: UfmOdeCommandOptions) => runUfmOde(opts).catch(fail));
}
