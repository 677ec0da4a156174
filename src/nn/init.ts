/**
 * Seeded initial values of weights and embeddings. Every layer draws from its own Rng split off
 * the model's seed, so one seed gives the same network on every run and backend.
 */
import { Rng } from '../random.js';

/**
 * 'normal': entries N(0, scale^2 / fanIn) (He/LeCun-style; `scale` is the init scale of seed 000's
 * small-initialization experiments). 'uniform': entries U(-scale / sqrt(fanIn), scale / sqrt(fanIn))
 * (PyTorch's nn.Linear default at scale 1).
 */
export type InitKind = 'normal' | 'uniform';

/** `count` initial weights for a layer with `fanIn` inputs, drawn from `rng` by `kind` at `scale`. */
export function initValues(rng: Rng, count: number, fanIn: number, kind: InitKind, scale: number): Float32Array {
  if (kind !== 'normal' && kind !== 'uniform') throw new RangeError(`init: kind must be 'normal' or 'uniform', got '${kind}'`);
  if (!(Number.isFinite(scale) && scale >= 0)) throw new RangeError(`init: 'initScale' must be a finite number >= 0, got ${scale}`);
  const bound = scale / Math.sqrt(Math.max(fanIn, 1));
  return kind === 'normal' ? rng.normals(count, bound) : rng.uniforms(count, -bound, bound);
}

/** An Rng from a seed (default 0) or an Rng to draw a fresh stream from. */
export function rngOf(seed: number | Rng | undefined): Rng {
  if (seed instanceof Rng) return seed.split();
  return new Rng(seed ?? 0);
}

/** Throws unless `value` is a positive integer; names the option. */
export function positiveInt(op: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${op}: '${name}' must be a positive integer, got ${value}`);
  return value;
}
