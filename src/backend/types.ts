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

/** The kind of backend: the native addon on the CPU, or WebGPU through Dawn. */
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

/** The elementwise ops Backend.unary applies ('scale' multiplies by alpha). */
export type UnaryOp = 'relu' | 'cos' | 'scale' | 'exp';
export const UNARY_OP_CODES: Record<UnaryOp, number> = { relu: 0, cos: 1, scale: 2, exp: 3 };

/** Arguments of Backend.gemm: C = alpha op(A) op(B) + beta C on `batch` items with element strides. */
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
  /** 'f16': A and B rounded to f16, products accumulated in f32 (webgpu with shader-f16); default 'f32' */
  precision?: GemmPrecision;
}

/**
 * Precision of a GEMM's inputs: 'f32', or 'f16' (inputs rounded to f16 on the device, products
 * accumulated in f32: half the memory traffic of A and B; needs the GPU feature shader-f16).
 */
export type GemmPrecision = 'f32' | 'f16';
/** Every value matmul's `precision` may take. */
export const GEMM_PRECISIONS: readonly GemmPrecision[] = ['f32', 'f16'];

/**
 * Arguments of Backend.pairwise: squared distances between the rows of x and z (under M when
 * given), optionally mapped through a kernel.
 */
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
  /** row i of x is row i + selfOffset of z (a row panel of K(Z, Z)): entry (i, i + selfOffset) is exact like the diagonal */
  selfOffset?: number;
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
  /**
   * Sum over these rows of `points` only (distinct, in 0..m-1; ascending keeps the reads local),
   * in place of all m. With `self`, point i of the sum is center pointIndex[i], and its own term
   * is exact at that center.
   */
  pointIndex?: Int32Array;
  /** optional d x d Mahalanobis matrix of the kernel; absent means the identity */
  mahal?: Storage;
  kernel: Exclude<PairwiseKernel, 'sqdist'>;
  bandwidth: number;
  /** the points are the centers (same storage): each point's own term is exact */
  self: boolean;
  /** points per batch: a batch holds its weights (batchRows x n) and Jacobians (batchRows x outputBlock d) */
  batchRows: number;
  /**
   * outputs per Jacobian GEMM: the coefficient-scaled centers Z take n x outputBlock d floats,
   * built once when outputBlock >= k, else rebuilt block by block for every batch of points
   */
  outputBlock: number;
  /**
   * 'gram' sums through the n x n Gram form (needs `self`, no `pointIndex`, and a backend whose
   * `agopMethods` lists it; batchRows and outputBlock are then unused); 'gram-if-accurate' does
   * so unless a sampled estimate of the Jacobians' cancellation says the Gram form would lose
   * accuracy (collapsed layers), and then sums in batches; default 'batched'
   */
  method?: AgopMethod | 'gram-if-accurate';
  /** filled in with the method used and the cancellation estimate, when given */
  report?: AgopReport;
  /** d x d */
  out: Storage;
}

/**
 * How an AGOP over the centers is summed: 'batched' (a GEMM of each batch of points' weights with
 * all outputs' scaled centers, then a syrk of the Jacobians) or 'gram' (the n x n form
 * X^T Q X with Q built from W W; fewer flops while n + 2d < 2kd, two n x n matrices of memory).
 */
export type AgopMethod = 'batched' | 'gram';

/** What Backend.agop did: the method used and, when the Gram form was considered, its cancellation. */
export interface AgopReport {
  method: AgopMethod;
  /**
   * sum ||T||^2 / sum ||J||^2 over 128 sampled centers, with J = T - s x each Jacobian row: how
   * much the Gram form's f32 error is amplified (it declines past 4); absent when not considered
   */
  cancellation?: number;
}

/** Token + position embedding lookup (src/nn): out[r, :] = table[ids[r], :] + positions[r % seqLen, :]. */
export interface EmbeddingArgs {
  /** rows token ids stored as f32 (exact integers); an id outside 0..vocab-1 gives a row of NaN */
  ids: Storage;
  rows: number;
  seqLen: number;
  /** vocab x cols */
  table: Storage;
  vocab: number;
  /** seqLen x cols */
  positions: Storage;
  cols: number;
  /** rows x cols */
  out: Storage;
}

/**
 * One SGD step on one parameter, weight decay added to the gradient (loss + wd/2 ||p||^2):
 * g' = g + wd p; velocity = momentum velocity + g'; p -= lr velocity (p -= lr g' without momentum).
 */
export interface SgdUpdateArgs {
  param: Storage;
  grad: Storage;
  /** needed when momentum != 0 */
  velocity?: Storage;
  elements: number;
  lr: number;
  momentum: number;
  weightDecay: number;
}

