/**
 * What a CLI run promises its user: results.json written as the run goes and marked complete or
 * failed (with where), plots that fail as warnings, --resume as a contract, sealed checkpoints,
 * no leftovers after Ctrl-C, and one run per --out folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createContext } from '../src/context.js';
import { gaussianMixture } from '../src/data/gaussian.js';
import { encodeNpy } from '../src/data/npy.js';
import { loadUfmCheckpoint } from '../src/ufm/checkpoint.js';
import { randomUfm } from '../src/ufm/init.js';
import { trainUfm } from '../src/ufm/train.js';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: '1', ...env } });
const dir = mkdtempSync(join(tmpdir(), 'ncgpu-runs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const results = (out: string) => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
const leftovers = (out: string) => readdirSync(out).filter((f) => /\.tmp-\d+$/.test(f) || f === '.ncgpu.lock');

const SMALL_UFM = ['--classes', '3', '--n-per-class', '2', '--width', '8', '--depth', '2', '--backend', 'cpu'];

describe('partial results are results', () => {
  it('rfm keeps the finished layers and names the layer whose system is singular', () => {
    const out = join(dir, 'rfm-singular');
    // batched AGOPs: this run's collapse reaches a singular kernel system at layer 88 (which layer,
    // if any, depends on the f32 roundings of every layer before it)
    const r = run(['rfm', '--dataset', 'gaussian', '--n-per-class', '20', '--test-per-class', '5', '--dim', '16', '--width', '64', '--layers', '150', '--agop-method', 'batched', '--backend', 'cpu', '--quiet', '--out', out]);
    expect(r.status).toBe(1);
    const j = results(out);
    expect(j.status).toBe('failed');
    expect(j.error).toMatch(/singular/);
    const layer = j.failedAt.layer as number;
    expect(layer).toBeGreaterThan(1);
    expect(r.stderr).toContain(`at layer ${layer}`);
    expect(r.stderr).toContain('partial results in');
    expect(j.layers).toHaveLength(layer - 1);
    expect(j.layers.at(-1).layer).toBe(layer - 1);
    expect(j.layers[0].nc1.X).toBeGreaterThan(0);
    expect(leftovers(out)).toEqual([]);
  });

  it('a plot that cannot be drawn is a warning, and the run completes', () => {
    const out = join(dir, 'deep-ufm');
    // depth 100: the class means underflow to zero, so several plots have no finite point
    const r = run(['ufm', 'train', ...SMALL_UFM, '--depth', '100', '--steps', '20', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const j = results(out);
    expect(j.status).toBe('complete');
    expect(j.warnings.some((w: string) => /^plot \S+ not drawn: .*no finite points/.test(w))).toBe(true);
    expect(j.files).toContain('loss.png');
    expect(j.logs.length).toBeGreaterThan(1);
  });

  it('sweeps whose every run diverged keep their rows and plot warnings instead of crashing', () => {
    const ufm = join(dir, 'ufm-sweep-diverged');
    const r1 = run(['ufm', 'sweep', '--lr', '100', '--steps', '50', '--depths', '2,3', '--seeds', '1', '--backend', 'cpu', '--out', ufm]);
    // every UFM run failed: the rows (with each error) are kept, and the exit status says so
    expect(r1.status).toBe(1);
    expect(r1.stderr).toMatch(/every one of the 2 runs failed \(first: depth 2 width \d+ seed \d+: /);
    expect(results(ufm)).toMatchObject({ status: 'failed', runsDone: 2 });
    expect(results(ufm).rows.length).toBe(2);
    expect(results(ufm).warnings.join('\n')).toMatch(/plot effective-rank-vs-depth not drawn/);
    const nn = join(dir, 'nn-sweep-diverged');
    const r2 = run(['nn', 'depth-sweep', '--lr', '1e6', '--optimizer', 'sgd', '--depths', '2', '--seeds', '1', '--steps', '20', '--n-per-class', '10', '--test-per-class', '2', '--width', '16', '--backend', 'cpu', '--out', nn]);
    expect(r2.status, r2.stderr).toBe(0);
    expect(results(nn).status).toBe('complete');
    expect(results(nn).warnings.join('\n')).toMatch(/plot collapse-vs-depth not drawn/);
  });

  it('nn richness with fewer hidden units than eigenfunctions asked for truncates the view', () => {
    const out = join(dir, 'richness-narrow');
    const r = run(['nn', 'richness', '--width', '16', '--steps', '30', '--n-per-class', '20', '--test-per-class', '5', '--target-scale', 'none', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const j = results(out);
    expect(j.status).toBe('complete');
    expect(j.richVsLazy.rich.view.ratios.length).toBeGreaterThan(0);
  });

  it('a diverging ufm train keeps its logged steps and exits 1', () => {
    const out = join(dir, 'diverge');
    const r = run(['ufm', 'train', ...SMALL_UFM, '--init-scale', '8', '--lr', '1000', '--steps', '200', '--log-every', '1', '--out', out]);
    expect(r.status).toBe(1);
    const j = results(out);
    expect(j.status).toBe('failed');
    expect(j.error).toMatch(/diverged/);
    expect(j.failedAt).toHaveProperty('afterStep');
    expect(j.logs.length).toBeGreaterThanOrEqual(1);
  });
});

describe('resume is a contract', () => {
  const first = join(dir, 'first');
  const ck = join(first, 'checkpoint.ufm');

  it('restores every setting, refuses a conflicting flag, records an override', () => {
    const r = run(['ufm', 'train', ...SMALL_UFM, '--lr', '0.1', '--log-every', '100', '--steps', '200', '--checkpoint-every', '100', '--out', first]);
    expect(r.status, r.stderr).toBe(0);

    const same = join(dir, 'resumed');
    const r1 = run(['ufm', 'train', '--resume', ck, '--steps', '400', '--backend', 'cpu', '--out', same]);
    expect(r1.status, r1.stderr).toBe(0);
    const j = results(same);
    expect(j.config).toMatchObject({ learningRate: 0.1, logEvery: 100, steps: 400, resumedAtStep: 200, overrides: [] });
    expect(j.logs.map((l: { step: number }) => l.step)).toEqual([0, 100, 200, 300, 400]);

    const refused = run(['ufm', 'train', '--resume', ck, '--steps', '400', '--lr', '0.05', '--backend', 'cpu', '--out', join(dir, 'refused')]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/--lr 0\.05 conflicts with the checkpoint .*--lr 0\.1.*--override lr/);
    expect(existsSync(join(dir, 'refused', 'results.json'))).toBe(false);

    const fixed = run(['ufm', 'train', '--resume', ck, '--steps', '400', '--width', '16', '--override', 'width', '--backend', 'cpu', '--out', join(dir, 'fixed')]);
    expect(fixed.status).toBe(1);
    expect(fixed.stderr).toMatch(/--width 16 conflicts .*--width 8.*cannot change on resume/);

    const over = join(dir, 'override');
    const r2 = run(['ufm', 'train', '--resume', ck, '--steps', '300', '--lr', '0.05', '--override', 'lr', '--backend', 'cpu', '--out', over]);
    expect(r2.status, r2.stderr).toBe(0);
    expect(results(over).config).toMatchObject({ learningRate: 0.05, overrides: [{ option: 'lr', checkpoint: 0.1, now: 0.05 }] });
  });

  it('refuses --steps at or below the checkpoint step', () => {
    const r = run(['ufm', 'train', '--resume', ck, '--steps', '200', '--backend', 'cpu', '--out', join(dir, 'short')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--steps 200 is not beyond the checkpoint .* at step 200/);
  });

  it('refuses a damaged checkpoint (checksum)', () => {
    const bytes = readFileSync(ck);
    bytes[bytes.length - 100] ^= 0x01;
    const damaged = join(dir, 'damaged.ufm');
    writeFileSync(damaged, bytes);
    const r = run(['ufm', 'train', '--resume', damaged, '--steps', '400', '--backend', 'cpu', '--out', join(dir, 'damaged')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/checksum mismatch/);
  });

  it('nn svd-nc1 refuses a different --lr on resume', () => {
    const { train } = gaussianMixture({ k: 3, d: 6, nPerClass: 12, seed: 1 });
    writeFileSync(join(dir, 'X.npy'), encodeNpy(train.X, train.shape));
    writeFileSync(join(dir, 'y.npy'), encodeNpy(train.labels, [train.labels.length]));
    const common = ['nn', 'svd-nc1', '--dataset', join(dir, 'X.npy'), '--labels', join(dir, 'y.npy'), '--test-per-class', '2', '--width', '8', '--depth', '2', '--batch-size', '8', '--measure-every', '10', '--no-nfa', '--backend', 'cpu'];
    const out = join(dir, 'svd');
    expect(run([...common, '--steps', '10', '--lr', '0.01', '--checkpoint-every', '10', '--out', out]).status).toBe(0);
    const r = run(['nn', 'svd-nc1', '--resume', join(out, 'checkpoint.nn'), '--steps', '20', '--lr', '0.02', '--backend', 'cpu', '--out', join(dir, 'svd2')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--lr 0\.02 conflicts with the checkpoint .*--lr 0\.01/);
    const ok = run(['nn', 'svd-nc1', '--resume', join(out, 'checkpoint.nn'), '--steps', '20', '--backend', 'cpu', '--out', join(dir, 'svd3')]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(results(join(dir, 'svd3')).config).toMatchObject({ learningRate: 0.01, nfa: false, width: 8 });
  });

  it('a run resumed from a checkpoint between log steps has the log rows of an uninterrupted run', async () => {
    const ctx = await createContext({ backend: 'cpu' });
    try {
      const shape = { classes: 3, nPerClass: 2, width: 8, depth: 2 };
      const path = join(dir, 'between.ufm');
      const options = { learningRate: 0.1, maxSteps: 300, logEvery: 100, checkpointPath: path, checkpointEvery: 150 };
      const whole = randomUfm(ctx, shape, { std: 0.1, seed: 3 });
      const full = await trainUfm(whole, { ...options, checkpointPath: join(dir, 'whole.ufm') });
      whole.dispose();
      // a run stopped after its checkpoint at step 150 (as by a kill)
      const cut = randomUfm(ctx, shape, { std: 0.1, seed: 3 });
      await expect(trainUfm(cut, { ...options, onLog: (m) => { if (m.step === 200) throw new Error('stopped'); } })).rejects.toThrow('stopped');
      cut.dispose();
      const loaded = await loadUfmCheckpoint(ctx, path);
      expect(loaded.state.step).toBe(150);
      const resumed = await trainUfm(loaded.model, options, loaded.state);
      loaded.model.dispose();
      expect(resumed.logs.map((l) => l.step)).toEqual(full.logs.map((l) => l.step));
    } finally {
      await ctx.dispose();
    }
  });
});

describe('interrupted runs leave nothing behind', () => {
  it('Ctrl-C during a checkpoint write removes the temporary file, marks results.json interrupted and frees --out', async () => {
    const out = join(dir, 'sigint');
    // a wide model written every step: the interrupt lands while a checkpoint is being written
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'ufm', 'train', '--classes', '3', '--n-per-class', '2', '--width', '1500', '--depth', '4',
      '--steps', '100000', '--log-every', '1000', '--checkpoint-every', '1', '--backend', 'cpu', '--out', out], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(existsSync(out) && readdirSync(out).some((f) => f.includes('.tmp-')))) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(leftovers(out)).toEqual([]);
    expect(results(out).status).toBe('interrupted');
  }, 90_000);
});

describe('one run per --out folder', () => {
  it('refuses a folder holding another run unless --overwrite, which removes that run\'s files', () => {
    const out = join(dir, 'shared');
    expect(run(['ufm', 'train', ...SMALL_UFM, '--steps', '20', '--checkpoint-every', '20', '--balancedness', '--out', out]).status).toBe(0);
    expect(existsSync(join(out, 'balancedness-drift.png'))).toBe(true);
    writeFileSync(join(out, 'notes.txt'), 'mine');

    const again = run(['ufm', 'train', ...SMALL_UFM, '--steps', '20', '--out', out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/--out .* holds the results of another run \(ncgpu ufm train.*--overwrite/);

    const over = run(['ufm', 'train', ...SMALL_UFM, '--steps', '20', '--overwrite', '--out', out]);
    expect(over.status, over.stderr).toBe(0);
    // the earlier run's checkpoint and plots are gone; files it did not write stay
    expect(existsSync(join(out, 'checkpoint.ufm'))).toBe(false);
    expect(existsSync(join(out, 'balancedness-drift.png'))).toBe(false);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('a lock file held by a live process refuses a second run; a stale one is taken over', () => {
    const out = join(dir, 'locked');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, '.ncgpu.lock'), String(process.pid));
    const r = run(['ufm', 'train', ...SMALL_UFM, '--steps', '20', '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`in use by another ncgpu run \\(process ${process.pid}`));
    // a pid no process has
    writeFileSync(join(out, '.ncgpu.lock'), '2147483646');
    const r2 = run(['ufm', 'train', ...SMALL_UFM, '--steps', '20', '--out', out]);
    expect(r2.status, r2.stderr).toBe(0);
    expect(leftovers(out)).toEqual([]);
  });
});
