/**
 * `ncgpu ufm train | sweep | ode`: the deep UFM experiments. Each writes results.json (with
 * provenance: version, backend, adapter, config, seed, createdAt) and PNG plots into --out.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BACKEND_CHOICES, createContext, type BackendChoice, type Context } from '../context.js';
import { renderLineChart, type Series } from '../report/plot.js';
import { loadUfmCheckpoint } from '../ufm/checkpoint.js';
import {
  alternatingSigma, logTimes, odeRankVsDepth, odeRankVsScale, odeTrajectory, randomHadamardSigma, sweepDepths, sweepWidths,
  type DepthSweepRow, type OdeRankRow,
} from '../ufm/experiments.js';
import { hadamardUfm, randomUfm } from '../ufm/init.js';
import type { UfmModel } from '../ufm/model.js';
import { solveHadamardOde } from '../ufm/ode.js';
import { trainUfm, type UfmMeasurement, type UfmTrainState } from '../ufm/train.js';
import { VERSION } from '../version.js';
import { progressBar } from './progress.js';
import { addGridOptions, inProcessOrGrid } from './sweepGrid.js';

// ---------------------------------------------------------------- argument parsing

function int(name: string, v: string | undefined, min = 1): number {
  const x = Number(v);
  if (v === undefined || !Number.isInteger(x) || x < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return x;
}

function num(name: string, v: string | undefined, positive = true): number {
  const x = Number(v);
  if (v === undefined || !Number.isFinite(x) || (positive ? !(x > 0) : x < 0)) {
    throw new Error(`--${name} must be a ${positive ? 'positive' : 'non-negative'} number, got '${v}'`);
  }
  return x;
}

function list(name: string, v: string | undefined, parse: (n: string, s: string) => number): number[] {
  if (v === undefined || v.trim() === '') throw new Error(`--${name} must be a comma-separated list, got '${v}'`);
  return v.split(',').map((s) => parse(name, s.trim()));
}

const intItem = (name: string, s: string) => int(name, s);
const numItem = (name: string, s: string) => num(name, s);
const anyNumItem = (name: string, s: string) => {
  const x = Number(s);
  if (s === '' || !Number.isFinite(x)) throw new Error(`--${name} values must be numbers, got '${s}'`);
  return x;
};

function backendChoice(v: string | undefined): BackendChoice {
  const b = (v ?? 'auto') as BackendChoice;
  if (!BACKEND_CHOICES.includes(b)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${v}'`);
  return b;
}

// ---------------------------------------------------------------- output

async function provenance(ctx: Context | undefined, command: string, config: Record<string, unknown>, seed: number | number[] | null) {
  const info = ctx?.info();
  return {
    command: `ncgpu ufm ${command}`,
    version: VERSION,
    backend: info?.name ?? 'host (f64 ODE integration)',
    adapter: info?.adapter ?? null,
    blas: info?.blas ?? null,
    createdAt: new Date().toISOString(),
    seed,
    config,
  };
}

/** JSON with NaN / Infinity written as null (JSON has neither). */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

async function writeResults(out: string, value: unknown): Promise<string> {
  const path = join(out, 'results.json');
  await writeFile(path, toJson(value) + '\n');
  return path;
}

async function plot(out: string, file: string, options: Parameters<typeof renderLineChart>[0]): Promise<string> {
  const { png } = await renderLineChart(options);
  const path = join(out, file);
  await writeFile(path, png);
  return path;
}

/** mean and mean +- one standard deviation as three series; `prefix` names a group (e.g. 'L=3 '). */
const band = (prefix: string, rows: { x: number; mean: number; std: number }[]): Series[] => [
  { name: `${prefix}mean`, points: rows.map((r) => [r.x, r.mean] as const) },
  { name: `${prefix}+1 std`, points: rows.map((r) => [r.x, r.mean + r.std] as const) },
  { name: `${prefix}-1 std`, points: rows.map((r) => [r.x, r.mean - r.std] as const) },
];

