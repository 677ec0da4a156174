import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { centeredLogitSpectrum } from '../src/ufm/measure.js';
import { randomUfmParameters } from '../src/ufm/init.js';
import { encodeSafetensors } from '../src/data/safetensors.js';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, 'ufm', ...args], { encoding: 'utf8', timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'ncgpu-ufm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readJson = (out: string) => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
function expectPngs(out: string, names: string[]): void {
  for (const n of names) {
    const p = join(out, n);
    expect(existsSync(p), `${n} written`).toBe(true);
    expect(readFileSync(p).subarray(1, 4).toString()).toBe('PNG');
    expect(statSync(p).size).toBeGreaterThan(2000);
  }
}
function expectProvenance(r: Record<string, unknown>, backend: string): void {
  expect(r.version).toMatch(/^\d+\.\d+\.\d+/);
  expect(r.backend).toBe(backend);
  expect(r).toHaveProperty('adapter');
  expect(r).toHaveProperty('seed');
  expect(Date.parse(r.createdAt as string)).toBeGreaterThan(0);
  expect(r.config).toBeTypeOf('object');
}

describe('ncgpu ufm', () => {
  it('sweep: effective rank falls with depth (K=4, n=2, d=16, L=1,2,3, 3 seeds)', () => {
    const out = join(dir, 'sweep');
    const r = run(['sweep', '--classes', '4', '--n-per-class', '2', '--width', '16', '--depths', '1,2,3', '--seeds', '3',
      '--init-scale', '0.3', '--lr', '0.1', '--steps', '5000', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const res = readJson(out);
    expectProvenance(res, 'cpu');
    expect(res.config).toMatchObject({ mode: 'depth', depths: [1, 2, 3], width: 16, seeds: 3, initScale: 0.3 });
    const rows = res.rows as { depth: number; effectiveRank: number; effectiveRankStd: number; margin: number; perSeed: { seed: number; effectiveRank: number }[] }[];
    expect(rows.map((x) => x.depth)).toEqual([1, 2, 3]);
    for (const row of rows) {
      expect(row.perSeed.map((p) => p.seed)).toEqual([0, 1, 2]);
      expect(row.effectiveRankStd).toBeGreaterThanOrEqual(0);
      expect(row.margin).toBeGreaterThan(0);
    }
    const er = rows.map((x) => x.effectiveRank);
    console.log(`sweep effective rank vs depth 1,2,3: ${er.map((v) => v.toFixed(3)).join(', ')}`);
    expect(er[0]!).toBeGreaterThan(2.95); // L = 1: neural collapse, rank K - 1
    expect(er[1]!).toBeLessThan(er[0]!);
    expect(er[2]!).toBeLessThan(er[1]!);
    expect(er[2]!).toBeLessThan(2.3);
    expectPngs(out, ['effective-rank-vs-depth.png', 'margin-vs-depth.png', 'effective-rank-trajectories.png']);
    expect(r.stdout).toMatch(/depth\s+effective rank/);
  });

  it('sweep --widths: initial ETF alignment improves with width', () => {
    const out = join(dir, 'widths');
    const r = run(['sweep', '--classes', '4', '--n-per-class', '2', '--widths', '8,128', '--depths', '2', '--seeds', '3',
      '--lr', '0.1', '--steps', '300', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const rows = readJson(out).rows as { width: number; depth: number; initialAlignment: number }[];
    expect(rows.map((x) => [x.depth, x.width])).toEqual([[2, 8], [2, 128]]);
    expect(rows[1]!.initialAlignment).toBeLessThan(rows[0]!.initialAlignment);
    expectPngs(out, ['alignment-vs-width.png', 'effective-rank-vs-width.png']);
  });

  it('sweep --log-every: measurements and the loss-target check every k steps; per-seed normalized spectra', () => {
    const out = join(dir, 'sweep-log-every');
    const r = run(['sweep', '--classes', '4', '--n-per-class', '2', '--width', '8', '--depths', '2', '--seeds', '2',
      '--lr', '0.2', '--steps', '700', '--log-every', '70', '--loss-target', '0.05', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const res = readJson(out);
    expect(res.config.logEvery).toBe(70);
    for (const p of res.rows[0].perSeed) {
      expect(p.trajectory.every((t: { step: number }) => t.step % 70 === 0)).toBe(true);
      // stopped at the first measurement at or below the target, or at --steps
      expect(p.steps % 70).toBe(0);
      expect(p.normalizedSingularValues).toHaveLength(3);
      expect(p.normalizedSingularValues.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
    }
  });

  it('train --init-from: starting from a saved initial state gives the run the same seed gives', () => {
    const shape = { classes: 4, nPerClass: 2, width: 8, depth: 3 };
    const p = randomUfmParameters(shape, { std: 0.3 / Math.sqrt(8), seed: 5 });
    const file = join(dir, 'init.safetensors');
    writeFileSync(file, encodeSafetensors({
      H: { data: p.H, shape: [8, 8] }, W1: { data: p.W[0]!, shape: [8, 8] }, W2: { data: p.W[1]!, shape: [8, 8] }, W3: { data: p.W[2]!, shape: [4, 8] },
    }));
    const common = ['train', '--classes', '4', '--n-per-class', '2', '--width', '8', '--depth', '3', '--lr', '0.2', '--steps', '200', '--log-every', '50', '--backend', 'cpu'];
    const seeded = run([...common, '--seed', '5', '--out', join(dir, 'init-seeded')]);
    const fromFile = run([...common, '--init-from', file, '--out', join(dir, 'init-file')]);
    expect(seeded.status, seeded.stderr).toBe(0);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    const a = readJson(join(dir, 'init-seeded'));
    const b = readJson(join(dir, 'init-file'));
    expect(b.config.init).toBe('file');
    expect(b.logs.map((l: { loss: number }) => l.loss)).toEqual(a.logs.map((l: { loss: number }) => l.loss));
    const wrong = run([...common.map((v) => (v === '3' ? '2' : v)), '--init-from', file, '--out', join(dir, 'init-wrong')]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/--init-from: .*init.safetensors:W2 must be 4 x 8 for --classes 4 --n-per-class 2 --width 8 --depth 2, got \(8, 8\)/);
  });

  it('train: one run with trajectories, a checkpoint, and a resume', () => {
    const out = join(dir, 'train');
    const r = run(['train', '--classes', '4', '--n-per-class', '2', '--width', '8', '--depth', '2', '--lr', '0.2', '--steps', '400',
      '--log-every', '50', '--balancedness', '--checkpoint-every', '200', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const res = readJson(out);
    expectProvenance(res, 'cpu');
    expect(res.result.steps).toBe(400);
    expect(res.logs).toHaveLength(9);
    expect(res.logs[0].velocityEtfAlignment).toBeGreaterThan(0);
    expect(res.logs.at(-1).loss).toBeLessThan(res.logs[0].loss);
    expect(res.logs.at(-1).balancednessDrift).toBeGreaterThanOrEqual(0);
    expectPngs(out, ['loss.png', 'singular-values.png', 'normalized-singular-values.png', 'effective-rank.png', 'margin.png', 'kl-to-collapse.png', 'balancedness-drift.png']);
    expect(existsSync(join(out, 'checkpoint.ufm'))).toBe(true);
    // the final class-mean logit matrix: its centered spectrum is the one the last log reports
    const zbar = res.result.finalClassMeanLogits;
    expect([zbar.rows, zbar.cols, zbar.data.length]).toEqual([4, 4, 16]);
    const spectrum = Array.from(centeredLogitSpectrum(zbar.data, 4));
    const last = res.logs.at(-1);
    spectrum.forEach((v, i) => expect(Math.abs(v - last.centeredSingularValues[i]) / last.centeredSingularValues[0]).toBeLessThan(1e-6));

    const out2 = join(dir, 'resumed');
    const r2 = run(['train', '--resume', join(out, 'checkpoint.ufm'), '--lr', '0.2', '--steps', '600', '--log-every', '50', '--backend', 'cpu', '--out', out2]);
    expect(r2.status, r2.stderr).toBe(0);
    const res2 = readJson(out2);
    expect(res2.result.steps).toBe(600);
    expect(res2.config.resumedAtStep).toBe(400);
    expect(res2.logs.slice(0, 9)).toEqual(res.logs);
  });

  it('train --init hadamard: gradient descent follows the ODE', () => {
    const out = join(dir, 'hadamard');
    const r = run(['train', '--classes', '4', '--n-per-class', '2', '--width', '6', '--depth', '3', '--init', 'hadamard',
      '--sigma', '0.1,1,0.5,1.5', '--lr', '0.001', '--steps', '2000', '--log-every', '500', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const res = readJson(out);
    expect(res.config.sigma).toEqual([0.1, 1, 0.5, 1.5]);
    expect(res.ode.worstRelativeError).toBeLessThan(1e-3);
    expectPngs(out, ['hadamard-vs-ode.png']);
  });

  it('ode: trajectories, rank vs depth and scale, and a KL that grows', () => {
    const out = join(dir, 'ode');
    const r = run(['ode', '--classes', '8', '--depths', '1,2,4', '--trajectory-depths', '1,3', '--scales', '0.01,1', '--scale-depth', '3',
      '--seeds', '3', '--horizon', '1e4', '--points', '30', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const res = readJson(out);
    expectProvenance(res, 'host (f64 ODE integration)');
    const byDepth = res.rankVsDepth.map((x: { effectiveRank: number }) => x.effectiveRank);
    expect(byDepth[0]).toBeGreaterThan(byDepth[1]);
    expect(byDepth[1]).toBeGreaterThan(byDepth[2]);
    const byScale = res.rankVsScale.map((x: { effectiveRank: number }) => x.effectiveRank);
    expect(byScale[1]).toBeGreaterThan(byScale[0]);
    expect(res.klGrowth.monotone).toBe(true);
    expect(res.klGrowth.deep.klToCollapse.at(-1)).toBeGreaterThan(res.klGrowth.deep.klToCollapse[0]);
    expect(res.trajectories).toHaveLength(2);
    // the rank over time: 30 output times ending at the horizon, the last equal to the summary
    for (const row of res.rankVsDepth) {
      expect(row.times).toHaveLength(30);
      expect(row.times.at(-1)).toBeCloseTo(1e4, 6);
      expect(row.effectiveRankOverTime.at(-1)).toBeCloseTo(row.effectiveRank, 12);
    }
    // at depth 4 the rank falls over time from where the small random start had it
    const deep = res.rankVsDepth[2].effectiveRankOverTime;
    expect(deep.at(-1)).toBeLessThan(deep[0] - 0.5);
    expectPngs(out, ['trajectories-L1.png', 'trajectories-L3.png', 'rank-vs-depth.png', 'rank-over-time.png', 'rank-vs-scale.png', 'kl-to-collapse.png']);
  });

  it('bad input: non-positive width, K not a power of 2 for Hadamard, divergence', () => {
    const w = run(['train', '--width', '0', '--steps', '10', '--backend', 'cpu', '--out', join(dir, 'bad')]);
    expect(w.status).toBe(1);
    expect(w.stderr).toMatch(/--width must be an integer >= 1, got '0'/);
    const h = run(['train', '--classes', '6', '--init', 'hadamard', '--steps', '10', '--backend', 'cpu', '--out', join(dir, 'bad')]);
    expect(h.status).toBe(1);
    expect(h.stderr).toMatch(/power of 2.*K = 6/);
    const d = run(['train', '--classes', '4', '--width', '8', '--depth', '2', '--init-scale', '8', '--lr', '1000', '--steps', '200', '--backend', 'cpu', '--out', join(dir, 'bad')]);
    expect(d.status).toBe(1);
    expect(d.stderr).toMatch(/diverged at step \d+.*smaller learning rate/);
  });
});
