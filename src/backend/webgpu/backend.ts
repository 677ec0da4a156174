/**
 * The WebGPU backend: every Backend op as WGSL compute launches on one GpuDevice. Launch logic
 * (uniforms, workgroup counts, chunking of matrices larger than one storage binding) lives in
 * kernels/, one file per kernel family; this class only maps the interface onto them.
 *
 * Work is queued, not awaited: ops return once their launches are encoded, and the device keeps
 * queue order, so only download / max / countNonFinite / sync wait for the GPU.
 */
import type {
  AdamUpdateArgs,
  AgopArgs,
  EmbeddingArgs,
  SgdUpdateArgs,
  AgopMethod,
  Backend,
  BackendInfo,
  GemmTileControl,
  BackendStats,
  GemmArgs,
  PairwiseArgs,
  Storage,
  UnaryOp,
} from '../types.js';
import { UNARY_OP_CODES } from '../types.js';
import type { GpuDevice, GpuStorage } from './device.js';
import { view } from './kernels/common.js';
import { encodeAxpy, encodeUnary } from './kernels/elementwise.js';
import { encodeGemm, type GemmCall } from './kernels/gemm.js';
import { encodeGemmF16 } from './kernels/gemmF16.js';
import { DeviceTileControl } from './kernels/gemmTiles.js';
import type { TileCacheRead } from './tileCache.js';
import { encodePairwise } from './kernels/pairwise.js';
import { encodeAgop } from './kernels/agop.js';
import { countNonFinite, encodeColSums, reduceMax } from './kernels/reduce.js';
import { encodeRowDot, encodeRowNormalize, encodeRowSumSq } from './kernels/rows.js';
import { encodeClassSums } from './kernels/classSums.js';
import { encodeSoftmaxCe } from './kernels/softmaxCe.js';
import { encodeBiasAdd, encodeReluBackward } from './kernels/nnElementwise.js';
import { encodeMse, encodeSoftmaxCeRows } from './kernels/nnLoss.js';
import { encodeLayerNorm, encodeLayerNormBackward } from './kernels/nnLayerNorm.js';
import { encodeRowSoftmax, encodeSoftmaxBackward } from './kernels/nnSoftmax.js';
import { encodeEmbedding, encodeEmbeddingBackward } from './kernels/nnEmbedding.js';
import { encodeAdamUpdate, encodeSgdUpdate } from './kernels/nnOptim.js';

