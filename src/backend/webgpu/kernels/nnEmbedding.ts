/**
 * Host side of shaders/nn_embedding.wgsl: token + position embedding lookup, and its backward as
 * a GEMM: dTable (vocab x cols) = onehot(ids)^T dy, the one-hot matrix built on the device a wave
 * of rows at a time (deterministic, unlike a scatter with atomics, which WGSL lacks for f32).
 * The position gradient is a column sum over the batch and is left to the caller (colSums).
 */
import type { EmbeddingArgs } from '../../types.js';
import type { GpuDevice, GpuStorage } from '../device.js';
import { assertDistinct, bindingCap, foldedGroups, packParams, view, type View } from './common.js';
import { encodeGemm } from './gemm.js';
import { encodeFill } from './elementwise.js';
import { assertFitsBinding, forEachRowBlock } from './nnCommon.js';

const PER_GROUP = 1024;
/** Elements of one one-hot wave (32 MiB). */
const ONEHOT_BUDGET = 8 * 2 ** 20;

interface EmbedFields {
  count: number;
  cols: number;
  seqLen?: number;
  vocab: number;
  offIds: number;
  offTable?: number;
  offPos?: number;
  offOut: number;
  row0?: number;
  groupsX: number;
}

function embedParams(p: EmbedFields): ArrayBuffer {
  return packParams([p.count, p.cols, p.seqLen ?? 1, p.vocab, p.offIds, p.offTable ?? 0, p.offPos ?? 0, p.offOut, p.row0 ?? 0, p.groupsX, 0, 0]);
}

const gpu = (s: object) => s as GpuStorage;

export function encodeEmbedding(dev: GpuDevice, a: EmbeddingArgs): void {
  const { rows, cols, vocab, seqLen } = a;
  const ids = view(gpu(a.ids));
  const table = view(gpu(a.table));
  const pos = view(gpu(a.positions));
  const out = view(gpu(a.out));
  assertDistinct('embedding', out, ids, table, pos);
  if (rows === 0 || cols === 0) return;
  assertFitsBinding(dev, 'embedding', 'table', vocab * cols);
  assertFitsBinding(dev, 'embedding', 'positions', seqLen * cols);
  const pipeline = dev.pipeline('nn_embedding', 'embed_forward');
  const bt = dev.bindRange(table.s, 0, vocab * cols);
  const bp = dev.bindRange(pos.s, 0, seqLen * cols);
  forEachRowBlock(dev, 'embedding', rows, cols, (r0, rb) => {
    const count = rb * cols;
    const bi = dev.bindRange(ids.s, r0, rb);
    const bo = dev.bindRange(out.s, r0 * cols, count);
    const groups = foldedGroups(dev, count, PER_GROUP);
    const params = embedParams({
      count, cols, seqLen, vocab, offIds: bi.elemOffset, offTable: bt.elemOffset, offPos: bp.elemOffset, offOut: bo.elemOffset,
      row0: r0, groupsX: groups[0],
    });
    dev.dispatch('embedding', pipeline, params, [bi.binding, bt.binding, bp.binding, bo.binding], groups);
  });
}

export function encodeEmbeddingBackward(dev: GpuDevice, ids: View, rows: number, dy: View, cols: number, vocab: number, dTable: View): void {
  assertDistinct('embeddingBackward', dTable, ids, dy);
  if (vocab === 0 || cols === 0) return;
  if (rows === 0) {
    encodeFill(dev, dTable, vocab * cols, 0);
    return;
  }
  const cap = bindingCap(dev);
  // rows per wave: the one-hot block (wave x vocab) within the budget and one binding
  const wave = Math.max(1, Math.min(rows, Math.floor(Math.min(ONEHOT_BUDGET, cap) / vocab)));
  if (vocab > cap) throw new RangeError(`webgpu: embeddingBackward: a vocabulary of ${vocab} is larger than one storage binding (${cap} elements)`);
  const onehot = dev.alloc(wave * vocab * 4);
  const pipeline = dev.pipeline('nn_embedding', 'one_hot');
  try {
    let first = true;
    for (let r0 = 0; r0 < rows; r0 += wave) {
      const rb = Math.min(wave, rows - r0);
      const count = rb * vocab;
      const bi = dev.bindRange(ids.s, ids.off + r0, rb);
      const bo = dev.bindRange(onehot, 0, count);
      const groups = foldedGroups(dev, count, PER_GROUP);
      dev.dispatch('embeddingBackward', pipeline, embedParams({ count, cols: vocab, vocab, offIds: bi.elemOffset, offOut: bo.elemOffset, groupsX: groups[0] }), [bi.binding, bo.binding], groups);
      encodeGemm(dev, {
        transA: true, transB: false, m: vocab, n: cols, k: rb, alpha: 1, beta: first ? 0 : 1, batch: 1,
        a: { s: onehot, off: 0, ld: vocab, stride: 0 },
        b: { s: dy.s, off: dy.off + r0 * cols, ld: cols, stride: 0 },
        c: { s: dTable.s, off: dTable.off, ld: cols, stride: 0 },
      });
      first = false;
    }
  } finally {
    dev.release(onehot);
  }
}
