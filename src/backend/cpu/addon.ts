/**
 * Loads the native addon (prebuilt binary when one ships, else the local build) and types its
 * functions. Factorizations go through here on every backend.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { chooseOpenblasCore } from './openblasCore.js';

type F32 = Float32Array;
type Real = Float32Array | Float64Array;
type GemmFn<T extends Real> = (
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: T, b: T, beta: number, c: T, batch: number, strideA: number, strideB: number, strideC: number,
) => void;
type Async<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;

/**
 * The factorization of solve: 'auto' (Cholesky, LU when the matrix is not positive definite),
 * 'cholesky' or 'lu'.
 */
export type SolveMethod = 'auto' | 'cholesky' | 'lu';
export interface SolveOut<T extends Real> { x: T; method: 'cholesky' | 'lu'; rcond: number }
export interface EighOut<T extends Real> { values: T; vectors: T }
export interface SvdOut<T extends Real> { u: T; s: T; vt: T }
export interface QrOut<T extends Real> { q: T; r: T }
export interface SqrtOut<T extends Real> { root: T; clipped: number }
/** How a mixed-precision solve ended (native/kernel_solve.h). */
export type MixedStatus = 'converged' | 'stalled' | 'max-refinements' | 'not-factored';
export interface MixedSolveOut {
  x: F32;
  /** K x (without the ridge) */
  fitted: F32;
  status: MixedStatus;
  refinements: number;
  /** ||(K + ridge I) x - Y||_F / ||Y||_F of the returned f32 x, in f64 */
  residual: number;
  history: number[];
  /** diagonal shift the f32 factorization needed (0: none) */
  shift: number;
  rcond: number;
}
export interface BlasInfo { name: string; version: string; threads: number; config: string }

interface Sync {
  blasInfo(): BlasInfo;
  /** redirects the process's stderr (fd 2) to a temporary file until releaseStderr */
  captureStderr(): void;
  /** restores stderr and returns what was written to it since captureStderr ('' when none ran) */
  releaseStderr(): string;
  setThreads(n: number): void;
  /**
   * asks Linux for 2 MiB pages behind a large typed array not yet written (first touches of 4 KiB
   * pages are slow on virtual machines); false where no advice was given
   */
  adviseHugePages(array: ArrayBufferView): boolean;
  /** sgemm on Float32Arrays, dgemm on Float64Arrays (all three operands of one dtype) */
  gemm<T extends Real>(...args: Parameters<GemmFn<T>>): void;
  sgemmDirect: GemmFn<F32>;
  pairwise(x: F32, n: number, z: F32, m: number, d: number, mahal: F32 | null, kernel: number, bandwidth: number, out: F32): void;
  agop(
    x: F32, n: number, d: number, alpha: F32, k: number, points: F32, m: number, pointIndex: Int32Array | null,
    mahal: F32 | null, kernel: number, bandwidth: number, self: boolean, batchRows: number, outputBlock: number, out: F32,
    method: number,
  ): { gram: boolean; cancellation: number };
  rowNorms(x: F32, rows: number, cols: number, out: F32, squared: boolean): void;
  rowNormalize(x: F32, rows: number, cols: number, out: F32): void;
  rowDot(a: F32, b: F32, rows: number, cols: number, out: F32): void;
  unary(op: number, x: F32, out: F32, alpha: number): void;
  axpy(alpha: number, x: F32, y: F32, out: F32): void;
  colSums(x: F32, rows: number, cols: number, out: F32): void;
  classSums(x: F32, rows: number, cols: number, labels: Int32Array, k: number, out: F32): void;
  /** per class, in f64: the sums of x_i - s_c (k x cols) and of ||x_i - s_c||^2 (k); shifts is k x cols */
  classDeviations(x: F32, rows: number, cols: number, labels: Int32Array, k: number, shifts: F32): { sums: Float64Array; sq: Float64Array };
  max(x: F32): number;
  countNonFinite(x: F32): number;
  /** precision 'f64' factors Float32Array arguments in double; the ridge is added in the arithmetic used */
  solve<T extends Real>(a: T, n: number, b: T, k: number, method: SolveMethod, precision?: 'f32' | 'f64', ridge?: number): SolveOut<T>;
  eigh<T extends Real>(a: T, n: number): EighOut<T>;
  svd<T extends Real>(a: T, m: number, n: number): SvdOut<T>;
  qr<T extends Real>(a: T, m: number, n: number): QrOut<T>;
  pinv<T extends Real>(a: T, m: number, n: number, rcond: number): T;
  pinvSym<T extends Real>(a: T, n: number, rcond: number): T;
  /** precision 'f64' computes a Float32Array's root in double (and returns f32) */
  sqrtPsd<T extends Real>(a: T, n: number, precision?: 'f32' | 'f64'): SqrtOut<T>;
  /** A A^T (n x n) of the n x k block of `a` whose row i starts at offset + i lda */
  gramRows<T extends Real>(a: T, n: number, k: number, lda: number, offset: number): T;
  /** f32 Cholesky of `a` in place + f64 refinement; `a` is K again unless the status is 'converged' */
  mixedSolve(a: F32, n: number, y: F32, k: number, ridge: number, maxRefinements: number): MixedSolveOut;
  /** residual of (K + ridge I) x = y in f64 from the upper triangle and diagonal of `a`, and K x */
  symmetricResidual(a: F32, n: number, x: F32, k: number, y: F32, ridge: number): { residual: number; fitted: F32 };
  // nn kernels (native/nn_ops.h); the losses return the mean loss
  biasAdd(x: F32, rows: number, cols: number, bias: F32, out: F32): void;
  reluBackward(x: F32, dy: F32, dx: F32, len: number): void;
  softmaxCeRows(z: F32, n: number, k: number, labels: F32, grad: F32): number;
  mseRows(z: F32, target: F32, n: number, k: number, grad: F32): number;
  layerNorm(x: F32, rows: number, cols: number, eps: number, y: F32, stats: F32): void;
  layerNormBackward(y: F32, stats: F32, dy: F32, rows: number, cols: number, dx: F32): void;
  rowSoftmax(x: F32, rows: number, cols: number, causal: boolean, out: F32): void;
  softmaxBackward(p: F32, dp: F32, rows: number, cols: number, dx: F32): void;
  embedding(ids: F32, rows: number, seqLen: number, table: F32, vocab: number, positions: F32, cols: number, out: F32): void;
  embeddingBackward(ids: F32, rows: number, dy: F32, cols: number, vocab: number, dtable: F32): void;
  sgdUpdate(param: F32, grad: F32, velocity: F32 | null, len: number, lr: number, momentum: number, weightDecay: number): void;
  adamUpdate(
    param: F32, grad: F32, m: F32, v: F32, len: number, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, bc1: number, bc2: number,
  ): void;
}

