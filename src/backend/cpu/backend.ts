/**
 * The cpu backend: matrices are Float32Arrays, GEMM is CBLAS, the rest is the addon's threaded
 * C++. Large calls run on a worker thread so the event loop (progress bars, other requests) keeps
 * turning; small ones run inline, where a thread hop would cost more than the work.
 */
import type { AdamUpdateArgs, AgopArgs, AgopMethod, Backend, EmbeddingArgs, SgdUpdateArgs, BackendInfo, BackendStats, GemmArgs, PairwiseArgs, Storage, UnaryOp } from '../types.js';
import { PAIRWISE_KERNEL_CODES, UNARY_OP_CODES } from '../types.js';
import { addon, type Addon } from './addon.js';

interface CpuStorage {
  data: Float32Array;
  released?: boolean;
  /** a row panel: a view into its group's array, never pooled on its own */
  group?: PanelGroup;
}

/** The panels of one allocPanels call: when the last is released, the whole array may be reused. */
interface PanelGroup {
  host: Float32Array;
  live: number;
}

/**
 * Below this many floating-point operations (about a millisecond of BLAS) a call runs on the JS
 * thread: the hop to a worker costs tens of microseconds, which would show on small GEMMs.
 */
const ASYNC_THRESHOLD_FLOPS = 2 ** 27;
/** Released arrays kept for reuse: a fresh Float32Array is zero-filled and page-faulted on first touch. */
const POOL_BYTES = 256 * 2 ** 20;

const data = (s: Storage): Float32Array => (s as CpuStorage).data;

type NnKernel = 'biasAdd' | 'reluBackward' | 'softmaxCeRows' | 'mseRows' | 'layerNorm' | 'layerNormBackward' | 'rowSoftmax'
  | 'softmaxBackward' | 'embedding' | 'embeddingBackward' | 'sgdUpdate' | 'adamUpdate';

