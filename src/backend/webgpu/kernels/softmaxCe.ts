/**
 * Host side of shaders/softmax_ce.wgsl: softmax cross-entropy gradient and mean loss over the
 * columns of a K x N logit matrix, entirely on the GPU (the loss lands in a buffer slot, so a
 * training step needs no readback).
 *
 * When all K rows of a block of columns fit one binding, one fused launch per column block does
 * the work. Otherwise columns are taken in blocks and rows in row blocks whose bound range fits:
 * a statistics pass per row block (running max and sums of exponentials), a gradient pass per row
 * block, and a loss pass. The per-workgroup loss partials are then summed, 4096 per workgroup,
 * until one value is left, which is scaled by 1/N and written to the loss slot. The workgroup sums
 * run on subgroup operations where the device has them.
 */
import type { GpuDevice, GpuStorage } from '../device.js';
import { assertDistinct, bindingCap, f32, foldedGroups, forEachRange, packParams, type View } from './common.js';
import { groupSumIncludes } from './rowLaunch.js';

const WG = 256;
const SUM_PER_GROUP = 4096;

interface CeFields {
  k?: number;
  ld?: number;
  cols: number;
  offZ?: number;
  offG?: number;
  offY?: number;
  offS?: number;
  offOut?: number;
  row0?: number;
  groupsX: number;
  invN?: number;
}

function ceParams(p: CeFields): ArrayBuffer {
  return packParams([
    p.k ?? 0, p.ld ?? 0, p.cols, p.offZ ?? 0, p.offG ?? 0, p.offY ?? 0, p.offS ?? 0, p.offOut ?? 0,
    p.row0 ?? 0, p.groupsX, f32(p.invN ?? 1), 0,
  ]);
}

/**
 * grad (k x n) = (softmax(z) - onehot) / n column by column, and loss = mean cross-entropy.
 * `labels` holds n class indices as f32; `loss` is the slot the mean is written to.
 */