/** the calls that come in a synchronous and a Promise-returning (`...Async`) form */
const ASYNC_NAMES = [
  'gemm', 'pairwise', 'agop', 'rowNorms', 'rowNormalize', 'rowDot', 'unary', 'axpy', 'colSums', 'classSums', 'classDeviations', 'max',
  'countNonFinite', 'solve', 'eigh', 'svd', 'qr', 'pinv', 'pinvSym', 'sqrtPsd', 'gramRows', 'mixedSolve', 'symmetricResidual',
  'biasAdd', 'reluBackward', 'softmaxCeRows', 'mseRows', 'layerNorm', 'layerNormBackward', 'rowSoftmax',
  'softmaxBackward', 'embedding', 'embeddingBackward', 'sgdUpdate', 'adamUpdate',
] as const satisfies readonly (keyof Sync)[];
type AsyncNames = (typeof ASYNC_NAMES)[number];
const SYNC_ONLY_NAMES = ['blasInfo', 'setThreads', 'adviseHugePages', 'sgemmDirect', 'captureStderr', 'releaseStderr'] as const satisfies readonly (keyof Sync)[];

export type Addon = Sync & { [K in AsyncNames as `${K}Async`]: Async<Sync[K]> };

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('ncgpu: cannot find the package root');
    dir = up;
  }
  return dir;
}

let loaded: Addon | undefined;

/** The calls this version of ncgpu needs that a loaded addon binary lacks (also used by the install script). */
export function missingAddonExports(candidate: object): string[] {
  const expected = [...SYNC_ONLY_NAMES, ...ASYNC_NAMES.flatMap((n) => [n, `${n}Async`])];
  return expected.filter((n) => typeof (candidate as Record<string, unknown>)[n] !== 'function');
}

/**
 * The native addon (OpenBLAS/LAPACK and the CPU kernels), loaded on first use. Exported from the
 * package as `nativeAddon` for benchmarks and low-level checks: its calls take raw Float32Arrays
 * and skip the validation ops do. Throws with how to rebuild when the binary is missing or stale.
 */
export function addon(): Addon {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  chooseOpenblasCore();
  const howToBuild =
    `Build it with 'npm run build:native' in ${root} (or 'npm rebuild ncgpu' in a project that depends on ncgpu); ` +
    `it needs cmake, a C++17 compiler and OpenBLAS ('sudo apt-get install -y libopenblas-dev' on Debian/Ubuntu, ` +
    `'brew install openblas' on macOS).`;
  let candidate: Partial<Addon>;
  try {
    candidate = require('node-gyp-build')(root) as Partial<Addon>;
  } catch (e) {
    throw new Error(`ncgpu: the native addon is not built or does not load (${(e as Error).message.split('\n')[0]}).\n${howToBuild}`);
  }
  // a binary built from older sources (a stale prebuild, say) loads fine and fails later, deep in
  // some op: check every call this version uses up front instead
  const missing = missingAddonExports(candidate);
  if (missing.length > 0) {
    throw new Error(
      `ncgpu: the native addon is out of date: it lacks ${missing.slice(0, 4).join(', ')}` +
        `${missing.length > 4 ? ` and ${missing.length - 4} more` : ''} (it was built from older sources).\n${howToBuild}`,
    );
  }
  loaded = candidate as Addon;
  return loaded;
}
