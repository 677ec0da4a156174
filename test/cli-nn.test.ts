/** `ncgpu nn depth-sweep | richness | svd-nc1` end to end: results.json, PNG + SVG plots, checkpoints, argument errors. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { gaussianMixture } from '../src/data/gaussian.js';
import { encodeNpy } from '../src/data/npy.js';
import { cifarBytes } from './helpers-datasets.js';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, 'nn', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: '1' } });

const dir = mkdtempSync(join(tmpdir(), 'ncgpu-nn-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const json = (out: string) => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
const png = (out: string, file: string) => PNG.sync.read(readFileSync(join(out, file)));

describe('ncgpu nn', () => {
  it('depth-sweep writes log10 NC metrics per depth, provenance and plots', () => {
    const out = join(dir, 'depth');
    const r = run(['depth-sweep', '--depths', '1,3', '--width', '16', '--seeds', '2', '--steps', '30', '--n-per-class', '6', '--test-per-class', '2', '--backend', 'cpu', '--seed', '4', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/depth\s+log10 NC1\s+log10 NC2A\s+log10 NC2B\s+log10 NC3\s+loss\s+train\s+test/);
    const j = json(out);
    expect(j).toMatchObject({ command: 'ncgpu nn depth-sweep', backend: 'cpu', adapter: null, seed: 4 });
    expect(j.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(j.config).toMatchObject({ arch: 'resnet', depths: [1, 3], width: 16, learningRate: 0.005, weightDecay: 0.005, seeds: 2, steps: 30, optimizer: 'adam', schedule: 'cosine' });
    expect(j.config.dataset).toMatchObject({ name: 'mnist', nPerClass: 6, testPerClass: 2 });
    expect(j.rows.map((row: { depth: number }) => row.depth)).toEqual([1, 3]);
    for (const row of j.rows) {
      expect(row.perSeed.map((p: { seed: number }) => p.seed)).toEqual([4, 5]);
      for (const k of ['nc1', 'nc2A', 'nc2B', 'nc3']) expect(typeof row.log10[k].mean).toBe('number');
    }
    for (const f of ['collapse-vs-depth', 'log10-nc1-vs-depth', 'log10-nc3-vs-depth']) {
      expect(png(out, `${f}.png`).width).toBeGreaterThan(100);
      expect(readFileSync(join(out, `${f}.svg`), 'utf8')).toMatch(/^<svg/);
    }
  });

  it('depth-sweep --arch vit trains the vision transformer on the bundled digits and on a CIFAR-10 folder', () => {
    const out = join(dir, 'depth-vit');
    const r = run(['depth-sweep', '--arch', 'vit', '--depths', '1,2', '--width', '8', '--seeds', '2', '--steps', '12', '--n-per-class', '3', '--test-per-class', '1', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nn depth-sweep: vit \(16 patches of 7 x 7 x 1\) width 8, depths 1,2, 2 seeds/);
    const j = json(out);
    // seed 003's vision settings are the defaults: lr 0.005, lambda 0.005 on every parameter
    expect(j.config).toMatchObject({ arch: 'vit', patchSize: 7, image: [1, 28, 28], patches: 16, patchValues: 49, learningRate: 0.005, weightDecay: 0.005, weightDecayScaling: 'constant' });
    expect(j.config.metrics).toMatch(/last patch of each training image/);
    expect(j.rows.map((row: { depth: number }) => row.depth)).toEqual([1, 2]);
    for (const row of j.rows) {
      for (const p of row.perSeed) expect(p).toMatchObject({ bodyWeightDecay: 0.005, steps: 12 });
      for (const k of ['nc1', 'nc2A', 'nc2B', 'nc3']) expect(Number.isFinite(row.log10[k].mean)).toBe(true);
    }
    // CIFAR-10 binary files: 3 x 32 x 32 images, cut into 64 patches of 4 x 4 x 3 by default
    const cifar = join(dir, 'cifar-10-batches-bin');
    mkdirSync(cifar);
    const labels = Array.from({ length: 30 }, (_, i) => [i % 10]);
    const pixel = (i: number, j: number) => (i * 131 + j * 7 + (j % 97) * (i % 10)) % 256;
    writeFileSync(join(cifar, 'data_batch_1.bin'), cifarBytes(labels, pixel));
    writeFileSync(join(cifar, 'test_batch.bin'), cifarBytes(labels.slice(0, 10), (i, j) => pixel(i + 30, j)));
    const outC = join(dir, 'depth-vit-cifar');
    const rc = run(['depth-sweep', '--arch', 'vit', '--dataset', cifar, '--depths', '1', '--width', '8', '--seeds', '1', '--steps', '5', '--n-per-class', '2', '--test-per-class', '1', '--backend', 'cpu', '--out', outC]);
    expect(rc.status, rc.stderr).toBe(0);
    const jc = json(outC);
    expect(jc.config).toMatchObject({ arch: 'vit', patchSize: 4, image: [3, 32, 32], patches: 64, patchValues: 48 });
    expect(jc.config.dataset).toMatchObject({ name: 'standard', format: 'cifar10', trainSamples: 20, testSamples: 10 });
    expect(Number.isFinite(jc.rows[0].perSeed[0].nc1)).toBe(true);
  });

  it('depth-sweep --arch resnet2 scales the weight decay of all but the head as lambda / L by default', () => {
    const out = join(dir, 'depth-rn2');
    const r = run(['depth-sweep', '--arch', 'resnet2', '--depths', '1,4', '--width', '8', '--seeds', '1', '--steps', '10', '--n-per-class', '3', '--test-per-class', '1', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/resnet2 width 8, depths 1,4, 1 seeds, 2 runs of 10 steps \(adam lr 0.005, wd 0.005 \/ L\)/);
    const j = json(out);
    expect(j.config).toMatchObject({ arch: 'resnet2', patchSize: null, weightDecay: 0.005, weightDecayScaling: 'inverse-depth' });
    expect(j.config.weightDecayOn).toMatch(/lambda \/ L on all but the head/);
    expect(j.rows.map((row: { perSeed: { bodyWeightDecay: number }[] }) => row.perSeed[0]!.bodyWeightDecay)).toEqual([0.005, 0.00125]);
    // constant scaling: the paper's constant 0.0025 unless --wd says otherwise
    const outC = join(dir, 'depth-rn2-constant');
    const rc = run(['depth-sweep', '--arch', 'resnet2', '--weight-decay-scaling', 'constant', '--depths', '3', '--width', '8', '--seeds', '1', '--steps', '5', '--n-per-class', '3', '--test-per-class', '0', '--backend', 'cpu', '--out', outC]);
    expect(rc.status, rc.stderr).toBe(0);
    expect(json(outC).config).toMatchObject({ weightDecay: 0.0025, weightDecayScaling: 'constant' });
    expect(json(outC).rows[0].perSeed[0].bodyWeightDecay).toBe(0.0025);
  });

  it('richness keeps each finished run in results.json when stopped later', async () => {
    const out = join(dir, 'richness-stopped');
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'nn', 'richness', '--n-per-class', '10', '--test-per-class', '6', '--width', '32', '--depth', '2',
      '--steps', '20', '--batch-size', '32', '--target-scale', '0.5,1,2,5,10,20,50,100', '--backend', 'cpu', '--out', out], { stdio: 'ignore', env: { ...process.env, CI: '1' } });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const record = () => {
      try {
        return JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      } catch {
        return undefined; // not written yet
      }
    };
    for (let i = 0; i < 600 && !(record()?.targetScaling?.length >= 1); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const j = record();
    expect(j.status).toBe('interrupted');
    expect(j.richVsLazy.rich.training).toBe('full');
    expect(j.targetScaling.length).toBeGreaterThanOrEqual(1);
    expect(j.targetScaling.length).toBeLessThan(8);
    expect(j.failedAt.run).toMatch(/^target scale alpha = /);
  });

  it('richness writes rich vs lazy D_LR, the eigenfunction view and the target-scaling table', () => {
    const out = join(dir, 'richness');
    const r = run(['richness', '--n-per-class', '10', '--test-per-class', '6', '--width', '32', '--depth', '2', '--steps', '20', '--batch-size', '32', '--target-scale', '0.5,5', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/full backprop \(rich\)/);
    expect(r.stdout).toMatch(/last layer only \(lazy\)/);
    const j = json(out);
    expect(j).toMatchObject({ command: 'ncgpu nn richness', backend: 'cpu', seed: 0 });
    expect(j.config).toMatchObject({ task: 'label-encoded-mnist', width: 32, depth: 2, steps: 20, targetScales: [0.5, 5], nPerClass: 10 });
    for (const k of ['rich', 'lazy']) {
      const run = j.richVsLazy[k];
      expect(run.dlrTrain).toBeGreaterThanOrEqual(0);
      expect(run.dlrTrain).toBeLessThanOrEqual(1);
      expect(run.view.quality.length).toBeGreaterThan(0);
    }
    expect(j.richVsLazy.lazy.training).toBe('last-layer');
    expect(j.targetScaling.map((t: { alpha: number }) => t.alpha)).toEqual([0.5, 5]);
    for (const f of ['eigenfunctions.png', 'target-scaling-eigenfunctions.png', 'dlr-vs-alpha.png', 'loss.png']) expect(png(out, f).width).toBeGreaterThan(100);
  });

  it('svd-nc1 logs per-layer NC1 and NFA, checkpoints and resumes', async () => {
    const { train } = gaussianMixture({ k: 3, d: 10, nPerClass: 20, seed: 1 });
    writeFileSync(join(dir, 'X.npy'), encodeNpy(train.X, train.shape));
    writeFileSync(join(dir, 'y.npy'), encodeNpy(train.labels, [train.labels.length]));
    const common = ['svd-nc1', '--dataset', join(dir, 'X.npy'), '--labels', join(dir, 'y.npy'), '--test-per-class', '4', '--width', '16', '--depth', '2', '--batch-size', '16', '--measure-every', '10', '--backend', 'cpu'];
    const out = join(dir, 'svd');
    const r = run([...common, '--steps', '20', '--checkpoint-every', '10', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/layer\s+NC1 input\s+NC1 S V\^T input\s+NC1 output\s+NFA corr\./);
    const j = json(out);
    expect(j).toMatchObject({ command: 'ncgpu nn svd-nc1', backend: 'cpu' });
    expect(j.config.dataset).toMatchObject({ name: 'npy', k: 3, d: 10, nPerClass: 16, testPerClass: 4 });
    expect(j.measurements.map((m: { step: number }) => m.step)).toEqual([0, 10, 20]);
    expect(j.measurements[2].layers).toHaveLength(2);
    for (const f of ['nc1-layer-1.png', 'nc1-layer-2.png', 'nfa.png', 'variance-fractions.png', 'loss.png']) expect(png(out, f).width).toBeGreaterThan(100);
    expect(existsSync(join(out, 'checkpoint.nn'))).toBe(true);

    // continue the run to 30 steps from its checkpoint: the earlier measurements carry over
    const more = join(dir, 'svd-more');
    const r2 = run([...common, '--steps', '30', '--resume', join(out, 'checkpoint.nn'), '--out', more]);
    expect(r2.status, r2.stderr).toBe(0);
    const j2 = json(more);
    expect(j2.measurements.map((m: { step: number }) => m.step)).toEqual([0, 10, 20, 30]);
    expect(j2.measurements[2]).toEqual(j.measurements[2]);
    expect(j2.config.resumedFrom).toBe(join(out, 'checkpoint.nn'));
  });

  it('fails with clear messages for bad arguments', () => {
    const cases: [string[], RegExp][] = [
      [['depth-sweep', '--arch', 'vgg'], /--arch must be one of resnet, transformer, vit, resnet2, got 'vgg'/],
      [['depth-sweep', '--arch', 'vit', '--dataset', 'gaussian'], /--arch vit needs images: --dataset mnist, a standard image dataset \(folder or \.npz\), or --image-shape C,H,W for gaussian data of 64 features/],
      [['depth-sweep', '--arch', 'vit', '--patch-size', '5'], /--patch-size 5 does not tile 1 x 28 x 28 images/],
      [['depth-sweep', '--arch', 'vit', '--image-shape', '1,28,27'], /--image-shape 1,28,27 gives 756 values per image but the data have 784 features/],
      [['depth-sweep', '--arch', 'resnet2', '--weight-decay-scaling', 'sqrt'], /--weight-decay-scaling must be one of constant, inverse-depth, got 'sqrt'/],
      [['depth-sweep', '--arch', 'resnet', '--patch-size', '7'], /--patch-size and --image-shape are for --arch vit, got --arch resnet/],
      [['depth-sweep', '--depths', '2,x'], /--depths must be an integer >= 1, got 'x'/],
      [['depth-sweep', '--arch', 'transformer', '--dataset', 'mnist'], /--arch transformer reads token sequences: --dataset must be 'tokens'/],
      [['depth-sweep', '--lr', '-1'], /--lr must be a positive number, got '-1'/],
      [['depth-sweep', '--schedule', 'step'], /--schedule must be one of constant, cosine, got 'step'/],
      [['richness', '--task', 'cifar'], /--task must be one of label-encoded-mnist, got 'cifar'/],
      [['richness', '--n-per-class', '900'], /class '5' has 863 digits/],
      [['svd-nc1', '--dataset', 'tokens'], /svd-nc1 trains an MLP on feature vectors/],
      [['svd-nc1', '--dataset', join(dir, 'X.npy')], /--labels is required with an array-file dataset/],
      [['svd-nc1', '--momentum', '1'], /--momentum must be below 1/],
    ];
    for (const [args, msg] of cases) {
      const r = run([...args, '--backend', 'cpu', '--out', join(dir, 'bad')]);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(msg);
    }
  });
});
