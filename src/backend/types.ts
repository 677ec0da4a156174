/**
 * The contract every compute backend fulfils. Ops in src/ops validate their arguments and then
 * call exactly one of these methods; nothing above this interface knows whether the numbers live
 * in a Float32Array or a GPUBuffer.
 *
 * All matrices are f32, row-major and contiguous. A batched matrix is `batch` such matrices one
 * after another. Methods write into storage allocated by the caller (`alloc`) and may run
 * asynchronously: a backend is free to queue work and only guarantees ordering, so the only way
 * data comes back is `download`.
 */

/** Which kind of storage a backend hands out; opaque to everything but that backend. */
export type Storage = object;

export type BackendName = 'cpu' | 'webgpu';

/** Kernels the fused pairwise op can apply to the squared distance r2 (L = bandwidth). */
export type PairwiseKernel =
  /** r2 itself */
  | 'sqdist'
  /** exp(-sqrt(r2) / L) */
  | 'laplace'
  /** exp(-r2 / (2 L^2)) */
  | 'gaussian'
  /** exp(-r2 / L): the form the RFM reference code uses */
  | 'gaussian-rfm';

export const PAIRWISE_KERNEL_CODES: Record<PairwiseKernel, number> = {
  sqdist: 0,
  laplace: 1,
  gaussian: 2,
  'gaussian-rfm': 3,
};

export type UnaryOp = 'relu' | 'cos' | 'scale' | 'exp';
export const UNARY_OP_CODES: Record<UnaryOp, number> = { relu: 0, cos: 1, scale: 2, exp: 3 };

export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  /** rows of op(A) and C */
  m: number;
  /** columns of op(B) and C */
  n: number;
  /** inner dimension */
  k: number;
  alpha: number;
  beta: number;
  a: Storage;
  b: Storage;
  c: Storage;
  batch: number;
  /** element strides between batch items; 0 broadcasts that operand */
  strideA: number;
  strideB: number;
  strideC: number;
}

export interface PairwiseArgs {
  /** n x d */
  x: Storage;
  /** m x d */
  z: Storage;
  n: number;
  m: number;
  d: number;
  /** optional d x d Mahalanobis matrix (PSD); absent means the identity */
  mahal?: Storage;
  kernel: PairwiseKernel;
  bandwidth: number;
  /** n x m */
  out: Storage;
  /** x and z are the same matrix: entry (i, i) is distance exactly 0 (kernel value exactly 1) */
  symmetric?: boolean;
}

/**
 * AGOP of the kernel predictor f_c(p) = sum_j alpha[j, c] k_M(x_j, p): out (d x d) is the sum over
 * the points p_i and outputs c of grad f_c(p_i) grad f_c(p_i)^T (unnormalized).
 */
export interface AgopArgs {
  /** centers (n x d) */
  x: Storage;
  n: number;
  d: number;
  /** coefficients (n x k) */
  alpha: Storage;
  k: number;
  /** points where the gradients are taken (m x d) */
  points: Storage;
  m: number;
  /** optional d x d Mahalanobis matrix of the kernel; absent means the identity */
  mahal?: Storage;
  kernel: Exclude<PairwiseKernel, 'sqdist'>;
  bandwidth: number;
  /** the points are the centers (same storage): each point's own term is exact */
  self: boolean;
  /** points per batch: bounds the temporary memory (about batchRows * (n + k d) floats) */
  batchRows: number;
  /** d x d */
  out: Storage;
}

export interface AdapterDescription {
  /** e.g. 'llvmpipe (LLVM 15.0.6, 256 bits)' or 'NVIDIA H100' */
  device: string;
  vendor: string;
  architecture: string;
  description: string;
  /** Dawn backend: 'vulkan' | 'metal' | 'd3d12' | 'opengles' ... */
  dawnBackend: string;
  /** true when the adapter is a CPU rasterizer (llvmpipe, SwiftShader, WARP) */
  software: boolean;
}

export interface BackendInfo {
  name: BackendName;
  adapter?: AdapterDescription;
  limits?: Record<string, number>;
  blas: { name: string; version: string; threads: number; config: string };
}

export interface BackendStats {
  /** storage objects handed out and not yet released */
  liveBuffers: number;
  /** bytes held by live storage */
  liveBytes: number;
  /** buffers kept for reuse (GPU only) */
  pooledBuffers: number;
  pooledBytes: number;
}

export interface Backend {
  readonly name: BackendName;
  /** largest number of f32 elements one Matrix may hold on this backend */
  readonly maxElements: number;

  /** Storage for `elements` values; its contents are unspecified until written. */
  alloc(elements: number): Storage;
  upload(data: Float32Array): Storage;
  download(s: Storage, elements: number): Promise<Float32Array>;
  /** Give storage back. Safe to call while queued work still uses it: the backend keeps order. */
  release(s: Storage): void;
  /** Copy `elements` values from src to dst. */
  copy(src: Storage, dst: Storage, elements: number): void | Promise<void>;

  gemm(args: GemmArgs): void | Promise<void>;
  pairwise(args: PairwiseArgs): void | Promise<void>;
  agop(args: AgopArgs): void | Promise<void>;
  rowNorms(x: Storage, rows: number, cols: number, out: Storage, squared: boolean): void | Promise<void>;
  rowNormalize(x: Storage, rows: number, cols: number, out: Storage): void | Promise<void>;
  rowDot(a: Storage, b: Storage, rows: number, cols: number, out: Storage): void | Promise<void>;
  unary(op: UnaryOp, x: Storage, out: Storage, elements: number, alpha: number): void | Promise<void>;
  /** out = alpha * x + y */
  axpy(alpha: number, x: Storage, y: Storage, out: Storage, elements: number): void | Promise<void>;
  colSums(x: Storage, rows: number, cols: number, out: Storage): void | Promise<void>;
  /** out (k x cols): row c is the sum of the rows of x whose label is c. Labels are validated by the caller. */
  classSums(x: Storage, rows: number, cols: number, labels: Int32Array, k: number, out: Storage): void | Promise<void>;
  max(x: Storage, elements: number): Promise<number>;
  /** number of NaN or +-Inf entries */
  countNonFinite(x: Storage, elements: number): Promise<number>;
  /**
   * Softmax cross-entropy over the columns of z (k x n, one sample per column) with `labels`
   * (n class indices stored as f32): grad (k x n) = (softmax(z) - onehot) / n, and
   * loss[lossOffset] = the mean cross-entropy. Labels are validated by the caller.
   */
  softmaxCe(z: Storage, k: number, n: number, labels: Storage, grad: Storage, loss: Storage, lossOffset: number): void | Promise<void>;

  /** Wait until all queued work has finished; throws the first error it produced. */
  sync(): Promise<void>;
  stats(): BackendStats;
  info(): BackendInfo;
  dispose(): Promise<void>;
}
