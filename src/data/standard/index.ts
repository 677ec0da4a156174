/**
 * The dataset files researchers already have on disk, loaded as ncgpu data sets with their
 * official train/test split: MNIST / Fashion-MNIST IDX, CIFAR-10 and CIFAR-100 binary, SVHN .mat,
 * and Keras-style .npz archives. The format is recognized by the file names in a folder (or in one
 * of the usual subfolders, such as torchvision's MNIST/raw). ncgpu never downloads anything.
 *
 *   const { split } = loadStandardDataset('~/data/cifar-10-batches-bin', { nPerClass: 500 });
 *
 * Features are scaled to [0, 1]; colour images are channel-major (3 x 32 x 32) whatever the file's
 * layout. Only the chosen samples are converted to f32, so a small subset of a large set is cheap.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Rng } from '../../random.js';
import type { DatasetSplit } from '../dataset.js';
import { readCifar100Dataset, readCifar10Dataset } from './cifar.js';
import { readIdxDataset } from './idx.js';
import { readNpzDataset } from './npz.js';
import { gatherSamples, selectByClass, type RawDataset } from './samples.js';
import { readSvhnDataset } from './svhn.js';

/** The file formats loadStandardDataset recognizes. */
export type StandardFormat = 'mnist-idx' | 'cifar10' | 'cifar100' | 'svhn' | 'npz';

/** Every StandardFormat, e.g. for validating a command-line option. */
export const STANDARD_FORMATS: readonly StandardFormat[] = ['mnist-idx', 'cifar10', 'cifar100', 'svhn', 'npz'];

/** The files a load reads. */
export interface StandardDatasetFiles {
  format: StandardFormat;
  /** the folder they are in (the path given, or the subfolder they were found in) */
  folder: string;
  /** mnist-idx: [images, labels]; cifar10: the data_batch_*.bin present, in order; npz: the archive */
  train: string[];
  /** mnist-idx: [images, labels]; npz: the archive */
  test: string[];
  /** class-name lists found beside them (batches.meta.txt, fine_label_names.txt, coarse_label_names.txt) */
  meta?: string[];
  /** SVHN's extra_32x32.mat when present but not asked for (it is in train with svhnExtra) */
  unused?: string[];
}

/** Options of detectStandardDataset. */
export interface DetectStandardOptions {
  /** look for this format only (when a folder holds more than one) */
  format?: StandardFormat;
  /** SVHN: add extra_32x32.mat (531,131 more digits) to the training split */
  svhnExtra?: boolean;
}

/** Options of loadStandardDataset: which format, how many samples per class, and the seed that picks them. */
export interface LoadStandardOptions extends DetectStandardOptions {
  /** training samples per class from the official train split (default: all of it) */
  nPerClass?: number;
  /** test samples per class from the official test split (default: all of it, as unbalanced as it is) */
  testPerClass?: number;
  /** seed of the random choice with shuffle (default 0) */
  seed?: number;
  /** choose the per-class samples at random (seeded) instead of the first ones in file order */
  shuffle?: boolean;
  /** CIFAR-100: the 100 fine classes (default) or the 20 coarse superclasses */
  labelKind?: 'fine' | 'coarse';
}

/** What loadStandardDataset returns: the split, the format and files it came from, and a description. */
export interface StandardDataset {
  split: DatasetSplit;
  format: StandardFormat;
  files: StandardDatasetFiles;
  /** what was read and how: for result files */
  description: Record<string, unknown>;
}

const FORMAT_NAMES: Record<StandardFormat, string> = {
  'mnist-idx': 'MNIST / Fashion-MNIST IDX',
  cifar10: 'CIFAR-10 binary',
  cifar100: 'CIFAR-100 binary',
  svhn: 'SVHN .mat',
  npz: 'NumPy .npz',
};

const LOOKED_FOR: Record<StandardFormat, string> = {
  'mnist-idx':
    'train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each also with .gz, or named like train-images.idx3-ubyte)',
  cifar10: 'data_batch_1.bin .. data_batch_5.bin (at least one) and test_batch.bin, optionally batches.meta.txt',
  cifar100: 'train.bin and test.bin, optionally fine_label_names.txt / coarse_label_names.txt',
  svhn: 'train_32x32.mat and test_32x32.mat (extra_32x32.mat on request)',
  npz: 'one *.npz file holding x_train, y_train, x_test, y_test (or the path of the .npz file itself)',
};

