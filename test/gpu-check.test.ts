import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ncgpu-gpu-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run gpu-check', () => {
  it('rehearsed on the software GPU: info, the shader tests and the bench in one JSON', () => {
    const out = join(dir, 'gpu-check.json');
    const tiles = join(dir, 'tiles.json');
    const r = spawnSync(process.execPath, ['scripts/gpu-check.mjs', '--backend', 'webgpu-software', '--tests', 'test/softmax-ce.test.ts', '--sizes', '48', '--tune-cache', tiles, '--out', out], {
      cwd: root, encoding: 'utf8', timeout: 240_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.steps.info.status).toBe(0);
    expect(report.steps.info.report.softwareAdapter.software).toBe(true);
    expect(report.steps.tests.summary.failed).toBe(0);
    expect(report.steps.tests.summary.passed).toBeGreaterThan(0);
    // the f16 GEMM runs where the device has shader-f16 (the Vulkan lane), and is skipped elsewhere
    const f16 = report.steps.bench.gpuFeatures?.f16Gemm === true;
    expect(report.steps.bench.rows.map((x: { op: string }) => x.op)).toEqual(['gemm', ...(f16 ? ['gemm-f16'] : []), 'kernel', 'agop', 'ufm-step', 'mlp-step']);
    expect(f16).toBe(process.env.NCGPU_SOFTWARE_LANE === 'vulkan');
    for (const row of report.steps.bench.rows) expect(row.relativeErrorVsCpu).toBeLessThan(1e-4);
    // bench all --tune: the tile configurations of gemm and kernel, one winner each, in the given cache
    const { tuning, tuned, tileCache } = report.steps.bench;
    expect(new Set(tuning.map((t: { op: string }) => t.op))).toEqual(new Set(['gemm', 'kernel']));
    expect(tuning.filter((t: { winner: boolean }) => t.winner).length).toBe(2);
    expect(tuned.map((t: { shader: string; size: number }) => `${t.shader} ${t.size}`)).toEqual(['distance 48', 'matmul 48']);
    expect(tileCache).toBe(tiles);
    expect(JSON.parse(readFileSync(tiles, 'utf8')).format).toBe('ncgpu-gemm-tiles');
  }, 300_000);
});