function gpu(s: Storage): GpuStorage {
  return s as GpuStorage;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly agopMethods: readonly AgopMethod[] = ['batched'];
  readonly maxElements: number;
  readonly gemmTiles: GemmTileControl;
  private readBytes = 0;

  /** `tileCache`: what the context read from the tile cache for this adapter (tuned GEMM tiles) */
  constructor(
    readonly dev: GpuDevice,
    private readonly blasInfo: () => BackendInfo['blas'],
    tileCache: TileCacheRead = { path: null, tuned: [] },
  ) {
    this.maxElements = Math.floor(dev.maxBufferBytes / 4);
    dev.gemmTiles.tuned = [...tileCache.tuned];
    this.gemmTiles = new DeviceTileControl(dev, { path: tileCache.path, ...(tileCache.problem ? { problem: tileCache.problem } : {}) });
  }

  alloc(elements: number): Storage {
    return this.dev.alloc(elements * 4);
  }

  upload(data: Float32Array): Storage {
    return this.dev.upload(data);
  }

  async download(s: Storage, elements: number): Promise<Float32Array> {
    if (elements === 0) return new Float32Array(0);
    this.readBytes += 4 * elements;
    return new Float32Array(await this.dev.read(gpu(s), elements * 4));
  }

  allocPanels(rows: number, cols: number, panelRows: number): { panels: Storage[] } {
    const panels: Storage[] = [];
    try {
      for (let r0 = 0; r0 < rows; r0 += panelRows) panels.push(this.alloc(Math.min(panelRows, rows - r0) * cols));
    } catch (e) {
      for (const p of panels) this.release(p);
      throw e;
    }
    return { panels };
  }

  release(s: Storage): void {
    this.dev.release(gpu(s));
  }

  copy(src: Storage, dst: Storage, elements: number, srcOffset = 0, dstOffset = 0): void {
    if (elements === 0 || (src === dst && srcOffset === dstOffset)) return;
    this.dev.copyBuffer(gpu(src).buffer, srcOffset * 4, gpu(dst).buffer, dstOffset * 4, elements * 4);
  }

  gemm(args: GemmArgs): void {
    const { transA, transB, m, n, k } = args;
    const call: GemmCall = {
      transA,
      transB,
      m,
      n,
      k,
      alpha: args.alpha,
      beta: args.beta,
      batch: args.batch,
      a: { s: gpu(args.a), off: 0, ld: transA ? m : k, stride: args.strideA },
      b: { s: gpu(args.b), off: 0, ld: transB ? k : n, stride: args.strideB },
      c: { s: gpu(args.c), off: 0, ld: n, stride: args.strideC },
    };
    if (args.precision === 'f16') encodeGemmF16(this.dev, call);
    else encodeGemm(this.dev, call);
  }

  pairwise(args: PairwiseArgs): void {
    encodePairwise(this.dev, args);
  }

  agop(args: AgopArgs): void {
    if ((args.method ?? 'batched') !== 'batched') throw new RangeError("agop: the webgpu backend sums the AGOP in batches only (method 'batched')");
    encodeAgop(this.dev, args);
    if (args.report) args.report.method = 'batched';
  }

  rowNorms(x: Storage, rows: number, cols: number, out: Storage, squared: boolean): void {
    encodeRowSumSq(this.dev, view(gpu(x)), rows, cols, view(gpu(out)), squared);
  }

  rowNormalize(x: Storage, rows: number, cols: number, out: Storage): void {
    encodeRowNormalize(this.dev, view(gpu(x)), rows, cols, view(gpu(out)));
  }

  rowDot(a: Storage, b: Storage, rows: number, cols: number, out: Storage): void {
    encodeRowDot(this.dev, view(gpu(a)), view(gpu(b)), rows, cols, view(gpu(out)));
  }

  unary(op: UnaryOp, x: Storage, out: Storage, elements: number, alpha: number): void {
    const code = UNARY_OP_CODES[op];
    if (code === undefined) throw new RangeError(`webgpu: unknown unary op '${op}'`);
    encodeUnary(this.dev, code, view(gpu(x)), view(gpu(out)), elements, alpha);
  }

  axpy(alpha: number, x: Storage, y: Storage, out: Storage, elements: number): void {
    encodeAxpy(this.dev, alpha, view(gpu(x)), view(gpu(y)), view(gpu(out)), elements);
  }

  colSums(x: Storage, rows: number, cols: number, out: Storage): void {
    encodeColSums(this.dev, view(gpu(x)), rows, cols, view(gpu(out)));
  }

  classSums(x: Storage, rows: number, cols: number, labels: Int32Array, k: number, out: Storage): void {
    encodeClassSums(this.dev, view(gpu(x)), rows, cols, labels, k, view(gpu(out)));
  }

  max(x: Storage, elements: number): Promise<number> {
    return reduceMax(this.dev, view(gpu(x)), elements);
  }

  countNonFinite(x: Storage, elements: number): Promise<number> {
    return countNonFinite(this.dev, view(gpu(x)), elements);
  }

  softmaxCe(z: Storage, k: number, n: number, labels: Storage, grad: Storage, loss: Storage, lossOffset: number): void {
    encodeSoftmaxCe(this.dev, view(gpu(z)), k, n, view(gpu(labels)), view(gpu(grad)), view(gpu(loss), lossOffset));
  }

  biasAdd(x: Storage, rows: number, cols: number, bias: Storage, out: Storage): void {
    encodeBiasAdd(this.dev, view(gpu(x)), rows, cols, view(gpu(bias)), view(gpu(out)));
  }

  reluBackward(x: Storage, dy: Storage, dx: Storage, elements: number): void {
    encodeReluBackward(this.dev, view(gpu(x)), view(gpu(dy)), view(gpu(dx)), elements);
  }

  softmaxCeRows(z: Storage, n: number, k: number, labels: Storage, grad: Storage, loss: Storage, lossOffset: number): void {
    encodeSoftmaxCeRows(this.dev, view(gpu(z)), n, k, view(gpu(labels)), view(gpu(grad)), view(gpu(loss), lossOffset));
  }

  mse(z: Storage, target: Storage, n: number, k: number, grad: Storage, loss: Storage, lossOffset: number): void {
    encodeMse(this.dev, view(gpu(z)), view(gpu(target)), n, k, view(gpu(grad)), view(gpu(loss), lossOffset));
  }

  layerNorm(x: Storage, rows: number, cols: number, eps: number, y: Storage, stats: Storage): void {
    encodeLayerNorm(this.dev, view(gpu(x)), rows, cols, eps, view(gpu(y)), view(gpu(stats)));
  }

  layerNormBackward(y: Storage, stats: Storage, dy: Storage, rows: number, cols: number, dx: Storage): void {
    encodeLayerNormBackward(this.dev, view(gpu(y)), view(gpu(stats)), view(gpu(dy)), rows, cols, view(gpu(dx)));
  }

  rowSoftmax(x: Storage, rows: number, cols: number, causal: boolean, out: Storage): void {
    encodeRowSoftmax(this.dev, view(gpu(x)), rows, cols, causal, view(gpu(out)));
  }

  softmaxBackward(p: Storage, dp: Storage, rows: number, cols: number, dx: Storage): void {
    encodeSoftmaxBackward(this.dev, view(gpu(p)), view(gpu(dp)), rows, cols, view(gpu(dx)));
  }

  embedding(args: EmbeddingArgs): void {
    encodeEmbedding(this.dev, args);
  }

  embeddingBackward(ids: Storage, rows: number, dy: Storage, cols: number, vocab: number, dTable: Storage): void {
    encodeEmbeddingBackward(this.dev, view(gpu(ids)), rows, view(gpu(dy)), cols, vocab, view(gpu(dTable)));
  }

  sgdUpdate(args: SgdUpdateArgs): void {
    encodeSgdUpdate(this.dev, args);
  }

  adamUpdate(args: AdamUpdateArgs): void {
    encodeAdamUpdate(this.dev, args);
  }

  sync(): Promise<void> {
    return this.dev.sync();
  }

  timeGpu<T>(fn: () => Promise<T>): Promise<{ value: T; gpuSeconds?: number; passes: number }> {
    return this.dev.timeGpu(fn);
  }

  stats(): BackendStats {
    return { ...this.dev.stats(), readBytes: this.readBytes };
  }

  info(): BackendInfo {
    const gemmTiles = { cache: this.gemmTiles.cache.path, ...(this.gemmTiles.cache.problem ? { problem: this.gemmTiles.cache.problem } : {}), tuned: [...this.gemmTiles.tuned] };
    return { name: 'webgpu', adapter: this.dev.adapter, limits: this.dev.limits, gpuFeatures: this.dev.features, gemmTiles, blas: this.blasInfo() };
  }

  dispose(): Promise<void> {
    return this.dev.dispose();
  }
}
