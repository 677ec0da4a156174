/**
 * The training loop for src/nn models: full-batch or mini-batch steps with a seeded shuffle, a
 * learning-rate schedule, the optimizer's own weight decay, evaluation hooks that see penultimate
 * features, outputs and captured per-layer activations, checkpoints to resume from, and a clear
 * stop on NaN or divergence.
 *
 * Why the loss is kept on the device: every step writes its loss into one slot of a 1 x logEvery
 * history matrix and nothing is read back until the block of steps ends (at the next log,
 * evaluation or checkpoint). On a GPU the steps then queue back to back; the host only waits once
 * per block. Divergence is detected at that point, and the error names the first bad step.
 */
import type { Context } from '../context.js';
import { BatchSampler, gatherRows, type SamplerState } from '../data/batches.js';
import type { Shape } from '../tensor.js';
import { Matrix } from '../tensor.js';
import { readParameters, saveNnCheckpoint } from './checkpoint.js';
import type { Module, Parameter } from './module.js';
import type { Objective } from './objective.js';
import { checkSchedule, learningRateAt, type Schedule, type ScheduleKind } from './schedule.js';
import { yieldToEventLoop } from '../eventLoop.js';

/** What the trainer needs of an optimizer (src/nn/optim.ts provides sgd and adam). */
export interface TrainableOptimizer {
  /** Updates the parameters from their gradients at `learningRate`. */
  step(params: Parameter[], learningRate?: number): void | Promise<void>;
  /** Its state, for checkpoints. */
  state?(): unknown;
  /** Restores what state() returned, when resuming from a checkpoint. */
  loadState?(state: never): void | Promise<void>;
  /** frees the optimizer's buffers */
  dispose?(): void;
  /** the optimizer's settings; `lr` is the default base learning rate of trainNetwork */
  readonly config?: { readonly lr?: number };
}

/** Training inputs in host memory: n samples of `features` values each, row-major. */
export interface TrainInputs {
  X: Float32Array;
  n: number;
  features: number;
  /**
   * the Matrix shape a batch of `rows` samples is fed to the model as (default [rows, features]);
   * a sequence model reads rows * seqLen token rows of features / seqLen values, the same memory
   */
  shape?: (rows: number) => Shape;
}

export interface EvalData extends TrainInputs {
  /** class labels of the samples (for the metrics the hook computes) */
  labels?: Int32Array;
}

/** What an evaluation hook receives; every Matrix is disposed when the hook returns. */
export interface EvalPoint {
  step: number;
  /** the mean training loss of the last step taken (NaN before the first) */
  loss: number;
  model: Module;
  /** the model's outputs on the evaluation data (n x C) */
  outputs: Matrix;
  /** the 'penultimate' capture, when the model produced one */
  features?: Matrix;
  /** every other requested capture, by name (e.g. 'layer.2.input') */
  activations: Map<string, Matrix>;
  labels?: Int32Array;
}

/**
 * Options of trainNetwork: the optimizer and objective, the steps and batches, the schedule, and the
 * hooks for logging, evaluation and checkpoints.
 */
export interface TrainOptions {
  optimizer: TrainableOptimizer;
  objective: Objective;
  /** total optimizer steps (a resumed run counts the steps already taken) */
  steps: number;
  /** samples per step (default: all, i.e. full-batch) */
  batchSize?: number;
  /** base learning rate the schedule scales (default: the optimizer's configured lr) */
  learningRate?: number;
  /** default 'constant' */
  schedule?: Schedule | ScheduleKind;
  /** seed of the per-epoch shuffle (default 0) */
  seed?: number;
  /** read the loss history back, check it and call onLog every this many steps (default max(1, steps / 100)) */
  logEvery?: number;
  /**
   * stop with NnDivergenceError when a step's loss is NaN/Inf or exceeds divergenceFactor times the
   * first step's loss (default 1000)
   */
  divergenceFactor?: number;
  /** run onEval every this many steps and after the last step (default: only after the last) */
  evalEvery?: number;
  /** evaluate on this data (default: the training inputs, with `labels` from trainLabels) */
  evalData?: EvalData;
  /** labels of the training samples, passed to onEval when evaluating on the training data */
  trainLabels?: Int32Array;
  /** captures handed to onEval besides 'penultimate' (names, or a test; default none) */
  capture?: readonly string[] | ((name: string) => boolean);
  /** samples per evaluation forward pass (default 1024) */
  evalBatchSize?: number;
  /** returns measurements recorded in the logs for this step */
  onEval?: (e: EvalPoint) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void;
  /** after each loss readback, with the steps taken and the latest loss */
  onLog?: (step: number, loss: number) => void | Promise<void>;
  /** As training advances, with the steps taken so far (e.g. to drive a progress bar). */
  onProgress?: (step: number) => void;
  /** write a checkpoint here every checkpointEvery steps and at the end */
  checkpointPath?: string;
  checkpointEvery?: number;
  /** recorded in checkpoints (the run's settings) */
  checkpointInfo?: Record<string, unknown>;
}

