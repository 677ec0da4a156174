/**
 * No silent numbers: a split that would drop classes or samples says so (or refuses), labels
 * outside 0..K-1 are errors, and metrics that depend on separated classes, a non-trivial
 * classifier or logits above rounding noise report undefined (null plus a reason).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/data/npy.js';
import { Rng } from '../src/random.js';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: '1' } });
const dir = mkdtempSync(join(tmpdir(), 'ncgpu-undefined-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => join(dir, name);

/** Writes X (n x d, Gaussian around a class offset) and y with the given class sizes. */
function writeData(name: string, sizes: number[], d = 6, offset = 3): void {
  const rng = new Rng(7);
  const labels = sizes.flatMap((m, c) => Array<number>(m).fill(c));
  const X = new Float32Array(labels.length * d);
  labels.forEach((c, i) => {
    for (let j = 0; j < d; j++) X[i * d + j] = rng.normal() + (j === c ? offset : 0);
  });
  writeFileSync(f(`${name}-X.npy`), encodeNpy(X, [labels.length, d]));
  writeFileSync(f(`${name}-y.npy`), encodeNpy(Int32Array.from(labels), [labels.length]));
}

describe('splits say what they drop', () => {
  it('refuses a class too small for within-class statistics (30 / 1 / 29) instead of NC1 = 0', () => {
    writeData('rare', [30, 1, 29]);
    const r = run(['rfm', '--dataset', f('rare-X.npy'), '--labels', f('rare-y.npy'), '--layers', '1', '--width', '16', '--backend', 'cpu', '--quiet', '--out', f('rare')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/class 1 \(1\) has 1 samples but the split needs at least 2 train \+ 0 test per class/);
  });

  it('says how many samples a balanced split leaves out and records it', () => {
    writeData('uneven', [30, 5, 29]);
    const out = f('uneven');
    const r = run(['rfm', '--dataset', f('uneven-X.npy'), '--labels', f('uneven-y.npy'), '--layers', '1', '--width', '16', '--backend', 'cpu', '--quiet', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 classes \(0\.\.2\) inferred from the labels/);
    expect(r.stderr).toMatch(/takes 5 samples from each of the 3 classes \(class 1 has 5\), so 49 of the 64 samples are left out/);
    const j = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(j.config.dataset.dropped).toMatchObject({ samples: 49, of: 64 });
  });

  it('names a missing class instead of "nPerClass must be >= 1, got 0"', () => {
    writeFileSync(f('gap-X.npy'), encodeNpy(new Float32Array(40).map((_, i) => i % 7), [20, 2]));
    writeFileSync(f('gap-y.npy'), encodeNpy(Int32Array.from({ length: 20 }, (_, i) => (i < 10 ? 0 : 2)), [20]));
    const r = run(['nn', 'svd-nc1', '--dataset', f('gap-X.npy'), '--labels', f('gap-y.npy'), '--steps', '2', '--backend', 'cpu', '--out', f('gap')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/class 1 \(1\) has no samples; .*label 1 is missing or a label is out of range/);
  });
});

describe('metrics: undefined is undefined', () => {
  const metrics = (name: string, extra: string[] = []) => {
    const json = f(`${name}/deeper/m.json`);
    const r = run(['metrics', '--features', f(`${name}-X.npy`), '--labels', f(`${name}-y.npy`), ...extra, '--backend', 'cpu', '--json', json]);
    return { r, j: r.status === 0 ? JSON.parse(readFileSync(json, 'utf8')) : undefined };
  };

  it('identical features: no effective or stable rank of rounding noise', () => {
    writeFileSync(f('same-X.npy'), encodeNpy(new Float32Array(60).fill(0.3), [20, 3]));
    writeFileSync(f('same-y.npy'), encodeNpy(Int32Array.from({ length: 20 }, (_, i) => i % 2), [20]));
    const { r, j } = metrics('same');
    expect(r.status, r.stderr).toBe(0);
    expect(j.metrics.meansEffectiveRank).toBeNull();
    expect(j.metrics.meansStableRank).toBeNull();
    expect(j.undefined.meansEffectiveRank).toMatch(/class means are equal/);
    expect(r.stdout).toMatch(/effective rank of centered means\s+undefined/);
  });

  it('W = 0: no classifier accuracy from tie-breaking, NC4 undefined', () => {
    writeData('zero', [8, 8, 8]);
    writeFileSync(f('W0.npy'), encodeNpy(new Float32Array(18), [3, 6]));
    const { r, j } = metrics('zero', ['--weights', f('W0.npy')]);
    expect(r.status, r.stderr).toBe(0);
    expect(j.metrics.classifierAccuracy).toBeNull();
    expect(j.metrics.nc4Agreement).toBeNull();
    expect(j.undefined.classifierAccuracy).toMatch(/scores every class alike .*W = 0/);
  });

  it('coinciding class means: NC4 undefined even with a real classifier', () => {
    // every class is the same symmetric cloud: the means coincide, the samples do not
    const X = new Float32Array([1, 0, -1, 0, 0, 1, 0, -1, 1, 0, -1, 0, 0, 1, 0, -1, 1, 0, -1, 0, 0, 1, 0, -1]);
    writeFileSync(f('cloud-X.npy'), encodeNpy(X, [12, 2]));
    writeFileSync(f('cloud-y.npy'), encodeNpy(Int32Array.from({ length: 12 }, (_, i) => Math.floor(i / 4)), [12]));
    writeFileSync(f('W.npy'), encodeNpy(new Float32Array([1, 0, 0, 1, -1, -1]), [3, 2]));
    const { r, j } = metrics('cloud', ['--weights', f('W.npy')]);
    expect(r.status, r.stderr).toBe(0);
    expect(j.metrics.nc4Agreement).toBeNull();
    expect(j.undefined.nc4Agreement).toMatch(/class means are equal/);
  });

  it('says when K is inferred, and refuses a label outside 0..K-1 when K is given', () => {
    writeData('k', [5, 5, 5]);
    const { r, j } = metrics('k');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/K = 3 inferred from the labels as max label \+ 1; pass --classes to set it/);
    expect(j.numClassesFrom).toBe('labels');
    const bad = metrics('k', ['--classes', '2']);
    expect(bad.r.status).toBe(1);
    expect(bad.r.stderr).toMatch(/K = 2 from --classes: label 2 of sample 10 is outside 0\.\.1/);
  });
});

describe('ufm: no rank of rounding noise', () => {
  it('a depth-60 model whose logits vanished reports its effective rank undefined', () => {
    const out = f('deep');
    const r = run(['ufm', 'train', '--depth', '60', '--steps', '20', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/effective rank, normalized margin and KL to collapse undefined \(the centered class-mean logits/);
    const last = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).logs.at(-1);
    expect(last.effectiveRank).toBeNull();
    expect(last.undefined.effectiveRank).toMatch(/below the f32 resolution of the softmax/);
  });
});
