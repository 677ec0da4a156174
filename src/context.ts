/**
 * A Context owns one backend and creates matrices on it. `createContext({ backend: 'auto' })`
 * takes a hardware GPU when Dawn finds one and the cpu backend otherwise; the software GPU is
 * only used when asked for ('webgpu-software' or NCGPU_BACKEND=webgpu-software).
 */
import type { Backend, BackendInfo, ShaderFeature, SoftwareLane } from './backend/types.js';
import { SHADER_FEATURES } from './backend/types.js';
import { CpuBackend } from './backend/cpu/backend.js';
import { addon } from './backend/cpu/addon.js';
import { Matrix, type Shape } from './tensor.js';
import { assertFinite } from './ops/validate.js';

/**
 * Which backend createContext uses: 'auto' picks a hardware GPU when Dawn finds one, else 'cpu';
 * 'webgpu-software' runs the shaders on Mesa's CPU rasterizer (for testing them, never a default).
 */
export type BackendChoice = 'auto' | 'cpu' | 'webgpu' | 'webgpu-software';
/** Every value `backend` may take, e.g. for validating a command-line option. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'cpu', 'webgpu', 'webgpu-software'];

/**
 * When inputs are checked for NaN/Inf:
 * - 'inputs' (default): data entering through the context, and every factorization's input
 * - 'always': also the inputs of every op (reads back on a GPU: for debugging)
 * - 'never': trust the caller
 */
export type FiniteCheck = 'inputs' | 'always' | 'never';
const FINITE_CHECKS: readonly FiniteCheck[] = ['inputs', 'always', 'never'];

/** Options of createContext. */
export interface ContextOptions {
  /** default 'auto', or the NCGPU_BACKEND environment variable when set */
  backend?: BackendChoice;
  finiteCheck?: FiniteCheck;
  /** BLAS and addon threads for the cpu side (default: all cores, or NCGPU_THREADS) */
  threads?: number;
  /** webgpu: cap one storage binding below the adapter's limit (bytes); exercises chunking */
  maxBindingBytes?: number;
  /**
   * webgpu-software: which software GPU, 'gles' (default; OpenGL ES over llvmpipe) or 'vulkan'
   * (Vulkan over lavapipe, core mode); default NCGPU_SOFTWARE_LANE when set
   */
  softwareLane?: SoftwareLane;
  /**
   * webgpu: optional GPU features not to use even where the device has them ('subgroups',
   * 'shader-f16'): the shaders then take the path every device can run, e.g. to compare both
   * paths on one GPU. Default: the NCGPU_DISABLE_FEATURES environment variable (a comma-separated
   * list), else none.
   */
  disableFeatures?: readonly ShaderFeature[];
  /**
   * webgpu: the tile cache file whose tuned GEMM tiles for this adapter the context uses (written
   * by `ncgpu bench --tune`), or false for none. Default: NCGPU_TUNE_CACHE, else gemm-tiles.json in
   * the user's cache folder (e.g. ~/.cache/ncgpu/); see ctx.info().gemmTiles.
   */
  tileCache?: string | false;
}

/** Options of the Context methods that create a Matrix from data. */
export interface MatrixOptions {
  /** name used in error messages, e.g. 'X' */
  name?: string;
}

/**
 * One backend and the matrices created on it. Make one with createContext, share it across the
 * work of a process (creating one is the expensive part on a GPU), and dispose it at the end.
 */
export class Context {
  readonly finiteCheck: FiniteCheck;
  #disposed = false;

  constructor(
    readonly backend: Backend,
    options: ContextOptions = {},
  ) {
    const check = options.finiteCheck ?? 'inputs';
    if (!FINITE_CHECKS.includes(check)) throw new RangeError(`createContext: finiteCheck must be one of ${FINITE_CHECKS.join(', ')}, got '${String(check)}'`);
    this.finiteCheck = check;
  }

  /** true once dispose() was called: the context's matrices can no longer be used or read */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** 'cpu' or 'webgpu' (the software GPU is 'webgpu' too; `info().adapter` tells them apart). */
  get name(): Backend['name'] {
    return this.backend.name;
  }

