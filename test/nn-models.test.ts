/**
 * LayerNorm, residual, embedding, causal attention and the ResNet / transformer models on both
 * backends: forward against f64 references where the layer is new, backward against finite
 * differences, captures, and a transformer that learns a task needing attention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../src/index.js';
import { CausalSelfAttention } from '../src/nn/layers/attention.js';
import { TokenPositionEmbedding } from '../src/nn/layers/embedding.js';
import { LastPosition } from '../src/nn/layers/lastPosition.js';
import { LayerNorm } from '../src/nn/layers/layerNorm.js';
import { Linear } from '../src/nn/layers/linear.js';
import { Residual } from '../src/nn/layers/residual.js';
import { Sequential } from '../src/nn/layers/sequential.js';
import { ReLU } from '../src/nn/layers/relu.js';
import { classLabels, crossEntropy } from '../src/nn/loss.js';
import { mlp } from '../src/nn/models/mlp.js';
import type { Model } from '../src/nn/models/model.js';
import { resnet } from '../src/nn/models/resnet.js';
import { transformer } from '../src/nn/models/transformer.js';
import { adam } from '../src/nn/optim.js';
import { Rng } from '../src/random.js';
import type { Matrix } from '../src/tensor.js';
import { BACKENDS, context, expectClose, randn } from './helpers.js';
import { expectGradients } from './nn-helpers.js';

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/** f64 reference of the attention layer: Y = X + P X W_VO^T, P = causal softmax(X W_QK^T X^T / sqrt d). */
function attentionRef(x: Float32Array, qk: Float32Array, vo: Float32Array, batch: number, t: number, d: number): Float64Array {
  const y = Float64Array.from(x);
  for (let b = 0; b < batch; b++) {
    const row = (i: number) => x.subarray((b * t + i) * d, (b * t + i + 1) * d);
    for (let i = 0; i < t; i++) {
      const scores: number[] = [];
      for (let s = 0; s <= i; s++) {
        // z_s^T W_QK z_i
        let v = 0;
        for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) v += row(s)[p]! * qk[p * d + q]! * row(i)[q]!;
        scores.push(v / Math.sqrt(d));
      }
      const m = Math.max(...scores);
      const e = scores.map((v) => Math.exp(v - m));
      const sum = e.reduce((a, c) => a + c, 0);
      for (let s = 0; s <= i; s++) {
        for (let o = 0; o < d; o++) {
          let v = 0;
          for (let p = 0; p < d; p++) v += vo[o * d + p]! * row(s)[p]!;
          y[(b * t + i) * d + o] += (e[s]! / sum) * v;
        }
      }
    }
  }
  return y;
}

