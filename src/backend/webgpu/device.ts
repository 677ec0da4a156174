/**
 * One Dawn device and everything that must be shared around it: the effective limits, a pool of
 * storage buffers, cached pipelines and uniform buffers, one command encoder that collects many
 * dispatches per submit, and error capture.
 *
 * WebGPU reports validation errors asynchronously and only to whoever listens, so every pipeline
 * creation and every submit is wrapped in error scopes whose results are collected; `sync()` and
 * every read await them and throw the first error. `uncapturederror` and `device.lost` feed the
 * same list. Nothing the GPU rejects can turn into a silently wrong number.
 */
import type { AdapterDescription, GpuFeatureInfo, ShaderFeature, TunedGemmTiles } from '../types.js';
import type { FoundAdapter } from './adapter.js';
import { OPTIONAL_FEATURES, requestDevice, returnDevice, takeIdleDevice, type DeviceOwner, type PooledDevice } from './devicePool.js';
import { PassTimer } from './passTimer.js';
import { shaderSource, type IncludeSwaps } from './shaderSource.js';

/** What timeGpu returns: fn's value and, with timestamp queries, the GPU seconds of its passes. */
export interface GpuTiming<T> {
  value: T;
  /** summed over the compute passes; absent without timestamp queries or when passes went untimed */
  gpuSeconds?: number;
  /** passes timed */
  passes: number;
}

export class GpuError extends Error {
  override name = 'GpuError';
}

/** A storage buffer handed out to a Matrix. `bytes` is what was asked for; the buffer may be larger. */
export interface GpuStorage {
  buffer: GPUBuffer;
  bytes: number;
  released: boolean;
}

/** A binding of part of a storage buffer plus the element offset the shader must add. */
export interface BoundRange {
  binding: GPUBufferBinding;
  /** elements between the binding's start and the first element asked for */
  elemOffset: number;
}

export interface DeviceOptions {
  /**
   * Upper bound on one storage binding in bytes, below the adapter's own limit. Lets tests run
   * the chunked paths on small matrices.
   */
  maxBindingBytes?: number;
  /** bytes of released buffers kept for reuse (default 512 MiB) */
  poolBytes?: number;
  /** optional features not to request even when the adapter has them (runs the shaders every device runs) */
  withoutFeatures?: readonly ShaderFeature[];
}

const STORAGE_USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
/** Flush the encoder after this many dispatches so a long op sequence does not grow unbounded. */
const MAX_DISPATCHES_PER_SUBMIT = 512;
const MAX_CACHED_UNIFORMS = 4096;

/**
 * Size classes with three significant bits (at most 12.5% waste) so released buffers of similar
 * size can be reused.
 */
function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 256) * 256);
  const shift = Math.max(0, Math.floor(Math.log2(b)) - 2);
  const unit = 2 ** shift;
  return Math.ceil(b / unit) * unit;
}

const LIMIT_NAMES = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

/** Dawn's name of the subgroup-matrix (cooperative matrix) feature, where an adapter exposes it. */
const SUBGROUP_MATRIX = /subgroup-matrix/;

/** What the device was created with, and the shader variants that allows. */
function featureInfo(entry: PooledDevice, disabled: readonly ShaderFeature[]): GpuFeatureInfo {
  const has = (f: string) => entry.device.features.has(f);
  const info = entry.found.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const languageFeatures = (entry.found.gpu as GPU & { wgslLanguageFeatures?: ReadonlySet<string> }).wgslLanguageFeatures;
  const subgroups = has('subgroups');
  return {
    enabled: OPTIONAL_FEATURES.filter(has),
    disabled: [...disabled],
    ...(subgroups && info.subgroupMinSize ? { subgroupMinSize: info.subgroupMinSize, subgroupMaxSize: info.subgroupMaxSize } : {}),
    // the subgroup row core names subgroups by WGSL's subgroup_id builtin (a language feature)
    subgroupReductions: subgroups && (languageFeatures?.has('subgroup_id') ?? false),
    f16Gemm: has('shader-f16'),
    subgroupMatrix: [...entry.found.adapter.features].some((f) => SUBGROUP_MATRIX.test(String(f))),
  };
}

export class GpuDevice implements DeviceOwner {
  readonly device: GPUDevice;
  readonly adapter: AdapterDescription;
  readonly limits: Record<string, number>;
  /** bytes one storage binding may span (multiple of 4) */
  readonly maxBindingBytes: number;
  readonly maxBufferBytes: number;
  readonly offsetAlignment: number;
  readonly maxWorkgroupsPerDim: number;
  /** the optional features the device has and the shader variants they allow */
  readonly features: GpuFeatureInfo;
  /**
   * GEMM tiles (kernels/gemmTiles.ts): the tuned choices for this adapter, and a configuration
   * forced while one is timed
   */
  gemmTiles: { tuned: TunedGemmTiles[]; forced?: string } = { tuned: [] };

