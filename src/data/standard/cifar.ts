/**
 * CIFAR-10 and CIFAR-100 in their binary versions (cifar-10-binary.tar.gz, cifar-100-binary.tar.gz
 * from https://www.cs.toronto.edu/~kriz/cifar.html; not the Python pickles). Each file is a run of
 * fixed-size records:
 *
 *   CIFAR-10   1 label byte                         + 3072 pixel bytes   (3073 bytes)
 *   CIFAR-100  1 coarse label byte + 1 fine label byte + 3072 pixel bytes (3074 bytes)
 *
 * The 3072 pixels are three 32 x 32 planes, R then G then B, each row-major. Features keep that
 * order: channel-major (channel, row, col), scaled to [0, 1] as byte / 255. The SVHN and .npz
 * loaders convert their images to the same layout, so a 32 x 32 colour image has one layout in
 * ncgpu whichever file it came from.
 */
import { readFileSync } from 'node:fs';
import { readDatasetFile } from './files.js';
import { UINT8_TO_UNIT, checkLabel, concatSplits, type RawDataset, type RawSplit } from './samples.js';

export const CIFAR_PIXELS = 3072;
export const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

const CIFAR_DESCRIPTION = {
  sampleShape: [3, 32, 32],
  layout: 'channel-major (channel R,G,B; row; col), as stored in the file',
  scale: 'uint8 / 255',
};

/** The records of one file; labelAt picks which label byte of a record to use. */
function recordFile(file: string, recordBytes: number, labelAt: number, k: number, format: string): RawSplit {
  const bytes = readDatasetFile(file);
  if (bytes.length === 0 || bytes.length % recordBytes !== 0) {
    const hint = recordBytes === 3073 && bytes.length > 0 && bytes.length % 3074 === 0 ? ' (it looks like CIFAR-100, whose records have 3074 bytes)' : '';
    throw new Error(
      `${file}: ${bytes.length} bytes is not a whole number of ${recordBytes}-byte ${format} records${hint}; the file is truncated or not ${format} binary`,
    );
  }
  const n = bytes.length / recordBytes;
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) labels[r] = checkLabel(bytes[r * recordBytes + labelAt]!, k, file, r);
  const pixelsAt = recordBytes - CIFAR_PIXELS;
  return {
    n,
    d: CIFAR_PIXELS,
    labels,
    copySample(r, out, offset) {
      const src = r * recordBytes + pixelsAt;
      for (let j = 0; j < CIFAR_PIXELS; j++) out[offset + j] = UINT8_TO_UNIT[bytes[src + j]!]!;
    },
  };
}

function recordSplit(files: readonly string[], recordBytes: number, labelAt: number, k: number, format: string): RawSplit {
  return concatSplits(files.map((f) => recordFile(f, recordBytes, labelAt, k, format)));
}

/** Class names from a text file with one name per line (blank lines ignored), which must list exactly k. */
export function readClassNames(file: string, k: number): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const names = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (names.length !== k) throw new Error(`${file}: lists ${names.length} class names, expected ${k} (one per line)`);
  return names;
}

/** train: data_batch_*.bin in order; test: [test_batch.bin]; meta: batches.meta.txt when present. */
export function readCifar10Dataset(train: readonly string[], test: readonly string[], meta?: string): RawDataset {
  const k = 10;
  return {
    train: recordSplit(train, 3073, 0, k, 'CIFAR-10'),
    test: recordSplit(test, 3073, 0, k, 'CIFAR-10'),
    k,
    names: meta ? readClassNames(meta, k) : [...CIFAR10_NAMES],
    description: { ...CIFAR_DESCRIPTION, classNames: meta ?? 'standard CIFAR-10 names' },
  };
}

export type Cifar100LabelKind = 'fine' | 'coarse';

/**
 * train: [train.bin]; test: [test.bin]. Fine labels (100 classes) by default, coarse (the 20
 * superclasses) on request; namesFile is fine_label_names.txt or coarse_label_names.txt to match.
 */
export function readCifar100Dataset(train: readonly string[], test: readonly string[], labelKind: Cifar100LabelKind, namesFile?: string): RawDataset {
  const k = labelKind === 'fine' ? 100 : 20;
  const labelAt = labelKind === 'fine' ? 1 : 0;
  return {
    train: recordSplit(train, 3074, labelAt, k, 'CIFAR-100'),
    test: recordSplit(test, 3074, labelAt, k, 'CIFAR-100'),
    k,
    names: namesFile ? readClassNames(namesFile, k) : Array.from({ length: k }, (_, c) => String(c)),
    description: { ...CIFAR_DESCRIPTION, labelKind, classNames: namesFile ?? 'class indices' },
  };
}
