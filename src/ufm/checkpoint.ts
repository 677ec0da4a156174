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
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Context } from '../context.js';
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
  offset: number;
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
  tensors: TensorEntry[];
}

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
  const tensors: { entry: Omit<TensorEntry, 'offset'>; data: Float32Array }[] = [];
  [params.H, ...params.W].forEach((data, i) => {
    const [rows, cols] = parameterShape(shape, i);
    tensors.push({ entry: { name: i === 0 ? 'H' : `W_${i}`, rows, cols, dtype: 'f32' }, data });
  });
  tensors.push({ entry: { name: 'losses', rows: 1, cols: state.losses.length, dtype: 'f32' }, data: Float32Array.from(state.losses) });
  state.balanceReference?.forEach((data, l) => {
    tensors.push({ entry: { name: `balanceReference_${l}`, rows: model.width, cols: model.width, dtype: 'f32' }, data });
  });
  let offset = 0;
  const entries: TensorEntry[] = tensors.map(({ entry, data }) => {
    const e = { ...entry, offset };
    offset += data.byteLength;
    return e;
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
    tensors: entries,
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 4) * 4;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(json.length, 8);
  const body = Buffer.alloc(offset);
  for (const [i, t] of tensors.entries()) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(body, entries[i]!.offset);
  }
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, Buffer.concat([prefix, json, body]));
  await rename(tmp, path);
}

/** Reads a checkpoint back: the model on `context` and the state to resume training from. */
export async function loadUfmCheckpoint(context: Context, path: string): Promise<UfmCheckpoint> {
  const buf = await readFile(path);
  const bad = (why: string) => new Error(`loadUfmCheckpoint: ${path} is not a usable UFM checkpoint (${why})`);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw bad('wrong magic bytes');
  const h = buf.readUInt32LE(8);
  if (12 + h > buf.length) throw bad('truncated header');
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + h)) as Header;
  } catch (e) {
    throw bad(`header is not JSON: ${(e as Error).message}`);
  }
  if (header.format !== FORMAT || header.version !== 1) throw bad(`format ${header.format} version ${header.version}`);
  checkUfmShape('loadUfmCheckpoint', header.shape);
  const dataStart = 12 + h;
  const tensor = (name: string): Float32Array | undefined => {
    const e = header.tensors.find((t) => t.name === name);
    if (!e) return undefined;
    const bytes = e.rows * e.cols * 4;
    if (dataStart + e.offset + bytes > buf.length) throw bad(`tensor ${name} runs past the end of the file`);
    const out = new Float32Array(e.rows * e.cols);
    Buffer.from(out.buffer).set(buf.subarray(dataStart + e.offset, dataStart + e.offset + bytes));
    return out;
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
