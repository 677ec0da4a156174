import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { knownFp32Peak } from '../src/bench/shaders.js';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, 'bench', ...args], { encoding: 'utf8', timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'ncgpu-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rowsOf = (file: string) => JSON.parse(readFileSync(file, 'utf8')).rows as Record<string, number | string | null>[];

describe('ncgpu bench', () => {
  it('times every op on cpu and writes JSON rows with GFLOPS and bandwidth', () => {
    const json = join(dir, 'cpu.json');
    const r = run(['all', '--backend', 'cpu', '--sizes', '64', '--repeats', '2', '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    const rows = rowsOf(json);
    // the f16 GEMM is a GPU op: 'all' skips it on cpu and says so
    expect(rows.map((x) => x.op)).toEqual(['gemm', 'kernel', 'agop', 'ufm-step', 'mlp-step']);
    expect(r.stdout).toMatch(/^gemm-f16: skipped \(a GPU op\)$/m);
    for (const x of rows) {
      expect(x.size).toBe(64);
      expect(x.gflops as number).toBeGreaterThan(0);
      expect(x.bestSeconds as number).toBeLessThanOrEqual(x.medianSeconds as number);
      // the cpu backend is the reference itself, and its peak is not known
      expect(x.relativeErrorVsCpu).toBeNull();
      expect(x.fractionOfPeak).toBeNull();
    }
    expect(r.stdout).toMatch(/^gemm +64 +\S+ ms/m);
  });

  it('checks the software GPU against the cpu backend, and gives the fraction of a --peak', () => {
    const json = join(dir, 'gpu.json');
    const r = run(['agop', '--backend', 'webgpu-software', '--sizes', '96', '--repeats', '2', '--peak', '0.001', '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    const [row] = rowsOf(json);
    expect(row!.backend).toBe('webgpu');
    expect(row!.relativeErrorVsCpu as number).toBeLessThan(1e-4);
    // GPU time by timestamp queries on the Vulkan lane; the OpenGL ES lane has none
    if (process.env.NCGPU_SOFTWARE_LANE === 'vulkan') {
      expect(row!.timing).toBe('timestamp-query');
      expect(row!.gpuSeconds as number).toBeGreaterThan(0);
      expect(row!.gpuSeconds as number).toBeLessThanOrEqual(row!.bestSeconds as number);
    } else {
      expect(row!.timing).toBe('wall-clock');
      expect(row!.gpuSeconds).toBeNull();
    }
    // a peak of 0.001 TFLOPS is 1 GFLOPS: the fraction equals the GFLOPS figure
    expect(row!.fractionOfPeak as number).toBeCloseTo(row!.gflops as number, 9);
  });

  it('a deep-UFM gradient step on the software GPU matches the same step on cpu', () => {
    const json = join(dir, 'ufm.json');
    const r = run(['ufm-step', '--backend', 'webgpu-software', '--sizes', '40', '--repeats', '2', '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    const [row] = rowsOf(json);
    expect(row!.shape).toBe('deep UFM step, K = 10, N = 100, width 40, depth 4');
    expect(row!.relativeErrorVsCpu as number).toBeLessThan(1e-5);
  });

  it('an MLP training step on the software GPU matches the same step on cpu', () => {
    const json = join(dir, 'mlp.json');
    const r = run(['mlp-step', '--backend', 'webgpu-software', '--sizes', '37', '--repeats', '2', '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    const [row] = rowsOf(json);
    expect(row!.shape).toBe('MLP step, batch 128, 784 -> 37 x 3 -> 10');
    // every parameter after one SGD step, against the cpu backend's
    expect(row!.relativeErrorVsCpu as number).toBeLessThan(1e-5);
    expect(row!.gflops as number).toBeGreaterThan(0);
  });

  it('times the f16-input GEMM where the device has shader-f16, against the cpu GEMM of the same f16 values', () => {
    const json = join(dir, 'f16.json');
    const r = run(['gemm-f16', '--backend', 'webgpu-software', '--sizes', '67', '--repeats', '2', '--json', json]);
    if (process.env.NCGPU_SOFTWARE_LANE === 'vulkan') {
      expect(r.status, r.stderr).toBe(0);
      const [row] = rowsOf(json);
      expect(row!.shape).toBe('67 x 67 x 67, f16 inputs, f32 accumulation');
      // inputs on the f16 grid: only the f32 accumulation order differs
      expect(row!.relativeErrorVsCpu as number).toBeLessThan(1e-5);
    } else {
      // the OpenGL ES lane has no shader-f16: a clear error, not a silent f32 GEMM
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/shader-f16/);
    }
  });

  it('knows the FP32 peak of common data-centre GPUs by adapter name', () => {
    expect(knownFp32Peak('NVIDIA H100 80GB HBM3')).toBeCloseTo(66.9e12, -6);
    expect(knownFp32Peak('NVIDIA H100 PCIe')).toBeCloseTo(51.2e12, -6);
    expect(knownFp32Peak('llvmpipe (LLVM 15.0.6, 256 bits)')).toBeUndefined();
  });

  it('names a bad op or option', () => {
    const bad = run(['fft', '--backend', 'cpu']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/the op must be one of gemm, gemm-f16, kernel, agop, ufm-step, mlp-step or all, got 'fft'/);
    const sizes = run(['gemm', '--backend', 'cpu', '--sizes', '0']);
    expect(sizes.status).toBe(1);
    expect(sizes.stderr).toMatch(/--sizes/);
  });
});
