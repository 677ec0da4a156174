/**
 * The deep UFM experiments of SPEC section 3 as library calls: effective rank at the end of training
 * against depth (random init), initial ETF alignment of the logit velocity and final rank against
 * width, and the Hadamard ODE experiments (normalized singular-value trajectories, effective rank
 * against depth and against init scale, a trajectory whose KL divergence to collapse grows).
 *
 * Conventions: the init scale s of random runs is in units of 1/sqrt(width) (entries are
 * N(0, s^2 / d)); standard deviations over seeds are sample standard deviations (n - 1; 0 for a
 * single seed); run i of a sweep uses seed baseSeed + i at every depth and width.
 */
import type { Context } from '../context.js';
import { meanStd } from '../report/meanStd.js';
import { Rng } from '../random.js';
import { randomUfm, randomUfmF64 } from './init.js';
import type { UfmPrecision } from './model.js';
import { effectiveRankOf, klToCollapse, normalizeValues, type AdjacentAngles } from './measure.js';
import { solveHadamardOde } from './ode.js';
import { trainUfm, type UfmTrainOptions } from './train.js';

export interface RandomRunSettings {
  classes: number;
  nPerClass: number;
  /** init scale in units of 1/sqrt(width) */
  initScale: number;
  learningRate: number;
  steps: number;
  /** number of seeds per setting */
  seeds: number;
  /** first seed (default 0) */
  baseSeed?: number;
  weightDecay?: number;
  weightDecaySteps?: number;
  lossTarget?: number;
  /** measurements per run (default 20); `logEvery` takes precedence */
  logsPerRun?: number;
  /**
   * measure (and check the loss target) every this many steps; default steps / logsPerRun. A run
   * stops at the first measurement at or below the loss target, so this is also how closely
   * `steps` can land on it.
   */
  logEvery?: number;
  /** arithmetic of the runs: 'f32' on the context's backend (default) or 'f64' on the host (cpu backend) */
  precision?: UfmPrecision;
  /** called after each run with the number of runs done and the total */
  onRun?: (done: number, total: number, info: string) => void;
  /** called with the steps done inside the current run */
  onSteps?: (steps: number) => void;
}

export interface RunSummary {
  seed: number;
  depth: number;
  width: number;
  effectiveRank: number;
  margin: number;
  finalLoss: number;
  steps: number;
  stopReason: string;
  /** ETF alignment of the logit velocity at step 0 */
  initialAlignment: number;
  /** centered class-mean logit singular values at the end */
  singularValues: number[];
  /** the same divided by their sum (the spectrum whose entropy is the effective rank) */
  normalizedSingularValues: number[];
  /** adjacent angles of the class means when the end state has rank about 2 (s_3 / s_1 < 0.05) */
  kgon?: AdjacentAngles;
  trajectory: { step: number; loss: number; effectiveRank: number }[];
  /** set when the run diverged (its numbers are then NaN) */
  error?: string;
}

function checkSettings(op: string, ctx: Context, s: RandomRunSettings): void {
  for (const [name, v] of [['classes', s.classes], ['nPerClass', s.nPerClass], ['seeds', s.seeds], ['steps', s.steps]] as const) {
    if (!Number.isInteger(v) || v < (name === 'classes' ? 2 : name === 'steps' ? 0 : 1)) throw new RangeError(`${op}: '${name}' must be a positive integer, got ${v}`);
  }
  if (!(s.initScale > 0)) throw new RangeError(`${op}: 'initScale' must be > 0, got ${s.initScale}`);
  if (!(s.learningRate > 0)) throw new RangeError(`${op}: 'learningRate' must be > 0, got ${s.learningRate}`);
  if (s.precision !== undefined && s.precision !== 'f32' && s.precision !== 'f64') throw new RangeError(`${op}: 'precision' must be 'f32' or 'f64', got ${String(s.precision)}`);
  if (s.precision === 'f64' && ctx.name !== 'cpu') throw new RangeError(`${op}: precision 'f64' runs on the cpu backend only, got a ${ctx.name} context`);
}

