/**
 * Gradient checks for src/nn modules: the analytic gradients of L = sum(forward(x) * R) (R a fixed
 * random matrix, so dL/dy = R) against central finite differences of L, evaluated in f64 from the
 * f32 forward. Entries whose one-sided differences disagree (a ReLU kink inside [-h, h]) are
 * skipped; a wrong gradient still fails because both one-sided differences agree with each other
 * and not with it.
 */
import { expect } from 'vitest';
import type { Context } from '../src/index.js';
import { copyInto } from '../src/ops/nn.js';
import type { Module } from '../src/nn/module.js';
import { Rng } from '../src/random.js';
import type { Matrix } from '../src/tensor.js';

export interface GradCheckOptions {
  /** finite-difference step */
  h?: number;
  /** entries checked per parameter (and of the input) */
  entries?: number;
  /** allowed error, relative to the largest analytic gradient entry of the same tensor */
  tol?: number;
  /** also check dL/dx (default true) */
  input?: boolean;
  seed?: number;
}

export interface GradCheckReport {
  /** worst error relative to the tensor's gradient scale, per tensor name */
  worst: Record<string, number>;
  checked: number;
  skipped: number;
}

async function lossOf(module: Module, x: Matrix, r: Float64Array): Promise<number> {
  const y = await module.forward(x, { training: false });
  const v = await y.read();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * r[i]!;
  return s;
}

/** Sets element i of m (a few values change, the rest are written back unchanged). */
async function setEntry(ctx: Context, m: Matrix, data: Float32Array, i: number, value: number): Promise<void> {
  const copy = Float32Array.from(data);
  copy[i] = value;
  const tmp = ctx.matrix(copy, m.shape);
  await copyInto(tmp, m);
  tmp.dispose();
}

export async function gradCheck(ctx: Context, module: Module, x: Matrix, options: GradCheckOptions = {}): Promise<GradCheckReport> {
  const { h = 1e-2, entries = 12, input = true, seed = 1 } = options;
  const rng = new Rng(seed);
  const y = await module.forward(x, { training: true });
  const r = new Float64Array(y.size);
  for (let i = 0; i < r.length; i++) r[i] = rng.normal();
  const R = ctx.matrix(Float32Array.from(r), y.shape);
  const rf = Float64Array.from(Float32Array.from(r));
  const dx = await module.backward(R);
  const targets: { name: string; value: Matrix; grad: Float32Array }[] = [];
  for (const p of module.parameters()) targets.push({ name: p.name, value: p.value, grad: await p.grad.read() });
  if (input) targets.push({ name: 'input', value: x, grad: await dx.read() });
  R.dispose();

  const report: GradCheckReport = { worst: {}, checked: 0, skipped: 0 };
  for (const t of targets) {
    const data = await t.value.read();
    let scale = 0;
    for (const g of t.grad) scale = Math.max(scale, Math.abs(g));
    scale = Math.max(scale, 1e-6);
    const picks = new Set<number>();
    while (picks.size < Math.min(entries, data.length)) picks.add(rng.int(0, data.length - 1));
    let worst = 0;
    for (const i of picks) {
      const v = data[i]!;
      await setEntry(ctx, t.value, data, i, v + h);
      const lp = await lossOf(module, x, rf);
      await setEntry(ctx, t.value, data, i, v - h);
      const lm = await lossOf(module, x, rf);
      await setEntry(ctx, t.value, data, i, v);
      const l0 = await lossOf(module, x, rf);
      const plus = (lp - l0) / h;
      const minus = (l0 - lm) / h;
      if (Math.abs(plus - minus) > 0.05 * scale + 1e-3 * Math.abs(plus + minus)) {
        report.skipped++;
        continue;
      }
      const fd = (lp - lm) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - t.grad[i]!) / scale);
      report.checked++;
    }
    report.worst[t.name] = worst;
  }
  // leave the module's saved state consistent with the restored parameters
  await module.forward(x, { training: true });
  return report;
}

/** Runs gradCheck and expects every tensor within `tol` and most entries checked. */
export async function expectGradients(ctx: Context, module: Module, x: Matrix, options: GradCheckOptions = {}): Promise<GradCheckReport> {
  const tol = options.tol ?? 1e-2;
  const report = await gradCheck(ctx, module, x, options);
  for (const [name, err] of Object.entries(report.worst)) {
    expect(err, `${module.name}: gradient of '${name}' is off by ${err.toExponential(2)} of its scale`).toBeLessThanOrEqual(tol);
  }
  expect(report.checked, `${module.name}: no entry was checked`).toBeGreaterThan(0);
  expect(report.skipped, `${module.name}: too many entries at a kink`).toBeLessThanOrEqual(Math.max(2, report.checked / 5));
  return report;
}
