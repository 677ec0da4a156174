/**
 * Optimizers over a model's parameters: SGD with momentum and Adam, each update one fused kernel
 * per parameter (src/ops/nn.ts). Weight decay adds lambda theta to the gradient, the exact
 * gradient of loss + lambda/2 ||theta||^2 (SPEC section 5), for parameters with `decay` set, with
 * lambda times the parameter's `decayScale` where it has one (a per-parameter lambda);
 * frozen parameters are skipped. `step(params, lr)` takes the learning rate of this step (for
 * schedules); without one the configured rate is used.
 *
 * State (moment buffers) lives on the device next to each parameter, created at zero on the
 * parameter's first step and keyed by parameter name; `state()` reads it back for a checkpoint
 * and `loadState()` restores it (uploaded when each parameter is next stepped).
 */
import { adamUpdate, copyInto, sgdUpdate } from '../ops/nn.js';
import { Matrix } from '../tensor.js';
import type { Parameter } from './module.js';

/** Options of sgd. */
export interface SgdOptions {
  lr: number;
  /** heavy-ball momentum in [0, 1) (default 0), PyTorch convention: v = momentum v + g; p -= lr v */
  momentum?: number;
  weightDecay?: number;
}

/**
 * Options of adam. Weight decay is added to the gradient (the L2 penalty, not AdamW). Defaults:
 * beta1 0.9, beta2 0.999, eps 1e-8, no weight decay.
 */
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/**
 * What state() returns and loadState() takes: plain data, JSON-friendly apart from the arrays.
 * loadState() also accepts Matrices in place of the Float32Arrays (copied on first use).
 */
export interface OptimizerState {
  kind: 'sgd' | 'adam';
  config: SgdOptions | AdamOptions;
  /** per parameter name: steps taken and moment buffers (velocity for SGD; m and v for Adam) */
  params: Record<string, { step: number; buffers: Record<string, Float32Array> }>;
}

/**
 * An optimizer made by sgd or adam: per-parameter state on the device, saved and restored with
 * checkpoints.
 */
export interface Optimizer {
  readonly kind: 'sgd' | 'adam';
  readonly config: Readonly<SgdOptions | AdamOptions>;
  /** Updates every parameter that is not frozen from its gradient, at `lr` (default: the configured lr). */
  step(params: Parameter[], lr?: number): Promise<void>;
  /** The moment buffers and step counts, read back for a checkpoint. */
  state(): Promise<OptimizerState>;
  /** Restores what state() returned (from a checkpoint); throws if it is another optimizer's. */
  loadState(state: OptimizerState): void;
  /** frees the moment buffers */
  dispose(): void;
}

interface Slots {
  step: number;
  buffers: Record<string, Matrix>;
}

abstract class BaseOptimizer implements Optimizer {
  abstract readonly kind: 'sgd' | 'adam';
  protected readonly slots = new Map<string, Slots>();
  #pending: OptimizerState['params'] = {};

  constructor(readonly config: Readonly<SgdOptions | AdamOptions>) {
    const op = this.constructor.name.toLowerCase();
    if (!(Number.isFinite(config.lr) && config.lr >= 0)) throw new RangeError(`${op}: 'lr' must be a finite number >= 0, got ${config.lr}`);
    const wd = config.weightDecay ?? 0;
    if (!(Number.isFinite(wd) && wd >= 0)) throw new RangeError(`${op}: 'weightDecay' must be a finite number >= 0, got ${wd}`);
  }

  /** names of the moment buffers this optimizer keeps per parameter */
  protected abstract bufferNames(): string[];
  protected abstract update(p: Parameter, slots: Slots, lr: number, weightDecay: number): Promise<void>;

  protected async slotsFor(p: Parameter): Promise<Slots> {
    let s = this.slots.get(p.name);
    if (s) {
      if (Object.values(s.buffers).some((b) => b.size !== p.value.size)) {
        throw new RangeError(`${this.kind}: parameter '${p.name}' changed size (${p.value.describe()})`);
      }
      return s;
    }
    const ctx = p.value.context;
    const saved = this.#pending[p.name];
    s = { step: saved?.step ?? 0, buffers: {} };
    for (const name of this.bufferNames()) {
      const data = saved?.buffers[name] as Float32Array | Matrix | undefined;
      const size = data instanceof Matrix ? data.size : data?.length;
      if (data && size !== p.value.size) {
        throw new RangeError(`${this.kind}.loadState: buffer '${name}' of '${p.name}' has ${size} values, the parameter ${p.value.size}`);
      }
      if (data instanceof Matrix) {
        // a checkpoint loader may hand back device matrices: copy, the caller keeps its own
        const m = ctx.empty(p.value.shape);
        await copyInto(data, m);
        s.buffers[name] = m;
      } else {
        s.buffers[name] = data ? ctx.matrix(data, p.value.shape, { name: `${p.name}.${name}` }) : ctx.zeros(p.value.shape);
      }
    }
    delete this.#pending[p.name];
    this.slots.set(p.name, s);
    return s;
  }