const AGOP_METHOD_CODES = { batched: 0, gram: 1, 'gram-if-accurate': 2 } as const;

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly agopMethods: readonly AgopMethod[] = ['batched', 'gram'];
  /** a Float32Array may hold up to 2^32 - 1 elements on 64-bit Node; keep to what V8 allocates */
  readonly maxElements = 2 ** 31 - 1;
  private readonly native: Addon = addon();
  private live = 0;
  private liveBytes = 0;
  private readonly pool = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  private ceScratch = new Float64Array(0);
  private readBytes = 0;
  /** the array of the last panelled matrix once all its panels are released (see allocPanels) */
  private spareHost: Float32Array | undefined;

  constructor(threads?: number) {
    if (threads !== undefined) this.native.setThreads(threads);
  }

  private track(arr: Float32Array): CpuStorage {
    this.live++;
    this.liveBytes += arr.byteLength;
    return { data: arr };
  }

  /** A new zero-filled array whose pages are not yet touched, advised to use huge pages. */
  private fresh(elements: number): Float32Array {
    const arr = new Float32Array(elements);
    this.native.adviseHugePages(arr);
    return arr;
  }

  /** Storage whose contents are unspecified (a reused array may hold old values). */
  alloc(elements: number): Storage {
    const reused = this.pool.get(elements)?.pop();
    if (reused) this.pooledBytes -= reused.byteLength;
    return this.track(reused ?? this.fresh(elements));
  }

  upload(src: Float32Array): Storage {
    const s = this.alloc(src.length) as CpuStorage;
    s.data.set(src);
    return s;
  }

  async download(s: Storage, elements: number): Promise<Float32Array> {
    this.readBytes += 4 * elements;
    const copy = this.fresh(elements);
    copy.set(data(s).subarray(0, elements));
    return copy;
  }

  allocPanels(rows: number, cols: number, panelRows: number): { panels: Storage[]; host: Float32Array } {
    // one array, so that LAPACK sees the whole matrix; V8 allows typed arrays past 2^31 elements.
    // Layer after layer Deep RFM asks for the same N x N kernel matrix: reusing the last one saves
    // zero-filling gigabytes and, more importantly, never holds two of them while the garbage
    // collector has not yet freed the old one.
    const spare = this.spareHost;
    this.spareHost = undefined;
    const pooled = this.pool.get(rows * cols)?.pop();
    if (pooled) this.pooledBytes -= pooled.byteLength;
    const host = pooled ?? (spare && spare.length === rows * cols ? spare : this.fresh(rows * cols));
    const group: PanelGroup = { host, live: 0 };
    const panels: Storage[] = [];
    for (let r0 = 0; r0 < rows; r0 += panelRows) {
      const st = this.track(host.subarray(r0 * cols, Math.min(rows, r0 + panelRows) * cols));
      st.group = group;
      group.live++;
      panels.push(st);
    }
    return { panels, host };
  }

  release(s: Storage): void {
    const st = s as CpuStorage;
    if (st.released) return;
    st.released = true;
    this.live--;
    this.liveBytes -= st.data.byteLength;
    if (st.group) {
      if (--st.group.live > 0) return;
      // the whole array is free: a large one is kept aside, a small one joins the pool below
      if (st.group.host.byteLength > POOL_BYTES) {
        this.spareHost = st.group.host;
        return;
      }
      st.data = st.group.host;
    }
    // the array only ever lives inside storage objects (download copies), so it can be reused
    if (this.pooledBytes + st.data.byteLength > POOL_BYTES) return;
    let list = this.pool.get(st.data.length);
    if (!list) this.pool.set(st.data.length, (list = []));
    list.push(st.data);
    this.pooledBytes += st.data.byteLength;
  }

  copy(src: Storage, dst: Storage, elements: number, srcOffset = 0, dstOffset = 0): void {
    data(dst).set(data(src).subarray(srcOffset, srcOffset + elements), dstOffset);
  }

  async gemm(g: GemmArgs): Promise<void> {
    if (g.precision === 'f16') {
      throw new Error("matmul: precision 'f16' runs on a webgpu device with the GPU feature 'shader-f16'; the cpu backend multiplies in f32 only (use precision 'f32')");
    }
    const args = [g.transA, g.transB, g.m, g.n, g.k, g.alpha, data(g.a), data(g.b), g.beta, data(g.c), g.batch, g.strideA, g.strideB, g.strideC] as const;
    if (2 * g.m * g.n * g.k * g.batch < ASYNC_THRESHOLD_FLOPS) this.native.gemm(...args);
    else await this.native.gemmAsync(...args);
  }

  async pairwise(p: PairwiseArgs): Promise<void> {
    const args = [
      data(p.x), p.n, data(p.z), p.m, p.d, p.mahal ? data(p.mahal) : null,
      PAIRWISE_KERNEL_CODES[p.kernel], p.bandwidth, data(p.out),
    ] as const;
    if (2 * p.n * p.m * p.d < ASYNC_THRESHOLD_FLOPS) this.native.pairwise(...args);
    else await this.native.pairwiseAsync(...args);
    const offset = p.symmetric ? 0 : p.selfOffset;
    if (offset !== undefined) {
      const out = data(p.out);
      const onDiagonal = p.kernel === 'sqdist' ? 0 : 1;
      for (let i = 0; i < Math.min(p.n, p.m - offset); i++) out[i * p.m + i + offset] = onDiagonal;
    }
  }

  async agop(a: AgopArgs): Promise<void> {
    const args = [
      data(a.x), a.n, a.d, data(a.alpha), a.k, data(a.points), a.m, a.pointIndex ?? null, a.mahal ? data(a.mahal) : null,
      PAIRWISE_KERNEL_CODES[a.kernel], a.bandwidth, a.self, a.batchRows, a.outputBlock, data(a.out), AGOP_METHOD_CODES[a.method ?? 'batched'],
    ] as const;
    const points = a.pointIndex?.length ?? a.m;
    const outcome = 2 * points * a.n * a.d * a.k < ASYNC_THRESHOLD_FLOPS ? this.native.agop(...args) : await this.native.agopAsync(...args);
    if (a.report) {
      a.report.method = outcome.gram ? 'gram' : 'batched';
      if (!Number.isNaN(outcome.cancellation)) a.report.cancellation = outcome.cancellation;
    }
  }

  /** Runs a linear-cost op inline when small, on a worker when large. */
  private async linear<K extends 'rowNorms' | 'rowNormalize' | 'rowDot' | 'unary' | 'axpy' | 'colSums' | 'classSums'>(
    name: K,
    elements: number,
    ...args: Parameters<Addon[K]>
  ): Promise<void> {
    if (elements < ASYNC_THRESHOLD_FLOPS) (this.native[name] as (...a: unknown[]) => void)(...args);
    else await (this.native[`${name}Async`] as (...a: unknown[]) => Promise<void>)(...args);
  }

  rowNorms(x: Storage, rows: number, cols: number, out: Storage, squared: boolean): Promise<void> {
    return this.linear('rowNorms', rows * cols, data(x), rows, cols, data(out), squared);
  }

  rowNormalize(x: Storage, rows: number, cols: number, out: Storage): Promise<void> {
    return this.linear('rowNormalize', rows * cols, data(x), rows, cols, data(out));
  }

  rowDot(a: Storage, b: Storage, rows: number, cols: number, out: Storage): Promise<void> {
    return this.linear('rowDot', rows * cols, data(a), data(b), rows, cols, data(out));
  }

  unary(op: UnaryOp, x: Storage, out: Storage, elements: number, alpha: number): Promise<void> {
    return this.linear('unary', elements, UNARY_OP_CODES[op], data(x).subarray(0, elements), data(out).subarray(0, elements), alpha);
  }

  axpy(alpha: number, x: Storage, y: Storage, out: Storage, elements: number): Promise<void> {
    const sub = (s: Storage) => data(s).subarray(0, elements);
    return this.linear('axpy', elements, alpha, sub(x), sub(y), sub(out));
  }

  colSums(x: Storage, rows: number, cols: number, out: Storage): Promise<void> {
    return this.linear('colSums', rows * cols, data(x), rows, cols, data(out));
  }

  classSums(x: Storage, rows: number, cols: number, labels: Int32Array, k: number, out: Storage): Promise<void> {
    return this.linear('classSums', rows * cols, data(x), rows, cols, labels, k, data(out));
  }

  async classDeviations(x: Storage, rows: number, cols: number, labels: Int32Array, k: number, shifts: Float32Array) {
    const args = [data(x), rows, cols, labels, k, shifts] as const;
    return rows * cols < ASYNC_THRESHOLD_FLOPS ? this.native.classDeviations(...args) : this.native.classDeviationsAsync(...args);
  }

  async max(x: Storage, elements: number): Promise<number> {
    return this.native.max(data(x).subarray(0, elements));
  }

  async countNonFinite(x: Storage, elements: number): Promise<number> {
    return this.native.countNonFinite(data(x).subarray(0, elements));
  }

  /**
   * Plain loops: K x N is small next to the GEMMs around it. Rows are walked in order with one
   * running max and sum per column (cache-friendly for the row-major layout), in f64. The label
   * entry of the gradient is -(sum of the other exponentials) / sum, and a column whose label
   * holds the max has loss log1p(sum of the others): both stay accurate when the loss is tiny.
   */
  softmaxCe(z: Storage, k: number, n: number, labels: Storage, grad: Storage, loss: Storage, lossOffset: number): void {
    const Z = data(z);
    const Y = data(labels);
    const G = data(grad);
    if (this.ceScratch.length < 3 * n) this.ceScratch = new Float64Array(3 * n);
    const m = this.ceScratch.subarray(0, n);
    const s = this.ceScratch.subarray(n, 2 * n);
    const other = this.ceScratch.subarray(2 * n, 3 * n);
    for (let i = 0; i < n; i++) m[i] = Z[i]!;
    for (let r = 1; r < k; r++) {
      const row = r * n;
      for (let i = 0; i < n; i++) {
        const v = Z[row + i]!;
        // a NaN logit makes the column max NaN and keeps it so (v > NaN is false), and so the loss
        if (v > m[i]! || v !== v) m[i] = v;
      }
    }
    s.fill(0);
    other.fill(0);
    // the exponentials go into the gradient's storage and are scaled in place below
    for (let r = 0; r < k; r++) {
      const row = r * n;
      for (let i = 0; i < n; i++) {
        const e = Math.exp(Z[row + i]! - m[i]!);
        G[row + i] = e;
        s[i] += e;
        if (Y[i] !== r) other[i] += e;
      }
    }
    const inv = 1 / n;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const zy = Z[Y[i]! * n + i]!;
      total += zy === m[i] ? Math.log1p(other[i]!) : m[i]! - zy + Math.log(s[i]!);
      s[i] = inv / s[i]!;
    }
    for (let r = 0; r < k; r++) {
      const row = r * n;
      for (let i = 0; i < n; i++) G[row + i] = G[row + i]! * s[i]!;
    }
    for (let i = 0; i < n; i++) G[Y[i]! * n + i] = -other[i]! * s[i]!;
    data(loss)[lossOffset] = total * inv;
  }

  // ---- trainable networks: native/nn_ops.cc, inline when small, on a worker when large

  private async nn<K extends NnKernel>(name: K, work: number, ...args: Parameters<Addon[K]>): Promise<ReturnType<Addon[K]>> {
    if (work < ASYNC_THRESHOLD_FLOPS) return (this.native[name] as (...a: unknown[]) => ReturnType<Addon[K]>)(...args);
    return (this.native[`${name}Async`] as (...a: unknown[]) => Promise<ReturnType<Addon[K]>>)(...args);
  }

  biasAdd(x: Storage, rows: number, cols: number, bias: Storage, out: Storage): Promise<void> {
    return this.nn('biasAdd', rows * cols, data(x), rows, cols, data(bias), data(out));
  }

  reluBackward(x: Storage, dy: Storage, dx: Storage, elements: number): Promise<void> {
    return this.nn('reluBackward', elements, data(x), data(dy), data(dx), elements);
  }

  async softmaxCeRows(z: Storage, n: number, k: number, labels: Storage, grad: Storage, loss: Storage, lossOffset: number): Promise<void> {
    data(loss)[lossOffset] = await this.nn('softmaxCeRows', 8 * n * k, data(z), n, k, data(labels), data(grad));
  }

  async mse(z: Storage, target: Storage, n: number, k: number, grad: Storage, loss: Storage, lossOffset: number): Promise<void> {
    data(loss)[lossOffset] = await this.nn('mseRows', n * k, data(z), data(target), n, k, data(grad));
  }

  layerNorm(x: Storage, rows: number, cols: number, eps: number, y: Storage, stats: Storage): Promise<void> {
    return this.nn('layerNorm', 4 * rows * cols, data(x), rows, cols, eps, data(y), data(stats));
  }

  layerNormBackward(y: Storage, stats: Storage, dy: Storage, rows: number, cols: number, dx: Storage): Promise<void> {
    return this.nn('layerNormBackward', 4 * rows * cols, data(y), data(stats), data(dy), rows, cols, data(dx));
  }

  rowSoftmax(x: Storage, rows: number, cols: number, causal: boolean, out: Storage): Promise<void> {
    return this.nn('rowSoftmax', 8 * rows * cols, data(x), rows, cols, causal, data(out));
  }

  softmaxBackward(p: Storage, dp: Storage, rows: number, cols: number, dx: Storage): Promise<void> {
    return this.nn('softmaxBackward', 4 * rows * cols, data(p), data(dp), rows, cols, data(dx));
  }

  embedding(a: EmbeddingArgs): Promise<void> {
    return this.nn('embedding', a.rows * a.cols, data(a.ids), a.rows, a.seqLen, data(a.table), a.vocab, data(a.positions), a.cols, data(a.out));
  }

  embeddingBackward(ids: Storage, rows: number, dy: Storage, cols: number, vocab: number, dTable: Storage): Promise<void> {
    return this.nn('embeddingBackward', rows * cols + vocab * cols, data(ids), rows, data(dy), cols, vocab, data(dTable));
  }

  sgdUpdate(a: SgdUpdateArgs): Promise<void> {
    const velocity = a.velocity ? data(a.velocity) : null;
    return this.nn('sgdUpdate', a.elements, data(a.param), data(a.grad), velocity, a.elements, a.lr, a.momentum, a.weightDecay);
  }

  adamUpdate(a: AdamUpdateArgs): Promise<void> {
    return this.nn(
      'adamUpdate', 8 * a.elements, data(a.param), data(a.grad), data(a.m), data(a.v), a.elements,
      a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.bc1, a.bc2,
    );
  }

  async sync(): Promise<void> {}

  stats(): BackendStats {
    let pooledBuffers = 0;
    for (const list of this.pool.values()) pooledBuffers += list.length;
    if (this.spareHost) pooledBuffers++;
    const pooledBytes = this.pooledBytes + (this.spareHost?.byteLength ?? 0);
    return { liveBuffers: this.live, liveBytes: this.liveBytes, pooledBuffers, pooledBytes, readBytes: this.readBytes };
  }

  info(): BackendInfo {
    return { name: 'cpu', blas: this.native.blasInfo() };
  }

  async dispose(): Promise<void> {
    this.spareHost = undefined;
    this.pool.clear();
    this.pooledBytes = 0;
  }
}
