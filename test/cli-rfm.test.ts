/** `ncgpu rfm` end to end: results.json, plots and heatmaps in --out; .npy input; clear argument errors. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/data/npy.js';
import { encodeSafetensors } from '../src/data/safetensors.js';
import { readArrayFile } from '../src/data/arrayFile.js';
import { gaussianMixture } from '../src/data/gaussian.js';
import { idxBytes } from './helpers-datasets.js';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: '1' } });

const dir = mkdtempSync(join(tmpdir(), 'ncgpu-rfm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ncgpu rfm', () => {
  it('runs Deep RFM and writes results.json, nc1.png, nc2.png and Gram heatmaps', () => {
    const out = join(dir, 'gauss');
    const r = run(['rfm', '--dataset', 'gaussian', '--dim', '16', '--n-per-class', '12', '--test-per-class', '4', '--layers', '3', '--width', '64', '--backend', 'cpu', '--seed', '5', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/layer\s+NC1 X\s+NC1 X~\s+NC1 phi\s+NC2 X\s+NC2 X~\s+NC2 phi\s+train\s+test\s+rcond\s+seconds/);
    expect(r.stdout).toMatch(/^\s+3\s/m);
    expect(r.stdout).toMatch(/^final\s/m);
    expect(r.stdout).toMatch(/Gram of X~ at layer 3: within-class [\d.]+ \(collapse: 1\), between-class -?[\d.]+ \(collapse: -0\.111\)/);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(json.provenance).toMatchObject({ backend: 'cpu', seed: 5, adapter: null });
    expect(json.provenance.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Date.parse(json.provenance.createdAt)).toBeGreaterThan(0);
    expect(json.config).toMatchObject({ layers: 3, kernel: 'laplace', bandwidth: 2, ridge: 0, features: 'relu', width: 64, seed: 5 });
    expect(json.config.dataset).toMatchObject({ name: 'gaussian', d: 16, nPerClass: 12, testPerClass: 4 });
    expect(json.layers).toHaveLength(3);
    for (const l of json.layers) {
      expect(Object.keys(l)).toEqual(expect.arrayContaining(['layer', 'nc1', 'nc2', 'trainAcc', 'testAcc', 'seconds', 'rcond']));
      for (const stage of ['X', 'MX', 'PhiMX']) {
        expect(l.nc1[stage]).toBeGreaterThan(0);
        expect(l.nc2[stage]).toBeGreaterThan(0);
      }
      expect(l.seconds.agop).toBeGreaterThan(0);
      // the Gram form needs fewer flops at N = 120, d = 16 and 64; it is kept while rho^2 <= 4
      expect(l.agopCancellation).toBeGreaterThan(0);
      expect(l.agopMethod).toBe(l.agopCancellation <= 4 ? 'gram' : 'batched');
    }
    expect(json.config.agopMethod).toBe('auto');
    expect(json.gram.map((g: { file: string }) => g.file)).toEqual(['gram_01.png', 'gram_02.png', 'gram_03.png']);
    for (const f of ['nc1.png', 'nc2.png', 'gram_01.png', 'gram_03.png']) {
      const img = PNG.sync.read(readFileSync(join(out, f)));
      expect(img.width).toBeGreaterThan(0);
    }
    expect(PNG.sync.read(readFileSync(join(out, 'gram_03.png'))).width).toBe(120);
  });

  it('reads user data from .npy with --labels and --gram-layers', async () => {
    const { train } = gaussianMixture({ k: 3, d: 8, nPerClass: 14, seed: 2 });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'X.npy'), encodeNpy(train.X, train.shape));
    writeFileSync(join(dir, 'y.npy'), encodeNpy(train.labels, [train.labels.length]));
    const out = join(dir, 'npy');
    const r = run(['rfm', '--dataset', join(dir, 'X.npy'), '--labels', join(dir, 'y.npy'), '--test-per-class', '4', '--layers', '2', '--width', '32', '--backend', 'cpu', '--gram-layers', '2', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(json.data).toMatchObject({ classes: 3, trainSize: 30, testSize: 12, inputDim: 8 });
    expect(existsSync(join(out, 'gram_02.png'))).toBe(true);
    expect(existsSync(join(out, 'gram_01.png'))).toBe(false);

    // the same data as one safetensors file (PyTorch's format), arrays named with FILE:NAME
    writeFileSync(join(dir, 'data.safetensors'), encodeSafetensors({ x: { data: train.X, shape: train.shape }, y: { data: train.labels, shape: [train.labels.length] } }));
    const outSt = join(dir, 'safetensors');
    const st = run(['rfm', '--dataset', `${join(dir, 'data.safetensors')}:x`, '--labels', `${join(dir, 'data.safetensors')}:y`, '--test-per-class', '4', '--layers', '2', '--width', '32', '--backend', 'cpu', '--out', outSt]);
    expect(st.status, st.stderr).toBe(0);
    const stJson = JSON.parse(readFileSync(join(outSt, 'results.json'), 'utf8'));
    expect(stJson.data).toMatchObject({ classes: 3, trainSize: 30, testSize: 12, inputDim: 8 });
    expect(stJson.layers.map((l: { trainAcc: number }) => l.trainAcc)).toEqual(json.layers.map((l: { trainAcc: number }) => l.trainAcc));
  });

  it('--save-matrices writes M and M^(1/2) of every layer as .npy files or one safetensors file', async () => {
    const common = ['rfm', '--dataset', 'gaussian', '--n-per-class', '6', '--test-per-class', '2', '--dim', '5', '--layers', '2', '--width', '7', '--backend', 'cpu', '--quiet'];
    const outSt = join(dir, 'save-st');
    const outNpy = join(dir, 'save-npy');
    const a = run([...common, '--save-matrices', 'safetensors', '--out', outSt]);
    const b = run([...common, '--save-matrices', 'npy', '--out', outNpy]);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(outSt, 'results.json'), 'utf8')).matrices).toEqual(['matrices.safetensors']);
    const npyFiles = JSON.parse(readFileSync(join(outNpy, 'results.json'), 'utf8')).matrices;
    expect(npyFiles).toEqual(['layer01_M', 'layer01_sqrtM', 'layer02_M', 'layer02_sqrtM'].map((m) => `${m}.npy`));
    // listed among the run's files, so --overwrite removes them with the run
    expect(JSON.parse(readFileSync(join(outNpy, 'results.json'), 'utf8')).files).toEqual(expect.arrayContaining(npyFiles));
    // layer 1 acts on the 5 input features, layer 2 on the 7 random features
    for (const [layer, d] of [['layer01', 5], ['layer02', 7]] as const) {
      const M = await readArrayFile(`${join(outSt, 'matrices.safetensors')}:${layer}_M`);
      const S = await readArrayFile(`${join(outSt, 'matrices.safetensors')}:${layer}_sqrtM`);
      const Mnpy = await readArrayFile(join(outNpy, `${layer}_M.npy`));
      expect(M.shape).toEqual([d, d]);
      expect(Array.from(Mnpy.data)).toEqual(Array.from(M.data));
      // M is max-normalized and S S = M to f32 accuracy
      let err = 0;
      let max = 0;
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
        let ss = 0;
        for (let t = 0; t < d; t++) ss += S.data[i * d + t]! * S.data[t * d + j]!;
        err = Math.max(err, Math.abs(ss - M.data[i * d + j]!));
        max = Math.max(max, M.data[i * d + j]!);
      }
      expect(max).toBeCloseTo(1, 6);
      expect(err).toBeLessThan(1e-4);
    }
    const bad = run([...common, '--save-matrices', 'csv', '--out', join(dir, 'save-bad')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--save-matrices must be one of npy, safetensors/);
  });

  it('reads a folder of MNIST IDX files with the official split, --solver mixed, and records each solve', () => {
    const images = (n: number) => idxBytes([n, 4, 4], Uint8Array.from({ length: n * 16 }, (_, i) => (i * 37 + (i >> 4) * 11) % 256));
    const labels = (n: number) => idxBytes([n], Uint8Array.from({ length: n }, (_, i) => i % 10));
    const folder = join(dir, 'MNIST', 'raw');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'train-images-idx3-ubyte.gz'), gzipSync(images(50)));
    writeFileSync(join(folder, 'train-labels-idx1-ubyte'), labels(50));
    writeFileSync(join(folder, 't10k-images-idx3-ubyte'), images(20));
    writeFileSync(join(folder, 't10k-labels-idx1-ubyte'), labels(20));
    const out = join(dir, 'idx');
    const r = run(['rfm', '--dataset', join(dir, 'MNIST'), '--n-per-class', '4', '--layers', '2', '--width', '32', '--backend', 'cpu', '--solver', 'mixed', '--ridge', '1e-3', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/solver mixed on layers 1-final \(requested\); relative residual <= /);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(json.data).toMatchObject({ classes: 10, trainSize: 40, testSize: 20, inputDim: 16 });
    expect(json.config.dataset).toMatchObject({ format: 'mnist-idx' });
    for (const l of [...json.layers, json.final]) {
      expect(l.solve).toMatchObject({ solver: 'mixed', reason: 'requested', converged: true });
      expect(l.solve.relativeResidual).toBeLessThan(1e-4);
    }
  });

  it('draws the Gram heatmap of a large run from an evenly spaced subset of 2,000 points', () => {
    const out = join(dir, 'large');
    const r = run(['rfm', '--dataset', 'gaussian', '--dim', '16', '--n-per-class', '210', '--test-per-class', '0', '--layers', '1', '--width', '16', '--ridge', '1e-3', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(json.gram).toEqual([expect.objectContaining({ layer: 1, points: 2000 })]);
    expect(PNG.sync.read(readFileSync(join(out, 'gram_01.png'))).width).toBe(600);
  });

  it('fails with clear messages for bad arguments', () => {
    const cases: [string[], RegExp][] = [
      [['--bandwidth', '0'], /--bandwidth must be a number > 0, got '0'/],
      [['--kernel', 'cosine'], /--kernel must be one of laplace, gaussian, gaussian-rfm, got 'cosine'/],
      [['--layers', 'x'], /--layers must be an integer >= 1, got 'x'/],
      [['--dataset', join(dir, 'X.npy')], /--labels is required with an array-file dataset/],
      [['--dataset', 'cifar'], /--dataset must be mnist, gaussian, a folder of standard dataset files, an \.npz archive with x_train\/y_train, or an array file/],
      [['--solver', 'qr'], /--solver must be one of auto, direct, mixed, iterative, got 'qr'/],
      [['--agop-method', 'fast'], /--agop-method must be one of auto, batched, gram, got 'fast'/],
      [['--dataset', 'gaussian', '--width', '1000000000'], /--width 1000000000: .* exceed the cpu backend's/],
      [['--dataset', 'gaussian', '--n-per-class', '200000', '--dim', '2', '--width', '8', '--solver', 'direct'], /the 'direct' solver at N = 2000000 \(--n-per-class\) needs .* available; use --solver mixed/],
      [['--n-per-class', '900'], /class '5' has 863 digits/],
    ];
    for (const [args, msg] of cases) {
      const r = run(['rfm', '--backend', 'cpu', '--out', join(dir, 'bad'), ...args]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(msg);
    }
  });
});