  async step(params: Parameter[], lr?: number): Promise<void> {
    const rate = lr ?? this.config.lr;
    if (!Number.isFinite(rate) || rate < 0) throw new RangeError(`${this.kind}.step: learning rate must be a finite number >= 0, got ${rate}`);
    const seen = new Set<string>();
    for (const p of params) {
      if (seen.has(p.name)) throw new RangeError(`${this.kind}.step: two parameters are named '${p.name}'; names key the optimizer state`);
      seen.add(p.name);
      if (p.frozen) continue;
      const s = await this.slotsFor(p);
      s.step++;
      await this.update(p, s, rate, p.decay ? (this.config.weightDecay ?? 0) * decayScaleOf(p, this.kind) : 0);
    }
  }

  async state(): Promise<OptimizerState> {
    const params: OptimizerState['params'] = { ...this.#pending };
    for (const [name, s] of this.slots) {
      const buffers: Record<string, Float32Array> = {};
      for (const [b, m] of Object.entries(s.buffers)) buffers[b] = await m.read();
      params[name] = { step: s.step, buffers };
    }
    return { kind: this.kind, config: { ...this.config }, params };
  }

  loadState(state: OptimizerState): void {
    if (!state || state.kind !== this.kind) throw new TypeError(`${this.kind}.loadState: the state is from a '${state?.kind}' optimizer`);
    this.dispose();
    this.#pending = { ...state.params };
  }

  dispose(): void {
    for (const s of this.slots.values()) for (const m of Object.values(s.buffers)) m.dispose();
    this.slots.clear();
  }
}

/** A parameter's multiplier of the weight decay (default 1), checked. */
function decayScaleOf(p: Parameter, op: string): number {
  const scale = p.decayScale ?? 1;
  if (!(Number.isFinite(scale) && scale >= 0)) throw new RangeError(`${op}.step: parameter '${p.name}' has decayScale ${scale}; it must be a finite number >= 0`);
  return scale;
}

class Sgd extends BaseOptimizer {
  readonly kind = 'sgd' as const;

  constructor(readonly options: SgdOptions) {
    super(options);
    const m = options.momentum ?? 0;
    if (!(m >= 0 && m < 1)) throw new RangeError(`sgd: 'momentum' must be in [0, 1), got ${m}`);
  }

  protected bufferNames(): string[] {
    return (this.options.momentum ?? 0) > 0 ? ['velocity'] : [];
  }

  protected async update(p: Parameter, s: Slots, lr: number, weightDecay: number): Promise<void> {
    await sgdUpdate(p.value, p.grad, { lr, momentum: this.options.momentum ?? 0, weightDecay, velocity: s.buffers.velocity });
  }
}

class Adam extends BaseOptimizer {
  readonly kind = 'adam' as const;

  constructor(readonly options: AdamOptions) {
    super(options);
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = options;
    for (const [name, b] of [['beta1', beta1], ['beta2', beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new RangeError(`adam: '${name}' must be in [0, 1), got ${b}`);
    }
    if (!(Number.isFinite(eps) && eps > 0)) throw new RangeError(`adam: 'eps' must be a finite number > 0, got ${eps}`);
  }

  protected bufferNames(): string[] {
    return ['m', 'v'];
  }

  protected async update(p: Parameter, s: Slots, lr: number, weightDecay: number): Promise<void> {
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = this.options;
    await adamUpdate(p.value, p.grad, s.buffers.m!, s.buffers.v!, { lr, beta1, beta2, eps, weightDecay, step: s.step });
  }
}

/** SGD with optional momentum and weight decay. */
export function sgd(options: SgdOptions): Optimizer {
  return new Sgd(options);
}

/** Adam (bias-corrected; defaults beta1 0.9, beta2 0.999, eps 1e-8) with L2 weight decay in the gradient. */
export function adam(options: AdamOptions): Optimizer {
  return new Adam(options);
}
