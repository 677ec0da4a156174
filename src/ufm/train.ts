/**
 * Full-batch gradient descent on the deep UFM with the loss (1/N) sum CE: optional weight decay
 * lambda for the first T0 steps and none after, a step cap, a stop rule on the training loss,
 * divergence detection, measurements every `logEvery` steps, and checkpoints to resume from.
 *
 * Steps run as backend ops on preallocated workspace (step.ts) with no readback: each step writes
 * its loss into one slot of a device-side history buffer, and the history is read once per block
 * of steps (up to the next log or checkpoint), which is the only point where the host waits.
 * An f64 model (UfmModelF64) runs the same loop with its steps on the host (stepper.ts).
 */
import { saveUfmCheckpoint } from './checkpoint.js';
import type { AnyUfmModel } from './modelF64.js';
import {
  balancedness, balancednessDrift, etfAlignment, featureNc2, logitVelocity, measureLogits,
  type FloatArray, type LogitMeasurement,
} from './measure.js';
import { ufmStepper, type UfmStepper } from './stepper.js';
import { yieldToEventLoop } from '../eventLoop.js';

/** Which measurements UFM training logs besides loss, NC1 and the singular values. */
export interface UfmMeasureOptions {
  /** balancedness of consecutive factors and its drift from step 0 (two d x d Grams per factor; default false) */
  balancedness?: boolean;
  /** Hadamard-mode coordinates sigma_k of the class-mean logits (default false) */
  hadamard?: boolean;
  /** angles between adjacent class means (default false) */
  kgon?: boolean;
  /** NC2 of the class-mean features (one d x N x K product; default false) */
  features?: boolean;
  /** ETF alignment of the logit velocity at step 0 (default true) */
  velocity?: boolean;
}

/** Options of UFM training: learning rate, weight decay, stopping, logging and checkpoints. */
export interface UfmTrainOptions {
  learningRate: number;
  /** step cap */
  maxSteps: number;
  /** weight decay lambda on all parameters (default 0) */
  weightDecay?: number;
  /** lambda applies to steps 0..T0-1 (default: all steps when weightDecay > 0) */
  weightDecaySteps?: number;
  /** measure every this many steps (default max(1, round(maxSteps / 100))) */
  logEvery?: number;
  /** stop once the training loss at a measurement is <= this */
  lossTarget?: number;
  /**
   * The run has diverged when a step's loss is NaN/Inf or above divergenceFactor x max(loss at
   * step 0, log K) (default 1000). Deep models leaving the small-norm plateau often show a
   * transient loss spike (tens of times the starting loss) and then converge, so the default
   * only catches runaway growth.
   */
  divergenceFactor?: number;
  measure?: UfmMeasureOptions;
  /** write a checkpoint to this path every `checkpointEvery` steps and at the end */
  checkpointPath?: string;
  checkpointEvery?: number;
  /** recorded in checkpoints (e.g. the command line settings) */
  checkpointInfo?: Record<string, unknown>;
  /** With each measurement as it is logged. */
  onLog?: (m: UfmMeasurement) => void | Promise<void>;
  /** As training advances, with the steps taken so far. */
  onProgress?: (step: number) => void;
}

export interface UfmMeasurement extends LogitMeasurement {
  step: number;
  /** learning rate x step: the gradient-flow time */
  time: number;
  loss: number;
  /** ||A/||A|| - E_K/||E_K|| ||_F^2 of the centered logit velocity (step 0 only) */
  velocityEtfAlignment?: number;
  nc2Features?: number;
  /** ||W_{l+1}^T W_{l+1} - W_l W_l^T||_F per factor pair (W_0 = H) */
  balancedness?: number[];
  balancednessRelative?: number[];
  /** max_l of the change of that difference since step 0 */
  balancednessDrift?: number;
}

/** Where a run stands; what a checkpoint stores besides the parameters. */
export interface UfmTrainState {
  /** steps taken */
  step: number;
  logs: UfmMeasurement[];
  /** loss before each step taken */
  losses: number[];
  /** the factor-balance differences at step 0, when balancedness is measured (in the model's precision) */
  balanceReference?: FloatArray[];
}

export interface UfmTrainResult extends UfmTrainState {
  stopReason: 'max-steps' | 'loss-target';
  finalLoss: number;
}

