/**
 * src/nn layers, the MLP, losses and optimizers on both backends: backward against finite
 * differences, training to 100% accuracy, optimizer steps against a hand-written reference,
 * checkpoint state round trips and errors that name the argument.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../src/index.js';
import { Linear } from '../src/nn/layers/linear.js';
import { ReLU } from '../src/nn/layers/relu.js';
import { Sequential } from '../src/nn/layers/sequential.js';
import { classLabels, crossEntropy, meanSquaredError } from '../src/nn/loss.js';
import { mlp } from '../src/nn/models/mlp.js';
import type { Module } from '../src/nn/module.js';
import { adam, sgd } from '../src/nn/optim.js';
import { Rng } from '../src/random.js';
import type { Matrix } from '../src/tensor.js';
import { BACKENDS, context, expectClose, randn } from './helpers.js';
import { expectGradients, gradCheck } from './nn-helpers.js';

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/** Gaussian blobs around K well-separated centres: linearly separable with high probability. */
function blobs(rng: Rng, k: number, perClass: number, d: number) {
  const centres = randn(rng, k * d, 3);
  const x = new Float32Array(k * perClass * d);
  const y = new Int32Array(k * perClass);
  for (let i = 0; i < k * perClass; i++) {
    const c = i % k;
    y[i] = c;
    for (let j = 0; j < d; j++) x[i * d + j] = centres[c * d + j]! + 0.5 * rng.normal();
  }
  return { x, y };
}

