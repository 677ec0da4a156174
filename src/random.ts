/**
 * Seeded randomness. Every random draw in ncgpu comes from an `Rng` built from one integer seed,
 * so the same seed gives the same numbers on every run and backend.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/**
 * A seeded random number generator (xoroshiro128+): the same seed gives the same numbers, so
 * seeded ncgpu runs are reproducible.
 */
export class Rng {
  private readonly gen: ReturnType<typeof xoroshiro128plus>;
  private spare: number | undefined;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed)) throw new TypeError(`Rng: seed must be an integer, got ${seed}`);
    this.gen = xoroshiro128plus(seed);
  }

  /** uniform in [0, 1) */
  uniform(): number {
    return uniformFloat64(this.gen);
  }

  /** integer uniform in [lo, hi] */
  int(lo: number, hi: number): number {
    return uniformInt(this.gen, lo, hi);
  }

  /** standard normal (Box-Muller, both values used) */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** `n` draws from N(mean, std^2). */
  normals(n: number, std = 1, mean = 0): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** The same draws as `normals` kept in f64: normals(...)[i] is Math.fround of element i. */
  normalsF64(n: number, std = 1, mean = 0): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** `n` draws uniform in [lo, hi). */
  uniforms(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.uniform();
    return out;
  }

  /**
   * `count` distinct integers drawn uniformly from 0..n-1, in ascending order (a partial
   * Fisher-Yates shuffle; all of 0..n-1 when count >= n).
   */
  choose(n: number, count: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Rng.choose: n must be a non-negative integer, got ${n}`);
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`Rng.choose: count must be a non-negative integer, got ${count}`);
    const take = Math.min(count, n);
    const pool = new Int32Array(n);
    for (let i = 0; i < n; i++) pool[i] = i;
    for (let i = 0; i < take; i++) {
      const j = this.int(i, n - 1);
      const t = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = t;
    }
    return pool.slice(0, take).sort();
  }

  /** A fresh generator seeded from this one, for independent streams. */
  split(): Rng {
    return new Rng(this.int(0, 0x7fffffff));
  }
}
