/**
 * What every standard-format reader hands to the loader: one official split with all of its
 * labels decoded but its pixels left in the file's bytes, and a way to convert one sample. The
 * loader picks the samples first and converts only those to f32, so a subset of CIFAR's 50,000
 * training images never costs the 614 MB of the full f32 array.
 */
import type { Rng } from '../../random.js';
import type { Dataset } from '../dataset.js';

export interface RawSplit {
  /** official samples in this split */
  n: number;
  /** features per sample */
  d: number;
  /** all n labels, in file order */
  labels: Int32Array;
  /** writes sample i's d features (scaled, in the documented layout) to out[offset .. offset + d) */
  copySample(i: number, out: Float32Array, offset: number): void;
}

export interface RawDataset {
  train: RawSplit;
  test: RawSplit;
  k: number;
  names: readonly string[];
  /** format-specific facts for the loader's description (layout, scale, sample shape, ...) */
  description: Record<string, unknown>;
}

/** The most values one Float32Array may hold here (the same bound the CPU backend uses). */
export const MAX_F32_VALUES = 2 ** 31 - 1;

/** uint8 -> [0, 1]: b / 255 rounded once to f32, the same value whatever the format. */
export const UINT8_TO_UNIT = Float32Array.from({ length: 256 }, (_, b) => b / 255);

export interface SelectOptions {
  k: number;
  names: readonly string[];
  /** samples per class, or undefined for all of them */
  perClass: number | undefined;
  /** the option's name and the split's, for the error: 'nPerClass', 'training' */
  option: string;
  splitName: string;
  /** prefix of errors, e.g. the dataset's path */
  where: string;
  /** random choice within each class; first in file order without */
  rng?: Rng;
}

/**
 * Sample indices of one split, grouped by class (class 0 first) and in file order within each
 * class. With `perClass` set, each class contributes exactly that many: its first ones in the file,
 * or with `rng` a random choice (a full Fisher-Yates shuffle of the class, first perClass kept, so a
 * smaller request with the same seed picks a subset of a larger one). Too few samples in a class
 * is a RangeError naming the option, the class and its count.
 */
export function selectByClass(labels: Int32Array, o: SelectOptions): Int32Array {
  const byClass: number[][] = Array.from({ length: o.k }, () => []);
  labels.forEach((y, i) => byClass[y]!.push(i));
  if (o.perClass === undefined) return Int32Array.from(byClass.flat());
  const per = o.perClass;
  const out = new Int32Array(per * o.k);
  for (let c = 0; c < o.k; c++) {
    const idx = byClass[c]!;
    if (idx.length < per) {
      const name = o.names[c] !== undefined && o.names[c] !== String(c) ? ` (${o.names[c]})` : '';
      throw new RangeError(`${o.where}: ${o.option} ${per}: class ${c}${name} has only ${idx.length} ${o.splitName} samples`);
    }
    let chosen = idx;
    if (o.rng) {
      const shuffled = [...idx];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = o.rng.int(0, i);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      chosen = shuffled.slice(0, per).sort((a, b) => a - b);
    }
    for (let t = 0; t < per; t++) out[c * per + t] = chosen[t]!;
  }
  return out;
}

/** Several files of one split (CIFAR's five training batches, SVHN's train and extra) as one, in order. */
export function concatSplits(parts: readonly RawSplit[]): RawSplit {
  if (parts.length === 1) return parts[0]!;
  const d = parts[0]!.d;
  const n = parts.reduce((s, p) => s + p.n, 0);
  const partOf = new Int32Array(n);
  const local = new Int32Array(n);
  const labels = new Int32Array(n);
  let i = 0;
  parts.forEach((p, f) => {
    labels.set(p.labels, i);
    for (let r = 0; r < p.n; r++, i++) {
      partOf[i] = f;
      local[i] = r;
    }
  });
  return { n, d, labels, copySample: (s, out, offset) => parts[partOf[s]!]!.copySample(local[s]!, out, offset) };
}

/** Throws unless n x d values fit one Float32Array; says how to ask for fewer. */
export function checkF32Size(n: number, d: number, what: string): void {
  if (n * d > MAX_F32_VALUES) {
    throw new RangeError(
      `${what}: ${n} samples x ${d} features = ${n * d} values is more than one Float32Array holds here (${MAX_F32_VALUES}); ` +
        'take a class-balanced subset with nPerClass / testPerClass',
    );
  }
}

/** The chosen samples of a split, converted to f32 (the only f32 allocation of a load). */
export function gatherSamples(raw: RawSplit, indices: Int32Array, k: number, names: readonly string[], what: string): Dataset {
  const n = indices.length;
  const d = raw.d;
  checkF32Size(n, d, what);
  const X = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    const i = indices[t]!;
    raw.copySample(i, X, t * d);
    labels[t] = raw.labels[i]!;
  }
  return { X, labels, k, shape: [n, d], names };
}

/** A label as read, checked to be a class index; an error names the file and the sample otherwise. */
export function checkLabel(value: number, k: number, file: string, sample: number): number {
  if (!(value >= 0 && value < k)) throw new Error(`${file}: label ${value} of sample ${sample} is outside 0..${k - 1}`);
  return value;
}