function argmaxRows(v: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < v.length / cols; i++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (v[i * cols + c]! > v[i * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

/** Scales its inner module's gradients by 1.1: a gradient check must catch it. */
class WrongGradient implements Module {
  readonly name = 'wrong';
  constructor(readonly inner: Linear) {}
  parameters() {
    return this.inner.parameters();
  }
  forward(x: Matrix) {
    return this.inner.forward(x);
  }
  async backward(dy: Matrix) {
    const dx = await this.inner.backward(dy);
    const w = this.inner.weight;
    const g = await w.grad.read();
    const { copyInto } = await import('../src/ops/nn.js');
    const tmp = w.grad.context.matrix(g.map((v) => v * 1.1), w.grad.shape);
    await copyInto(tmp, w.grad);
    return dx;
  }
  dispose() {
    this.inner.dispose();
  }
}

describe.each(BACKENDS)('nn layers on %s', (backend) => {
  let ctx: Context;
  const rng = new Rng(21);
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(() => ctx.dispose());

  it('Linear (with and without bias, both inits) matches x W^T + b and its gradients', async () => {
    for (const [bias, init] of [[true, 'normal'], [false, 'uniform'], [true, 'uniform']] as const) {
      const layer = new Linear(ctx, { inputs: 7, outputs: 5, bias, init, seed: 3 });
      const x = f32(randn(rng, 9 * 7));
      const X = ctx.matrix(x, [9, 7]);
      const y = await (await layer.forward(X)).read();
      const w = await layer.weight.value.read();
      const b = layer.bias ? await layer.bias.value.read() : new Float32Array(5);
      const want = new Float64Array(9 * 5);
      for (let i = 0; i < 9; i++) for (let o = 0; o < 5; o++) {
        let s = b[o]!;
        for (let j = 0; j < 7; j++) s += x[i * 7 + j]! * w[o * 7 + j]!;
        want[i * 5 + o] = s;
      }
      expectClose(y, want, 1e-5, `Linear bias=${bias} init=${init}`);
      if (init === 'uniform') expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(7));
      await expectGradients(ctx, layer, X);
      layer.dispose();
    }
  });

  it('the same seed gives the same weights, another seed others', async () => {
    const a = await new Linear(ctx, { inputs: 4, outputs: 3, seed: 9 }).weight.value.read();
    const b = await new Linear(ctx, { inputs: 4, outputs: 3, seed: 9 }).weight.value.read();
    const c = await new Linear(ctx, { inputs: 4, outputs: 3, seed: 10 }).weight.value.read();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('ReLU and a Sequential of Linear + ReLU pass the gradient check', async () => {
    const X = ctx.matrix(f32(randn(rng, 11 * 6)), [11, 6]);
    const net = new Sequential([new Linear(ctx, { inputs: 6, outputs: 9, seed: 1, name: 'a' }), new ReLU(ctx), new Linear(ctx, { inputs: 9, outputs: 4, seed: 2, name: 'b' })]);
    await expectGradients(ctx, net, X, { h: 2e-3 });
    await expectGradients(ctx, new ReLU(ctx), X, { h: 2e-3 });
    net.dispose();
  });

  it('a gradient that is 10% off fails the check', async () => {
    const X = ctx.matrix(f32(randn(rng, 5 * 4)), [5, 4]);
    const report = await gradCheck(ctx, new WrongGradient(new Linear(ctx, { inputs: 4, outputs: 3, seed: 4 })), X, { input: false });
    expect(report.worst['linear.weight']!).toBeGreaterThan(0.05);
  });

  it('the MLP (bias-free and with biases) passes a whole-model gradient check and captures its layers', async () => {
    for (const bias of [false, true]) {
      const model = mlp(ctx, { inputs: 5, width: 8, depth: 3, outputs: 4, bias, seed: 5 });
      expect(model.parameters().map((p) => p.name)).toEqual(
        bias ? ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias', 'layers.3.weight', 'layers.3.bias']
          : ['layers.0.weight', 'layers.1.weight', 'layers.2.weight', 'layers.3.weight'],
      );
      expect(model.head.weight.value.shape).toEqual([4, 8]);
      const X = ctx.matrix(f32(randn(rng, 13 * 5)), [13, 5]);
      // ReLU kinks near a step make finite differences of a deep ReLU net a little rough
      await expectGradients(ctx, model, X, { h: 1e-3, entries: 8, tol: 3e-2 });
      const capture = new Map<string, Matrix>();
      const y = await model.forward(X, { capture, training: false });
      expect([...capture.keys()].sort()).toEqual([...model.captureNames].sort());
      expect(capture.get('penultimate')!.shape).toEqual([13, 8]);
      expect(capture.get('layer.0.input')!.shape).toEqual([13, 5]);
      const pen = await capture.get('penultimate')!.read();
      expect(Array.from(pen)).toEqual(Array.from(await capture.get('layer.2.output')!.read()));
      expect(pen.every((v) => v >= 0)).toBe(true);
      expect(Array.from(await capture.get('layer.3.output')!.read())).toEqual(Array.from(await y.read()));
      for (const m of capture.values()) m.dispose();
      // backward captures: the gradient at each captured input (for the NFA's Jacobians)
      await model.forward(X, { training: true });
      const onehot = new Float32Array(13 * 4).map((_, i) => (i % 4 === 1 ? 1 : 0));
      const grads = new Map<string, Matrix>();
      const dx = await model.backward(ctx.matrix(onehot, [13, 4]), { capture: grads });
      expect(Array.from(await grads.get('layer.0.input.grad')!.read())).toEqual(Array.from(await dx.read()));
      const head = await model.head.weight.value.read();
      const want = Array.from({ length: 13 * 8 }, (_, i) => head[1 * 8 + (i % 8)]!);
      expectClose(await grads.get('penultimate.grad')!.read(), want, 1e-6, 'penultimate.grad = row 1 of W_head');
      for (const m of grads.values()) m.dispose();
      model.dispose();
    }
  });

  it('an MLP trained with Adam on separable blobs reaches 100% train accuracy', async () => {
    const { x, y } = blobs(new Rng(3), 3, 20, 5);
    const model = mlp(ctx, { inputs: 5, width: 16, depth: 2, outputs: 3, seed: 1 });
    const opt = adam({ lr: 0.02 });
    const X = ctx.matrix(x, [60, 5]);
    const labels = classLabels(ctx, y, 3);
    const history = ctx.zeros([1, 150]);
    for (let step = 0; step < 150; step++) {
      const logits = await model.forward(X, { training: true });
      const { grad } = await crossEntropy(logits, labels, { loss: history, lossIndex: step });
      await model.backward(grad);
      await opt.step(model.parameters());
    }
    const losses = await history.read();
    expect(losses[149]!).toBeLessThan(0.1 * losses[0]!);
    const pred = argmaxRows(await (await model.forward(X, { training: false })).read(), 3);
    expect(pred.filter((p, i) => p === y[i]).length).toBe(60);
    opt.dispose();
    model.dispose();
  });

  it('MSE loss trains too, and caller-disposed outputs are replaced', async () => {
    const { x, y } = blobs(new Rng(4), 2, 10, 3);
    const targets = new Float32Array(20 * 2);
    y.forEach((c, i) => (targets[i * 2 + c] = 1));
    const model = mlp(ctx, { inputs: 3, width: 8, depth: 1, outputs: 2, bias: true, seed: 2 });
    const opt = sgd({ lr: 0.1, momentum: 0.9 });
    const X = ctx.matrix(x, [20, 3]);
    const T = ctx.matrix(targets, [20, 2]);
    let first = NaN;
    let last = NaN;
    for (let step = 0; step < 60; step++) {
      const out = await model.forward(X);
      const { loss, grad } = await meanSquaredError(out, T);
      const l = (await loss.read())[0]!;
      if (step === 0) first = l;
      last = l;
      const dx = await model.backward(grad);
      // the trainer disposes what it gets back; the model must cope
      dx.dispose();
      out.dispose();
      await opt.step(model.parameters());
      loss.dispose();
      grad.dispose();
    }
    expect(last).toBeLessThan(0.3 * first);
    model.dispose();
  });

  it('sgd and adam follow the written-out update, skip frozen parameters and decay only decaying ones', async () => {
    const layer = new Linear(ctx, { inputs: 3, outputs: 2, seed: 7 });
    const params = layer.parameters();
    const w0 = Float64Array.from(await layer.weight.value.read());
    const b0 = Float64Array.from(await layer.bias!.value.read());
    layer.bias!.decay = false;
    const gW = [f32(randn(rng, 6)), f32(randn(rng, 6))];
    const setGrad = async (g: Float32Array) => {
      const { copyInto } = await import('../src/ops/nn.js');
      await copyInto(ctx.matrix(g, [2, 3]), layer.weight.grad);
      await copyInto(ctx.matrix(g.subarray(0, 2), [1, 2]), layer.bias!.grad);
    };
    // SGD, momentum 0.5, weight decay 0.1, lr 0.2 then 0.1 (a per-step override)
    const opt = sgd({ lr: 0.2, momentum: 0.5, weightDecay: 0.1 });
    const w = Float64Array.from(w0);
    const b = Float64Array.from(b0);
    const vw = new Float64Array(6);
    const vb = new Float64Array(2);
    for (const [t, lr] of [[0, 0.2], [1, 0.1]] as const) {
      await setGrad(gW[t]!);
      await opt.step(params, t === 0 ? undefined : lr);
      for (let i = 0; i < 6; i++) {
        vw[i] = 0.5 * vw[i]! + gW[t]![i]! + 0.1 * w[i]!;
        w[i] -= lr * vw[i]!;
      }
      for (let i = 0; i < 2; i++) {
        vb[i] = 0.5 * vb[i]! + gW[t]![i]!; // bias: no decay
        b[i] -= lr * vb[i]!;
      }
    }
    expectClose(await layer.weight.value.read(), w, 1e-6, 'sgd weight');
    expectClose(await layer.bias!.value.read(), b, 1e-6, 'sgd bias');
    // frozen: untouched
    layer.weight.frozen = true;
    const frozen = await layer.weight.value.read();
    await opt.step(params);
    expectClose(await layer.weight.value.read(), frozen, 0, 'frozen weight');
    layer.weight.frozen = false;

    // Adam from here, two steps, checked against the formula
    const a = adam({ lr: 0.05, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 });
    const aw = Float64Array.from(await layer.weight.value.read());
    const m = new Float64Array(6);
    const v = new Float64Array(6);
    for (let t = 1; t <= 2; t++) {
      await setGrad(gW[t - 1]!);
      await a.step(params);
      for (let i = 0; i < 6; i++) {
        const g = gW[t - 1]![i]! + 0.01 * aw[i]!;
        m[i] = 0.9 * m[i]! + 0.1 * g;
        v[i] = 0.99 * v[i]! + 0.01 * g * g;
        aw[i] -= (0.05 * (m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[i]! / (1 - 0.99 ** t)) + 1e-8);
      }
    }
    expectClose(await layer.weight.value.read(), aw, 2e-6, 'adam weight');

    // state round trip: a fresh optimizer loaded with the state takes the same next step
    const state = await a.state();
    expect(state.params['linear.weight']!.step).toBe(2);
    expectClose(state.params['linear.weight']!.buffers.m!, m, 1e-6, 'adam m in state');
    const b2 = adam({ lr: 0.05, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 });
    b2.loadState(state);
    const before = await layer.weight.value.read();
    await a.step(params);
    const viaA = await layer.weight.value.read();
    const { copyInto } = await import('../src/ops/nn.js');
    await copyInto(ctx.matrix(before, [2, 3]), layer.weight.value);
    await b2.step(params);
    expectClose(await layer.weight.value.read(), viaA, 0, 'step after loadState');
    expect(() => sgd({ lr: 0.1 }).loadState(state)).toThrow(/state is from a 'adam' optimizer/);
    layer.dispose();
  });

  it("a parameter's decayScale multiplies the weight decay (a per-parameter lambda)", async () => {
    const layer = new Linear(ctx, { inputs: 3, outputs: 2, seed: 8 });
    layer.weight.decayScale = 0.25;
    const w0 = await layer.weight.value.read();
    const b0 = await layer.bias!.value.read();
    const g = f32(randn(rng, 6));
    const { copyInto } = await import('../src/ops/nn.js');
    await copyInto(ctx.matrix(g, [2, 3]), layer.weight.grad);
    await copyInto(ctx.matrix(g.subarray(0, 2), [1, 2]), layer.bias!.grad);
    await sgd({ lr: 0.5, weightDecay: 0.2 }).step(layer.parameters());
    // weight: lambda 0.2 * 0.25 = 0.05; bias: the full 0.2
    expectClose(await layer.weight.value.read(), Array.from(w0, (w, i) => w - 0.5 * (g[i]! + 0.05 * w)), 1e-6, 'scaled decay');
    expectClose(await layer.bias!.value.read(), Array.from(b0, (b, i) => b - 0.5 * (g[i]! + 0.2 * b)), 1e-6, 'unscaled decay');
    layer.weight.decayScale = -1;
    await expect(adam({ lr: 0.1, weightDecay: 0.1 }).step(layer.parameters())).rejects.toThrow(/adam.step: parameter 'linear.weight' has decayScale -1; it must be a finite number >= 0/);
    layer.dispose();
  });

  it('freezeAllButLast leaves only the head trainable', async () => {
    const model = mlp(ctx, { inputs: 3, width: 4, depth: 2, outputs: 2, seed: 1 });
    model.freezeAllButLast();
    expect(model.parameters().filter((p) => !p.frozen).map((p) => p.name)).toEqual(['layers.2.weight']);
    const before = await model.layers[0]!.weight.value.read();
    const X = ctx.matrix(f32(randn(rng, 6)), [2, 3]);
    const { grad } = await crossEntropy(await model.forward(X), [0, 1]);
    await model.backward(grad);
    await sgd({ lr: 1 }).step(model.parameters());
    expect(Array.from(await model.layers[0]!.weight.value.read())).toEqual(Array.from(before));
    model.unfreezeAll();
    expect(model.parameters().every((p) => !p.frozen)).toBe(true);
    model.dispose();
  });

  it('bad inputs give errors that name the argument', async () => {
    const model = mlp(ctx, { inputs: 3, width: 4, depth: 1, outputs: 2 });
    await expect(model.forward(ctx.zeros([2, 4]))).rejects.toThrow(/layers.0: input is 2x4 but the layer takes rows of 3 features/);
    await expect(new Linear(ctx, { inputs: 2, outputs: 2 }).backward(ctx.zeros([1, 2]))).rejects.toThrow(/backward needs a training forward first/);
    await model.forward(ctx.zeros([2, 3]));
    await expect(model.backward(ctx.zeros([3, 2]))).rejects.toThrow(/layers.1: 'dy' is 3x2 but the last output was 2x2/);
    expect(() => mlp(ctx, { inputs: 3, width: 0, depth: 1, outputs: 2 })).toThrow(/mlp: 'width' must be a positive integer, got 0/);
    expect(() => new Linear(ctx, { inputs: 2, outputs: 2, initScale: NaN })).toThrow(/'initScale' must be a finite number/);
    expect(() => sgd({ lr: -1 })).toThrow(/'lr' must be a finite number >= 0/);
    expect(() => sgd({ lr: 0.1, momentum: 1 })).toThrow(/'momentum' must be in \[0, 1\)/);
    expect(() => adam({ lr: 0.1, beta2: 1 })).toThrow(/adam: 'beta2' must be in \[0, 1\)/);
    await expect(crossEntropy(ctx.zeros([2, 3]), [0, 5])).rejects.toThrow(/label 5 of sample 1 is outside 0..2/);
    await expect(meanSquaredError(ctx.zeros([2, 3]), ctx.zeros([2, 2]))).rejects.toThrow(/'target' is 2x2 but 'pred' is 2x3/);
    expect(() => ctx.matrix([NaN, 1], [1, 2], { name: 'X' })).toThrow(/X contains 1 NaN/);
    model.dispose();
  });
});
