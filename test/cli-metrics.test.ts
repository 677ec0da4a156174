import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, writeNpy } from '../src/index.js';
import { zipFile } from './helpers-datasets.js';
import { Rng } from '../src/random.js';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, 'metrics', ...args], { encoding: 'utf8', timeout: 120_000 });

const dir = mkdtempSync(join(tmpdir(), 'ncgpu-cli-metrics-'));
const f = (name: string) => join(dir, name);
const n = 60;
const p = 8;
const k = 3;

beforeAll(async () => {
  const rng = new Rng(4);
  const labels = Int32Array.from({ length: n }, (_, i) => i % k);
  const centers = Array.from({ length: k * p }, () => 3 * rng.normal());
  const x = Float32Array.from({ length: n * p }, (_, t) => centers[labels[Math.floor(t / p)]! * p + (t % p)]! + 0.5 * rng.normal());
  const w = Float32Array.from(centers);
  const outputs = new Float32Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += w[c * p + j]! * x[i * p + j]!;
    outputs[i * k + c] = s;
  }
  await writeNpy(f('X.npy'), x, [n, p]);
  await writeNpy(f('X64.npy'), Float64Array.from(x), [n, p]);
  await writeNpy(f('y.npy'), labels, [n]);
  await writeNpy(f('W.npy'), w, [k, p]);
  await writeNpy(f('b.npy'), new Float32Array([0.1, 0, -0.1]), [k]);
  await writeNpy(f('F.npy'), outputs, [n, k]);
  await writeNpy(f('y-bad.npy'), Int32Array.from({ length: n }, (_, i) => (i === 5 ? 7 : i % k)), [n]);
  // the same inputs as PyTorch users save them: f32 features and int64 labels in one safetensors
  // file (as safetensors.torch.save_file writes them), the classifier in an .npz
  writeFileSync(f('torch.safetensors'), torchStyleSafetensors(x, [n, p], labels));
  writeFileSync(f('head.npz'), zipFile([
    { name: 'W.npy', data: encodeNpy(w, [k, p]), method: 8 },
    { name: 'b.npy', data: encodeNpy(new Float32Array([0.1, 0, -0.1]), [k]), method: 0 },
  ]));
  await writeNpy(f('y-short.npy'), Int32Array.from({ length: n - 1 }, (_, i) => i % k), [n - 1]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** F32 'feats' and I64 'labels', laid out by hand as safetensors.torch.save_file does */
function torchStyleSafetensors(x: Float32Array, shape: number[], labels: Int32Array): Buffer {
  const y64 = new Uint8Array(new BigInt64Array(Array.from(labels, BigInt)).buffer);
  const table = {
    __metadata__: { format: 'pt' },
    feats: { dtype: 'F32', shape, data_offsets: [0, x.byteLength] },
    labels: { dtype: 'I64', shape: [labels.length], data_offsets: [x.byteLength, x.byteLength + y64.byteLength] },
  };
  const json = Buffer.from(JSON.stringify(table));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.from(x.buffer, x.byteOffset, x.byteLength), y64]);
}