/**
 * Thrown when UFM training diverges (a NaN/Inf loss, or one past `divergenceFactor` times the
 * starting loss); says at which step and suggests a smaller learning rate.
 */
export class UfmDivergenceError extends Error {
  override name = 'UfmDivergenceError';
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly learningRate: number,
    why: string,
  ) {
    super(
      `UFM training diverged at step ${step}: ${why}. ` +
        `Use a smaller learning rate (now ${learningRate}; try ${+(learningRate / 4).toPrecision(3)}).`,
    );
  }
}

function checkOptions(o: UfmTrainOptions): Required<Pick<UfmTrainOptions, 'logEvery' | 'weightDecay' | 'weightDecaySteps' | 'divergenceFactor'>> {
  const op = 'trainUfm';
  if (!o || typeof o !== 'object') throw new TypeError(`${op}: options are required ({ learningRate, maxSteps, ... })`);
  if (!(o.learningRate > 0) || !Number.isFinite(o.learningRate)) throw new RangeError(`${op}: 'learningRate' must be a finite number > 0, got ${o.learningRate}`);
  if (!Number.isInteger(o.maxSteps) || o.maxSteps < 0) throw new RangeError(`${op}: 'maxSteps' must be an integer >= 0, got ${o.maxSteps}`);
  const logEvery = o.logEvery ?? Math.max(1, Math.round(o.maxSteps / 100));
  if (!Number.isInteger(logEvery) || logEvery < 1) throw new RangeError(`${op}: 'logEvery' must be an integer >= 1, got ${o.logEvery}`);
  const weightDecay = o.weightDecay ?? 0;
  if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) throw new RangeError(`${op}: 'weightDecay' must be a finite number >= 0, got ${o.weightDecay}`);
  const weightDecaySteps = o.weightDecaySteps ?? (weightDecay > 0 ? Infinity : 0);
  if (!(weightDecaySteps >= 0)) throw new RangeError(`${op}: 'weightDecaySteps' must be >= 0, got ${o.weightDecaySteps}`);
  const divergenceFactor = o.divergenceFactor ?? 1000;
  if (!(divergenceFactor > 1)) throw new RangeError(`${op}: 'divergenceFactor' must be > 1, got ${o.divergenceFactor}`);
  if (o.lossTarget !== undefined && !(o.lossTarget >= 0)) throw new RangeError(`${op}: 'lossTarget' must be >= 0, got ${o.lossTarget}`);
  if (o.checkpointEvery !== undefined && (!Number.isInteger(o.checkpointEvery) || o.checkpointEvery < 1)) {
    throw new RangeError(`${op}: 'checkpointEvery' must be an integer >= 1, got ${o.checkpointEvery}`);
  }
  if (o.checkpointEvery !== undefined && !o.checkpointPath) throw new RangeError(`${op}: 'checkpointEvery' needs a 'checkpointPath'`);
  return { logEvery, weightDecay, weightDecaySteps, divergenceFactor };
}

/** Measures the model at `step` (one forward pass and a readback of the logits). */
export async function measureUfm(
  stepper: UfmStepper,
  step: number,
  learningRate: number,
  options: UfmMeasureOptions = {},
  balanceReference?: readonly FloatArray[],
): Promise<{ measurement: UfmMeasurement; balanceDifferences?: FloatArray[] }> {
  const model = stepper.model;
  const velocity = step === 0 && (options.velocity ?? true) ? etfAlignment(await logitVelocity(stepper.workspace), model.classes) : undefined;
  const { logits: Z, loss } = await stepper.evaluate();
  const logits = await measureLogits(Z, model.classes, model.nPerClass, { hadamard: options.hadamard, kgon: options.kgon, precision: model.precision });
  const m: UfmMeasurement = { step, time: learningRate * step, loss, ...logits };
  if (velocity !== undefined) m.velocityEtfAlignment = velocity;
  if (options.features) m.nc2Features = await featureNc2(model);
  let balanceDifferences: FloatArray[] | undefined;
  if (options.balancedness) {
    const b = await balancedness(model);
    m.balancedness = b.norms;
    m.balancednessRelative = b.relative;
    m.balancednessDrift = balanceReference ? balancednessDrift(b, balanceReference) : 0;
    balanceDifferences = b.differences;
  }
  return { measurement: m, balanceDifferences };
}

