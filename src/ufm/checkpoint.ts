/**
 * UFM checkpoints: one file holding a JSON header and the raw tensors.
 *
 * Layout (little-endian):
 *   bytes 0..7    the magic 'NCUFMCK1'
 *   bytes 8..11   u32 header length h (a multiple of 4; the JSON is padded with spaces)
 *   bytes 12..    h bytes of UTF-8 JSON: { format, version, ncgpuVersion, shape, precision, step,
 *                 createdAt, training, logs, tensors: [{ name, rows, cols, dtype, offset }] }
 *   then          the tensors, raw, at the byte offsets (from the start of the data block) the
 *                 header gives: H, W_1..W_L, the per-step losses so far, and the balancedness
 *                 reference at step 0 when it was measured.
 *
 * An f64 model (precision 'f64') is stored in f64 (dtype 'f64' throughout), so a resumed run
 * continues from exactly the parameters it stopped at; an f32 model in f32. Files written before
 * the precision was recorded hold f32 models.
 *
 * The file is written to a temporary name and renamed, so an interrupted write never leaves a
 * truncated checkpoint behind.
 */
import type { Context } from '../context.js';
import { readTensorFile, writeTensorFile, type StoredDtype, type TensorToWrite } from '../data/tensorFile.js';
import { VERSION } from '../version.js';
import type { FloatArray } from './measure.js';
import { checkUfmShape, parameterShape, UFM_PRECISIONS, UfmModel, type UfmPrecision, type UfmShape } from './model.js';
import { UfmModelF64, type AnyUfmModel } from './modelF64.js';
import type { UfmMeasurement, UfmTrainState } from './train.js';

const MAGIC = 'NCUFMCK1';
const FORMAT = 'ncgpu-ufm-checkpoint';

interface TensorEntry {
  name: string;
  rows: number;
  cols: number;
  dtype: StoredDtype;
}

interface Header {
  format: string;
  version: number;
  ncgpuVersion: string;
  shape: UfmShape;
  /** absent in files written before f64 models existed: f32 */
  precision?: UfmPrecision;
  step: number;
  createdAt: string;
  training?: Record<string, unknown>;
  logs: UfmMeasurement[];
}

/** A loaded UFM checkpoint: the model, where training stood, and the settings it ran with. */
export interface UfmCheckpoint {
  /** UfmModel for an f32 checkpoint, UfmModelF64 for an f64 one */
  model: AnyUfmModel;
  state: UfmTrainState;
  /** the training settings recorded when the checkpoint was written */
  training?: Record<string, unknown>;
  ncgpuVersion: string;
}

/** Writes the model and training state to `path` (atomically), in the model's precision. */
export async function saveUfmCheckpoint(path: string, model: AnyUfmModel, state: UfmTrainState, training?: Record<string, unknown>): Promise<void> {
  const params = await model.readParameters();
  const shape = model.shape;
  const f64 = model.precision === 'f64';
  const dtype: StoredDtype = f64 ? 'f64' : 'f32';
  const tensors: TensorToWrite<TensorEntry>[] = [];
  const add = (name: string, rows: number, cols: number, data: FloatArray) => {
    if ((data instanceof Float64Array) !== f64) throw new TypeError(`saveUfmCheckpoint: ${name} is a ${data.constructor.name} but the model is ${dtype}`);
    tensors.push({ entry: { name, rows, cols, dtype }, data });
  };
  [params.H, ...params.W].forEach((data, i) => {
    const [rows, cols] = parameterShape(shape, i);
    add(i === 0 ? 'H' : `W_${i}`, rows, cols, data);
  });
  add('losses', 1, state.losses.length, f64 ? Float64Array.from(state.losses) : Float32Array.from(state.losses));
  state.balanceReference?.forEach((data, l) => add(`balanceReference_${l}`, model.width, model.width, data));
  const header: Header = {
    format: FORMAT,
    version: 1,
    ncgpuVersion: VERSION,
    shape,
    precision: model.precision,
    step: state.step,
    createdAt: new Date().toISOString(),
    training,
    logs: state.logs,
  };
  await writeTensorFile(path, MAGIC, { ...header }, tensors);
}

/** The precision of the model a checkpoint holds (read from its header), e.g. to pick a backend before loading it. */
export async function ufmCheckpointPrecision(path: string): Promise<UfmPrecision> {
  const bad = (why: string) => new Error(`ufmCheckpointPrecision: ${path} is not a usable UFM checkpoint (${why})`);
  const precision = (await readTensorFile<Header>(path, MAGIC, bad)).header.precision ?? 'f32';
  if (!UFM_PRECISIONS.includes(precision)) throw bad(`unknown precision '${String(precision)}'`);
  return precision;
}

/** Options of loadUfmCheckpoint. */
export interface LoadUfmCheckpointOptions {
  /** the precision the caller expects; a checkpoint of the other one is refused (default: the file's) */
  precision?: UfmPrecision;
}

/**
 * Reads a checkpoint back: the model (an f32 UfmModel on `context`, or a UfmModelF64 for an f64
 * checkpoint) and the state to resume training from.
 */
export async function loadUfmCheckpoint(context: Context, path: string, options: LoadUfmCheckpointOptions = {}): Promise<UfmCheckpoint> {
  const bad = (why: string) => new Error(`loadUfmCheckpoint: ${path} is not a usable UFM checkpoint (${why})`);
  const file = await readTensorFile<Header>(path, MAGIC, bad);
  const header = file.header;
  if (header.format !== FORMAT || header.version !== 1) throw bad(`format ${header.format} version ${header.version}`);
  checkUfmShape('loadUfmCheckpoint', header.shape);
  const precision = header.precision ?? 'f32';
  if (!UFM_PRECISIONS.includes(precision)) throw bad(`unknown precision '${String(precision)}'`);
  if (options.precision !== undefined && options.precision !== precision) {
    throw new Error(`loadUfmCheckpoint: ${path} holds an ${precision} model, not an ${options.precision} one: resume it with precision '${precision}' (--precision ${precision}), or start a new ${options.precision} run`);
  }
  const expected: StoredDtype = precision;
  const tensor = (name: string): FloatArray | undefined => {
    const e = (header.tensors as (TensorEntry & { offset: number })[]).find((t) => t.name === name);
    if (!e) return undefined;
    const t = file.readAny(e, name);
    if ((t instanceof Float64Array ? 'f64' : 'f32') !== expected) throw bad(`tensor ${name} is not ${expected} like the ${precision} model`);
    return t;
  };
  const need = (name: string) => {
    const t = tensor(name);
    if (!t) throw bad(`tensor ${name} is missing`);
    return t;
  };
  const shape = header.shape;
  const H = need('H');
  const W = Array.from({ length: shape.depth }, (_, l) => need(`W_${l + 1}`));
  const model: AnyUfmModel = precision === 'f64'
    ? UfmModelF64.fromParameters(shape, { H, W })
    : UfmModel.fromParameters(context, shape, { H: H as Float32Array, W: W as Float32Array[] });
  const reference: FloatArray[] = [];
  for (let l = 0; l < shape.depth; l++) {
    const t = tensor(`balanceReference_${l}`);
    if (t) reference.push(t);
  }
  const state: UfmTrainState = {
    step: header.step,
    logs: header.logs,
    losses: Array.from(tensor('losses') ?? []),
    balanceReference: reference.length === shape.depth ? reference : undefined,
  };
  return { model, state, training: header.training, ncgpuVersion: header.ncgpuVersion };
}
