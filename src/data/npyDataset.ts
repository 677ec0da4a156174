/**
 * A labeled data set from two array files: features X (N x d, rows are samples; float32/float64,
 * f16/bf16 from safetensors) and integer labels y (N). K = max label + 1. Each file is an .npy,
 * an .npz or a .safetensors file, with ':NAME' picking one array of several (see `readArrayFile`):
 *
 *   np.save('X.npy', X.astype(np.float32)); np.save('y.npy', y)
 *   safetensors.torch.save_file({'x': feats, 'y': labels}, 'f.safetensors')  # f.safetensors:x, f.safetensors:y
 */
import type { Dataset } from './dataset.js';
import { readArrayFile } from './arrayFile.js';

/**
 * Loads X.npy and y.npy (see the file comment) as a Dataset; errors name the file and the problem
 * (not 2-D, row count mismatch, non-integer or negative labels).
 */
export async function loadNpyDataset(xPath: string, yPath: string): Promise<Dataset> {
  const x = await readArrayFile(xPath);
  if (x.shape.length !== 2) throw new Error(`${xPath} must be a 2-D array (rows are samples), got shape (${x.shape.join(', ')})`);
  const y = await readArrayFile(yPath);
  if (y.shape.length !== 1 && !(y.shape.length === 2 && y.shape[1] === 1)) {
    throw new Error(`${yPath} must be a 1-D array of integer labels, got shape (${y.shape.join(', ')})`);
  }
  const n = x.shape[0]!;
  const d = x.shape[1]!;
  if (y.data.length !== n) throw new Error(`${yPath} has ${y.data.length} labels but ${xPath} has ${n} rows`);
  const labels = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = Number(y.data[i]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${yPath}: labels must be integers >= 0; entry ${i} is ${v}`);
    labels[i] = v;
    k = Math.max(k, v + 1);
  }
  const X = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i]!)) throw new Error(`${xPath}: entry ${i} (row ${Math.floor(i / d)}) is ${X[i]}; the features must be finite`);
  }
  return { X, labels, k, shape: [n, d], names: Array.from({ length: k }, (_, c) => String(c)) };
}
