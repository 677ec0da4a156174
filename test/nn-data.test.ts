/**
 * Data for the network experiments: label-encoded MNIST (seed 002), the majority-token task for
 * the transformer, seeded mini-batch order, and .npy inputs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchSampler, epochOrder, gatherLabels, gatherRows } from '../src/data/batches.js';
import { encodeLabels, labelEncodedMnist } from '../src/data/labelEncoded.js';
import { loadMnist, MNIST_PIXELS } from '../src/data/mnist.js';
import { encodeNpy } from '../src/data/npy.js';
import { loadNpyDataset } from '../src/data/npyDataset.js';
import { majorityToken, majorityTokenTask } from '../src/data/tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'ncgpu-nn-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('label-encoded MNIST', () => {
  it('puts the true label one-hot in the first 10 pixels of training digits and leaves the rest', () => {
    const plain = loadMnist({ nPerClass: 20, testPerClass: 10, seed: 3 });
    const enc = labelEncodedMnist({ nPerClass: 20, testPerClass: 10, seed: 3 });
    expect(enc.train.shape).toEqual([200, MNIST_PIXELS]);
    for (let i = 0; i < 200; i++) {
      const row = enc.train.X.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
      const code = Array.from(row.subarray(0, 10));
      expect(code).toEqual(Array.from({ length: 10 }, (_, c) => (c === enc.train.labels[i] ? 1 : 0)));
      expect(Array.from(row.subarray(10))).toEqual(Array.from(plain.train.X.subarray(i * MNIST_PIXELS + 10, (i + 1) * MNIST_PIXELS)));
    }
    // the corner pixels are blank in real digits: the code replaces no ink
    for (let i = 0; i < plain.train.shape[0]; i++) for (let j = 0; j < 10; j++) expect(plain.train.X[i * MNIST_PIXELS + j]).toBe(0);
  });

  it('encodes a seeded random label in test digits, keeping the true labels as labels', () => {
    const a = labelEncodedMnist({ nPerClass: 5, testPerClass: 50, seed: 1 });
    const b = labelEncodedMnist({ nPerClass: 5, testPerClass: 50, seed: 1 });
    const c = labelEncodedMnist({ nPerClass: 5, testPerClass: 50, seed: 1, codeSeed: 99 });
    expect(Array.from(a.testCodes)).toEqual(Array.from(b.testCodes));
    expect(Array.from(a.testCodes)).not.toEqual(Array.from(c.testCodes));
    expect(Array.from(a.test.labels)).toEqual(Array.from(loadMnist({ nPerClass: 5, testPerClass: 50, seed: 1 }).test.labels));
    let agree = 0;
    for (let i = 0; i < 500; i++) {
      const code = a.test.X.subarray(i * MNIST_PIXELS, i * MNIST_PIXELS + 10);
      expect(code[a.testCodes[i]!]).toBe(1);
      expect(code.reduce((s, v) => s + v, 0)).toBe(1);
      if (a.testCodes[i] === a.test.labels[i]) agree++;
    }
    // random codes: they match the true label about 1 time in 10
    expect(agree).toBeGreaterThan(20);
    expect(agree).toBeLessThan(90);
    expect(new Set(a.testCodes).size).toBe(10);
  });

  it('rejects codes out of range and data too narrow to hold them', () => {
    const { train } = loadMnist({ nPerClass: 1 });
    expect(() => encodeLabels(train, new Int32Array(10).fill(10))).toThrow(/code 10 of sample 0 is outside 0..9/);
    const narrow = { X: new Float32Array(10 * 4), labels: Int32Array.from({ length: 10 }, (_, i) => i), k: 10, shape: [10, 4] as const, names: train.names };
    expect(() => encodeLabels(narrow, narrow.labels)).toThrow(/4 features but the code needs k = 10/);
  });
});

describe('majority-token task', () => {
  it('labels every sequence with its strictly most frequent token, balanced and deterministic', () => {
    const { train, test } = majorityTokenTask({ vocab: 6, seqLen: 10, nPerClass: 40, testPerClass: 10, seed: 4 });
    expect(train.shape).toEqual([240, 10]);
    expect(test.shape).toEqual([60, 10]);
    expect(train.k).toBe(6);
    for (const ds of [train, test]) {
      for (let i = 0; i < ds.shape[0]; i++) {
        const seq = ds.X.subarray(i * 10, (i + 1) * 10);
        for (const t of seq) expect(Number.isInteger(t) && t >= 0 && t < 6).toBe(true);
        expect(majorityToken(seq, 6)).toBe(ds.labels[i]);
      }
    }
    const again = majorityTokenTask({ vocab: 6, seqLen: 10, nPerClass: 40, testPerClass: 10, seed: 4 });
    expect(Array.from(again.train.X)).toEqual(Array.from(train.X));
    // the label is not readable from a fixed position: the last token equals it only sometimes
    let last = 0;
    for (let i = 0; i < 240; i++) if (train.X[i * 10 + 9] === train.labels[i]) last++;
    expect(last / 240).toBeLessThan(0.6);
    // small margins occur: in some sequences the runner-up has just one occurrence less
    let close = 0;
    for (let i = 0; i < 240; i++) {
      const counts = new Array(6).fill(0);
      for (const t of train.X.subarray(i * 10, (i + 1) * 10)) counts[t]++;
      const top = counts[train.labels[i]!];
      const second = Math.max(...counts.filter((_, t) => t !== train.labels[i]));
      if (top - second === 1) close++;
    }
    expect(close).toBeGreaterThan(24);
  });

  it('computes majorityToken with ties as -1', () => {
    expect(majorityToken([1, 2, 2, 3], 4)).toBe(2);
    expect(majorityToken([1, 1, 2, 2], 4)).toBe(-1);
  });

  it('names bad options', () => {
    expect(() => majorityTokenTask({ vocab: 1, nPerClass: 2 })).toThrow(/'vocab' must be an integer >= 2, got 1/);
    expect(() => majorityTokenTask({ seqLen: 2, nPerClass: 2 })).toThrow(/'seqLen' must be an integer >= 3/);
  });
});

describe('BatchSampler', () => {
  it('covers every sample once per epoch, in a seeded order that differs between epochs', () => {
    const s = new BatchSampler(10, 4, 7);
    const epoch0 = [...s.next(), ...s.next(), ...s.next()];
    expect(epoch0).toHaveLength(10);
    expect([...epoch0].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(Array.from(epochOrder(10, 7, 0))).toEqual(epoch0);
    const epoch1 = [...s.next(), ...s.next(), ...s.next()];
    expect(epoch1).not.toEqual(epoch0);
    expect(s.state()).toEqual({ seed: 7, epoch: 1, cursor: 10 });
    expect(Array.from(new BatchSampler(10, 4, 8).next())).not.toEqual(epoch0.slice(0, 4));
  });

  it('resumes from a saved state with exactly the batches an uninterrupted run sees', () => {
    const a = new BatchSampler(23, 5, 3);
    const seen: number[][] = [];
    for (let i = 0; i < 12; i++) seen.push(Array.from(a.next()));
    const b = new BatchSampler(23, 5, 3);
    for (let i = 0; i < 7; i++) b.next();
    const c = new BatchSampler(23, 5, 3);
    c.setState(b.state());
    for (let i = 7; i < 12; i++) expect(Array.from(c.next())).toEqual(seen[i]);
    expect(() => new BatchSampler(23, 5, 4).setState(b.state())).toThrow(/saved with seed 3/);
  });

  it('drops the short batch when asked and gives 0..n-1 for a full batch', () => {
    const s = new BatchSampler(10, 4, 0, { dropLast: true });
    expect(s.batchesPerEpoch).toBe(2);
    expect(s.next()).toHaveLength(4);
    expect(s.next()).toHaveLength(4);
    expect(s.state().epoch).toBe(0);
    expect(s.next()).toHaveLength(4);
    expect(s.state().epoch).toBe(1);
    const full = new BatchSampler(6, 100, 5);
    expect(full.fullBatch).toBe(true);
    expect(Array.from(full.next())).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(full.next())).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => new BatchSampler(0, 4)).toThrow(/positive integer, got 0/);
    expect(() => new BatchSampler(5, 0)).toThrow(/'batchSize' must be a positive integer, got 0/);
  });

  it('gathers batch rows and labels', () => {
    const X = Float32Array.from({ length: 12 }, (_, i) => i);
    expect(Array.from(gatherRows(X, 3, [3, 0]))).toEqual([9, 10, 11, 0, 1, 2]);
    expect(Array.from(gatherLabels(Int32Array.of(5, 6, 7), [2, 2, 0]))).toEqual([7, 7, 5]);
  });
});

describe('loadNpyDataset', () => {
  it('reads X and y from .npy files and names what is wrong', async () => {
    const X = Float32Array.from({ length: 12 }, (_, i) => i / 10);
    writeFileSync(join(dir, 'X.npy'), encodeNpy(X, [4, 3]));
    writeFileSync(join(dir, 'y.npy'), encodeNpy(Int32Array.of(0, 2, 1, 2), [4]));
    const ds = await loadNpyDataset(join(dir, 'X.npy'), join(dir, 'y.npy'));
    expect(ds.shape).toEqual([4, 3]);
    expect(ds.k).toBe(3);
    expect(Array.from(ds.labels)).toEqual([0, 2, 1, 2]);
    writeFileSync(join(dir, 'y3.npy'), encodeNpy(Int32Array.of(0, 1, 1), [3]));
    await expect(loadNpyDataset(join(dir, 'X.npy'), join(dir, 'y3.npy'))).rejects.toThrow(/has 3 labels but .*X\.npy has 4 rows/);
    writeFileSync(join(dir, 'yneg.npy'), encodeNpy(Int32Array.of(0, -1, 1, 1), [4]));
    await expect(loadNpyDataset(join(dir, 'X.npy'), join(dir, 'yneg.npy'))).rejects.toThrow(/entry 1 is -1/);
  });
});
