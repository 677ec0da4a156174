/**
 * Checkpoints of trainable networks, in the tensor-file container of data/tensorFile.ts (magic
 * 'NCNNCKP1'). The header holds { format, version, ncgpuVersion, createdAt, step, sampler,
 * parameters: [{ name, shape, tensor }], optimizer, logs, info }; the tensors are every parameter,
 * every typed array or Matrix found in the optimizer's state, and the per-step loss history.
 *
 * What a resumed run needs and where it is: parameters (by name, shape-checked on restore), the
 * optimizer's state() (any JSON-like value; Float32Arrays and Matrices inside it become tensors and
 * come back as such), the step count, the sampler position (its shuffle order is a function of
 * seed, epoch and cursor, see data/batches.ts) and the loss history.
 */
import type { Context } from '../context.js';
import type { SamplerState } from '../data/batches.js';
import { readTensorFile, writeTensorFile } from '../data/tensorFile.js';
import { Matrix, type Shape } from '../tensor.js';
import { VERSION } from '../version.js';
import type { Module, Parameter } from './module.js';
import type { TrainableOptimizer, TrainState } from './train.js';

const MAGIC = 'NCNNCKP1';
const FORMAT = 'ncgpu-nn-checkpoint';

/** Everything a checkpoint holds, in host memory. */
export interface NnCheckpointData {
  step: number;
  sampler?: SamplerState;
  /** values by parameter name */
  parameters: { name: string; shape: number[]; data: Float32Array }[];
  /** the optimizer's state() (Matrices inside it are read back before writing) */
  optimizer?: unknown;
  /** loss before each step taken */
  losses: number[];
  /** measurement records so far */
  logs: unknown[];
  /** the run's settings, recorded for provenance and for resuming with the same ones */
  info?: Record<string, unknown>;
}

interface Header {
  format: string;
  version: number;
  ncgpuVersion: string;
  createdAt: string;
  step: number;
  sampler?: SamplerState;
  parameters: { name: string; shape: number[]; tensor: number }[];
  optimizer?: unknown;
  losses: number;
  logs: unknown[];
  info?: Record<string, unknown>;
}

/** Reads every parameter's value back (in the model's order). */
export async function readParameters(params: readonly Parameter[]): Promise<NnCheckpointData['parameters']> {
  const out: NnCheckpointData['parameters'] = [];
  for (const p of params) out.push({ name: p.name, shape: [...p.value.shape], data: await p.value.read() });
  return out;
}

/** Overwrites the storage of `target` with `data` (same element count), on the target's backend. */
export async function assignMatrix(target: Matrix, data: Float32Array, name = 'matrix'): Promise<void> {
  if (data.length !== target.size) throw new RangeError(`${name}: ${data.length} values cannot fill a ${target.describe()} matrix`);
  const ctx = target.context;
  const tmp = ctx.matrix(data, target.shape, { name });
  try {
    // the backend orders the copy after queued work on the target and before later work, like any op
    await ctx.backend.copy(tmp.storage(name), target.storage(name), target.size);
  } finally {
    tmp.dispose();
  }
}

/**
 * Writes saved values into the model's parameters, matched by name. A missing or extra name or a
 * shape that differs is an error naming it: a checkpoint of another architecture must not load.
 */
export async function restoreParameters(params: readonly Parameter[], saved: NnCheckpointData['parameters']): Promise<void> {
  const byName = new Map(saved.map((s) => [s.name, s]));
  const missing = params.filter((p) => !byName.has(p.name)).map((p) => p.name);
  if (missing.length) throw new RangeError(`restoreParameters: the checkpoint has no values for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} (a different architecture?)`);
  const names = new Set(params.map((p) => p.name));
  const extra = saved.filter((s) => !names.has(s.name)).map((s) => s.name);
  if (extra.length) throw new RangeError(`restoreParameters: the checkpoint holds parameters this model lacks: ${extra.slice(0, 5).join(', ')} (a different architecture?)`);
  for (const p of params) {
    const s = byName.get(p.name)!;
    const shape = [...p.value.shape];
    if (s.shape.join('x') !== shape.join('x')) {
      throw new RangeError(`restoreParameters: '${p.name}' is ${shape.join('x')} in the model but ${s.shape.join('x')} in the checkpoint`);
    }
  }
  for (const p of params) await assignMatrix(p.value, byName.get(p.name)!.data, p.name);
}

// ---------------------------------------------------------------- generic state encoding

type Encoded = null | boolean | number | string | Encoded[] | { [k: string]: Encoded };

async function encode(value: unknown, tensors: (Float32Array | Float64Array)[], path: string): Promise<Encoded> {
  if (value === undefined) return { $undefined: true };
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $number: String(value) };
  if (value instanceof Matrix) {
    tensors.push(await value.read());
    return { $matrix: tensors.length - 1, shape: [...value.shape] };
  }
  if (value instanceof Float32Array || value instanceof Float64Array) {
    // stored in its own precision: an f64 optimizer statistic survives a save exactly
    tensors.push(value);
    return { $tensor: tensors.length - 1, dtype: value instanceof Float32Array ? 'f32' : 'f64' };
  }
  if (value instanceof Int32Array) return { $int32: Array.from(value) };
  if (value instanceof Map) {
    const entries: Encoded[] = [];
    for (const [k, v] of value) entries.push([await encode(k, tensors, `${path}.key`), await encode(v, tensors, `${path}[${String(k)}]`)]);
    return { $map: entries };
  }
  if (Array.isArray(value)) {
    const out: Encoded[] = [];
    for (const [i, v] of value.entries()) out.push(await encode(v, tensors, `${path}[${i}]`));
    return out;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, Encoded> = {};
    for (const [k, v] of Object.entries(value)) out[k.startsWith('$') ? `$$${k}` : k] = await encode(v, tensors, `${path}.${k}`);
    return out;
  }
  throw new TypeError(`saveNnCheckpoint: cannot store ${path} (${Object.prototype.toString.call(value)}) of the optimizer state`);
}