function adapterLabel(ctx: Context): string {
  const a = ctx.info().adapter;
  return a ? `webgpu [${a.device}${a.software ? ', software' : ''}]` : ctx.info().name;
}

// ---------------------------------------------------------------- ufm train

export interface UfmTrainCommandOptions {
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
  backend?: string;
  out?: string;
}

export async function runUfmTrain(o: UfmTrainCommandOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const backend = backendChoice(o.backend);
  const lr = num('lr', o.lr ?? '0.05');
  const steps = int('steps', o.steps ?? '20000', 0);
  const logEvery = int('log-every', o.logEvery ?? String(Math.max(1, Math.round(steps / 100))));
  const weightDecay = num('weight-decay', o.weightDecay ?? '0', false);
  const weightDecaySteps = o.weightDecaySteps === undefined ? undefined : int('weight-decay-steps', o.weightDecaySteps, 0);
  const lossTarget = o.lossTarget === undefined ? undefined : num('loss-target', o.lossTarget, false);
  const checkpointEvery = o.checkpointEvery === undefined ? undefined : int('checkpoint-every', o.checkpointEvery);
  const seed = int('seed', o.seed ?? '0', 0);
  await mkdir(o.out, { recursive: true });

  const ctx = await createContext({ backend });
  let model: UfmModel | undefined;
  try {
    let resume: UfmTrainState | undefined;
    let init: string;
    let sigma0: number[] | undefined;
    let config: Record<string, unknown>;
    if (o.resume) {
      const ck = await loadUfmCheckpoint(ctx, o.resume);
      model = ck.model;
      resume = ck.state;
      const prev = (ck.training ?? {}) as Record<string, unknown>;
      init = String(prev.init ?? 'random');
      sigma0 = Array.isArray(prev.sigma) ? (prev.sigma as number[]) : undefined;
      config = { ...prev, resumedFrom: o.resume, resumedAtStep: ck.state.step };
    } else {
      const shape = {
        classes: int('classes', o.classes ?? '4', 2),
        nPerClass: int('n-per-class', o.nPerClass ?? '5'),
        width: int('width', o.width ?? '32'),
        depth: int('depth', o.depth ?? '3'),
      };
      init = o.init ?? 'random';
      const initScale = num('init-scale', o.initScale ?? (init === 'hadamard' ? '0.1' : '0.3'));
      if (init === 'random') {
        model = randomUfm(ctx, shape, { std: initScale / Math.sqrt(shape.width), seed });
      } else if (init === 'hadamard') {
        sigma0 = o.sigma ? list('sigma', o.sigma, anyNumItem) : randomHadamardSigma(shape.classes, initScale, seed);
        const embedding = o.embeddingSeed === undefined ? 'identity' as const : { seed: int('embedding-seed', o.embeddingSeed, 0) };
        model = hadamardUfm(ctx, shape, { sigma: sigma0, embedding });
      } else {
        throw new Error(`--init must be 'random' or 'hadamard', got '${init}'`);
      }
      config = { ...shape, init, initScale, initScaleUnits: init === 'random' ? '1/sqrt(width)' : 'norm of sigma', sigma: sigma0 };
    }
    config = { ...config, learningRate: lr, steps, logEvery, weightDecay, weightDecaySteps, lossTarget, checkpointEvery };
    const m = model;
    console.log(`ncgpu ${VERSION} ufm train: K=${m.classes} n=${m.nPerClass} d=${m.width} L=${m.depth} init=${init} lr=${lr} on ${adapterLabel(ctx)}`);

    const bar = progressBar('ufm train', steps);
    let ticked = resume?.step ?? 0;
    bar.tick(ticked);
    const checkpointPath = checkpointEvery ? join(o.out, 'checkpoint.ufm') : undefined;
    let result;
    try {
      result = await trainUfm(
        m,
        {
          learningRate: lr, maxSteps: steps, logEvery, weightDecay, weightDecaySteps, lossTarget,
          measure: { balancedness: o.balancedness ?? false, hadamard: init === 'hadamard', kgon: m.classes >= 3, features: true },
          checkpointPath, checkpointEvery, checkpointInfo: config,
          onProgress: (s) => {
            bar.tick(s - ticked);
            ticked = s;
          },
        },
        resume,
      );
    } finally {
      bar.stop();
    }
    const logs = result.logs;
    const last = logs.at(-1)!;

    // Hadamard runs: the ODE's prediction at every log time, and the worst relative deviation
    let ode: { times: number[]; sigma: number[][]; worstRelativeError: number } | undefined;
    if (init === 'hadamard' && sigma0) {
      const sol = solveHadamardOde({ classes: m.classes, nPerClass: m.nPerClass, depth: m.depth, sigma: sigma0, times: logs.map((l) => l.time) });
      let worst = 0;
      sol.states.forEach((s, i) => s.forEach((v, k) => {
        if (k > 0 && v !== 0) worst = Math.max(worst, Math.abs(logs[i]!.hadamardSigma![k]! - v) / Math.abs(v));
      }));
      ode = { times: sol.times, sigma: sol.states.map((s) => Array.from(s)), worstRelativeError: worst };
    }
    const files = await trainPlots(o.out, logs, ode);
    const path = await writeResults(o.out, {
      ...(await provenance(ctx, 'train', config, seed)),
      result: { steps: result.step, stopReason: result.stopReason, finalLoss: result.finalLoss, final: last },
      ode,
      logs,
    });
    console.log(`step ${result.step} (${result.stopReason}): loss ${last.loss.toExponential(3)}, effective rank ${last.effectiveRank.toFixed(3)}, normalized margin ${last.normalizedMargin.toFixed(4)}, KL to collapse ${last.klToCollapse.toFixed(4)}`);
    if (ode) console.log(`gradient descent vs the Hadamard ODE: worst relative deviation ${ode.worstRelativeError.toExponential(2)}`);
    console.log(`wrote ${path}${checkpointPath ? `, ${checkpointPath}` : ''} and ${files.length} plots`);
  } finally {
    model?.dispose();
    await ctx.dispose();
  }
}