async function randomRun(ctx: Context, s: RandomRunSettings, depth: number, width: number, seed: number): Promise<RunSummary> {
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`ufm sweep: width must be a positive integer, got ${width}`);
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`ufm sweep: depth must be a positive integer, got ${depth}`);
  const shape = { classes: s.classes, nPerClass: s.nPerClass, width, depth };
  const init = { std: s.initScale / Math.sqrt(width), seed };
  const model = s.precision === 'f64' ? randomUfmF64(shape, init) : randomUfm(ctx, shape, init);
  const options: UfmTrainOptions = {
    learningRate: s.learningRate,
    maxSteps: s.steps,
    logEvery: s.logEvery ?? Math.max(1, Math.round(s.steps / (s.logsPerRun ?? 20))),
    weightDecay: s.weightDecay,
    weightDecaySteps: s.weightDecaySteps,
    lossTarget: s.lossTarget,
    measure: { kgon: s.classes >= 3 },
    onProgress: s.onSteps,
  };
  try {
    const r = await trainUfm(model, options);
    const last = r.logs.at(-1)!;
    const kgon = last.kgon && last.kgon.rank2Residual < 0.05 ? last.kgon : undefined;
    return {
      seed, depth, width,
      effectiveRank: last.effectiveRank,
      margin: last.normalizedMargin,
      finalLoss: r.finalLoss,
      steps: r.step,
      stopReason: r.stopReason,
      initialAlignment: r.logs[0]!.velocityEtfAlignment ?? NaN,
      singularValues: last.centeredSingularValues,
      normalizedSingularValues: last.normalizedSingularValues,
      ...(kgon ? { kgon } : {}),
      trajectory: r.logs.map((m) => ({ step: m.step, loss: m.loss, effectiveRank: m.effectiveRank })),
    };
  } catch (e) {
    return {
      seed, depth, width, effectiveRank: NaN, margin: NaN, finalLoss: NaN, steps: NaN, stopReason: 'error',
      initialAlignment: NaN, singularValues: [], normalizedSingularValues: [], trajectory: [], error: (e as Error).message,
    };
  } finally {
    model.dispose();
  }
}

export interface DepthSweepRow {
  depth: number;
  width: number;
  /** mean over seeds of the final effective rank (runs that diverged are left out) */
  effectiveRank: number;
  effectiveRankStd: number;
  /** mean final normalized margin */
  margin: number;
  marginStd: number;
  /** mean ETF alignment of the initial logit velocity */
  initialAlignment: number;
  initialAlignmentStd: number;
  /** one entry per seed */
  perSeed: RunSummary[];
}

function summarize(depth: number, width: number, runs: RunSummary[]): DepthSweepRow {
  const er = meanStd(runs.map((r) => r.effectiveRank));
  const mg = meanStd(runs.map((r) => r.margin));
  const al = meanStd(runs.map((r) => r.initialAlignment));
  return {
    depth, width,
    effectiveRank: er.mean, effectiveRankStd: er.std,
    margin: mg.mean, marginStd: mg.std,
    initialAlignment: al.mean, initialAlignmentStd: al.std,
    perSeed: runs,
  };
}

/**
 * Seed-mean effective rank at every logged step up to the longest run. A run that stopped early
 * (at the loss target) keeps its final rank from then on, so the mean is not cut at the shortest
 * seed. Every run logs at the same steps (0, k, 2k, ...), so index i is the same step in each.
 */
export function seedMeanTrajectory(r: DepthSweepRow): [number, number][] {
  const ok = r.perSeed.filter((p) => !p.error && p.trajectory.length);
  if (!ok.length) return [];
  const longest = ok.reduce((a, p) => (p.trajectory.length > a.trajectory.length ? p : a));
  const rankAt = (p: (typeof ok)[number], i: number) => p.trajectory[Math.min(i, p.trajectory.length - 1)]!.effectiveRank;
  return longest.trajectory.map((t, i) => [t.step, ok.reduce((a, p) => a + rankAt(p, i), 0) / ok.length]);
}

/** Final effective rank (and margin) against depth from random init: one row per depth. */
export async function sweepDepths(ctx: Context, settings: RandomRunSettings & { width: number; depths: readonly number[] }): Promise<DepthSweepRow[]> {
  checkSettings('sweepDepths', ctx, settings);
  const { depths, width, seeds, baseSeed = 0 } = settings;
  if (!depths.length) throw new RangeError('sweepDepths: give at least one depth');
  const total = depths.length * seeds;
  let done = 0;
  const rows: DepthSweepRow[] = [];
  for (const depth of depths) {
    const runs: RunSummary[] = [];
    for (let i = 0; i < seeds; i++) {
      const r = await randomRun(ctx, settings, depth, width, baseSeed + i);
      runs.push(r);
      settings.onRun?.(++done, total, `depth ${depth} seed ${baseSeed + i}: effective rank ${r.effectiveRank.toFixed(3)}`);
    }
    rows.push(summarize(depth, width, runs));
  }
  return rows;
}

/** Initial ETF alignment and final effective rank against width: one row per (depth, width). */
export async function sweepWidths(ctx: Context, settings: RandomRunSettings & { widths: readonly number[]; depths: readonly number[] }): Promise<DepthSweepRow[]> {
  checkSettings('sweepWidths', ctx, settings);
  const { depths, widths, seeds, baseSeed = 0 } = settings;
  if (!widths.length || !depths.length) throw new RangeError('sweepWidths: give at least one width and one depth');
  const total = depths.length * widths.length * seeds;
  let done = 0;
  const rows: DepthSweepRow[] = [];
  for (const depth of depths) {
    for (const width of widths) {
      const runs: RunSummary[] = [];
      for (let i = 0; i < seeds; i++) {
        const r = await randomRun(ctx, settings, depth, width, baseSeed + i);
        runs.push(r);
        settings.onRun?.(++done, total, `depth ${depth} width ${width} seed ${baseSeed + i}: alignment ${r.initialAlignment.toFixed(3)}, effective rank ${r.effectiveRank.toFixed(3)}`);
      }
      rows.push(summarize(depth, width, runs));
    }
  }
  return rows;
}