  /** the Dawn device with its compiled pipelines, handed back to the device pool on dispose */
  private readonly entry: PooledDevice;
  /** the pool's key for this kind of adapter; undefined: the device is destroyed on dispose */
  private readonly poolKind: string | undefined;
  private encoder: GPUCommandEncoder | undefined;
  /** set while timeGpu runs: the passes begun meanwhile write timestamps */
  private timer: PassTimer | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private dispatchCount = 0;
  private encodedLabels: string[] = [];
  private pendingScopes: Promise<string | undefined>[] = [];
  private errors: string[] = [];
  private lostReason: string | undefined;
  private disposed = false;

  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private readonly poolLimit: number;
  private liveBuffers = 0;
  private liveBytes = 0;
  /** buffers that queued-but-unsubmitted commands may still use; destroyed after the next submit */
  private destroyAfterSubmit: GPUBuffer[] = [];
  /** buffers released while the open encoder may still reference them */
  private readonly releasedThisBatch = new Set<GPUBuffer>();

  private readonly pipelines: Map<string, GPUComputePipeline>;
  /** the include a variant pipeline swapped in (e.g. 'row_reduce_subgroups'), counted per launch */
  private readonly variantOf = new WeakMap<GPUComputePipeline, string>();
  private readonly variantDispatches: Record<string, number> = {};
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly staging = new Map<number, GPUBuffer[]>();

  private constructor(entry: PooledDevice, poolKind: string | undefined, options: DeviceOptions) {
    const device = entry.device;
    this.entry = entry;
    this.poolKind = poolKind;
    this.device = device;
    this.pipelines = entry.pipelines;
    this.adapter = entry.found.description;
    const limits: Record<string, number> = {};
    for (const name of LIMIT_NAMES) limits[name] = Number(device.limits[name]);
    this.limits = limits;
    const adapterBinding = limits.maxStorageBufferBindingSize!;
    this.maxBindingBytes = Math.floor(Math.min(adapterBinding, options.maxBindingBytes ?? Infinity) / 4) * 4;
    this.maxBufferBytes = limits.maxBufferSize!;
    this.offsetAlignment = limits.minStorageBufferOffsetAlignment!;
    this.maxWorkgroupsPerDim = limits.maxComputeWorkgroupsPerDimension!;
    this.poolLimit = options.poolBytes ?? 512 * 2 ** 20;
    this.features = featureInfo(entry, options.withoutFeatures ?? []);

    entry.owner = this;
    if (entry.lostReason !== undefined) this.lostReason = entry.lostReason;
  }

  uncapturedError(message: string): void {
    this.errors.push(`webgpu: uncaptured error: ${message}`);
  }

  lost(reason: string): void {
    if (!this.disposed) this.lostReason = reason;
  }

  /** A new device of its own on `found` (destroyed on dispose), with the adapter's real limits. */
  static async create(found: FoundAdapter, options: DeviceOptions = {}): Promise<GpuDevice> {
    return new GpuDevice(await requestDevice(found, LIMIT_NAMES, options.withoutFeatures), undefined, options);
  }

  /**
   * A device for a context: the idle device of this kind of adapter when a disposed context left
   * one (see devicePool.ts), else a new one on the adapter `find` returns (undefined when none).
   */
  static async open(kind: string, find: () => Promise<FoundAdapter | undefined>, options: DeviceOptions = {}): Promise<GpuDevice | undefined> {
    // a device without some features is another kind of device: it is pooled apart
    const without = [...(options.withoutFeatures ?? [])].sort();
    const poolKind = without.length > 0 ? `${kind} without ${without.join(',')}` : kind;
    let entry = takeIdleDevice(poolKind);
    if (!entry) {
      const found = await find();
      if (!found) return undefined;
      entry = await requestDevice(found, LIMIT_NAMES, without);
    }
    return new GpuDevice(entry, poolKind, options);
  }

  // ---------------------------------------------------------------- errors and lifecycle

  private checkAlive(): void {
    if (this.disposed) throw new GpuError('webgpu: the context has been disposed');
    if (this.lostReason !== undefined) throw new GpuError(`webgpu: device lost (${this.lostReason})`);
  }

  private pushScopes(): void {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('internal');
  }

