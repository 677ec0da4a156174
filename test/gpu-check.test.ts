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
    const r = spawnSync(process.execPath, ['scripts/gpu-check.mjs', '--backend', 'webgpu-software', '--tests', 'test/softmax-ce.test.ts', '--sizes', '48', '--out', out], {
      cwd: root, encoding: 'utf8', timeout: 240_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.steps.info.status).toBe(0);
    expect(report.steps.info.report.softwareAdapter.software).toBe(true);
    expect(report.steps.tests.summary.failed).toBe(0);
    expect(report.steps.tests.summary.passed).toBeGreaterThan(0);
    expect(report.steps.bench.rows.map((x: { op: string }) => x.op)).toEqual(['gemm', 'kernel', 'agop', 'ufm-step', 'mlp-step']);
    for (const row of report.steps.bench.rows) expect(row.relativeErrorVsCpu).toBeLessThan(1e-4);
  }, 300_000);
});