/** Where a run stands; a checkpoint stores it with the parameters and optimizer state. */
export interface TrainState {
  step: number;
  sampler?: SamplerState;
  /** mean training loss of each step taken (before its update) */
  losses: number[];
  /** evaluation records: { step, loss, ...whatever onEval returned } */
  logs: Record<string, unknown>[];
}

export interface TrainResult extends TrainState {
  finalLoss: number;
  seconds: number;
}

/**
 * Thrown by trainNetwork when a loss is NaN/Inf or grows past `divergenceFactor` times the first
 * step's loss; says at which step and suggests a smaller learning rate.
 */
export class NnDivergenceError extends Error {
  override name = 'NnDivergenceError';
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly learningRate: number,
    why: string,
  ) {
    super(
      `training diverged at step ${step}: ${why}. ` +
        `Use a smaller learning rate (now ${learningRate}; try ${+(learningRate / 4).toPrecision(3)}).`,
    );
  }
}

interface Checked {
  batchSize: number;
  logEvery: number;
  divergenceFactor: number;
  schedule: Schedule;
  seed: number;
  learningRate: number;
}

function checkOptions(o: TrainOptions, data: TrainInputs): Checked {
  const op = 'trainNetwork';
  if (!o || typeof o !== 'object') throw new TypeError(`${op}: options are required ({ optimizer, objective, steps, ... })`);
  if (!o.optimizer || typeof o.optimizer.step !== 'function') throw new TypeError(`${op}: 'optimizer' must have a step(params, lr) method (sgd or adam from src/nn/optim.ts)`);
  if (!o.objective || typeof o.objective.lossAndGrad !== 'function') throw new TypeError(`${op}: 'objective' is required (crossEntropyObjective or mseObjective)`);
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new RangeError(`${op}: 'steps' must be an integer >= 0, got ${o.steps}`);
  const learningRate = o.learningRate ?? o.optimizer?.config?.lr;
  if (learningRate === undefined) throw new TypeError(`${op}: 'learningRate' is required when the optimizer has no configured lr`);
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new RangeError(`${op}: 'learningRate' must be a finite number > 0, got ${learningRate}`);
  if (!Number.isInteger(data.n) || data.n < 1 || !Number.isInteger(data.features) || data.features < 1) {
    throw new RangeError(`${op}: the training inputs must have n >= 1 samples of >= 1 features, got ${data.n} x ${data.features}`);
  }
  if (data.X.length !== data.n * data.features) throw new RangeError(`${op}: X holds ${data.X.length} values but ${data.n} samples x ${data.features} need ${data.n * data.features}`);
  const batchSize = o.batchSize ?? data.n;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`${op}: 'batchSize' must be a positive integer, got ${o.batchSize}`);
  const logEvery = o.logEvery ?? Math.max(1, Math.round(o.steps / 100));
  if (!Number.isInteger(logEvery) || logEvery < 1) throw new RangeError(`${op}: 'logEvery' must be an integer >= 1, got ${o.logEvery}`);
  const divergenceFactor = o.divergenceFactor ?? 1000;
  if (!(divergenceFactor > 1)) throw new RangeError(`${op}: 'divergenceFactor' must be > 1, got ${o.divergenceFactor}`);
  for (const [name, v] of [['evalEvery', o.evalEvery], ['checkpointEvery', o.checkpointEvery], ['evalBatchSize', o.evalBatchSize]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`${op}: '${name}' must be an integer >= 1, got ${v}`);
  }
  if (o.checkpointEvery !== undefined && !o.checkpointPath) throw new RangeError(`${op}: 'checkpointEvery' needs a 'checkpointPath'`);
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`${op}: 'seed' must be an integer, got ${o.seed}`);
  return { batchSize, logEvery, divergenceFactor, schedule: checkSchedule(op, o.schedule ?? 'constant'), seed, learningRate };
}

