/**
 * `--save-matrices npy|safetensors`: a run's result matrices as files NumPy or PyTorch users load
 * directly: one NAME.npy per matrix (np.load), or all of them in one matrices.safetensors
 * (safetensors.torch.load_file / safetensors.numpy.load_file).
 */
import { encodeNpy } from '../data/npy.js';
import { encodeSafetensors, type TensorToSave } from '../data/safetensors.js';

export const MATRIX_FORMATS = ['npy', 'safetensors'] as const;
export type MatrixFormat = (typeof MATRIX_FORMATS)[number];

/** The files that hold `matrices` (name -> array) in `format`: names must be valid file names. */
export function matrixFiles(
  format: MatrixFormat,
  matrices: Record<string, TensorToSave>,
  metadata: Record<string, string>,
): { name: string; bytes: Uint8Array }[] {
  if (format === 'safetensors') return [{ name: 'matrices.safetensors', bytes: encodeSafetensors(matrices, metadata) }];
  return Object.entries(matrices).map(([name, m]) => ({ name: `${name}.npy`, bytes: encodeNpy(m.data, m.shape) }));
}