/**
 * Trains `model` in place, in its precision (UfmModel: f32 on its backend; UfmModelF64: f64 on the
 * host). Pass `resume` (from loadUfmCheckpoint) to continue a run: the step count, logs, loss
 * history and balancedness reference carry on from it.
 */
export async function trainUfm(model: AnyUfmModel, options: UfmTrainOptions, resume?: UfmTrainState): Promise<UfmTrainResult> {
  const { logEvery, weightDecay, weightDecaySteps, divergenceFactor } = checkOptions(options);
  const { learningRate: lr, maxSteps, lossTarget, measure = {}, checkpointPath, checkpointEvery, onLog, onProgress } = options;
  const state: UfmTrainState = resume
    ? { step: resume.step, logs: [...resume.logs], losses: [...resume.losses], balanceReference: resume.balanceReference }
    : { step: 0, logs: [], losses: [] };
  const stepper = ufmStepper(model, Math.min(logEvery, Math.max(1, checkpointEvery ?? logEvery)));
  const log = async (m: UfmMeasurement) => {
    state.logs.push(m);
    await onLog?.(m);
  };
  const measureNow = async () => {
    const { measurement, balanceDifferences } = await measureUfm(stepper, state.step, lr, measure, state.balanceReference);
    if (measure.balancedness && !state.balanceReference) state.balanceReference = balanceDifferences;
    return measurement;
  };
  const checkpoint = async () => {
    if (checkpointPath) await saveUfmCheckpoint(checkpointPath, model, state, options.checkpointInfo);
  };

  try {
    let current: UfmMeasurement;
    if (state.logs.length === 0 || state.logs[state.logs.length - 1]!.step !== state.step) {
      current = await measureNow();
      if (!Number.isFinite(current.loss)) {
        throw new RangeError(`trainUfm: the loss at step ${state.step} is ${current.loss} before training; the initial parameters are unusable`);
      }
      // a checkpoint between two log steps resumes without a row the uninterrupted run would not have
      if (state.logs.length === 0 || state.step % logEvery === 0) await log(current);
    } else {
      current = state.logs[state.logs.length - 1]!;
    }
    const reference = Math.max(state.logs[0]!.loss, Math.log(model.classes));
    const limit = divergenceFactor * reference;
    let stopReason: UfmTrainResult['stopReason'] = 'max-steps';
    if (lossTarget !== undefined && current.loss <= lossTarget) stopReason = 'loss-target';

    while (stopReason === 'max-steps' && state.step < maxSteps) {
      const nextLog = (Math.floor(state.step / logEvery) + 1) * logEvery;
      const nextCheckpoint = checkpointEvery ? (Math.floor(state.step / checkpointEvery) + 1) * checkpointEvery : Infinity;
      const end = Math.min(nextLog, nextCheckpoint, maxSteps);
      const block = end - state.step;
      for (let i = 0; i < block; i++) {
        const t = state.step + i;
        await stepper.step(lr, t < weightDecaySteps ? weightDecay : 0, i);
      }
      const losses = await stepper.losses(block);
      for (let i = 0; i < block; i++) {
        const v = losses[i]!;
        if (!Number.isFinite(v)) throw new UfmDivergenceError(state.step + i, v, lr, `the loss is ${v}`);
        if (v > limit) throw new UfmDivergenceError(state.step + i, v, lr, `the loss ${v.toPrecision(4)} exceeds ${divergenceFactor} x its starting level ${reference.toPrecision(4)}`);
        state.losses.push(v);
      }
      state.step = end;
      await yieldToEventLoop();
      onProgress?.(state.step);
      if (state.step % logEvery === 0 || state.step === maxSteps) {
        current = await measureNow();
        if (!Number.isFinite(current.loss)) throw new UfmDivergenceError(state.step, current.loss, lr, `the loss is ${current.loss}`);
        await log(current);
        if (lossTarget !== undefined && current.loss <= lossTarget) stopReason = 'loss-target';
      }
      if (checkpointEvery && state.step % checkpointEvery === 0) await checkpoint();
    }
    if (current.step !== state.step) {
      current = await measureNow();
      await log(current);
    }
    if (checkpointPath && !(checkpointEvery && state.step % checkpointEvery === 0)) await checkpoint();
    return { ...state, stopReason, finalLoss: current.loss };
  } finally {
    stepper.dispose();
  }
}
