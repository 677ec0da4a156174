/**
 * The smaller promises: seeds in the generator's range, NCGPU_BACKEND honoured by the CLI as by
 * the API, metrics --json creating its folder, option validation in createContext, one behaviour
 * for reading a Matrix of a disposed context on every backend, and errors that say what to do.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createContext, type FiniteCheck } from '../src/context.js';
import { encodeNpy } from '../src/data/npy.js';
import { BACKENDS } from './helpers.js';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: '1', ...env } });
const dir = mkdtempSync(join(tmpdir(), 'ncgpu-details-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeSmall(): { X: string; y: string } {
  const X = join(dir, 'X.npy');
  const y = join(dir, 'y.npy');
  writeFileSync(X, encodeNpy(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) + (i % 4 === 0 ? 2 : 0)), [12, 2]));
  writeFileSync(y, encodeNpy(Int32Array.from({ length: 12 }, (_, i) => i % 3), [12]));
  return { X, y };
}

describe('seeds', () => {
  it('refuses a seed past 2^32 - 1 instead of wrapping onto another run or rounding it', () => {
    const wrap = run(['ufm', 'train', '--seed', '4294967296', '--steps', '10', '--backend', 'cpu', '--out', join(dir, 'seed1')]);
    expect(wrap.status).toBe(1);
    expect(wrap.stderr).toMatch(/--seed must be an integer <= 4294967295, got '4294967296'/);
    const huge = run(['rfm', '--seed', '99999999999999999999', '--dataset', 'gaussian', '--backend', 'cpu', '--out', join(dir, 'seed2')]);
    expect(huge.status).toBe(1);
    expect(huge.stderr).toMatch(/--seed must be an integer <= 4294967295, got '99999999999999999999'/);
  });
});

describe('the CLI honours NCGPU_BACKEND like createContext', () => {
  it('refuses a bad value and runs on the backend it names', () => {
    const { X, y } = writeSmall();
    const bad = run(['metrics', '--features', X, '--labels', y], { NCGPU_BACKEND: 'tpu' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/NCGPU_BACKEND must be one of .*got 'tpu'/);
    const json = join(dir, 'software', 'nested', 'm.json');
    const ok = run(['metrics', '--features', X, '--labels', y, '--json', json], { NCGPU_BACKEND: 'webgpu-software' });
    expect(ok.status, ok.stderr).toBe(0);
    // the folder of --json did not exist: it is made before the work
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.backend).toBe('webgpu');
    expect(report.adapter.software).toBe(true);
  });
});

describe('library details', () => {
  it("createContext refuses an unknown finiteCheck", async () => {
    await expect(createContext({ backend: 'cpu', finiteCheck: 'foo' as FiniteCheck })).rejects.toThrow(/finiteCheck must be one of inputs, always, never, got 'foo'/);
  });

  for (const backend of BACKENDS) {
    it(`reading a Matrix after its context is disposed throws on ${backend}`, async () => {
      const ctx = await createContext({ backend });
      const m = ctx.matrix([1, 2, 3, 4], [2, 2]);
      await ctx.dispose();
      await expect(m.read()).rejects.toThrow(/read: the context of this 2x2 Matrix has been disposed/);
    });
  }

  it('a bandwidth too small for the data says to raise it', () => {
    const r = run(['rfm', '--dataset', 'gaussian', '--n-per-class', '10', '--test-per-class', '2', '--dim', '8', '--width', '16', '--layers', '1', '--bandwidth', '1e-6', '--backend', 'cpu', '--quiet', '--out', join(dir, 'bandwidth')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the AGOP is zero .*raise the bandwidth \(--bandwidth\)/);
  });
});