const wants = (capture: TrainOptions['capture'], name: string) =>
  capture === undefined ? false : typeof capture === 'function' ? capture(name) : capture.includes(name);

/** Host rows of several batches joined into one Matrix. */
class RowCollector {
  parts: Float32Array[] = [];
  rows = 0;
  cols = -1;
  add(data: Float32Array, rows: number, cols: number, name: string): void {
    if (this.cols >= 0 && cols !== this.cols) throw new RangeError(`evaluation: capture '${name}' has ${cols} columns in one batch and ${this.cols} in another`);
    this.cols = cols;
    this.parts.push(data);
    this.rows += rows;
  }
  matrix(ctx: Context, name: string): Matrix {
    const all = new Float32Array(this.rows * this.cols);
    let at = 0;
    for (const p of this.parts) {
      all.set(p, at);
      at += p.length;
    }
    return ctx.matrix(all, [this.rows, this.cols], { name });
  }
}

/**
 * Runs `model` over `data` in evaluation mode (batches of `batchSize`) and returns its outputs and
 * the requested captures joined over all samples. The caller disposes the matrices.
 */
export async function evaluateNetwork(
  model: Module,
  ctx: Context,
  data: TrainInputs,
  options: { batchSize?: number; capture?: TrainOptions['capture'] } = {},
): Promise<{ outputs: Matrix; captures: Map<string, Matrix> }> {
  const batchSize = options.batchSize ?? 1024;
  const outputs = new RowCollector();
  const captures = new Map<string, RowCollector>();
  const shape = data.shape ?? ((rows: number) => [rows, data.features] as const);
  for (let start = 0; start < data.n; start += batchSize) {
    const rows = Math.min(batchSize, data.n - start);
    const x = ctx.matrix(data.X.subarray(start * data.features, (start + rows) * data.features), shape(rows), { name: 'evaluation inputs' });
    const map = new Map<string, Matrix>();
    try {
      // y is the model's reusable output buffer: read, not disposed
      const y = await model.forward(x, { capture: map, training: false });
      outputs.add(await y.read(), y.rows * y.batch, y.cols, 'outputs');
      for (const [name, m] of map) {
        if (name === 'penultimate' || wants(options.capture, name)) {
          let c = captures.get(name);
          if (!c) captures.set(name, (c = new RowCollector()));
          c.add(await m.read(), m.rows * m.batch, m.cols, name);
        }
      }
    } finally {
      x.dispose();
      for (const m of map.values()) m.dispose();
    }
  }
  const result = new Map<string, Matrix>();
  for (const [name, c] of captures) result.set(name, c.matrix(ctx, name));
  return { outputs: outputs.matrix(ctx, 'outputs'), captures: result };
}

/** Device-side history of per-step losses, read back once per block of steps. */
function lossHistory(ctx: Context, slots: number): Matrix {
  return ctx.zeros([1, slots]);
}

/**
 * Trains `model` in place and returns the loss history and evaluation logs. Pass `resume` (from
 * loadTrainingCheckpoint, after it restored parameters and optimizer state) to continue a run:
 * the step count, shuffle position, losses and logs carry on from it.
 */
