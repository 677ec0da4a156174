/**
 * LayerNorm, residual, token and patch embeddings, causal attention and the ResNet (L-RN1, L-RN2),
 * transformer and vision transformer models on both backends: forward against f64 references
 * where the layer is new, backward against finite differences, captures, and a transformer that
 * learns a task needing attention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../src/index.js';
import { CausalSelfAttention } from '../src/nn/layers/attention.js';
import { TokenPositionEmbedding } from '../src/nn/layers/embedding.js';
import { LastPosition } from '../src/nn/layers/lastPosition.js';
import { PatchEmbedding } from '../src/nn/layers/patchEmbedding.js';
import { LayerNorm } from '../src/nn/layers/layerNorm.js';
import { Linear } from '../src/nn/layers/linear.js';
import { Residual } from '../src/nn/layers/residual.js';
import { Sequential } from '../src/nn/layers/sequential.js';
import { ReLU } from '../src/nn/layers/relu.js';
import { classLabels, crossEntropy } from '../src/nn/loss.js';
import { mlp } from '../src/nn/models/mlp.js';
import type { Model } from '../src/nn/models/model.js';
import { resnet } from '../src/nn/models/resnet.js';
import { resnet2 } from '../src/nn/models/resnet2.js';
import { transformer } from '../src/nn/models/transformer.js';
import { visionTransformer } from '../src/nn/models/vit.js';
import { defaultPatchSize, patchGrid, patchPieceOrder } from '../src/nn/patches.js';
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

/**
 * f64 reference of the patch embedding, written from the definition: row b * T + t is
 * W_e vec(patch t of image b) + positions[t], patches row by row, each flattened (channel, row, col).
 */
function patchEmbeddingRef(
  x: Float32Array, images: number, [c, h, w]: [number, number, number], p: number, We: Float32Array, pos: Float32Array, d: number,
): Float64Array {
  const across = w / p;
  const t = (h / p) * across;
  const v = c * p * p;
  const out = new Float64Array(images * t * d);
  for (let b = 0; b < images; b++) {
    for (let k = 0; k < t; k++) {
      const [py, px] = [Math.floor(k / across), k % across];
      const patch: number[] = [];
      for (let ch = 0; ch < c; ch++) {
        for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) patch.push(x[b * c * h * w + ch * h * w + (py * p + i) * w + px * p + j]!);
      }
      for (let o = 0; o < d; o++) {
        let s = pos[k * d + o]!;
        for (let q = 0; q < v; q++) s += We[o * v + q]! * patch[q]!;
        out[(b * t + k) * d + o] = s;
      }
    }
  }
  return out;
}