describe('ncgpu metrics', () => {
  it('prints every metric the inputs allow and writes JSON with provenance', () => {
    const json = f('out.json');
    const r = run(['--features', f('X.npy'), '--labels', f('y.npy'), '--weights', f('W.npy'), '--bias', f('b.npy'), '--outputs', f('F.npy'), '--backend', 'cpu', '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    for (const row of ['NC1  tr(Sw)/tr(Sb)', 'NC1  Papyan', 'reference-script', 'CDNV', 'NC2  Gram MSE', 'simplex ETF error', 'equinorm', 'NC2A', 'NC2B', 'NC3', 'self-duality', 'NC4  agreement', 'CKA(features, outputs)', 'D_LR', 'effective rank of centered means', 'stable rank']) {
      expect(r.stdout).toContain(row);
    }
    expect(r.stdout).toMatch(/N = 60, p = 8, K = 3, backend cpu/);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(report.version).toBe(pkg.version);
    expect(report.backend).toBe('cpu');
    expect(report.adapter).toBeNull();
    expect(Date.parse(report.createdAt)).not.toBeNaN();
    expect(report.inputs.features).toEqual({ path: f('X.npy'), shape: [n, p], dtype: 'float32' });
    expect(report.inputs.labels).toEqual({ path: f('y.npy'), shape: [n], dtype: 'int32' });
    expect(report.inputs.weights.shape).toEqual([k, p]);
    expect(report.inputs.outputs.shape).toEqual([n, k]);
    expect(report.numClasses).toBe(k);
    for (const key of ['nc1', 'nc1ReferenceScript', 'nc1Papyan', 'cdnv', 'nc2GramMse', 'etfError', 'equinorm', 'nc2A', 'nc2B', 'nc3Cosine', 'selfDuality', 'nc4Agreement', 'nc4Mismatch', 'cka', 'dLR', 'normalizedMargin', 'meansEffectiveRank', 'meansStableRank']) {
      expect(typeof report.metrics[key], key).toBe('number');
    }
    expect(report.metrics.nc1ReferenceScript).toBeCloseTo(report.metrics.nc1 / k, 12);
    expect(report.metrics.dLR).toBeCloseTo(1 - report.metrics.cka, 12);
    expect(report.metrics.nc1).toBeGreaterThan(0);
    expect(report.metrics.nc1).toBeLessThan(1);
  });

  it('reads safetensors and .npz arrays (named with FILE:NAME) and gives the same metrics as .npy', () => {
    const fromNpy = f('npy.json');
    const fromTorch = f('torch.json');
    const a = run(['--features', f('X.npy'), '--labels', f('y.npy'), '--weights', f('W.npy'), '--bias', f('b.npy'), '--backend', 'cpu', '--json', fromNpy]);
    const b = run(['--features', `${f('torch.safetensors')}:feats`, '--labels', `${f('torch.safetensors')}:labels`, '--weights', `${f('head.npz')}:W`, '--bias', `${f('head.npz')}:b`, '--backend', 'cpu', '--json', fromTorch]);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    const ra = JSON.parse(readFileSync(fromNpy, 'utf8'));
    const rb = JSON.parse(readFileSync(fromTorch, 'utf8'));
    expect(rb.metrics).toEqual(ra.metrics);
    expect(rb.inputs.labels).toEqual({ path: `${f('torch.safetensors')}:labels`, shape: [n], dtype: 'i64' });
    const unnamed = run(['--features', f('torch.safetensors'), '--labels', f('y.npy'), '--backend', 'cpu']);
    expect(unnamed.status).toBe(1);
    expect(unnamed.stderr).toContain("holds 2 arrays ('feats', 'labels'); name one as");
  });

  it('needs only features and labels, reads float64, and takes K from --classes', () => {
    const r = run(['--features', f('X64.npy'), '--labels', f('y.npy'), '--backend', 'cpu']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('NC1  tr(Sw)/tr(Sb)');
    expect(r.stdout).not.toContain('NC3');
    expect(r.stdout).not.toContain('CKA');
    const r4 = run(['--features', f('X.npy'), '--labels', f('y.npy'), '--classes', '4', '--backend', 'cpu']);
    expect(r4.status).toBe(1);
    expect(r4.stderr.trim()).toBe('ncgpu metrics: classStats: class 3 of 4 has no samples (labels must cover every declared class 0..3)');
  });

  it('runs on the software GPU and names its adapter in the JSON', () => {
    const json = f('gpu.json');
    const r = run(['--features', f('X.npy'), '--labels', f('y.npy'), '--outputs', f('F.npy'), '--backend', 'webgpu-software', '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.backend).toBe('webgpu');
    expect(report.adapter.software).toBe(true);
    const cpu = f('cpu.json');
    expect(run(['--features', f('X.npy'), '--labels', f('y.npy'), '--outputs', f('F.npy'), '--backend', 'cpu', '--json', cpu]).status).toBe(0);
    const ref = JSON.parse(readFileSync(cpu, 'utf8'));
    for (const [key, v] of Object.entries(ref.metrics as Record<string, number>)) {
      expect(Math.abs(report.metrics[key] - v), key).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(v)));
    }
  });

  it('fails with one line and exit status 1 on bad input', () => {
    const cases: [string[], RegExp][] = [
      [['--labels', f('y.npy')], /^ncgpu metrics: --features <X\.npy> is required$/],
      [['--features', f('X.npy'), '--labels', f('nope.npy')], /^ncgpu metrics: .*nope\.npy: cannot read \(ENOENT\)$/],
      [['--features', f('X.npy'), '--labels', f('y-bad.npy'), '--classes', '3'], /^ncgpu metrics: .*label 7 of sample 5 is outside 0\.\.2$/],
      [['--features', f('X.npy'), '--labels', f('y-short.npy')], /^ncgpu metrics: the labels have 59 entries but the features have 60 rows$/],
      [['--features', f('y.npy'), '--labels', f('y.npy')], /^ncgpu metrics: features .* must be a 2-D array/],
      [['--features', f('X.npy'), '--labels', f('y.npy'), '--weights', f('F.npy')], /^ncgpu metrics: the weights .* are 60x3 but must be K x p = 3x8/],
      [['--features', f('X.npy'), '--labels', f('y.npy'), '--backend', 'tpu'], /^ncgpu metrics: --backend must be one of/],
    ];
    for (const [args, message] of cases) {
      const r = run([...args, '--backend', args.includes('--backend') ? args[args.indexOf('--backend') + 1]! : 'cpu']);
      expect(r.status, `${args.join(' ')}: ${r.stdout}`).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
  });
});