export async function trainNetwork(model: Module, data: TrainInputs, options: TrainOptions, resume?: TrainState): Promise<TrainResult> {
  const { batchSize, logEvery, divergenceFactor, schedule, seed, learningRate } = checkOptions(options, data);
  const { optimizer, objective, steps, evalEvery, onEval, checkpointPath, checkpointEvery } = options;
  const started = performance.now();
  const params = model.parameters();
  if (params.length === 0) throw new RangeError(`trainNetwork: model '${model.name}' has no parameters`);
  const ctx = params[0]!.value.context;
  const sampler = new BatchSampler(data.n, batchSize, seed);
  if (resume?.sampler) sampler.setState(resume.sampler);
  const state: TrainState = {
    step: resume?.step ?? 0,
    sampler: sampler.state(),
    losses: [...(resume?.losses ?? [])],
    logs: [...(resume?.logs ?? [])],
  };
  const shape = data.shape ?? ((rows: number) => [rows, data.features] as const);
  // full batch: the inputs go up once and stay
  const fullX = sampler.fullBatch ? ctx.matrix(data.X, shape(data.n), { name: 'training inputs' }) : undefined;
  const slots = Math.min(logEvery, evalEvery ?? logEvery, checkpointEvery ?? logEvery);
  const history = lossHistory(ctx, slots);
  const batchBuffer = fullX ? undefined : new Float32Array(batchSize * data.features);
  const rateAt = (t: number) => learningRateAt(schedule, learningRate, t, steps);
  const lastLoss = () => state.losses.at(-1) ?? NaN;

  const evaluate = async () => {
    if (!onEval) return;
    const evalData: EvalData = options.evalData ?? { ...data, labels: options.trainLabels };
    const { outputs, captures } = await evaluateNetwork(model, ctx, evalData, { batchSize: options.evalBatchSize, capture: options.capture });
    try {
      const features = captures.get('penultimate');
      const activations = new Map([...captures].filter(([name]) => name !== 'penultimate'));
      const record = await onEval({ step: state.step, loss: lastLoss(), model, outputs, features, activations, labels: evalData.labels });
      state.logs.push({ step: state.step, loss: lastLoss(), ...(record ?? {}) });
    } finally {
      outputs.dispose();
      for (const m of captures.values()) m.dispose();
    }
  };
  const checkpoint = async () => {
    if (!checkpointPath) return;
    state.sampler = sampler.state();
    await saveNnCheckpoint(checkpointPath, {
      step: state.step,
      sampler: state.sampler,
      parameters: await readParameters(params),
      optimizer: await optimizer.state?.(),
      losses: state.losses,
      logs: state.logs,
      info: options.checkpointInfo,
    });
  };

  try {
    if (state.step === 0 && evalEvery !== undefined && state.logs.length === 0) await evaluate();
    let reference = state.losses[0];
    while (state.step < steps) {
      const next = (every: number | undefined) => (every ? (Math.floor(state.step / every) + 1) * every : Infinity);
      const end = Math.min(next(logEvery), next(evalEvery), next(checkpointEvery), steps);
      const block = end - state.step;
      for (let i = 0; i < block; i++) {
        const t = state.step + i;
        let x = fullX;
        let indices: Int32Array | null = null;
        if (!x) {
          indices = sampler.next();
          const rows = indices.length;
          gatherRows(data.X, data.features, indices, batchBuffer);
          x = ctx.matrix(batchBuffer!.subarray(0, rows * data.features), shape(rows), { name: 'batch inputs' });
        }
        try {
          // outputs and input gradients are the modules' reusable buffers: not ours to dispose
          const y = await model.forward(x, { training: true });
          const dy = await objective.lossAndGrad(y, indices, history, i);
          // parameter gradients only: no dL/dx at the input, nothing below a frozen body
          if (model.backwardParameters) await model.backwardParameters(dy);
          else await model.backward(dy);
          await optimizer.step(params, rateAt(t));
        } finally {
          if (x !== fullX) x.dispose();
        }
      }
      const losses = await history.read();
      for (let i = 0; i < block; i++) {
        const v = losses[i]!;
        const t = state.step + i;
        if (!Number.isFinite(v)) throw new NnDivergenceError(t, v, rateAt(t), `the training loss is ${v}`);
        reference ??= v;
        if (v > divergenceFactor * Math.max(reference, 1e-12)) {
          throw new NnDivergenceError(t, v, rateAt(t), `the training loss ${v.toPrecision(4)} exceeds ${divergenceFactor} x its first value ${reference.toPrecision(4)}`);
        }
        state.losses.push(v);
      }
      state.step = end;
      state.sampler = sampler.state();
      await yieldToEventLoop();
      options.onProgress?.(state.step);
      if (state.step % logEvery === 0 || state.step === steps) await options.onLog?.(state.step, lastLoss());
      if ((evalEvery && state.step % evalEvery === 0) || (state.step === steps && onEval)) await evaluate();
      if (checkpointEvery && state.step % checkpointEvery === 0) await checkpoint();
    }
    if (onEval && (state.logs.length === 0 || state.logs.at(-1)!.step !== state.step)) await evaluate();
    if (checkpointPath && !(checkpointEvery && state.step % checkpointEvery === 0 && state.step > 0)) await checkpoint();
    return { ...state, finalLoss: lastLoss(), seconds: (performance.now() - started) / 1000 };
  } finally {
    history.dispose();
    fullX?.dispose();
  }
}