  private checkOpen(): void {
    if (this.#disposed) throw new Error('ncgpu: this context has been disposed');
  }

  /** A matrix holding a copy of `data` (row-major). `shape` is [rows, cols] or [batch, rows, cols]. */
  matrix(data: ArrayLike<number>, shape: Shape, options: MatrixOptions = {}): Matrix {
    this.checkOpen();
    const name = options.name ?? 'data';
    for (const [i, v] of shape.entries()) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name}: shape[${i}] must be a non-negative integer, got ${v}`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new RangeError(`${name}: shape ${shape.join('x')} needs ${size} values, got ${data.length}`);
    }
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    if (this.finiteCheck !== 'never') assertFinite(f32, shape, name);
    this.checkSize(size, name);
    return new Matrix(this, this.backend.upload(f32), shape);
  }

  /** A matrix from nested rows, e.g. [[1, 2], [3, 4]]. */
  fromRows(rows: readonly (readonly number[])[], options: MatrixOptions = {}): Matrix {
    const cols = rows[0]?.length ?? 0;
    rows.forEach((r, i) => {
      if (r.length !== cols) throw new RangeError(`${options.name ?? 'rows'}: row ${i} has ${r.length} values, row 0 has ${cols}`);
    });
    return this.matrix(rows.flat(), [rows.length, cols], options);
  }

  /** A matrix of zeros. */
  zeros(shape: Shape): Matrix {
    this.checkOpen();
    const size = shape.reduce((a, b) => a * b, 1);
    this.checkSize(size, 'zeros');
    return new Matrix(this, this.backend.upload(new Float32Array(size)), shape);
  }

  /** Output storage for ops: contents unspecified until the op writes them. */
  empty(shape: Shape): Matrix {
    this.checkOpen();
    const size = shape.reduce((a, b) => a * b, 1);
    this.checkSize(size, 'result');
    return new Matrix(this, this.backend.alloc(size), shape);
  }

  private checkSize(size: number, name: string): void {
    if (size > this.backend.maxElements) {
      throw new RangeError(`${name}: ${size} elements exceed the ${this.backend.name} backend's limit of ${this.backend.maxElements}`);
    }
  }

  /** Waits for queued work and surfaces any error it produced. */
  sync(): Promise<void> {
    return this.backend.sync();
  }

  /**
   * Runs `fn` (ops on this context) and waits for its work; `gpuSeconds` is the GPU's own time for
   * it by timestamp queries, on a webgpu backend whose adapter has them (Vulkan, Metal, D3D12;
   * not the OpenGL ES software GPU), else absent.
   */
  async timeGpu<T>(fn: () => Promise<T>): Promise<{ value: T; gpuSeconds?: number }> {
    this.checkOpen();
    if (this.backend.timeGpu) return this.backend.timeGpu(fn);
    const value = await fn();
    await this.backend.sync();
    return { value };
  }

  /** The backend's adapter, limits and BLAS, as `ncgpu info` prints them. */
  info(): BackendInfo {
    return this.backend.info();
  }

  /**
   * Live and pooled buffers and bytes read back: constant live counts over repeated work show nothing leaks.
   */
  stats() {
    return this.backend.stats();
  }

  /** Frees the device. After this, a process that used the GPU exits on its own. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.backend.dispose();
  }

  /** `await using ctx = await createContext()` disposes the context when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function resolveChoice(choice: BackendChoice | undefined): BackendChoice {
  const env = process.env.NCGPU_BACKEND;
  const picked = choice ?? (env as BackendChoice | undefined) ?? 'auto';
  if (!BACKEND_CHOICES.includes(picked)) {
    throw new RangeError(`createContext: backend must be one of ${BACKEND_CHOICES.join(', ')}; got '${picked}'${choice ? '' : ' from NCGPU_BACKEND'}`);
  }
  return picked;
}

/** The features to turn off: the option, else NCGPU_DISABLE_FEATURES, each checked by name. */
export function resolveDisabledFeatures(option: readonly ShaderFeature[] | undefined): ShaderFeature[] {
  const env = process.env.NCGPU_DISABLE_FEATURES;
  const fromEnv = option === undefined;
  const names = option ?? (env ? env.split(',').map((s) => s.trim()).filter(Boolean) : []);
  if (!Array.isArray(names)) throw new RangeError(`createContext: disableFeatures must be an array of ${SHADER_FEATURES.join(', ')}; got ${String(names)}`);
  for (const name of names) {
    if (!SHADER_FEATURES.includes(name as ShaderFeature)) {
      throw new RangeError(`createContext: disableFeatures: '${name}' is not one of ${SHADER_FEATURES.join(', ')}${fromEnv ? ' (from NCGPU_DISABLE_FEATURES)' : ''}`);
    }
  }
  return [...new Set(names as ShaderFeature[])];
}

/**
 * Creates a context on the chosen backend (`options.backend`, else NCGPU_BACKEND, else 'auto').
 * Throws when 'webgpu' finds no hardware GPU or the software GPU's drivers are missing, saying
 * what to install or use instead.
 */
export async function createContext(options: ContextOptions = {}): Promise<Context> {
  const choice = resolveChoice(options.backend);
  const withoutFeatures = resolveDisabledFeatures(options.disableFeatures);
  if (options.threads !== undefined) addon().setThreads(options.threads);
  if (choice === 'cpu') return new Context(new CpuBackend(), options);

  const { findHardwareAdapter, findSoftwareAdapter, resolveSoftwareLane } = await import('./backend/webgpu/adapter.js');
  const { readTileCache, resolveTileCachePath } = await import('./backend/webgpu/tileCache.js');
  const lane = choice === 'webgpu-software' ? resolveSoftwareLane(options.softwareLane) : undefined;
  const tileCachePath = resolveTileCachePath(options.tileCache);
  const { GpuDevice } = await import('./backend/webgpu/device.js');
  const device = await GpuDevice.open(
    lane ? `software:${lane}` : 'hardware',
    () => (lane ? findSoftwareAdapter(lane) : findHardwareAdapter()),
    { maxBindingBytes: options.maxBindingBytes, withoutFeatures },
  );
  if (!device) {
    if (choice === 'auto') return new Context(new CpuBackend(), options);
    throw new Error(
      choice === 'webgpu'
        ? "createContext: no hardware GPU adapter found (Dawn saw none). Use backend 'cpu', or 'webgpu-software' to run the shaders on the CPU."
        : lane === 'vulkan'
          ? "createContext: the Vulkan software GPU (Dawn's Vulkan backend over Mesa lavapipe) is not available; install a lavapipe Dawn accepts (Mesa 25: 'scripts/install-lavapipe.sh' prints the VK_ICD_FILENAMES and LD_LIBRARY_PATH to set before starting node) or use softwareLane 'gles'."
          : "createContext: the software GPU (Dawn's OpenGL ES backend over Mesa llvmpipe) is not available; install Mesa's EGL/GLES drivers (Debian: libegl1 libgles2 libegl-mesa0).",
    );
  }
  const { WebGpuBackend } = await import('./backend/webgpu/backend.js');
  return new Context(new WebGpuBackend(device, () => addon().blasInfo(), readTileCache(tileCachePath, device.adapter)), options);
}
