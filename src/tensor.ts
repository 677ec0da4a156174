/**
 * Matrix: an f32, row-major matrix (or a batch of equally shaped matrices) living on one backend.
 * `read()` is the only way its numbers come back to JavaScript.
 *
 * Storage is released by `dispose()`. A FinalizationRegistry releases what a caller forgot, but
 * only when the garbage collector gets to it, so long-running code should dispose explicitly.
 */
import type { Backend, Storage } from './backend/types.js';
import type { Context } from './context.js';

/** [rows, cols], or [batch, rows, cols] for a batch of equally shaped matrices. */
export type Shape = readonly [rows: number, cols: number] | readonly [batch: number, rows: number, cols: number];

interface Owner {
  backend: Backend;
  storage: Storage;
}

const forgotten = new FinalizationRegistry<Owner>(({ backend, storage }) => {
  try {
    backend.release(storage);
  } catch {
    // the backend may already be disposed; nothing left to free
  }
});

/**
 * An f32, row-major matrix (or batch of them) on one context's backend. Created by a Context or
 * returned by ops; `read()` brings the values back, `dispose()` frees the storage.
 */
export class Matrix {
  readonly batch: number;
  readonly rows: number;
  readonly cols: number;
  readonly context: Context;
  #storage: Storage | undefined;

  /** Wraps storage the context's backend already holds. Users create matrices through a Context. */
  constructor(context: Context, storage: Storage, shape: Shape) {
    const [batch, rows, cols] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
    const backend = context.backend;
    this.context = context;
    this.batch = batch;
    this.rows = rows;
    this.cols = cols;
    this.#storage = storage;
    forgotten.register(this, { backend, storage }, this);
  }

  /** The backend of the context the matrix belongs to. */
  get backend(): Backend {
    return this.context.backend;
  }

  /** [rows, cols], or [batch, rows, cols] when batched */
  get shape(): Shape {
    return this.batch === 1 ? [this.rows, this.cols] : [this.batch, this.rows, this.cols];
  }

  /** number of elements */
  get size(): number {
    return this.batch * this.rows * this.cols;
  }

  /** True once dispose() has run; any further use throws. */
  get disposed(): boolean {
    return this.#storage === undefined;
  }

  /** e.g. '3x4' or '2x3x4' */
  describe(): string {
    return this.shape.join('x');
  }

  /** The backend storage; throws if the matrix has been disposed. */
  storage(what = 'matrix'): Storage {
    if (this.#storage === undefined) throw new Error(`${what} (${this.describe()} Matrix) has been disposed`);
    return this.#storage;
  }

  /** Copies the values back: row-major, batch after batch. */
  async read(): Promise<Float32Array> {
    // the same on every backend: the cpu's memory would still be readable, a GPU's is gone
    if (this.context.disposed) throw new Error(`read: the context of this ${this.describe()} Matrix has been disposed`);
    const s = this.storage('read: matrix');
    return this.backend.download(s, this.size);
  }

  /** Reads into nested arrays (rows of numbers); for small matrices and tests. */
  async toArray(): Promise<number[][]> {
    if (this.batch !== 1) throw new Error(`toArray: matrix is batched (${this.describe()}); use read()`);
    const d = await this.read();
    return Array.from({ length: this.rows }, (_, i) => Array.from(d.subarray(i * this.cols, (i + 1) * this.cols)));
  }

  /** Frees the storage now (safe while queued GPU work still uses it; calling it twice is harmless). */
  dispose(): void {
    const s = this.#storage;
    if (s === undefined) return;
    this.#storage = undefined;
    forgotten.unregister(this);
    this.backend.release(s);
  }

  /** `using m = ...` disposes the matrix when the scope ends. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
