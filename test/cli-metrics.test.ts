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
let xs = new Float32Array(0);

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
  xs = x;
  await writeNpy(f('X.npy'), x, [n, p]);
  await writeNpy(f('y-unbalanced.npy'), Int32Array.from({ length: n }, (_, i) => (i < 36 ? 0 : i < 48 ? 1 : 2)), [n]);
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
    for (const row of ['NC1  tr(Sw)/tr(Sb)', 'NC1  Papyan', 'reference-script', 'CDNV', 'NC2  Gram MSE', 'simplex ETF error', 'equinorm', 'NC2A', 'NC2B', 'NC3', 'self-duality ||W/|W| - M/|M| ||_F^2 (Papyan, squared)', '(Kothapalli)', 'NC1  Papyan: rank of Sb kept by pinv', 'NC4  agreement', 'CKA(features, outputs)', 'D_LR', 'effective rank of centered means', 'stable rank']) {
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
    for (const key of ['nc1', 'nc1ReferenceScript', 'nc1Papyan', 'cdnv', 'nc2GramMse', 'etfError', 'equinorm', 'nc2A', 'nc2B', 'nc3Cosine', 'selfDuality', 'selfDualitySquared', 'dualityKothapalli', 'nc1PapyanRank', 'nc4Agreement', 'nc4Mismatch', 'cka', 'dLR', 'normalizedMargin', 'meansEffectiveRank', 'meansStableRank']) {
      expect(typeof report.metrics[key], key).toBe('number');
    }
    expect(report.metrics.nc1ReferenceScript).toBeCloseTo(report.metrics.nc1 / k, 12);
    expect(report.metrics.dLR).toBeCloseTo(1 - report.metrics.cka, 12);
    // the older key repeats the squared self-duality error, and the report says so
    expect(report.metrics.selfDuality).toBe(report.metrics.selfDualitySquared);
    expect(report.aliases).toEqual({ selfDuality: 'selfDualitySquared' });
    expect(report.metrics.nc1PapyanRank).toBe(k - 1);
    expect(report.globalMean).toBe('class-means');
    expect(r.stdout).toContain('global mean: class-means (mu_G = mean of the class means, Sigma_B weighs each class by 1/K)');
    expect(report.metrics.nc1).toBeGreaterThan(0);
    expect(report.metrics.nc1).toBeLessThan(1);
  });

  it("--global-mean sample-weighted weighs Sigma_B by n_c/N: tr(Sigma_W) + tr(Sigma_B) = tr(Sigma_T)", () => {
    const json = f('weighted.json');
    const r = run(['--features', f('X.npy'), '--labels', f('y-unbalanced.npy'), '--global-mean', 'sample-weighted', '--backend', 'cpu', '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('global mean: sample-weighted (mu_G = sample mean, Sigma_B weighs class c by n_c/N: Sigma_T = Sigma_W + Sigma_B)');
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.globalMean).toBe('sample-weighted');
    let trT = 0;
    for (let j = 0; j < p; j++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += xs[i * p + j]! / n;
      for (let i = 0; i < n; i++) trT += (xs[i * p + j]! - mean) ** 2 / n;
    }
    expect(Math.abs(report.metrics.traceW + report.metrics.traceB - trT) / trT).toBeLessThan(1e-6);
    // the default convention does not split it on these unbalanced classes
    const d = run(['--features', f('X.npy'), '--labels', f('y-unbalanced.npy'), '--backend', 'cpu', '--json', f('unweighted.json')]);
    expect(d.status, d.stderr).toBe(0);
    const def = JSON.parse(readFileSync(f('unweighted.json'), 'utf8'));
    expect(Math.abs(def.metrics.traceW + def.metrics.traceB - trT) / trT).toBeGreaterThan(1e-4);
  });

  it("--predictions writes NC4's two prediction vectors to the JSON, consistent with the agreement", () => {
    const json = f('predictions.json');
    const r = run(['--features', f('X.npy'), '--labels', f('y.npy'), '--weights', f('W.npy'), '--bias', f('b.npy'), '--backend', 'cpu', '--json', json, '--predictions']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    const { ncc, classifier } = report.nc4Predictions;
    expect(ncc.length).toBe(n);
    expect(classifier.length).toBe(n);
    const agree = ncc.filter((c: number, i: number) => c === classifier[i]).length;
    expect(report.metrics.nc4Agreement).toBe(agree / n);
    const labels = Array.from({ length: n }, (_, i) => i % k);
    expect(report.metrics.nccAccuracy).toBe(ncc.filter((c: number, i: number) => c === labels[i]).length / n);
    expect(report.metrics.classifierAccuracy).toBe(classifier.filter((c: number, i: number) => c === labels[i]).length / n);
    // not written without the flag
    const plain = run(['--features', f('X.npy'), '--labels', f('y.npy'), '--weights', f('W.npy'), '--backend', 'cpu', '--json', f('no-predictions.json')]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(JSON.parse(readFileSync(f('no-predictions.json'), 'utf8')).nc4Predictions).toBeUndefined();
    const noJson = run(['--features', f('X.npy'), '--labels', f('y.npy'), '--weights', f('W.npy'), '--backend', 'cpu', '--predictions']);
    expect(noJson.status).toBe(1);
    expect(noJson.stderr.trim()).toBe('ncgpu metrics: --predictions needs --json (the predictions are written there)');
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