async function trainPlots(out: string, logs: UfmMeasurement[], ode?: { times: number[]; sigma: number[][] }): Promise<string[]> {
  const step = (f: (m: UfmMeasurement) => number) => logs.map((m) => [m.step, f(m)] as const);
  const files: string[] = [];
  files.push(await plot(out, 'loss.png', { title: 'Training loss', xLabel: 'step', yLabel: 'loss', series: [{ name: 'loss', points: step((m) => m.loss) }], logY: 'auto' }));
  const k = logs[0]!.centeredSingularValues.length;
  files.push(await plot(out, 'singular-values.png', {
    title: 'Singular values of the centered class-mean logits', xLabel: 'step', yLabel: 'singular value', logY: 'auto',
    series: Array.from({ length: k }, (_, i) => ({ name: `s${i + 1}`, points: step((m) => m.centeredSingularValues[i]!) })),
  }));
  files.push(await plot(out, 'normalized-singular-values.png', {
    title: 'Normalized singular values', xLabel: 'step', yLabel: 'sigma / sum sigma',
    series: Array.from({ length: k }, (_, i) => ({ name: `s${i + 1}`, points: step((m) => m.normalizedSingularValues[i]!) })),
  }));
  files.push(await plot(out, 'effective-rank.png', { title: 'Effective rank (double-centered class-mean logits)', xLabel: 'step', yLabel: 'effective rank', series: [{ name: 'effective rank', points: step((m) => m.effectiveRank) }] }));
  files.push(await plot(out, 'margin.png', { title: 'Normalized margin', xLabel: 'step', yLabel: 'min margin / ||Z||_F', series: [{ name: 'normalized margin', points: step((m) => m.normalizedMargin) }] }));
  files.push(await plot(out, 'kl-to-collapse.png', { title: 'KL(u || sigma^) to neural collapse', xLabel: 'step', yLabel: 'KL', series: [{ name: 'KL', points: step((m) => m.klToCollapse) }], logY: 'auto' }));
  if (logs[0]!.balancedness) {
    files.push(await plot(out, 'balancedness-drift.png', { title: 'Balancedness drift', xLabel: 'step', yLabel: 'max_l ||D_l(t) - D_l(0)||_F', series: [{ name: 'drift', points: step((m) => m.balancednessDrift ?? NaN) }] }));
  }
  if (ode && logs[0]!.hadamardSigma) {
    const series: Series[] = [];
    for (let i = 1; i < logs[0]!.hadamardSigma.length; i++) {
      series.push({ name: `GD sigma_${i}`, points: logs.map((m) => [m.time, m.hadamardSigma![i]!] as const) });
      series.push({ name: `ODE sigma_${i}`, points: ode.times.map((t, j) => [t, ode.sigma[j]![i]!] as const) });
    }
    files.push(await plot(out, 'hadamard-vs-ode.png', { title: 'Gradient descent vs the Hadamard ODE', xLabel: 't = learning rate x steps', yLabel: 'sigma_k', series }));
  }
  return files;
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
  backend?: string;
  out?: string;
}

