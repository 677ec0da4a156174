/**
 * One numeric array from a file, wherever ncgpu takes arrays from users (the CLI's --features,
 * --labels, --weights, --outputs and .npy-style --dataset): the formats features saved from
 * PyTorch or NumPy come in.
 *
 *   X.npy                     np.save
 *   feats.npz                 np.savez / np.savez_compressed holding one array
 *   feats.npz:train_x         the array named train_x of an .npz
 *   feats.safetensors         safetensors.torch.save_file holding one tensor
 *   feats.safetensors:labels  the tensor named labels
 *
 * Floats come back as Float32Array or Float64Array (safetensors F16 and BF16 converted to
 * Float32Array), integers as Int32Array (values must fit).
 */
import { writeFileAtomic } from './atomicFile.js';
import { encodeNpy, parseNpy } from './npy.js';
import { parseSafetensors, parseSafetensorsHeader, readBytes, writeSafetensors, type TensorToSave } from './safetensors.js';
import { listZip, readZipEntry } from './standard/zip.js';

/** One array read from a file, converted to what ncgpu computes with. */
export interface NumericArray {
  data: Float32Array | Float64Array | Int32Array;
  shape: number[];
  /** the dtype stored in the file, e.g. 'float32', 'int64', 'bf16' */
  dtype: string;
  /** the file (and array name) it came from, for messages */
  source: string;
}

/** The file formats `readArrayFile` reads, by extension. */
export const ARRAY_FILE_EXTENSIONS = ['.npy', '.npz', '.safetensors'] as const;

/** A path with an optional ':name' after an .npz or .safetensors file. */
export function parseArraySpec(spec: string): { path: string; name?: string } {
  const m = /^(.*\.(?:npz|safetensors)):([^/\\]+)$/i.exec(spec);
  return m ? { path: m[1]!, name: m[2]! } : { path: spec };
}

/** Whether `spec` names an array file `readArrayFile` takes (by its extension). */
export function isArrayFile(spec: string): boolean {
  const { path } = parseArraySpec(spec);
  return ARRAY_FILE_EXTENSIONS.some((ext) => path.toLowerCase().endsWith(ext));
}

function only(names: readonly string[], source: string, kind: string): string {
  if (names.length === 1) return names[0]!;
  const list = names.map((n) => `'${n}'`).join(', ');
  throw new Error(names.length === 0 ? `${source}: the ${kind} holds no arrays` : `${source}: the ${kind} holds ${names.length} arrays (${list}); name one as ${source}:NAME`);
}

function fromNpz(bytes: Uint8Array, path: string, name?: string): NumericArray {
  const entries = listZip(bytes, path).filter((e) => e.name.endsWith('.npy'));
  const names = entries.map((e) => e.name.slice(0, -4));
  const chosen = name ?? only(names, path, '.npz archive');
  const entry = entries.find((e) => e.name === `${chosen}.npy`);
  if (!entry) throw new Error(`${path}: has no array '${chosen}'; it holds ${names.map((n) => `'${n}'`).join(', ')}`);
  const where = `${path}:${chosen}`;
  const a = parseNpy(readZipEntry(bytes, entry, path), where);
  return { ...a, source: where };
}

function fromSafetensors(bytes: Uint8Array, path: string, name?: string): NumericArray {
  const chosen = name ?? only([...parseSafetensorsHeader(bytes, path).entries.keys()], path, 'safetensors file');
  return parseSafetensors(bytes, path, [chosen]).get(chosen)!;
}

/** Reads one array; see the module comment for the accepted specs. */
export async function readArrayFile(spec: string): Promise<NumericArray> {
  const { path, name } = parseArraySpec(spec);
  if (!isArrayFile(spec)) {
    throw new Error(`${spec}: not an array file ncgpu reads; use .npy, .npz (optionally FILE.npz:NAME) or .safetensors (optionally FILE.safetensors:NAME)`);
  }
  const bytes = await readBytes(path);
  const lower = path.toLowerCase();
  if (lower.endsWith('.npy')) return { ...parseNpy(bytes, path), source: path };
  if (lower.endsWith('.npz')) return fromNpz(bytes, path, name);
  return fromSafetensors(bytes, path, name);
}

/**
 * Writes arrays to `path`: a .safetensors file holding all of them under their names, or, for
 * a .npy path, the one array given. Atomic (a temporary name, then a rename).
 */
export async function writeArrayFile(path: string, arrays: Record<string, TensorToSave>, metadata?: Record<string, string>): Promise<void> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.safetensors')) return writeSafetensors(path, arrays, metadata);
  if (!lower.endsWith('.npy')) throw new Error(`writeArrayFile: '${path}' must end in .npy or .safetensors`);
  const names = Object.keys(arrays);
  if (names.length !== 1) throw new Error(`writeArrayFile: an .npy file holds one array, got ${names.length} (${names.join(', ')}); write a .safetensors file or one .npy per array`);
  const a = arrays[names[0]!]!;
  await writeFileAtomic(path, encodeNpy(a.data, a.shape));
}
