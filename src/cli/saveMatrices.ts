/**
 * `--save-matrices npy|safetensors`: a run's result matrices in the run's folder, in the format
 * NumPy or PyTorch users load directly: one .npy per matrix (np.load), or all of them in one
 * matrices.safetensors (safetensors.torch.load_file / safetensors.numpy.load_file).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeArrayFile } from '../data/arrayFile.js';
import type { TensorToSave } from '../data/safetensors.js';

export const MATRIX_FORMATS = ['npy', 'safetensors'] as const;
export type MatrixFormat = (typeof MATRIX_FORMATS)[number];

/**
 * Writes `matrices` (name -> array) into `out` and returns the files written, relative to `out`:
 * matrices.safetensors, or matrices/NAME.npy for each (names must be valid file names).
 */
export async function saveMatrices(
  out: string,
  format: MatrixFormat,
  matrices: Record<string, TensorToSave>,
  metadata: Record<string, string>,
): Promise<string[]> {
  if (format === 'safetensors') {
    await writeArrayFile(join(out, 'matrices.safetensors'), matrices, metadata);
    return ['matrices.safetensors'];
  }
  await mkdir(join(out, 'matrices'), { recursive: true });
  const files: string[] = [];
  for (const [name, m] of Object.entries(matrices)) {
    const file = join('matrices', `${name}.npy`);
    await writeArrayFile(join(out, file), { [name]: m });
    files.push(file);
  }
  return files;
}
