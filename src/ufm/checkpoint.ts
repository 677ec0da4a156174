/**
 * UFM checkpoints: one file holding a JSON header and the raw tensors.
 *
 * Layout (little-endian):
 *   bytes 0..7    the magic 'NCUFMCK1'
 *   bytes 8..11   u32 header length h (a multiple of 4; the JSON is padded with spaces)
 *   bytes 12..    h bytes of UTF-8 JSON: { format, version, ncgpuVersion, shape, step, createdAt,
 *                 training, logs, tensors: [{ name, rows, cols, dtype: 'f32', offset }] }
 *   then          the tensors as raw f32, at the byte offsets (from the start of the data block)
 *                 the header gives: H, W_1..W_L, the per-step losses so far, and the
 *                 balancedness reference at step 0 when it was measured.
 *
 * The file is written to a temporary name and renamed, so an interrupted write never leaves a
 * truncated checkpoint behind.
 */
import type { Context } from '../context.js';
import { readTensorFile, writeTensorFile, type TensorToWrite } from '../data/tensorFile.js';
import { VERSION } from '../version.js';
import { checkUfmShape, parameterShape, UfmModel, type UfmShape } from './model.js';
import type { UfmMeasurement, UfmTrainState } from './train.js';

const MAGIC = 'NCUFMCK1';
const FORMAT = 'ncgpu-ufm-checkpoint';

interface TensorEntry {
  name: string;
  rows: number;
  cols: number;
  dtype: 'f32';
}

interface Header {
  format: string;
  version: number;
  ncgpuVersion: string;
  shape: UfmShape;
  step: number;
  createdAt: string;
  training?: Record<string, unknown>;
  logs: UfmMeasurement[];
}

/** A loaded UFM checkpoint: the model, where training stood, and the settings it ran with. */
export interface UfmCheckpoint {
  model: UfmModel;
  state: UfmTrainState;
  /** the training settings recorded when the checkpoint was written */
  training?: Record<string, unknown>;
  ncgpuVersion: string;
}

/** Writes the model and training state to `path` (atomically). */
export async function saveUfmCheckpoint(path: string, model: UfmModel, state: UfmTrainState, training?: Record<string, unknown>): Promise<void> {
  const params = await model.readParameters();
  const shape = model.shape;
  const tensors: TensorToWrite<TensorEntry>[] = [];
  [params.H, ...params.W].forEach((data, i) => {
    const [rows, cols] = parameterShape(shape, i);
    tensors.push({ entry: { name: i === 0 ? 'H' : `W_${i}`, rows, cols, dtype: 'f32' }, data });
  });
  tensors.push({ entry: { name: 'losses', rows: 1, cols: state.losses.length, dtype: 'f32' }, data: Float32Array.from(state.losses) });
  state.balanceReference?.forEach((data, l) => {
    tensors.push({ entry: { name: `balanceReference_${l}`, rows: model.width, cols: model.width, dtype: 'f32' }, data });
  });
  const header: Header = {
    format: FORMAT,
    version: 1,
    ncgpuVersion: VERSION,
    shape,
    step: state.step,
    createdAt: new Date().toISOString(),
    training,
    logs: state.logs,
  };
  await writeTensorFile(path, MAGIC, { ...header }, tensors);
}

/** Reads a checkpoint back: the model on `context` and the state to resume training from. */
export async function loadUfmCheckpoint(context: Context, path: string): Promise<UfmCheckpoint> {
  const bad = (why: string) => new Error(`loadUfmCheckpoint: ${path} is not a usable UFM checkpoint (${why})`);
  const file = await readTensorFile<Header>(path, MAGIC, bad);
  const header = file.header;
  if (header.format !== FORMAT || header.version !== 1) throw bad(`format ${header.format} version ${header.version}`);
  checkUfmShape('loadUfmCheckpoint', header.shape);
  const tensor = (name: string): Float32Array | undefined => {
    const e = (header.tensors as (TensorEntry & { offset: number })[]).find((t) => t.name === name);
    return e ? file.read(e, name) : undefined;
  };
  const need = (name: string) => {
    const t = tensor(name);
    if (!t) throw bad(`tensor ${name} is missing`);
    return t;
  };
  const shape = header.shape;
  const H = need('H');
  const W = Array.from({ length: shape.depth }, (_, l) => need(`W_${l + 1}`));
  const model = UfmModel.fromParameters(context, shape, { H, W });
  const reference: Float32Array[] = [];
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