export async function runUfmSweep(o: UfmSweepCommandOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const backend = backendChoice(o.backend);
  const classes = int('classes', o.classes ?? '4', 2);
  const nPerClass = int('n-per-class', o.nPerClass ?? '5');
  const depths = list('depths', o.depths ?? '1,2,3,4,5,6', intItem);
  const widths = o.widths === undefined ? undefined : list('widths', o.widths, intItem);
  const width = int('width', o.width ?? '32');
  const seeds = int('seeds', o.seeds ?? '5');
  const baseSeed = int('seed', o.seed ?? '0', 0);
  const initScale = num('init-scale', o.initScale ?? '0.3');
  const learningRate = num('lr', o.lr ?? '0.02');
  const steps = int('steps', o.steps ?? '100000');
  const weightDecay = o.weightDecay === undefined ? undefined : num('weight-decay', o.weightDecay, false);
  const weightDecaySteps = o.weightDecaySteps === undefined ? undefined : int('weight-decay-steps', o.weightDecaySteps, 0);
  const lossTarget = o.lossTarget === undefined ? undefined : num('loss-target', o.lossTarget, false);
  await mkdir(o.out, { recursive: true });

  const ctx = await createContext({ backend });
  try {
    const mode = widths ? 'width' : 'depth';
    const settings = { classes, nPerClass, initScale, learningRate, steps, seeds, baseSeed, weightDecay, weightDecaySteps, lossTarget };
    const config = { mode, ...settings, depths, ...(widths ? { widths } : { width }), initScaleUnits: '1/sqrt(width)' };
    const runs = depths.length * (widths?.length ?? 1) * seeds;
    console.log(`ncgpu ${VERSION} ufm sweep (${mode}): K=${classes} n=${nPerClass} ${widths ? `widths ${widths.join(',')}` : `d=${width}`} depths ${depths.join(',')}, ${seeds} seeds, ${runs} runs of ${steps} steps on ${adapterLabel(ctx)}`);
    const bar = progressBar('ufm sweep', runs * steps);
    let inRun = 0;
    const callbacks = {
      onSteps: (s: number) => {
        bar.tick(s - inRun);
        inRun = s;
      },
      onRun: () => {
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

    const files: string[] = [];
    if (!widths) {
      console.log('depth  effective rank (mean +- std)  normalized margin');
      for (const r of rows) console.log(`${String(r.depth).padStart(5)}  ${r.effectiveRank.toFixed(3)} +- ${r.effectiveRankStd.toFixed(3)}              ${r.margin.toFixed(4)}`);
      files.push(await plot(o.out, 'effective-rank-vs-depth.png', {
        title: `Final effective rank vs depth (K=${classes}, d=${width}, ${seeds} seeds)`, xLabel: 'depth L', yLabel: 'effective rank',
        series: band('', rows.map((r) => ({ x: r.depth, mean: r.effectiveRank, std: r.effectiveRankStd }))),
      }));
      files.push(await plot(o.out, 'margin-vs-depth.png', {
        title: 'Final normalized margin vs depth', xLabel: 'depth L', yLabel: 'normalized margin',
        series: band('', rows.map((r) => ({ x: r.depth, mean: r.margin, std: r.marginStd }))),
      }));
      files.push(await plot(o.out, 'effective-rank-trajectories.png', {
        title: 'Effective rank during training (seed-mean)', xLabel: 'step', yLabel: 'effective rank',
        series: rows.map((r) => ({ name: `L=${r.depth}`, points: seedMeanTrajectory(r) })),
      }));
    } else {
      console.log('depth  width  initial ETF alignment   final effective rank');
      for (const r of rows) console.log(`${String(r.depth).padStart(5)}  ${String(r.width).padStart(5)}  ${r.initialAlignment.toFixed(4)} +- ${r.initialAlignmentStd.toFixed(4)}   ${r.effectiveRank.toFixed(3)} +- ${r.effectiveRankStd.toFixed(3)}`);
      const byDepth = (f: (r: DepthSweepRow) => { mean: number; std: number }) => depths.flatMap((L) =>
        band(`L=${L} `, rows.filter((r) => r.depth === L).map((r) => ({ x: r.width, ...f(r) }))));
      files.push(await plot(o.out, 'alignment-vs-width.png', {
        title: 'ETF alignment of the initial logit velocity vs width', xLabel: 'width d', yLabel: '||A/||A|| - E/||E|| ||^2', logX: true, logY: 'auto',
        series: byDepth((r) => ({ mean: r.initialAlignment, std: r.initialAlignmentStd })),
      }));
      files.push(await plot(o.out, 'effective-rank-vs-width.png', {
        title: 'Final effective rank vs width', xLabel: 'width d', yLabel: 'effective rank', logX: true,
        series: byDepth((r) => ({ mean: r.effectiveRank, std: r.effectiveRankStd })),
      }));
    }
    const path = await writeResults(o.out, { ...(await provenance(ctx, 'sweep', config, baseSeed)), rows });
    console.log(`wrote ${path} and ${files.length} plots`);
  } finally {
    await ctx.dispose();
  }
}

function seedMeanTrajectory(r: DepthSweepRow): [number, number][] {
  const ok = r.perSeed.filter((p) => !p.error && p.trajectory.length);
  if (!ok.length) return [];
  const n = Math.min(...ok.map((p) => p.trajectory.length));
  return Array.from({ length: n }, (_, i) => [ok[0]!.trajectory[i]!.step, ok.reduce((a, p) => a + p.trajectory[i]!.effectiveRank, 0) / ok.length]);
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
  const seed = int('seed', o.seed ?? '0', 0);
  const horizon = num('horizon', o.horizon ?? '1e5');
  const points = int('points', o.points ?? '120', 2);
  await mkdir(o.out, { recursive: true });
  const config = { classes, nPerClass, depths, trajectoryDepths, scale, scales, scaleDepth, klDepth, seeds, horizon, points };
  console.log(`ncgpu ${VERSION} ufm ode: K=${classes} n=${nPerClass}, Hadamard ODE integrated in f64 (Dormand-Prince 5(4)) to t = ${horizon}`);

  const times = logTimes(Math.min(1e-2, horizon / 10), horizon, points);
  const total = trajectoryDepths.length + depths.length * seeds + scales.length * seeds + 2;
  const bar = progressBar('ufm ode', total);
  const files: string[] = [];
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
    rankDepth = odeRankVsDepth(classes, nPerClass, depths, scale, seeds, horizon, () => bar.tick());
    rankScale = odeRankVsScale(classes, nPerClass, scaleDepth, scales, seeds, horizon, () => bar.tick());
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
    files.push(await plot(o.out, `trajectories-L${tr.depth}.png`, {
      title: `Normalized singular values under the Hadamard ODE, L=${tr.depth} (K=${classes})`, xLabel: 't', yLabel: 'sigma_k / sum sigma', logX: true,
      series: Array.from({ length: classes - 1 }, (_, i) => ({ name: `sigma_${i + 1}`, points: tr.times.slice(1).map((t, j) => [t, tr.normalized[j + 1]![i]!] as const) })),
    }));
  }
  files.push(await plot(o.out, 'rank-vs-depth.png', {
    title: `Hadamard ODE: effective rank at t = ${horizon} vs depth (scale ${scale})`, xLabel: 'depth L', yLabel: 'effective rank',
    series: band('', rankDepth.map((r) => ({ x: r.value, mean: r.effectiveRank, std: r.effectiveRankStd }))),
  }));
  files.push(await plot(o.out, 'rank-vs-scale.png', {
    title: `Hadamard ODE: effective rank at t = ${horizon} vs init scale (L=${scaleDepth})`, xLabel: 'init scale ||sigma(0)||', yLabel: 'effective rank', logX: true,
    series: band('', rankScale.map((r) => ({ x: r.value, mean: r.effectiveRank, std: r.effectiveRankStd }))),
  }));
  files.push(await plot(o.out, 'kl-to-collapse.png', {
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
  const path = await writeResults(o.out, {
    ...(await provenance(undefined, 'ode', config, seed)),
    trajectories,
    rankVsDepth: rankDepth.map((r) => ({ depth: r.value, effectiveRank: r.effectiveRank, effectiveRankStd: r.effectiveRankStd, perSeed: r.perSeed })),
    rankVsScale: rankScale.map((r) => ({ scale: r.value, effectiveRank: r.effectiveRank, effectiveRankStd: r.effectiveRankStd, perSeed: r.perSeed })),
    klGrowth: { ...kl, monotone: klGrows },
  });
  console.log(`wrote ${path} and ${files.length} plots`);
}

// ---------------------------------------------------------------- registration

function fail(e: unknown): never {
  console.error(`ncgpu ufm: ${(e as Error).message}`);
  process.exit(1);
}

export function registerUfmCommand(program: Command): void {
  const ufm = program.command('ufm').description('deep unconstrained features model: gradient descent, Hadamard ODE, low-rank bias of depth');

  ufm
    .command('train')
    .description('train one deep UFM with full-batch gradient descent and record its trajectory')
    .option('--classes <K>', 'number of classes', '4')
    .option('--n-per-class <n>', 'samples per class', '5')
    .option('--width <d>', 'width d', '32')
    .option('--depth <L>', 'number of weight matrices L (1 = shallow UFM)', '3')
    .option('--init <kind>', "'random' (entries N(0, s^2/d)) or 'hadamard' (K a power of 2)", 'random')
    .option('--init-scale <s>', 'random: s in units of 1/sqrt(width) (default 0.3); hadamard: norm of the initial sigma (default 0.1)')
    .option('--sigma <list>', 'hadamard: sigma_0..sigma_{K-1} (default: uniform random, scaled to --init-scale, sigma_0 = 0)')
    .option('--embedding-seed <seed>', 'hadamard: random orthonormal embedding (default: the first K axes)')
    .option('--seed <seed>', 'random seed', '0')
    .option('--lr <rate>', 'learning rate', '0.05')
    .option('--steps <T>', 'step cap', '20000')
    .option('--weight-decay <lambda>', 'weight decay on all parameters', '0')
    .option('--weight-decay-steps <T0>', 'apply the weight decay to the first T0 steps only')
    .option('--log-every <k>', 'measure every k steps (default: steps / 100)')
    .option('--loss-target <loss>', 'stop once the training loss is at most this')
    .option('--balancedness', 'also measure ||W_{l+1}^T W_{l+1} - W_l W_l^T|| and its drift (two d x d products per layer)')
    .option('--checkpoint-every <k>', 'write --out/checkpoint.ufm every k steps')
    .option('--resume <path>', 'continue from a checkpoint (shape and init come from it)')
    .option('--backend <name>', `${BACKEND_CHOICES.join(' | ')}`, 'auto')
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
    .option('--backend <name>', `${BACKEND_CHOICES.join(' | ')}`, 'auto')
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
    .requiredOption('--out <dir>', 'output folder for results.json and plots')
    .action((opts: UfmOdeCommandOptions) => runUfmOde(opts).catch(fail));
}
