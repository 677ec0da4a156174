/** `ncgpu nn depth-sweep | richness | svd-nc1` end to end: results.json, PNG + SVG plots, checkpoints, argument errors. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { gaussianMixture } from '../src/data/gaussian.js';
import { encodeNpy } from '../src/data/npy.js';

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
      [['depth-sweep', '--arch', 'vgg'], /--arch must be one of resnet, transformer, got 'vgg'/],
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
