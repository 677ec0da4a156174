/**
 * Mini-batch iteration with a seeded shuffle, resumable from a small state.
 *
 * Each epoch is a fresh permutation of 0..n-1 drawn from its own generator, seeded by
 * (seed, epoch), so the whole order of a run follows from the seed and the position
 * { epoch, cursor } alone: a checkpoint stores those two numbers instead of a generator's state,
 * and a resumed run sees exactly the batches the uninterrupted one would have. A batch never
 * straddles two epochs; the last one of an epoch is shorter unless `dropLast` is set.
 */
import { Rng } from '../random.js';

/** Options of BatchSampler. */
export interface BatchSamplerOptions {
  /** shuffle each epoch (default true); false walks 0..n-1 in order */
  shuffle?: boolean;
  /** skip the short last batch of each epoch (default false) */
  dropLast?: boolean;
}

/** Where a sampler stands: the next batch starts at `cursor` of epoch `epoch`'s order. */
export interface SamplerState {
  seed: number;
  epoch: number;
  cursor: number;
}

/** A 32-bit mix of seed and epoch (murmur3 finalizer), so nearby epochs get unrelated streams. */
function epochSeed(seed: number, epoch: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) & 0x7fffffff;
}

/** The order of epoch `epoch`: a permutation of 0..n-1. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle = true): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!shuffle) return order;
  const rng = new Rng(epochSeed(seed, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/**
 * Yields the sample indices of each mini-batch of a training run (see the file comment), and
 * resumes exactly from state().
 */
export class BatchSampler {
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  #epoch = 0;
  #cursor = 0;
  #order: Int32Array | undefined;

  constructor(
    readonly n: number,
    readonly batchSize: number,
    readonly seed = 0,
    options: BatchSamplerOptions = {},
  ) {
    const op = 'BatchSampler';
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${op}: the number of samples must be a positive integer, got ${n}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`${op}: 'batchSize' must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(seed)) throw new RangeError(`${op}: 'seed' must be an integer, got ${seed}`);
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    if (this.dropLast && batchSize > n) throw new RangeError(`${op}: 'batchSize' ${batchSize} exceeds the ${n} samples and dropLast would leave no batch`);
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.n / this.batchSize) : Math.ceil(this.n / this.batchSize);
  }

  /** Whether every batch is the whole data set in order (full-batch training). */
  get fullBatch(): boolean {
    return this.batchSize >= this.n;
  }

  /** The position to store in a checkpoint: the seed, the epoch and the cursor within it. */
  state(): SamplerState {
    return { seed: this.seed, epoch: this.#epoch, cursor: this.#cursor };
  }

  /** Continues from a state saved by `state()` (same n, batch size and seed). */
  setState(s: SamplerState): void {
    if (s.seed !== this.seed) throw new RangeError(`BatchSampler.setState: the state was saved with seed ${s.seed}, this sampler has seed ${this.seed}`);
    if (!Number.isInteger(s.epoch) || s.epoch < 0 || !Number.isInteger(s.cursor) || s.cursor < 0 || s.cursor > this.n) {
      throw new RangeError(`BatchSampler.setState: bad state epoch ${s.epoch}, cursor ${s.cursor} for ${this.n} samples`);
    }
    this.#epoch = s.epoch;
    this.#cursor = s.cursor;
    this.#order = undefined;
  }

  /** Indices of the next batch. A full batch is always 0..n-1 in order. */
  next(): Int32Array {
    const end = this.dropLast ? this.batchesPerEpoch * this.batchSize : this.n;
    if (this.#cursor >= end) {
      this.#epoch++;
      this.#cursor = 0;
      this.#order = undefined;
    }
    if (this.fullBatch) {
      this.#cursor = this.n;
      return epochOrder(this.n, this.seed, 0, false);
    }
    this.#order ??= epochOrder(this.n, this.seed, this.#epoch, this.shuffle);
    const stop = Math.min(this.#cursor + this.batchSize, end);
    const batch = this.#order.slice(this.#cursor, stop);
    this.#cursor = stop;
    return batch;
  }
}

/** Rows `indices` of a row-major matrix with `cols` columns, into `out` (allocated when absent). */
export function gatherRows(X: Float32Array, cols: number, indices: ArrayLike<number>, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(indices.length * cols);
  if (dst.length < indices.length * cols) throw new RangeError(`gatherRows: 'out' holds ${dst.length} values but ${indices.length} rows of ${cols} need ${indices.length * cols}`);
  for (let t = 0; t < indices.length; t++) {
    const i = indices[t]!;
    dst.set(X.subarray(i * cols, (i + 1) * cols), t * cols);
  }
  return dst;
}

/** Entries `indices` of an array (labels of a batch). */
export function gatherLabels(labels: Int32Array, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length);
  for (let t = 0; t < indices.length; t++) out[t] = labels[indices[t]!]!;
  return out;
}