/**
 * One Adam step on one parameter, weight decay added to the gradient (not AdamW):
 * g' = g + wd p; m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2; p -= lr (m / bc1) / (sqrt(v / bc2) + eps),
 * with the bias corrections bc1 = 1 - b1^t and bc2 = 1 - b2^t computed by the caller.
 */
export interface AdamUpdateArgs {
  param: Storage;
  grad: Storage;
  m: Storage;
  v: Storage;
  elements: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  bc1: number;
  bc2: number;
}

/** The GPU adapter a webgpu backend runs on, as Dawn reports it. */
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
  /** the software GPU's lane ('gles' or 'vulkan'); absent for hardware adapters */
  lane?: SoftwareLane;
  /** WebGPU feature level the adapter was requested at: 'core', or 'compatibility' (OpenGL ES) */
  featureLevel: 'core' | 'compatibility';
  /** the adapter's optional features, e.g. 'subgroups', 'shader-f16', 'timestamp-query' */
  features: string[];
}

/**
 * Optional GPU features ncgpu uses where the device has them, each of which a context can turn off
 * (`disableFeatures`, NCGPU_DISABLE_FEATURES) to run the shaders every device can run.
 */
export type ShaderFeature = 'subgroups' | 'shader-f16';
/** Every ShaderFeature. */
export const SHADER_FEATURES: readonly ShaderFeature[] = ['subgroups', 'shader-f16'];

/** What a webgpu device was created with, and which shader variants ncgpu runs on it. */
export interface GpuFeatureInfo {
  /** optional features the device has: those ncgpu asks for that the adapter offers, less the disabled ones */
  enabled: string[];
  /** features turned off for this context (disableFeatures or NCGPU_DISABLE_FEATURES) */
  disabled: ShaderFeature[];
  /** subgroup sizes the adapter reports (absent without subgroups) */
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  /** row reductions, softmax and loss sums use subgroup operations (needs 'subgroups' and WGSL's subgroup_id) */
  subgroupReductions: boolean;
  /** matmul's precision 'f16' is available (needs 'shader-f16') */
  f16Gemm: boolean;
  /** the adapter exposes subgroup matrices (cooperative matrix); ncgpu has no variant that uses them */
  subgroupMatrix: boolean;
}

/**
 * The GEMM shaders whose tiles `ncgpu bench --tune` tunes: 'matmul' (plain products) and
 * 'distance' (the kernel-matrix epilogue). Other GEMM launches take the matmul choice.
 */
export type TunedGemmShader = 'matmul' | 'distance';

/** One tuned choice: the tile configuration that won for `shader` at an n x n x n product, n = size. */
export interface TunedGemmTiles {
  shader: TunedGemmShader;
  size: number;
  /** a name from GemmTileControl.candidates, e.g. '128x64x16' (tile M x N x K) */
  tiles: string;
}

/**
 * The GEMM tile configurations of a webgpu backend (`ncgpu bench --tune`): which exist, which
 * tuned choices are in use, and forcing one while timing it.
 */
export interface GemmTileControl {
  /** the configurations this device can run, e.g. '128x64x16' */
  readonly candidates: readonly string[];
  /**
   * the tuned choices in use: a GEMM whose output has about size^2 entries (within a factor of 4)
   * takes the choice for the nearest size; others keep the built-in choice
   */
  tuned: TunedGemmTiles[];
  /** Runs every GEMM launch of a general shape with this configuration; undefined goes back to the tuned or built-in choice. */
  force(name: string | undefined): void;
  /** The configuration an m x n product (batch items, epilogue shader, default 'matmul') takes now. */
  tilesFor(m: number, n: number, batch?: number, shader?: TunedGemmShader): string;
  /** the tile cache file the tuned choices came from (null: none read), and why it was not used when it was not */
  readonly cache: { path: string | null; problem?: string };
}

/**
 * The two software GPUs shaders are tested on: 'gles', Dawn's OpenGL ES backend over Mesa
 * llvmpipe in compatibility mode, and 'vulkan', Dawn's Vulkan backend over Mesa lavapipe in core
 * mode (the path hardware GPUs take on Linux, with subgroups, shader-f16 and timestamp queries).
 */
export type SoftwareLane = 'gles' | 'vulkan';
/** Every software lane, in the order `ncgpu info` lists them. */
export const SOFTWARE_LANES: readonly SoftwareLane[] = ['gles', 'vulkan'];

/**
 * What a backend runs on (`ctx.info()`, `ncgpu info`): its kind, the GPU adapter and its limits,
 * and the BLAS the CPU side uses (factorizations always run there).
 */