// ---------------------------------------------------------------- Hadamard ODE experiments

/** sigma_0 = 0 and sigma_1..sigma_{K-1} uniform in (0, 1), rescaled to Euclidean norm `scale`. */
export function randomHadamardSigma(classes: number, scale: number, seed: number): number[] {
  const rng = new Rng(seed);
  const s = Array.from({ length: classes }, (_, k) => (k === 0 ? 0 : rng.uniform()));
  const norm = Math.sqrt(s.reduce((a, b) => a + b * b, 0));
  return s.map((v) => (v * scale) / norm);
}

/** Log-spaced times from t0 to t1 (count points). */
export function logTimes(t0: number, t1: number, count: number): number[] {
  if (!(t0 > 0) || !(t1 > t0) || !(count >= 2)) throw new RangeError(`logTimes: need 0 < t0 < t1 and count >= 2, got ${t0}, ${t1}, ${count}`);
  return Array.from({ length: count }, (_, i) => t0 * (t1 / t0) ** (i / (count - 1)));
}

export interface OdeTrajectory {
  depth: number;
  sigma0: number[];
  times: number[];
  /** sigma_1..sigma_{K-1} / their sum at each time */
  normalized: number[][];
  effectiveRank: number[];
  klToCollapse: number[];
}

/** Integrates the Hadamard ODE from sigma0 and records the normalized modes, erank and KL. */
export function odeTrajectory(classes: number, nPerClass: number, depth: number, sigma0: readonly number[], times: readonly number[]): OdeTrajectory {
  const sol = solveHadamardOde({ classes, nPerClass, depth, sigma: sigma0, times: [0, ...times] });
  const states = sol.states;
  return {
    depth,
    sigma0: [...sigma0],
    times: [0, ...times],
    normalized: states.map((s) => Array.from(normalizeValues(s.subarray(1)))),
    effectiveRank: states.map((s) => effectiveRankOf(s.subarray(1))),
    klToCollapse: states.map((s) => klToCollapse(s.subarray(1))),
  };
}

export interface OdeRankRow {
  /** depth, or init scale for the scale sweep */
  value: number;
  /** seed mean and std of the effective rank at the horizon */
  effectiveRank: number;
  effectiveRankStd: number;
  /** each seed's effective rank at the horizon */
  perSeed: number[];
  /** the output times (ending at the horizon) and the seed-mean effective rank at each */
  times: number[];
  effectiveRankOverTime: number[];
}

/**
 * One setting's ODE runs from `seeds` random initial sigmas of norm `scale`: the effective rank of
 * |sigma_1..sigma_{K-1}| at each time of `times` (ascending, the last the horizon), per seed.
 */
function odeRankRow(classes: number, nPerClass: number, depth: number, scale: number, seeds: number, times: readonly number[], value: number, onRun?: () => void): OdeRankRow {
  const ranks = Array.from({ length: seeds }, (_, i) => {
    const sigma = randomHadamardSigma(classes, scale, i);
    const sol = solveHadamardOde({ classes, nPerClass, depth, sigma, times: [...times], rtol: 1e-8, atol: 1e-12 });
    onRun?.();
    return sol.states.map((s) => effectiveRankOf(s.subarray(1)));
  });
  const perSeed = ranks.map((r) => r.at(-1)!);
  const { mean, std } = meanStd(perSeed);
  const effectiveRankOverTime = times.map((_, j) => ranks.reduce((a, r) => a + r[j]!, 0) / seeds);
  return { value, effectiveRank: mean, effectiveRankStd: std, perSeed, times: [...times], effectiveRankOverTime };
}

/**
 * Effective rank of |sigma_1..sigma_{K-1}| for random initial sigmas, per depth, at each of
 * `times` (ascending; the last is the horizon the row's summary is taken at).
 */
export function odeRankVsDepth(classes: number, nPerClass: number, depths: readonly number[], scale: number, seeds: number, times: readonly number[], onRun?: () => void): OdeRankRow[] {
  return depths.map((depth) => odeRankRow(classes, nPerClass, depth, scale, seeds, times, depth, onRun));
}

/** The same against the init scale (norm of the initial sigma) at a fixed depth. */
export function odeRankVsScale(classes: number, nPerClass: number, depth: number, scales: readonly number[], seeds: number, times: readonly number[], onRun?: () => void): OdeRankRow[] {
  return scales.map((scale) => odeRankRow(classes, nPerClass, depth, scale, seeds, times, scale, onRun));
}

/**
 * Initial sigma for a trajectory whose KL divergence to collapse grows: odd modes `large`, even
 * modes (k >= 2) `small`, sigma_0 = 0. Under depth the odd modes win and the state heads for the
 * cross-polytope (rank K/2), where the KL to collapse is infinite.
 */
export function alternatingSigma(classes: number, large: number, small: number): number[] {
  return Array.from({ length: classes }, (_, k) => (k === 0 ? 0 : k % 2 === 1 ? large : small));
}