  private popScopes(what: () => string): void {
    for (let i = 0; i < 3; i++) {
      this.pendingScopes.push(
        this.device.popErrorScope().then((e) => (e ? `webgpu: ${e.constructor.name} in ${what()}: ${e.message}` : undefined)),
      );
    }
  }

  /** Runs `fn` inside its own error scopes (scopes nest, so this is safe while a batch is open). */
  private scoped<T>(what: string, fn: () => T): T {
    this.pushScopes();
    try {
      return fn();
    } finally {
      this.popScopes(() => what);
    }
  }

  /** Awaits every captured error scope and throws the first error that any of them held. */
  async checkErrors(): Promise<void> {
    const scopes = this.pendingScopes;
    this.pendingScopes = [];
    const found = (await Promise.all(scopes)).filter((e): e is string => e !== undefined);
    this.errors.push(...found);
    if (this.lostReason !== undefined) this.errors.push(`webgpu: device lost (${this.lostReason})`);
    if (this.errors.length > 0) {
      const [first, ...rest] = this.errors;
      this.errors = [];
      throw new GpuError(rest.length ? `${first} (and ${rest.length} more error(s))` : first);
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    try {
      this.flush();
      await this.device.queue.onSubmittedWorkDone();
    } finally {
      this.disposed = true;
      for (const list of [...this.pool.values(), ...this.staging.values()]) for (const b of list) b.destroy();
      for (const b of this.uniforms.values()) b.destroy();
      for (const b of this.destroyAfterSubmit) b.destroy();
      this.pool.clear();
      this.staging.clear();
      this.uniforms.clear();
      this.destroyAfterSubmit = [];
      // a device with unreported errors is not handed to the next context
      const healthy = this.poolKind !== undefined && this.lostReason === undefined && this.errors.length === 0;
      returnDevice(this.poolKind ?? '', this.entry, healthy);
    }
  }

  // ---------------------------------------------------------------- buffers

  alloc(bytes: number): GpuStorage {
    this.checkAlive();
    const size = this.checkedSize(bytes);
    const buffer =
      this.takePooled(size) ??
      this.scoped('createBuffer', () => this.device.createBuffer({ size, usage: STORAGE_USAGE() }));
    return this.track(buffer, bytes);
  }

  /** New storage holding a copy of `data`. */
  upload(data: ArrayBufferView): GpuStorage {
    this.checkAlive();
    const bytes = data.byteLength;
    const size = this.checkedSize(bytes);
    const src = new Uint8Array(data.buffer, data.byteOffset, bytes);
    const reused = this.takePooled(size);
    if (reused) {
      // queue.writeBuffer runs before any commands still waiting in the open encoder; if one of
      // them uses this buffer (released during this batch), submit them first to keep order.
      if (this.releasedThisBatch.has(reused)) this.flush();
      this.device.queue.writeBuffer(reused, 0, src);
      return this.track(reused, bytes);
    }
    const buffer = this.scoped('upload', () => {
      const b = this.device.createBuffer({ size, usage: STORAGE_USAGE(), mappedAtCreation: true });
      new Uint8Array(b.getMappedRange(0, size)).set(src);
      b.unmap();
      return b;
    });
    return this.track(buffer, bytes);
  }

  private checkedSize(bytes: number): number {
    const size = sizeClass(bytes);
    if (size > this.maxBufferBytes) {
      throw new RangeError(
        `webgpu: a matrix of ${bytes} bytes exceeds this adapter's maxBufferSize (${this.maxBufferBytes} bytes); split it or use the cpu backend`,
      );
    }
    return size;
  }

  private takePooled(size: number): GPUBuffer | undefined {
    const buffer = this.pool.get(size)?.pop();
    if (buffer) this.pooledBytes -= size;
    return buffer;
  }

  private track(buffer: GPUBuffer, bytes: number): GpuStorage {
    this.liveBuffers++;
    this.liveBytes += buffer.size;
    return { buffer, bytes, released: false };
  }

  release(s: GpuStorage): void {
    if (s.released) return;
    s.released = true;
    const size = s.buffer.size;
    this.liveBuffers--;
    this.liveBytes -= size;
    if (this.disposed) return;
    if (this.encoder) this.releasedThisBatch.add(s.buffer);
    if (this.pooledBytes + size > this.poolLimit) {
      this.destroyAfterSubmit.push(s.buffer);
      return;
    }
    let list = this.pool.get(size);
    if (!list) this.pool.set(size, (list = []));
    list.push(s.buffer);
    this.pooledBytes += size;
  }

  /** Reads `bytes` bytes from the start of a storage buffer. Flushes queued work first. */
  async read(s: GpuStorage, bytes: number): Promise<ArrayBuffer> {
    this.checkAlive();
    const size = sizeClass(bytes);
    const staging =
      this.staging.get(size)?.pop() ??
      this.scoped('staging buffer', () =>
        this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
      );
    this.endPass();
    this.encoderNow().copyBufferToBuffer(s.buffer, 0, staging, 0, Math.ceil(bytes / 4) * 4);
    this.encodedLabels.push('read');
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, size);
    } catch (e) {
      await this.checkErrors();
      throw new GpuError(`webgpu: reading a result back failed: ${(e as Error).message}`);
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    let list = this.staging.get(size);
    if (!list) this.staging.set(size, (list = []));
    if (list.length < 2) list.push(staging);
    else staging.destroy();
    await this.checkErrors();
    return out;
  }