describe.each(BACKENDS)('nn models on %s', (backend) => {
  let ctx: Context;
  const rng = new Rng(31);
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(() => ctx.dispose());

  it('LayerNorm and a residual block pass the gradient check', async () => {
    const X = ctx.matrix(f32(randn(rng, 9 * 6, 2)), [9, 6]);
    await expectGradients(ctx, new LayerNorm(ctx), X);
    const block = new Sequential([new LayerNorm(ctx), new Residual(ctx, new Sequential([new Linear(ctx, { inputs: 6, outputs: 6, seed: 2 }), new ReLU(ctx)]))]);
    await expectGradients(ctx, block, X, { h: 2e-3, tol: 2e-2 });
    block.dispose();
  });

  it('causal attention matches the f64 reference and passes the gradient check', async () => {
    const [batch, t, d] = [2, 5, 4];
    const layer = new CausalSelfAttention(ctx, { width: d, seqLen: t, seed: 3, initScale: 2 });
    const x = f32(randn(rng, batch * t * d));
    const X = ctx.matrix(x, [batch * t, d]);
    const y = await (await layer.forward(X)).read();
    expectClose(y, attentionRef(x, await layer.qk.value.read(), await layer.vo.value.read(), batch, t, d), 1e-5, 'attention');
    // causality: changing the last token of sequence 0 leaves its earlier outputs alone
    const x2 = Float32Array.from(x);
    x2[(t - 1) * d] += 1;
    const y2 = await (await layer.forward(ctx.matrix(x2, [batch * t, d]))).read();
    expectClose(y2.subarray(0, (t - 1) * d), y.subarray(0, (t - 1) * d), 0, 'causal mask');
    await expectGradients(ctx, layer, X, { h: 1e-2, entries: 10 });
    layer.dispose();
  });

  it('the embedding and the last-position pick pass the gradient check', async () => {
    const emb = new TokenPositionEmbedding(ctx, { vocab: 7, seqLen: 3, width: 5, seed: 4 });
    const ids = ctx.matrix([0, 3, 3, 6, 1, 0], [2, 3]);
    await expectGradients(ctx, emb, ids, { input: false, entries: 20 });
    // the same ids as one token per row give the same embedding
    const a = await (await emb.forward(ids)).read();
    const b = await (await emb.forward(ctx.matrix([0, 3, 3, 6, 1, 0], [6, 1]))).read();
    expect(Array.from(b)).toEqual(Array.from(a));
    await expect(emb.forward(ctx.zeros([2, 4]))).rejects.toThrow(/token ids are 2x4; expected B x 3/);
    await expectGradients(ctx, new LastPosition(ctx, 3), ctx.matrix(f32(randn(rng, 6 * 4)), [6, 4]));
    emb.dispose();
  });

  it('the ResNet (L-RN1) passes a whole-model gradient check and captures LN(X_L)', async () => {
    const model = resnet(ctx, { inputs: 5, width: 6, depth: 2, outputs: 3, seed: 6 });
    expect(model.parameters().map((p) => p.name)).toEqual([
      'stem.weight', 'stem.bias', 'blocks.1.linear.weight', 'blocks.1.linear.bias', 'blocks.2.linear.weight', 'blocks.2.linear.bias', 'head.weight',
    ]);
    const X = ctx.matrix(f32(randn(rng, 8 * 5)), [8, 5]);
    await expectGradients(ctx, model, X, { h: 2e-3, entries: 8, tol: 3e-2 });
    const capture = new Map<string, Matrix>();
    await model.forward(X, { capture, training: false });
    expect([...capture.keys()].sort()).toEqual([...model.captureNames].sort());
    const pen = await capture.get('penultimate')!.read();
    for (let i = 0; i < 8; i++) {
      const r = pen.subarray(i * 6, i * 6 + 6);
      const mean = r.reduce((s, v) => s + v, 0) / 6;
      const varc = r.reduce((s, v) => s + (v - mean) ** 2, 0) / 6;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(Math.abs(varc - 1)).toBeLessThan(1e-3);
    }
    for (const m of capture.values()) m.dispose();
    model.dispose();
  });

  it('the transformer (L-T11) passes a whole-model gradient check', async () => {
    const model = transformer(ctx, { vocab: 5, seqLen: 4, width: 6, depth: 2, outputs: 3, seed: 7 });
    const ids = ctx.matrix([0, 1, 2, 3, 4, 4, 1, 0, 2, 2, 3, 1], [3, 4]);
    const y = await model.forward(ids);
    expect(y.shape).toEqual([3, 3]);
    await expectGradients(ctx, model, ids, { input: false, h: 2e-3, entries: 6, tol: 3e-2 });
    const capture = new Map<string, Matrix>();
    await model.forward(ids, { capture, training: false });
    expect([...capture.keys()].sort()).toEqual([...model.captureNames].sort());
    expect(capture.get('penultimate')!.shape).toEqual([3, 6]);
    expect(capture.get('layer.2.output')!.shape).toEqual([3, 6]);
    for (const m of capture.values()) m.dispose();
    model.dispose();
  });

  it('backwardParameters gives backward\'s parameter gradients, and only the head\'s when the body is frozen', async () => {
    const cases: [string, Model, Matrix][] = [
      ['mlp', mlp(ctx, { inputs: 7, width: 9, depth: 3, outputs: 4, seed: 4 }), ctx.matrix(f32(randn(rng, 6 * 7)), [6, 7])],
      ['resnet', resnet(ctx, { inputs: 7, width: 8, depth: 2, outputs: 4, seed: 5 }), ctx.matrix(f32(randn(rng, 6 * 7)), [6, 7])],
      ['transformer', transformer(ctx, { vocab: 5, seqLen: 4, width: 8, depth: 2, outputs: 5, seed: 6 }), ctx.matrix(f32([0, 1, 2, 3, 4, 3, 2, 1, 1, 1, 0, 4]), [3, 4])],
    ];
    for (const [name, model, X] of cases) {
      const grads = async () => Promise.all(model.parameters().map((p) => p.grad.read()));
      const zeroGrads = async () => {
        for (const p of model.parameters()) await ctx.backend.unary('scale', p.grad.storage(), p.grad.storage(), p.grad.size, 0);
      };
      const dy = ctx.matrix(f32(randn(rng, X.rows * 4 + (name === 'transformer' ? X.rows : 0))), [X.rows, name === 'transformer' ? 5 : 4]);
      await model.forward(X, { training: true });
      await model.backward(dy);
      const full = await grads();
      await zeroGrads();
      await model.forward(X, { training: true });
      await model.backwardParameters!(dy);
      const only = await grads();
      full.forEach((g, i) => expectClose(only[i]!, g, 1e-6, `${name} ${model.parameters()[i]!.name}`));
      // frozen body: the head's gradient is unchanged, the others are not touched
      model.freezeAllButLast();
      await zeroGrads();
      await model.forward(X, { training: true });
      await model.backwardParameters!(dy);
      const head = new Set(model.head.parameters());
      const lazy = await grads();
      model.parameters().forEach((p, i) => {
        if (head.has(p)) expectClose(lazy[i]!, full[i]!, 1e-6, `${name} head ${p.name}`);
        else expect(lazy[i]!.every((v) => v === 0), `${name} ${p.name} untouched`).toBe(true);
      });
      model.dispose();
      X.dispose();
      dy.dispose();
    }
  });

  it('training steps allocate nothing once shapes are settled', async () => {
    for (const make of [
      () => resnet(ctx, { inputs: 4, width: 6, depth: 2, outputs: 3, seed: 1 }),
      () => transformer(ctx, { vocab: 4, seqLen: 3, width: 6, depth: 2, outputs: 3, seed: 1 }),
    ]) {
      const model = make();
      const isSeq = model.name === 'transformer';
      const X = isSeq ? ctx.matrix([0, 1, 2, 3, 2, 1], [2, 3]) : ctx.matrix(f32(randn(rng, 8)), [2, 4]);
      const labels = classLabels(ctx, [0, 2], 3);
      const grad = ctx.empty([2, 3]);
      const loss = ctx.zeros([1, 1]);
      const opt = adam({ lr: 0.01, weightDecay: 0.005 });
      const step = async () => {
        await crossEntropy(await model.forward(X), labels, { grad, loss });
        await model.backward(grad);
        await opt.step(model.parameters());
      };
      await step();
      await step();
      const before = ctx.stats().liveBuffers;
      for (let i = 0; i < 5; i++) await step();
      expect(ctx.stats().liveBuffers).toBe(before);
      opt.dispose();
      model.dispose();
    }
  });

  it('a transformer learns a task that needs attention (label = first token)', async () => {
    const [n, t, vocab] = [24, 4, 3];
    const data = new Rng(8);
    const ids = Array.from({ length: n * t }, () => data.int(0, vocab - 1));
    const y = Array.from({ length: n }, (_, i) => ids[i * t]!);
    const model = transformer(ctx, { vocab, seqLen: t, width: 8, depth: 1, outputs: vocab, seed: 9 });
    const opt = adam({ lr: 0.03 });
    const X = ctx.matrix(ids, [n, t]);
    const labels = classLabels(ctx, y, vocab);
    for (let step = 0; step < 80; step++) {
      const { grad } = await crossEntropy(await model.forward(X), labels);
      await model.backward(grad);
      await opt.step(model.parameters());
    }
    const out = await (await model.forward(X, { training: false })).read();
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const r = Array.from(out.subarray(i * vocab, (i + 1) * vocab));
      if (r.indexOf(Math.max(...r)) === y[i]) correct++;
    }
    expect(correct).toBe(n);
    model.dispose();
  });
});