export function encodeSoftmaxCe(dev: GpuDevice, z: View, k: number, n: number, labels: View, grad: View, loss: View): void {
  assertDistinct('softmaxCe', grad, z, labels);
  assertDistinct('softmaxCe', loss, z, labels, grad);
  if (k === 0 || n === 0) return;
  const cap = bindingCap(dev);
  const invN = 1 / n;
  const fusedCols = cap - (k - 1) * n;
  const partialCount = (blockCols: number) => {
    let count = 0;
    forEachRange(n, blockCols, (_, cb) => {
      count += Math.ceil(cb / WG);
    });
    return count;
  };

  let partials: GpuStorage;
  let count: number;
  if (fusedCols >= Math.min(n, WG)) {
    const blockCols = Math.min(n, fusedCols);
    count = partialCount(blockCols);
    partials = dev.alloc(count * 4);
    const pipeline = dev.pipeline('softmax_ce', 'ce_fused', {}, groupSumIncludes(dev));
    let p0 = 0;
    forEachRange(n, blockCols, (c0, cb) => {
      const span = (k - 1) * n + cb;
      const bz = dev.bindRange(z.s, z.off + c0, span);
      const bg = dev.bindRange(grad.s, grad.off + c0, span);
      const by = dev.bindRange(labels.s, labels.off + c0, cb);
      const groups = foldedGroups(dev, cb, WG);
      const pb = Math.ceil(cb / WG);
      const bo = dev.bindRange(partials, p0, pb);
      const params = ceParams({ k, ld: n, cols: cb, offZ: bz.elemOffset, offG: bg.elemOffset, offY: by.elemOffset, offOut: bo.elemOffset, groupsX: groups[0], invN });
      dev.dispatch('softmaxCe', pipeline, params, [bz.binding, by.binding, bg.binding, bo.binding], groups);
      p0 += pb;
    });
  } else {
    const blockCols = Math.max(1, Math.min(n, Math.floor(cap / 4)));
    count = partialCount(blockCols);
    partials = dev.alloc(count * 4);
    const stats = dev.alloc(4 * blockCols * 4);
    const statsPipe = dev.pipeline('softmax_ce', 'ce_stats');
    const gradPipe = dev.pipeline('softmax_ce', 'ce_grad');
    const lossPipe = dev.pipeline('softmax_ce', 'ce_loss', {}, groupSumIncludes(dev));
    let p0 = 0;
    forEachRange(n, blockCols, (c0, cb) => {
      const rowsPerBlock = Math.floor((cap - cb) / n) + 1;
      const groups = foldedGroups(dev, cb, WG);
      const by = dev.bindRange(labels.s, labels.off + c0, cb);
      const bs = dev.bindRange(stats, 0, 4 * cb);
      const rowBlocks: [number, number][] = [];
      forEachRange(k, rowsPerBlock, (r0, rb) => rowBlocks.push([r0, rb]));
      for (const [r0, rb] of rowBlocks) {
        const bz = dev.bindRange(z.s, z.off + r0 * n + c0, (rb - 1) * n + cb);
        const params = ceParams({ k: rb, ld: n, cols: cb, offZ: bz.elemOffset, offY: by.elemOffset, offS: bs.elemOffset, row0: r0, groupsX: groups[0] });
        dev.dispatch('softmaxCe stats', statsPipe, params, [bz.binding, by.binding, bs.binding], groups);
      }
      for (const [r0, rb] of rowBlocks) {
        const span = (rb - 1) * n + cb;
        const bz = dev.bindRange(z.s, z.off + r0 * n + c0, span);
        const bg = dev.bindRange(grad.s, grad.off + r0 * n + c0, span);
        const params = ceParams({
          k: rb, ld: n, cols: cb, offZ: bz.elemOffset, offG: bg.elemOffset, offY: by.elemOffset, offS: bs.elemOffset,
          row0: r0, groupsX: groups[0], invN,
        });
        dev.dispatch('softmaxCe grad', gradPipe, params, [bz.binding, bs.binding, by.binding, bg.binding], groups);
      }
      const pb = Math.ceil(cb / WG);
      const bo = dev.bindRange(partials, p0, pb);
      const params = ceParams({ cols: cb, offS: bs.elemOffset, offOut: bo.elemOffset, groupsX: groups[0] });
      dev.dispatch('softmaxCe loss', lossPipe, params, [bs.binding, bo.binding], groups);
      p0 += pb;
    });
    dev.release(stats);
  }
  sumPartials(dev, partials, count, loss, invN);
}

/** Adds `count` partials level by level; the last level writes total * scale to `out`. */
export function sumPartials(dev: GpuDevice, partials: GpuStorage, count: number, out: View, scale: number): void {
  const cap = bindingCap(dev);
  const pipeline = dev.pipeline('softmax_ce', 'ce_sum', {}, groupSumIncludes(dev));
  // ranges that start on a multiple of SUM_PER_GROUP map onto whole output groups
  const step = cap >= SUM_PER_GROUP ? Math.floor(cap / SUM_PER_GROUP) * SUM_PER_GROUP : cap;
  let src = partials;
  let n = count;
  for (;;) {
    let outputs = 0;
    forEachRange(n, step, (_, c) => {
      outputs += Math.ceil(c / SUM_PER_GROUP);
    });
    const last = outputs === 1;
    const dest: View = last ? out : { s: dev.alloc(outputs * 4), off: 0 };
    let o0 = 0;
    forEachRange(n, step, (start, c) => {
      const groupsNeeded = Math.ceil(c / SUM_PER_GROUP);
      const bi = dev.bindRange(src, start, c);
      const bo = dev.bindRange(dest.s, dest.off + o0, groupsNeeded);
      const groups = foldedGroups(dev, c, SUM_PER_GROUP);
      const params = ceParams({ cols: c, offS: bi.elemOffset, offOut: bo.elemOffset, groupsX: groups[0], invN: last ? scale : 1 });
      dev.dispatch('softmaxCe sum', pipeline, params, [bi.binding, bo.binding], groups);
      o0 += groupsNeeded;
    });
    dev.release(src);
    if (last) return;
    src = dest.s;
    n = outputs;
  }
}