  /**
   * Binds part of a buffer: `count` elements of `elemBytes` bytes starting at element `start`.
   * The binding starts at the aligned offset below, and the shader adds `elemOffset`.
   */
  bindRange(s: GpuStorage, start: number, count: number, elemBytes = 4): BoundRange {
    const startByte = start * elemBytes;
    const aligned = Math.floor(startByte / this.offsetAlignment) * this.offsetAlignment;
    // a storage binding's size is a multiple of 4 bytes (2-byte elements may end mid-word)
    const size = Math.max(4, Math.ceil((startByte + count * elemBytes - aligned) / 4) * 4);
    if (size > this.maxBindingBytes) {
      throw new RangeError(`webgpu: internal chunking error: binding of ${size} bytes exceeds ${this.maxBindingBytes}`);
    }
    if (aligned + size > s.buffer.size) {
      throw new RangeError(`webgpu: internal error: binding [${aligned}, ${aligned + size}) past buffer of ${s.buffer.size} bytes`);
    }
    return { binding: { buffer: s.buffer, offset: aligned, size }, elemOffset: (startByte - aligned) / elemBytes };
  }

  /** The whole buffer as one binding, when it fits. */
  bindAll(s: GpuStorage): GPUBufferBinding {
    return this.bindRange(s, 0, Math.max(1, Math.ceil(s.bytes / 4))).binding;
  }

  /** Largest number of 4-byte elements one binding may hold. */
  get maxBindingElements(): number {
    return Math.floor((this.maxBindingBytes - this.offsetAlignment) / 4);
  }

  // ---------------------------------------------------------------- pipelines and uniforms