export interface BackendInfo {
  name: BackendName;
  adapter?: AdapterDescription;
  limits?: Record<string, number>;
  /** webgpu: the device's optional features and the shader variants in use */
  gpuFeatures?: GpuFeatureInfo;
  /** webgpu: the tuned GEMM tiles in use and the cache file they came from */
  gemmTiles?: { cache: string | null; problem?: string; tuned: TunedGemmTiles[] };
  blas: { name: string; version: string; threads: number; config: string };
}

/**
 * Storage a backend holds (`ctx.stats()`): to check that a long-running process releases what it allocates.
 */
export interface BackendStats {
  /** storage objects handed out and not yet released */
  liveBuffers: number;
  /** bytes held by live storage */
  liveBytes: number;
  /** buffers kept for reuse (GPU only) */
  pooledBuffers: number;
  pooledBytes: number;
  /** bytes copied back to the host by download() since the backend was created */
  readBytes: number;
  /**
   * webgpu: launches of shader variants on this context, by the variant's core (e.g.
   * row_reduce_subgroups, gemm_precision_f16): shows which path the ops took
   */
  variantDispatches?: Record<string, number>;
}

/**
 * The compute interface a Context wraps. Users call ops (matmul, kernelMatrix, ...), which
 * validate and then call exactly one of these methods; implement it to add a backend.
 */
export interface Backend {
  readonly name: BackendName;
  /** largest number of f32 elements one Matrix may hold on this backend */
  readonly maxElements: number;

  /** Storage for `elements` values; its contents are unspecified until written. */
  alloc(elements: number): Storage;
  /** Storage holding a copy of `data`. */
  upload(data: Float32Array): Storage;
  /** The first `elements` values of `s`, once all work queued before has finished. */
  download(s: Storage, elements: number): Promise<Float32Array>;
  /** Give storage back. Safe to call while queued work still uses it: the backend keeps order. */
  release(s: Storage): void;
  /** Copy `elements` values from src (starting at element srcOffset) to dst (at dstOffset). */
  copy(src: Storage, dst: Storage, elements: number, srcOffset?: number, dstOffset?: number): void | Promise<void>;
  /**
   * Storage for a rows x cols matrix kept as row panels of `panelRows` rows (the last may be
   * shorter), for matrices past one allocation (a 50,000 x 50,000 kernel matrix). The cpu backend
   * returns views into one host array (`host`, for LAPACK); a GPU backend, separate buffers.
   */
  allocPanels(rows: number, cols: number, panelRows: number): { panels: Storage[]; host?: Float32Array };

  /** C = alpha op(A) op(B) + beta C, batched with strides. */
  gemm(args: GemmArgs): void | Promise<void>;
  /** Squared (Mahalanobis) distances between the rows of X and Z, optionally through a kernel. */
  pairwise(args: PairwiseArgs): void | Promise<void>;
  /** The average gradient outer product of a kernel predictor, summed over a block of points. */
  agop(args: AgopArgs): void | Promise<void>;
  /** the AgopArgs methods this backend runs ('batched' always) */
  readonly agopMethods: readonly AgopMethod[];
  /** out[i] = the Euclidean norm (or its square) of row i. */
  rowNorms(x: Storage, rows: number, cols: number, out: Storage, squared: boolean): void | Promise<void>;
  /** Each row divided by its norm; a zero row stays zero. */
  rowNormalize(x: Storage, rows: number, cols: number, out: Storage): void | Promise<void>;
  /** out[i] = the dot product of row i of a and row i of b. */
  rowDot(a: Storage, b: Storage, rows: number, cols: number, out: Storage): void | Promise<void>;
  /** out = op(x) elementwise ('scale' multiplies by alpha); out may be x. */
  unary(op: UnaryOp, x: Storage, out: Storage, elements: number, alpha: number): void | Promise<void>;
  /** out = alpha * x + y */
  axpy(alpha: number, x: Storage, y: Storage, out: Storage, elements: number): void | Promise<void>;
  /** out (1 x cols) = the sum of the rows of x. */
  colSums(x: Storage, rows: number, cols: number, out: Storage): void | Promise<void>;
  /** out (k x cols): row c is the sum of the rows of x whose label is c. Labels are validated by the caller. */
  classSums(x: Storage, rows: number, cols: number, labels: Int32Array, k: number, out: Storage): void | Promise<void>;
  /**
   * Optional: the moments of x about per-class shifts (k x cols, host f32) in one pass, in f64 on
   * the host: per class the sum of x_i - s_c (k x cols) and of ||x_i - s_c||^2 (k). Backends
   * that have it spare classStats its rows x cols scratch matrix. Labels are validated by the caller.
   */
  classDeviations?(x: Storage, rows: number, cols: number, labels: Int32Array, k: number, shifts: Float32Array): Promise<{ sums: Float64Array; sq: Float64Array }>;
  /** The largest of the first `elements` values. */
  max(x: Storage, elements: number): Promise<number>;
  /** number of NaN or +-Inf entries */
  countNonFinite(x: Storage, elements: number): Promise<number>;
  /**
   * Softmax cross-entropy over the columns of z (k x n, one sample per column) with `labels`
   * (n class indices stored as f32): grad (k x n) = (softmax(z) - onehot) / n, and
   * loss[lossOffset] = the mean cross-entropy. Labels are validated by the caller.
   */
  softmaxCe(z: Storage, k: number, n: number, labels: Storage, grad: Storage, loss: Storage, lossOffset: number): void | Promise<void>;