/** where torchvision, the CIFAR tarballs and similar unpack to, relative to the folder given */
const SUBFOLDERS = ['raw', 'MNIST/raw', 'FashionMNIST/raw', 'cifar-10-batches-bin', 'cifar-100-binary'];

const IDX_ROLES = [
  ['train-images', 'idx3'],
  ['train-labels', 'idx1'],
  ['t10k-images', 'idx3'],
  ['t10k-labels', 'idx1'],
] as const;

function filesIn(folder: string): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    // statSync follows symbolic links, which datasets are often shared through
    if (entry.isFile() || (entry.isSymbolicLink() && statSync(join(folder, entry.name), { throwIfNoEntry: false })?.isFile())) names.add(entry.name);
  }
  return names;
}

/** The first of the accepted spellings present: plain before gzipped, hyphen before dot. */
function idxFile(names: Set<string>, stem: string, kind: string): string | undefined {
  const plain = [`${stem}-${kind}-ubyte`, `${stem}.${kind}-ubyte`];
  return [...plain, ...plain.map((n) => `${n}.gz`)].find((n) => names.has(n));
}

interface FolderScan {
  matches: StandardDatasetFiles[];
  /** near misses worth telling the user about */
  hints: string[];
}

function scanFolder(folder: string, options: DetectStandardOptions): FolderScan {
  const names = filesIn(folder);
  const want = (f: StandardFormat) => options.format === undefined || options.format === f;
  const matches: StandardDatasetFiles[] = [];
  const hints: string[] = [];
  const at = (n: string) => join(folder, n);

  if (want('mnist-idx')) {
    const found = IDX_ROLES.map(([stem, kind]) => idxFile(names, stem, kind));
    if (found.every((f) => f !== undefined)) {
      matches.push({ format: 'mnist-idx', folder, train: [at(found[0]!), at(found[1]!)], test: [at(found[2]!), at(found[3]!)] });
    } else if (found.some((f) => f !== undefined)) {
      const missing = IDX_ROLES.filter((_, i) => found[i] === undefined).map(([stem, kind]) => `${stem}-${kind}-ubyte`);
      hints.push(`${folder} has some MNIST IDX files but not ${missing.join(', ')} (plain or .gz)`);
    }
  }
  if (want('cifar10')) {
    const batches = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`).filter((n) => names.has(n));
    if (batches.length > 0 && names.has('test_batch.bin')) {
      const meta = names.has('batches.meta.txt') ? [at('batches.meta.txt')] : [];
      matches.push({ format: 'cifar10', folder, train: batches.map(at), test: [at('test_batch.bin')], ...(meta.length ? { meta } : {}) });
    } else if (batches.length > 0 || names.has('test_batch.bin')) {
      hints.push(`${folder} has ${batches.length > 0 ? 'CIFAR-10 training batches but no test_batch.bin' : 'test_batch.bin but no data_batch_*.bin'}`);
    }
    if (names.has('data_batch_1') || names.has('batches.meta')) {
      hints.push(
        `${folder} holds the Python (pickle) version of CIFAR-10; ncgpu reads the binary version (cifar-10-binary.tar.gz, which unpacks to cifar-10-batches-bin)`,
      );
    }
  }
  if (want('cifar100')) {
    if (names.has('train.bin') && names.has('test.bin')) {
      const meta = ['fine_label_names.txt', 'coarse_label_names.txt'].filter((n) => names.has(n)).map(at);
      matches.push({ format: 'cifar100', folder, train: [at('train.bin')], test: [at('test.bin')], ...(meta.length ? { meta } : {}) });
    } else if (names.has('train.bin') || names.has('test.bin')) {
      hints.push(`${folder} has ${names.has('train.bin') ? 'train.bin but no test.bin' : 'test.bin but no train.bin'} (CIFAR-100 binary needs both)`);
    }
    if (names.has('train') && names.has('test') && names.has('meta')) {
      hints.push(`${folder} looks like the Python (pickle) version of CIFAR-100; ncgpu reads the binary version (cifar-100-binary.tar.gz)`);
    }
  }
  if (want('svhn')) {
    if (names.has('train_32x32.mat') && names.has('test_32x32.mat')) {
      const extra = names.has('extra_32x32.mat') ? [at('extra_32x32.mat')] : [];
      matches.push({
        format: 'svhn',
        folder,
        train: [at('train_32x32.mat'), ...(options.svhnExtra ? extra : [])],
        test: [at('test_32x32.mat')],
        ...(extra.length && !options.svhnExtra ? { unused: extra } : {}),
      });
    } else if (names.has('train_32x32.mat') || names.has('test_32x32.mat')) {
      hints.push(`${folder} has ${names.has('train_32x32.mat') ? 'train_32x32.mat but no test_32x32.mat' : 'test_32x32.mat but no train_32x32.mat'}`);
    }
  }
  if (want('npz')) {
    const npz = [...names].filter((n) => n.toLowerCase().endsWith('.npz')).sort();
    if (npz.length === 1) matches.push({ format: 'npz', folder, train: [at(npz[0]!)], test: [at(npz[0]!)] });
    else if (npz.length > 1) hints.push(`${folder} has several .npz files (${npz.join(', ')}); pass the path of the one to load`);
  }
  if (options.svhnExtra && !matches.some((m) => m.format === 'svhn') && names.has('extra_32x32.mat')) {
    hints.push(`${folder} has extra_32x32.mat but not train_32x32.mat and test_32x32.mat`);
  }
  return { matches, hints };
}

function describeMatch(m: StandardDatasetFiles): string {
  return `${FORMAT_NAMES[m.format]} in ${m.folder}`;
}

/**
 * Which standard dataset a folder holds (or an .npz file is), and its files. Looks in the folder,
 * then in the usual subfolders (raw, MNIST/raw, FashionMNIST/raw, cifar-10-batches-bin,
 * cifar-100-binary). Nothing found, or more than one dataset, is an error that lists what it
 * looked for and what it saw.
 */
export function detectStandardDataset(path: string, options: DetectStandardOptions = {}): StandardDatasetFiles {
  if (options.format !== undefined && !STANDARD_FORMATS.includes(options.format)) {
    throw new RangeError(`detectStandardDataset: format must be one of ${STANDARD_FORMATS.join(', ')}, got '${options.format}'`);
  }
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new Error(`${path}: no such file or folder`);
  if (stat.isFile()) {
    if (path.toLowerCase().endsWith('.npz') && (options.format === undefined || options.format === 'npz')) {
      return { format: 'npz', folder: dirname(path), train: [path], test: [path] };
    }
    throw new Error(`${path} is a file; pass the folder that holds the dataset files, or the path of an .npz archive`);
  }
  const top = scanFolder(path, options);
  const ambiguous = (matches: StandardDatasetFiles[]): never => {
    throw new Error(
      `${path}: found more than one dataset: ${matches.map(describeMatch).join('; ')}. ` +
        `Pass the folder of the one to load${matches.some((m) => m.format === 'npz') ? ' (or the .npz file)' : ''}, or choose with the format option`,
    );
  };
  if (top.matches.length === 1) return top.matches[0]!;
  if (top.matches.length > 1) ambiguous(top.matches);
  const hints = [...top.hints];
  const below: StandardDatasetFiles[] = [];
  for (const sub of SUBFOLDERS) {
    const folder = join(path, sub);
    if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory()) continue;
    const scan = scanFolder(folder, options);
    below.push(...scan.matches);
    hints.push(...scan.hints);
  }
  if (below.length === 1) return below[0]!;
  if (below.length > 1) ambiguous(below);
  for (const pickled of ['cifar-10-batches-py', 'cifar-100-python']) {
    if (statSync(join(path, pickled), { throwIfNoEntry: false })?.isDirectory()) {
      const binary = pickled.startsWith('cifar-10-') ? 'cifar-10-binary.tar.gz' : 'cifar-100-binary.tar.gz';
      hints.push(`${join(path, pickled)} is the Python (pickle) version, which ncgpu does not read; download the binary version (${binary})`);
    }
  }
  const formats = options.format ? [options.format] : STANDARD_FORMATS;
  throw new Error(
    `${path}: no ${options.format ? FORMAT_NAMES[options.format] : 'standard dataset'} files found. Looked for\n` +
      formats.map((f) => `  ${FORMAT_NAMES[f]}: ${LOOKED_FOR[f]}\n`).join('') +
      `in that folder and in its subfolders ${SUBFOLDERS.join(', ')}.` +
      (hints.length > 0 ? `\n${hints.map((h) => `  note: ${h}`).join('\n')}` : ''),
  );
}

function readRaw(files: StandardDatasetFiles, labelKind: 'fine' | 'coarse'): RawDataset {
  switch (files.format) {
    case 'mnist-idx':
      return readIdxDataset(files.train, files.test);
    case 'cifar10':
      return readCifar10Dataset(files.train, files.test, files.meta?.[0]);
    case 'cifar100':
      return readCifar100Dataset(files.train, files.test, labelKind, files.meta?.find((m) => basename(m) === `${labelKind}_label_names.txt`));
    case 'svhn':
      return readSvhnDataset(files.train, files.test);
    case 'npz':
      return readNpzDataset(files.train[0]!);
  }
}

function checkOptions(options: LoadStandardOptions): void {
  const { nPerClass, testPerClass, seed, labelKind } = options;
  if (nPerClass !== undefined && (!Number.isInteger(nPerClass) || nPerClass < 1)) {
    throw new RangeError(`loadStandardDataset: nPerClass must be a positive integer, got ${nPerClass}`);
  }
  if (testPerClass !== undefined && (!Number.isInteger(testPerClass) || testPerClass < 0)) {
    throw new RangeError(`loadStandardDataset: testPerClass must be a non-negative integer, got ${testPerClass}`);
  }
  if (seed !== undefined && !Number.isInteger(seed)) throw new RangeError(`loadStandardDataset: seed must be an integer, got ${seed}`);
  if (labelKind !== undefined && labelKind !== 'fine' && labelKind !== 'coarse') {
    throw new RangeError(`loadStandardDataset: labelKind must be 'fine' or 'coarse', got '${labelKind}'`);
  }
}

/**
 * Loads a standard dataset folder (see detectStandardDataset) with its official train/test split.
 * nPerClass / testPerClass take a class-balanced subset of that split: the first samples of each
 * class in file order, or with shuffle a seeded random choice. Both splits come back ordered by
 * class, in file order within a class.
 */
export function loadStandardDataset(path: string, options: LoadStandardOptions = {}): StandardDataset {
  checkOptions(options);
  const files = detectStandardDataset(path, options);
  if (options.labelKind !== undefined && files.format !== 'cifar100') {
    throw new RangeError(`loadStandardDataset: labelKind applies to CIFAR-100 only; ${path} holds ${FORMAT_NAMES[files.format]}`);
  }
  const labelKind = options.labelKind ?? 'fine';
  const raw = readRaw(files, labelKind);
  const { k, names } = raw;
  const seed = options.seed ?? 0;
  // one stream per split, so the test choice does not depend on nPerClass
  const root = options.shuffle ? new Rng(seed) : undefined;
  const trainRng = root?.split();
  const testRng = root?.split();
  const common = { k, names, where: path };
  const trainIdx = selectByClass(raw.train.labels, { ...common, perClass: options.nPerClass, option: 'nPerClass', splitName: 'training', rng: trainRng });
  const testIdx = selectByClass(raw.test.labels, { ...common, perClass: options.testPerClass, option: 'testPerClass', splitName: 'test', rng: testRng });
  const train = gatherSamples(raw.train, trainIdx, k, names, `${path}: training split`);
  const test = gatherSamples(raw.test, testIdx, k, names, `${path}: test split`);
  return {
    split: { train, test },
    format: files.format,
    files,
    description: {
      format: files.format,
      path,
      folder: files.folder,
      trainFiles: files.train,
      testFiles: files.test,
      classes: k,
      features: raw.train.d,
      ...raw.description,
      officialTrainSamples: raw.train.n,
      officialTestSamples: raw.test.n,
      trainSamples: train.shape[0],
      testSamples: test.shape[0],
      nPerClass: options.nPerClass ?? 'all',
      testPerClass: options.testPerClass ?? 'all',
      selection: options.shuffle ? `seeded random choice per class (seed ${seed})` : 'first samples of each class in file order',
      order: 'by class, file order within a class',
    },
  };
}