function decode(value: Encoded, tensor: (i: number) => Float32Array, anyTensor: (i: number) => Float32Array | Float64Array, context: Context | undefined): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => decode(v, tensor, anyTensor, context));
  if ('$undefined' in value) return undefined;
  if ('$number' in value) return Number(value.$number);
  if ('$int32' in value) return Int32Array.from(value.$int32 as number[]);
  if ('$tensor' in value) {
    // files written before f64 storage hold f64 state as f32; widen it as before
    const t = anyTensor(value.$tensor as number);
    return value.dtype === 'f64' && t instanceof Float32Array ? Float64Array.from(t) : t;
  }
  if ('$matrix' in value) {
    const t = tensor(value.$matrix as number);
    const shape = value.shape as number[] as unknown as Shape;
    if (!context) throw new Error('loadNnCheckpoint: the optimizer state holds matrices; pass a context to load them');
    return context.matrix(t, shape, { name: 'optimizer state' });
  }
  if ('$map' in value) {
    return new Map((value.$map as Encoded[][]).map(([k, v]) => [decode(k!, tensor, anyTensor, context), decode(v!, tensor, anyTensor, context)]));
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k.startsWith('$$') ? k.slice(2) : k] = decode(v, tensor, anyTensor, context);
  return out;
}

// ---------------------------------------------------------------- file

/** Writes a checkpoint to `path` atomically. */
export async function saveNnCheckpoint(path: string, data: NnCheckpointData): Promise<void> {
  const tensors: (Float32Array | Float64Array)[] = [];
  const parameters = data.parameters.map((p) => {
    tensors.push(p.data);
    return { name: p.name, shape: p.shape, tensor: tensors.length - 1 };
  });
  const optimizer = data.optimizer === undefined ? undefined : await encode(data.optimizer, tensors, 'state');
  tensors.push(Float32Array.from(data.losses));
  const losses = tensors.length - 1;
  const header: Header = {
    format: FORMAT,
    version: 1,
    ncgpuVersion: VERSION,
    createdAt: new Date().toISOString(),
    step: data.step,
    sampler: data.sampler,
    parameters,
    optimizer,
    losses,
    logs: data.logs,
    info: data.info,
  };
  // (NaN and Infinity in logs become null: JSON has neither)
  await writeTensorFile(path, MAGIC, { ...header }, tensors.map((t) => ({ entry: { rows: 1, cols: t.length }, data: t })));
}

/**
 * Reads a checkpoint. Matrices in the optimizer state are created on `context` (required only
 * when the state holds any).
 */
export async function loadNnCheckpoint(path: string, context?: Context): Promise<NnCheckpointData & { ncgpuVersion: string; createdAt: string }> {
  const bad = (why: string) => new Error(`loadNnCheckpoint: ${path} is not a usable network checkpoint (${why})`);
  const file = await readTensorFile<Header>(path, MAGIC, bad);
  const header = file.header;
  if (header.format !== FORMAT || header.version !== 1) throw bad(`format ${header.format} version ${header.version}`);
  const entry = (i: number) => {
    const e = header.tensors[i];
    if (!e) throw bad(`tensor ${i} is missing`);
    return e;
  };
  const tensor = (i: number): Float32Array => file.read(entry(i), String(i));
  const anyTensor = (i: number): Float32Array | Float64Array => file.readAny(entry(i), String(i));
  return {
    ncgpuVersion: header.ncgpuVersion,
    createdAt: header.createdAt,
    step: header.step,
    sampler: header.sampler,
    parameters: header.parameters.map((p) => ({ name: p.name, shape: p.shape, data: tensor(p.tensor) })),
    optimizer: header.optimizer === undefined ? undefined : decode(header.optimizer as Encoded, tensor, anyTensor, context),
    losses: Array.from(tensor(header.losses)),
    logs: header.logs,
    info: header.info,
  };
}

/**
 * Restores a run from a checkpoint into `model` (parameters, by name) and `optimizer` (its
 * state), and returns what trainNetwork's `resume` takes plus the settings recorded with it.
 */
export async function loadTrainingCheckpoint(
  path: string,
  model: Module,
  optimizer?: TrainableOptimizer,
): Promise<{ resume: TrainState; info?: Record<string, unknown> }> {
  const params = model.parameters();
  const ck = await loadNnCheckpoint(path, params[0]?.value.context);
  await restoreParameters(params, ck.parameters);
  if (optimizer && ck.optimizer !== undefined) {
    if (!optimizer.loadState) throw new Error(`loadTrainingCheckpoint: ${path} holds optimizer state but the optimizer has no loadState()`);
    await optimizer.loadState(ck.optimizer as never);
  }
  return {
    resume: { step: ck.step, sampler: ck.sampler, losses: ck.losses, logs: ck.logs as Record<string, unknown>[] },
    info: ck.info,
  };
}