  // Trainable networks (src/nn). Activations have one sample per row. Unless a method says so,
  // outputs must not be the storage of an input.

  /** out = x + bias (1 x cols) added to every row; out may be x. */
  biasAdd(x: Storage, rows: number, cols: number, bias: Storage, out: Storage): void | Promise<void>;
  /** dx = dy where x > 0, else 0 (x: the ReLU's input or output; NaN in x gives NaN). */
  reluBackward(x: Storage, dy: Storage, dx: Storage, elements: number): void | Promise<void>;
  /**
   * Softmax cross-entropy over the rows of z (n x k, one sample per row) with `labels` (n class
   * indices stored as f32): grad (n x k) = (softmax(z) - onehot) / n, loss[lossOffset] = mean CE.
   */
  softmaxCeRows(z: Storage, n: number, k: number, labels: Storage, grad: Storage, loss: Storage, lossOffset: number): void | Promise<void>;
  /** loss[lossOffset] = (1/n) sum_i ||z_i - target_i||^2 over n rows of k; grad = 2 (z - target) / n. */
  mse(z: Storage, target: Storage, n: number, k: number, grad: Storage, loss: Storage, lossOffset: number): void | Promise<void>;
  /**
   * LayerNorm without affine, per row: y = (x - mean) / sqrt(var + eps) (biased variance);
   * stats (rows x 2) receives [mean, 1 / sqrt(var + eps)] per row.
   */
  layerNorm(x: Storage, rows: number, cols: number, eps: number, y: Storage, stats: Storage): void | Promise<void>;
  /** dx = rstd (dy - mean(dy) - y mean(dy y)) per row, from layerNorm's y and stats. */
  layerNormBackward(y: Storage, stats: Storage, dy: Storage, rows: number, cols: number, dx: Storage): void | Promise<void>;
  /**
   * Softmax of every row. With `causal` the rows are stacked cols x cols blocks (attention scores of
   * one sequence after another) and row r only sees columns j <= r % cols; the others get 0.
   */
  rowSoftmax(x: Storage, rows: number, cols: number, causal: boolean, out: Storage): void | Promise<void>;
  /** Backward of rowSoftmax from its output p: dx = p (dp - rowdot(dp, p)). */
  softmaxBackward(p: Storage, dp: Storage, rows: number, cols: number, dx: Storage): void | Promise<void>;
  /** Token plus position embedding rows for a batch of token ids. */
  embedding(args: EmbeddingArgs): void | Promise<void>;
  /** dTable (vocab x cols): row v is the sum of the rows of dy whose id is v (ids validated by the forward). */
  embeddingBackward(ids: Storage, rows: number, dy: Storage, cols: number, vocab: number, dTable: Storage): void | Promise<void>;
  /** One SGD step (momentum, weight decay) on a parameter, in place. */
  sgdUpdate(args: SgdUpdateArgs): void | Promise<void>;
  /** One Adam step on a parameter, in place (see AdamUpdateArgs). */
  adamUpdate(args: AdamUpdateArgs): void | Promise<void>;

  /** Wait until all queued work has finished; throws the first error it produced. */
  sync(): Promise<void>;
  /**
   * GPU seconds of the work `fn` queues, by timestamp queries (webgpu backends whose adapter has
   * them); absent on backends that cannot measure it
   */
  timeGpu?<T>(fn: () => Promise<T>): Promise<{ value: T; gpuSeconds?: number; passes: number }>;
  /** Live and pooled storage, and bytes read back so far. */
  stats(): BackendStats;
  /** What this backend runs on. */
  info(): BackendInfo;
  /** Frees every resource (on a GPU, the device); the backend is unusable afterwards. */
  dispose(): Promise<void>;
  /** webgpu: the GEMM tile configurations and their tuning */
  readonly gemmTiles?: GemmTileControl;
}