  /**
   * The compute pipeline of shaders/SHADER.wgsl at `entryPoint` with these override constants,
   * compiled once per device. `includes` swaps included files for a variant (see shaderSource.ts);
   * launches of such a pipeline are counted in stats().variantDispatches.
   */
  pipeline(shader: string, entryPoint = 'main', constants: Record<string, number> = {}, includes: IncludeSwaps = {}): GPUComputePipeline {
    this.checkAlive();
    const swaps = Object.keys(includes).length > 0 ? `:${JSON.stringify(includes)}` : '';
    const key = `${shader}:${entryPoint}:${JSON.stringify(constants)}${swaps}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.scoped(`shader '${shader}' (entry '${entryPoint}'${swaps ? `, with ${Object.values(includes).join(', ')}` : ''})`, () => {
        const module = this.device.createShaderModule({ code: shaderSource(shader, includes), label: shader });
        return this.device.createComputePipeline({
          layout: 'auto',
          compute: { module, entryPoint, constants },
          label: `${shader}:${entryPoint}`,
        });
      });
      this.pipelines.set(key, p);
    }
    // pipelines outlive a context with their device: the tag is this context's
    if (swaps && !this.variantOf.has(p)) this.variantOf.set(p, Object.values(includes).join('+'));
    return p;
  }

  /** Compiles arbitrary WGSL; for callers who bring their own kernels (and for testing error capture). */
  pipelineFromCode(label: string, code: string, entryPoint = 'main'): GPUComputePipeline {
    this.checkAlive();
    return this.scoped(`shader '${label}'`, () =>
      this.device.createComputePipeline({
        layout: 'auto',
        compute: { module: this.device.createShaderModule({ code, label }), entryPoint },
        label,
      }),
    );
  }

  /**
   * A uniform buffer holding `data`. Cached by content: the same parameters (the common case in
   * iterative algorithms) reuse one immutable buffer, so there is no write-after-queue hazard.
   */
  uniform(data: ArrayBuffer): GPUBuffer {
    const bytes = new Uint8Array(data);
    const key = Buffer.from(bytes).toString('base64');
    let buf = this.uniforms.get(key);
    if (!buf) {
      if (this.uniforms.size >= MAX_CACHED_UNIFORMS) {
        this.destroyAfterSubmit.push(...this.uniforms.values());
        this.uniforms.clear();
      }
      const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
      buf = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      new Uint8Array(buf.getMappedRange()).set(bytes);
      buf.unmap();
      this.uniforms.set(key, buf);
    }
    return buf;
  }

  // ---------------------------------------------------------------- encoding and submission

  /** The open encoder; opening one also opens the error scopes that its submit will close. */
  private encoderNow(): GPUCommandEncoder {
    if (!this.encoder) {
      this.pushScopes();
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = undefined;
    }
  }

  /**
   * Queues one dispatch. Binding 0 is the uniform block when `params` is given; storage bindings
   * follow in order. `groups` beyond the per-dimension limit must be folded by the caller
   * (see `grid`).
   */
  dispatch(
    label: string,
    pipeline: GPUComputePipeline,
    params: ArrayBuffer | undefined,
    storage: GPUBufferBinding[],
    groups: [number, number?, number?],
  ): void {
    this.checkAlive();
    const [x, y = 1, z = 1] = groups;
    if (x === 0 || y === 0 || z === 0) return;
    for (const g of [x, y, z]) {
      if (g > this.maxWorkgroupsPerDim) {
        throw new RangeError(`webgpu: internal error: ${label} dispatch of ${g} workgroups exceeds ${this.maxWorkgroupsPerDim}`);
      }
    }
    const entries: GPUBindGroupEntry[] = [];
    let binding = 0;
    if (params) entries.push({ binding: binding++, resource: { buffer: this.uniform(params) } });
    for (const resource of storage) entries.push({ binding: binding++, resource });
    this.pass ??= this.encoderNow().beginComputePass(this.timer ? { timestampWrites: this.timer.writes() } : undefined);
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.encodedLabels.push(label);
    const variant = this.variantOf.get(pipeline);
    if (variant) this.variantDispatches[variant] = (this.variantDispatches[variant] ?? 0) + 1;
    if (++this.dispatchCount >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
  }

  /** Splits `count` workgroups over x and y so neither exceeds the per-dimension limit. */
  grid(count: number): [number, number] {
    if (count <= this.maxWorkgroupsPerDim) return [count, 1];
    const y = Math.ceil(count / this.maxWorkgroupsPerDim);
    return [Math.ceil(count / y), y];
  }

  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.checkAlive();
    this.endPass();
    this.encoderNow().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.encodedLabels.push('copy');
  }

  /** Submits everything queued so far (no wait). */
  flush(): void {
    this.endPass();
    const encoder = this.encoder;
    const labels = this.encodedLabels;
    this.encoder = undefined;
    this.encodedLabels = [];
    this.dispatchCount = 0;
    if (encoder) {
      try {
        this.device.queue.submit([encoder.finish()]);
      } finally {
        this.popScopes(() => `the batch [${[...new Set(labels)].slice(0, 8).join(', ')}]`);
      }
    }
    for (const b of this.destroyAfterSubmit) b.destroy();
    this.destroyAfterSubmit = [];
    this.releasedThisBatch.clear();
  }

  /** Whether this device can time its passes with timestamp queries. */
  get hasTimestamps(): boolean {
    return this.device.features.has('timestamp-query');
  }

  /**
   * Runs `fn` and returns its value with the GPU seconds of the compute passes it queued (by
   * timestamp queries; undefined when the device lacks them). Work queued before is submitted
   * first and not counted; the call waits for `fn`'s work to finish.
   */
  async timeGpu<T>(fn: () => Promise<T>): Promise<GpuTiming<T>> {
    if (!this.hasTimestamps) {
      const value = await fn();
      await this.sync();
      return { value, passes: 0 };
    }
    if (this.timer) throw new GpuError('webgpu: timeGpu calls cannot nest');
    this.flush();
    const timer = new PassTimer(this.device);
    this.timer = timer;
    let value: T;
    try {
      value = await fn();
      this.flush();
    } finally {
      this.timer = undefined;
    }
    const gpuSeconds = await timer.seconds();
    await this.sync();
    // a sum missing passes would understate the time: no number then
    return { value, passes: timer.passes, ...(timer.untimedPasses === 0 ? { gpuSeconds } : {}) };
  }

  /** Waits for all queued work and throws the first error it caused. */
  async sync(): Promise<void> {
    this.checkAlive();
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  stats() {
    let pooledBuffers = 0;
    for (const list of this.pool.values()) pooledBuffers += list.length;
    return {
      liveBuffers: this.liveBuffers, liveBytes: this.liveBytes, pooledBuffers, pooledBytes: this.pooledBytes,
      variantDispatches: { ...this.variantDispatches },
    };
  }
}