describe('patch geometry', () => {
  it('cuts MNIST into 16 patches of 7 x 7 and CIFAR-10 into 64 of 4 x 4 x 3, row by row', () => {
    const mnist = { channels: 1, height: 28, width: 28 };
    const cifar = { channels: 3, height: 32, width: 32 };
    expect(defaultPatchSize(mnist)).toBe(7);
    expect(defaultPatchSize(cifar)).toBe(4);
    expect(defaultPatchSize({ channels: 1, height: 30, width: 30 })).toBeUndefined();
    expect(patchGrid(mnist, 7)).toMatchObject({ patches: 16, patchValues: 49, pieces: 112 });
    expect(patchGrid(cifar, 4)).toMatchObject({ patches: 64, patchValues: 48, pieces: 768 });
    // MNIST pieces are 7-pixel runs, 4 per pixel row: the first patch is runs 0, 4, ..., 24 (rows 0-6,
    // columns 0-6) and the last (bottom-right) runs 87, 91, ..., 111 (rows 21-27, columns 21-27)
    const order = patchPieceOrder(patchGrid(mnist, 7));
    expect(Array.from(order.subarray(0, 7))).toEqual([0, 4, 8, 12, 16, 20, 24]);
    expect(Array.from(order.subarray(105))).toEqual([87, 91, 95, 99, 103, 107, 111]);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 112 }, (_, i) => i));
    expect(() => patchGrid(mnist, 5)).toThrow(/'patchSize' 5 does not tile 28 x 28 images/);
    expect(() => patchGrid({ channels: 0, height: 4, width: 4 }, 2)).toThrow(/'channels' must be a positive integer, got 0/);
  });
});

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

  it('the patch embedding matches the f64 reference and passes the gradient check (input included)', async () => {
    // 2 channels of 6 x 9 in 3 x 3 patches: 6 patches of 18 values, width 5, 3 images
    const [c, h, w, p, d, images] = [2, 6, 9, 3, 5, 3];
    const emb = new PatchEmbedding(ctx, { image: { channels: c, height: h, width: w }, patchSize: p, width: d, seed: 5 });
    expect(emb.parameters().map((q) => q.name)).toEqual(['embedding.patches.weight', 'embedding.positions']);
    const x = f32(randn(rng, images * c * h * w));
    const X = ctx.matrix(x, [images, c * h * w]);
    const y = await emb.forward(X);
    expect(y.shape).toEqual([images * 6, d]);
    const want = patchEmbeddingRef(x, images, [c, h, w], p, await emb.projection.weight.value.read(), await emb.positions.value.read(), d);
    expectClose(await y.read(), want, 1e-5, 'patch embedding');
    await expectGradients(ctx, emb, X, { entries: 16 });
    // another batch size rebuilds the patch order; a wrong row width is refused
    const one = await (await emb.forward(ctx.matrix(x.subarray(0, c * h * w), [1, c * h * w]))).read();
    expectClose(one, want.subarray(0, 6 * d), 1e-5, 'one image');
    await expect(emb.forward(ctx.zeros([2, 100]))).rejects.toThrow(/expected one 2 x 6 x 9 image per row \(B x 108\)/);
    expect(() => new PatchEmbedding(ctx, { image: { channels: 1, height: 6, width: 9 }, patchSize: 2, width: 4 })).toThrow(/'patchSize' 2 does not tile 6 x 9 images/);
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

  it('L-RN2 passes a whole-model gradient check, names its two layers per block and captures X_L = LN(.)', async () => {
    const model = resnet2(ctx, { inputs: 5, width: 7, depth: 2, outputs: 3, seed: 8 });
    expect(model.parameters().map((p) => p.name)).toEqual([
      'stem.weight', 'stem.bias',
      'blocks.1.linear1.weight', 'blocks.1.linear1.bias', 'blocks.1.linear2.weight', 'blocks.1.linear2.bias',
      'blocks.2.linear1.weight', 'blocks.2.linear1.bias', 'blocks.2.linear2.weight', 'blocks.2.linear2.bias',
      'head.weight',
    ]);
    const X = ctx.matrix(f32(randn(rng, 9 * 5)), [9, 5]);
    await expectGradients(ctx, model, X, { h: 2e-3, entries: 8, tol: 3e-2 });
    const capture = new Map<string, Matrix>();
    const out = await (await model.forward(X, { capture, training: false })).read();
    expect([...capture.keys()].sort()).toEqual([...model.captureNames].sort());
    // post-LN: every block's output and the head's input are normalized rows, and the head reads X_L itself
    const pen = await capture.get('penultimate')!.read();
    expectClose(pen, await capture.get('layer.2.output')!.read(), 0, 'penultimate = X_L');
    for (let i = 0; i < 9; i++) {
      const r = pen.subarray(i * 7, i * 7 + 7);
      const mean = r.reduce((s, v) => s + v, 0) / 7;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(Math.abs(r.reduce((s, v) => s + (v - mean) ** 2, 0) / 7 - 1)).toBeLessThan(1e-3);
    }
    const W = await model.head.weight.value.read();
    const logits = Array.from({ length: 9 * 3 }, (_, e) => {
      const [i, k] = [Math.floor(e / 3), e % 3];
      return pen.subarray(i * 7, i * 7 + 7).reduce((s, v, j) => s + v * W[k * 7 + j]!, 0);
    });
    expectClose(out, logits, 1e-5, 'out = W_L X_L');
    for (const m of capture.values()) m.dispose();
    model.dispose();
  });

  it('the vision transformer passes a whole-model gradient check and captures the last patch', async () => {
    const image = { channels: 2, height: 6, width: 9 };
    const model = visionTransformer(ctx, { image, patchSize: 3, width: 6, depth: 2, outputs: 3, seed: 9 });
    expect(model.name).toBe('vit');
    expect(model.parameters().map((p) => p.name)).toEqual([
      'embedding.patches.weight', 'embedding.positions',
      'blocks.1.attention.qk', 'blocks.1.attention.vo', 'blocks.1.mlp.weight', 'blocks.1.mlp.bias',
      'blocks.2.attention.qk', 'blocks.2.attention.vo', 'blocks.2.mlp.weight', 'blocks.2.mlp.bias',
      'head.weight',
    ]);
    const x = f32(randn(rng, 3 * 108));
    const X = ctx.matrix(x, [3, 108]);
    expect((await model.forward(X)).shape).toEqual([3, 3]);
    await expectGradients(ctx, model, X, { h: 2e-3, entries: 8, tol: 3e-2 });
    const capture = new Map<string, Matrix>();
    await model.forward(X, { capture, training: false });
    expect([...capture.keys()].sort()).toEqual([...model.captureNames].sort());
    expect(capture.get('penultimate')!.shape).toEqual([3, 6]);
    // 'layer.0.output' is the embedding of the last (bottom-right) patch of each image
    const emb = await (await model.embedding.forward(X, { training: false })).read();
    const last = await capture.get('layer.0.output')!.read();
    for (let b = 0; b < 3; b++) expectClose(last.subarray(b * 6, b * 6 + 6), emb.subarray((b * 6 + 5) * 6, (b * 6 + 6) * 6), 1e-6, `image ${b} last patch`);
    for (const m of capture.values()) m.dispose();
    model.dispose();
  });

  it('backwardParameters gives backward\'s parameter gradients, and only the head\'s when the body is frozen', async () => {
    const cases: [string, Model, Matrix][] = [
      ['mlp', mlp(ctx, { inputs: 7, width: 9, depth: 3, outputs: 4, seed: 4 }), ctx.matrix(f32(randn(rng, 6 * 7)), [6, 7])],
      ['resnet', resnet(ctx, { inputs: 7, width: 8, depth: 2, outputs: 4, seed: 5 }), ctx.matrix(f32(randn(rng, 6 * 7)), [6, 7])],
      ['transformer', transformer(ctx, { vocab: 5, seqLen: 4, width: 8, depth: 2, outputs: 5, seed: 6 }), ctx.matrix(f32([0, 1, 2, 3, 4, 3, 2, 1, 1, 1, 0, 4]), [3, 4])],
      ['resnet2', resnet2(ctx, { inputs: 7, width: 8, depth: 2, outputs: 4, seed: 5 }), ctx.matrix(f32(randn(rng, 6 * 7)), [6, 7])],
      ['vit', visionTransformer(ctx, { image: { channels: 1, height: 4, width: 6 }, patchSize: 2, width: 8, depth: 2, outputs: 4, seed: 6 }), ctx.matrix(f32(randn(rng, 3 * 24)), [3, 24])],
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
      () => resnet2(ctx, { inputs: 4, width: 6, depth: 2, outputs: 3, seed: 1 }),
      () => visionTransformer(ctx, { image: { channels: 1, height: 2, width: 2 }, patchSize: 1, width: 6, depth: 2, outputs: 3, seed: 1 }),
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
